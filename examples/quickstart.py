"""Quickstart: tune an SVM on scikit-learn's digits with Hyperband, budget = training-set size.

    python examples/quickstart.py

Each configuration is first trained on a small part of the training set; only the best go on
to larger parts. The journal (SQLite, runs/svm.db in the working folder, as in the getting
started guide) makes the run resumable: run the script again and it continues where it
stopped (`resume=True`).
"""

import os

from ConfigSpace import Float
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC

import lowfi

X, y = load_digits(return_X_y=True)
X_tr, X_va, y_tr, y_va = train_test_split(X / 16.0, y, test_size=0.3, random_state=0)


def objective(config: dict, budget: float) -> float:
    """Validation error of an SVM trained on the first `budget` training images."""
    n = int(budget)
    model = SVC(C=config["C"], gamma=config["gamma"]).fit(X_tr[:n], y_tr[:n])
    return 1.0 - model.score(X_va, y_va)


space = {"C": Float("C", (1e-2, 1e3), log=True), "gamma": Float("gamma", (1e-4, 1e1), log=True)}

if __name__ == "__main__":
    db = os.path.join("runs", "svm.db")
    res = lowfi.minimize(objective, space, "hyperband", min_budget=50, max_budget=len(y_tr),
                         eta=3, max_evaluations=int(os.environ.get("LOWFI_EXAMPLE_EVALS", 60)),
                         storage=db, resume=os.path.exists(db), seed=0, progress=False)
    print(f"best validation error {res.best_loss:.4f} with {res.best_config}")
    print(f"{len(res.trials)} evaluations, journal {db}")
