"""Models: fit/predict only (KDE, random forest, GP, ...); they know nothing of optimizers."""
