"""Models: fit/predict only (KDE, random forest, GP, ...); they know nothing of optimizers."""

from lowfi.models.kde import KDE

__all__ = ["KDE"]
