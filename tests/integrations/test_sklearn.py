"""SearchCV: HalvingRandomSearchCV's attributes and semantics, lowfi's optimizers."""

import numpy as np
import pytest
import scipy.sparse as sp
from ConfigSpace import ConfigurationSpace, Float
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import GroupKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from lowfi.integrations import LowfiSearchCV, SearchCV


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.3, random_state=0)


@pytest.fixture(scope="module")
def small():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X.iloc[:200], y.iloc[:200]


class Probe(ClassifierMixin, BaseEstimator):
    """Predicts the majority class; records what each fit received."""

    calls: list = []

    def __init__(self, c=1.0, n_iter=1):
        self.c, self.n_iter = c, n_iter

    def fit(self, X, y, sample_weight=None):
        Probe.calls.append({"type": type(X), "n": X.shape[0], "n_iter": self.n_iter,
                            "sw": None if sample_weight is None else np.asarray(sample_weight)})
        self.classes_ = np.unique(y)
        self.majority_ = self.classes_[np.argmax([np.sum(np.asarray(y) == c) for c in self.classes_])]
        self.n_features_in_ = X.shape[1]
        if hasattr(X, "columns"):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def predict(self, X):
        return np.full(X.shape[0], self.majority_)


def test_halving_attributes_and_cv_results(digits):
    Xtr, Xte, ytr, yte = digits
    space = ConfigurationSpace({"C": Float("C", (1e-4, 1e2), log=True)})
    s = SearchCV(LogisticRegression(max_iter=300), space, optimizer="hyperband", cv=3,
                 max_evaluations=16, random_state=0).fit(Xtr, ytr)
    r = s.cv_results_
    assert isinstance(r, dict) and len(r["params"]) == 16
    for key in ("mean_test_score", "std_test_score", "rank_test_score", "split0_test_score",
                "split2_test_score", "mean_fit_time", "mean_score_time", "iter", "n_resources"):
        assert isinstance(r[key], np.ndarray) and len(r[key]) == 16, key
    assert isinstance(r["param_C"], np.ma.MaskedArray)
    assert np.allclose(r["mean_test_score"],
                       np.mean([r[f"split{k}_test_score"] for k in range(3)], axis=0))
    # integer n_samples budgets on Hyperband's rungs, iter numbering them
    assert r["n_resources"].dtype.kind == "i" and set(r["n_resources"]) == set(s.n_resources_)
    assert s.n_resources_ == sorted(s.n_resources_) and s.n_resources_[-1] == len(Xtr)
    assert list(r["iter"]) == [s.n_resources_.index(n) for n in r["n_resources"]]
    assert sum(s.n_candidates_) == 16 and s.n_iterations_ == len(s.n_resources_)
    # the best is the best evaluation at the highest resource
    top = np.flatnonzero(r["n_resources"] == len(Xtr))
    assert s.best_index_ in top
    assert s.best_score_ == pytest.approx(r["mean_test_score"][top].max())
    assert s.best_params_ == r["params"][s.best_index_]
    assert s.best_estimator_.C == s.best_params_["C"]
    assert s.n_splits_ == 3 and s.refit_time_ >= 0 and s.multimetric_ is False
    assert list(s.classes_) == list(range(10)) and s.n_features_in_ == 64
    assert s.score(Xte, yte) > 0.9
    assert s.predict_proba(Xte).shape == (len(Xte), 10)
    assert s.decision_function(Xte).shape == (len(Xte), 10)
    assert callable(s.scorer_)


def test_estimator_parameter_as_resource(digits):
    Xtr, Xte, ytr, yte = digits
    s = SearchCV(SGDClassifier(tol=None, random_state=0), {"alpha": (1e-6, 1e-1)},
                 resource="max_iter", min_resources=1, max_resources=27, optimizer="bohb",
                 cv=3, max_evaluations=40, random_state=1).fit(Xtr, ytr)
    assert set(s.cv_results_["n_resources"]) <= {1, 3, 9, 27}
    # the resource is part of every evaluation's params, as in HalvingRandomSearchCV
    assert all(p["max_iter"] == n for p, n in zip(s.cv_results_["params"],
                                                   s.cv_results_["n_resources"]))
    assert s.best_estimator_.max_iter == 27 and s.score(Xte, yte) > 0.8


def test_pandas_stays_pandas_and_feature_names_kept(small):
    X, y = small
    Probe.calls.clear()
    s = SearchCV(Probe(), {"c": (0.1, 1.0)}, optimizer="random", max_evaluations=2, cv=2,
                 random_state=0).fit(X, y)
    assert Probe.calls and all(c["type"] is type(X) for c in Probe.calls)
    assert list(s.feature_names_in_) == list(X.columns)


def test_sparse_stays_sparse(small):
    X, y = small
    Xs = sp.csr_matrix(X.to_numpy())
    Probe.calls.clear()
    SearchCV(Probe(), {"c": (0.1, 1.0)}, optimizer="random", max_evaluations=2, cv=2,
             random_state=0).fit(Xs, y)
    assert all(c["type"] is type(Xs) for c in Probe.calls)


def test_groups_and_sample_weight_are_routed(small):
    X, y = small
    groups = np.arange(len(X)) % 4
    weights = np.arange(len(X), dtype=float) + 1
    seen = []

    class Recording(GroupKFold):
        def split(self, X, y=None, groups=None):
            seen.append(groups)
            yield from super().split(X, y, groups)

    Probe.calls.clear()
    s = SearchCV(Probe(), {"c": (0.1, 1.0)}, optimizer="random", max_evaluations=2,
                 cv=Recording(n_splits=4), random_state=0).fit(X, y, groups=groups,
                                                                  sample_weight=weights)
    assert seen and np.array_equal(seen[0], groups)
    assert s.n_splits_ == 4
    fold_fits = Probe.calls[:-1]  # the last call is the refit
    assert all(c["sw"] is not None and len(c["sw"]) == c["n"] for c in fold_fits)
    assert len(Probe.calls[-1]["sw"]) == len(X)  # the refit gets all weights
    # a fold's weights are the weights of its samples: never those of the held-out group
    for c in fold_fits:
        held_out = set((c["sw"] - 1).astype(int) % 4)
        assert len(held_out) == 3


def test_multimetric_scoring_with_refit(small):
    X, y = small
    est = make_pipeline(StandardScaler(), LogisticRegression())
    s = SearchCV(est, {"logisticregression__C": (0.01, 10.0)}, optimizer="random",
                 scoring=["accuracy", "roc_auc"], refit="roc_auc", max_evaluations=3, cv=2,
                 random_state=0).fit(X, y)
    r = s.cv_results_
    assert s.multimetric_ is True and set(s.scorer_) == {"accuracy", "roc_auc"}
    for m in ("accuracy", "roc_auc"):
        assert {f"mean_test_{m}", f"rank_test_{m}", f"split1_test_{m}"} <= set(r)
    assert s.best_index_ == int(np.argmax(r["mean_test_roc_auc"]))
    assert s.best_score_ == pytest.approx(r["mean_test_roc_auc"].max())
    with pytest.raises(ValueError, match="refit"):
        SearchCV(est, {"logisticregression__C": (0.01, 10.0)}, scoring=["accuracy", "roc_auc"],
                 refit=True, max_evaluations=2).fit(X, y)


def test_default_rungs_at_least_halving_search():
    """On breast_cancer with defaults HalvingRandomSearchCV uses 4 rungs (20..540 samples)."""
    from scipy.stats import uniform
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV

    X, y = load_breast_cancer(return_X_y=True)
    h = HalvingRandomSearchCV(Probe(), {"c": uniform(0, 1)}, random_state=0).fit(X, y)
    halving_rungs = h.n_iterations_
    assert halving_rungs == 4 and h.n_resources_ == [20, 60, 180, 540]
    s = SearchCV(Probe(), {"c": (0.1, 1.0)}, optimizer="hyperband", max_evaluations=40,
                 random_state=0).fit(X, y)
    assert s.min_resources_ == h.min_resources_ and s.max_resources_ == len(X)
    assert s.n_possible_iterations_ >= halving_rungs
    assert s.n_iterations_ >= halving_rungs  # the first bracket climbs all rungs
    assert all(isinstance(n, int | np.integer) for n in s.n_resources_)


@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
def test_all_fits_failing_raises_like_sklearn(digits):
    Xtr, _, ytr, _ = digits
    space = ConfigurationSpace({"C": Float("C", (-2.0, -1.0))})  # negative C: SVC refuses it
    s = SearchCV(SVC(), space, optimizer="random", max_evaluations=2, cv=2)
    with pytest.raises(ValueError, match="All the 4 fits failed"):
        s.fit(Xtr[:200], ytr[:200])
    assert len(s.cv_results_["params"]) == 2  # kept for inspection
    with pytest.raises(ValueError, match="C"):
        SearchCV(SVC(), space, optimizer="random", max_evaluations=2, cv=2,
                 error_score="raise").fit(Xtr[:200], ytr[:200])


def test_default_optimizer_is_read_at_fit_time(small, monkeypatch):
    import lowfi.optimizers

    X, y = small
    monkeypatch.setattr(lowfi.optimizers, "DEFAULT", "random")
    s = SearchCV(Probe(), {"c": (0.1, 1.0)}, max_evaluations=2, cv=2).fit(X, y)
    assert type(s.run_.optimizer).__name__ == "RandomSearch"


def test_bad_arguments_are_clear(digits):
    Xtr, _, ytr, _ = digits
    with pytest.raises(ValueError, match="max_resources: got 'auto' with resource='max_iter'"):
        SearchCV(SGDClassifier(), {"alpha": (1e-6, 1e-1)}, resource="max_iter").fit(Xtr, ytr)
    with pytest.raises(ValueError, match="resource: got 'epochs'"):
        SearchCV(SGDClassifier(), {"alpha": (1e-6, 1e-1)}, resource="epochs",
                 max_resources=9).fit(Xtr, ytr)
    with pytest.raises(ValueError, match="max_resources: got 1000000"):
        SearchCV(LogisticRegression(), {"C": (0.1, 1.0)}, max_resources=10**6).fit(Xtr, ytr)
    with pytest.raises(ValueError, match=r"space: parameters \['Cc'\] are not parameters of SVC"):
        SearchCV(SVC(), {"Cc": (1e-2, 1e2)}, max_evaluations=2).fit(Xtr, ytr)
    with pytest.raises(ValueError, match="factor: got 1"):
        SearchCV(SVC(), {"C": (1e-2, 1e2)}, factor=1).fit(Xtr, ytr)


def test_not_reaching_max_resources_warns(small):
    X, y = small
    with pytest.warns(UserWarning, match="no evaluation reached max_resources"):
        s = SearchCV(Probe(), {"c": (0.1, 1.0)}, optimizer="hyperband", max_evaluations=3,
                     cv=2, random_state=0).fit(X, y)
    assert s.cv_results_["n_resources"][s.best_index_] < len(X)


def test_contract_names():
    import lowfi.integrations as integ

    assert integ.SearchCV is SearchCV and LowfiSearchCV is SearchCV
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        integ.Nope  # noqa: B018


def test_storage_folder_gives_every_fit_its_own_journal(small, tmp_path):
    from sklearn.model_selection import cross_val_score

    from lowfi.storage import load_trials

    X, y = small
    folder = tmp_path / "journals"
    s = SearchCV(Probe(), {"c": (0.1, 1.0)}, optimizer="random", max_evaluations=2, cv=2,
                 random_state=0, storage=str(folder) + "/")
    scores = cross_val_score(s, X, y, cv=3)  # three clones, fitted one after the other
    assert len(scores) == 3
    journals = sorted(folder.glob("searchcv-*.db"))
    assert len(journals) == 3
    assert all(len(load_trials(p)) == 2 for p in journals)
    s.fit(X, y)  # an existing folder works too, and storage_ names the journal written
    assert s.storage_.startswith(str(folder)) and len(list(folder.glob("*.db"))) == 4
    one = tmp_path / "one.db"
    s2 = SearchCV(Probe(), {"c": (0.1, 1.0)}, optimizer="random", max_evaluations=2, cv=2,
                  random_state=0, storage=str(one)).fit(X, y)
    assert s2.storage_ == str(one) and one.exists()
    # the journal holds scores (a maximized run): lowfi show and reports print accuracies
    stored = load_trials(str(one))
    assert np.allclose(np.sort(stored["score"]), np.sort(s2.cv_results_["mean_test_score"]))
    with pytest.raises(ValueError, match="every fit is a new search: pass a folder"):
        s2.fit(X, y)  # the same file again: the message says what to do instead


def test_n_jobs_sets_the_workers_as_in_scikit_learn(small, monkeypatch):
    import os

    X, y = small
    s = SearchCV(Probe(), {"c": (0.1, 1.0)}, optimizer="random", max_evaluations=4, cv=2,
                 random_state=0, n_jobs=2)
    assert s.get_params()["n_jobs"] == 2 and s._n_workers() == 2
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert s.set_params(n_jobs=-1)._n_workers() == 8
    assert s.set_params(n_jobs=-2)._n_workers() == 7
    assert s.set_params(n_jobs=None)._n_workers() == 1
    for bad in (0, 1.5, "all"):
        with pytest.raises(ValueError, match=f"n_jobs: got {bad!r}"):
            s.set_params(n_jobs=bad)._n_workers()
    with pytest.raises(ValueError, match="give one of them"):
        SearchCV(Probe(), {"c": (0.1, 1.0)}, n_workers=3, n_jobs=2)._n_workers()
    fitted = SearchCV(Probe(), {"c": (0.1, 1.0)}, optimizer="random", max_evaluations=4, cv=2,
                      random_state=0, n_jobs=2, executor="simulated").fit(X, y)
    assert len(fitted.cv_results_["params"]) == 4


@pytest.mark.parametrize("name, value, says", [
    ("param_distributions", {"C": (0.1, 10.0)}, "space"),
    ("param_grid", {"C": [0.1, 1.0]}, "space"),
    ("n_iter", 20, "max_evaluations"),
    ("n_candidates", 20, "max_evaluations"),
    ("aggressive_elimination", True, "factor"),
    ("pre_dispatch", "2*n_jobs", "n_workers"),
])
def test_scikit_learn_argument_names_point_to_lowfis(name, value, says):
    from sklearn.base import clone

    with pytest.raises(TypeError, match=f"{name}.*{says}"):
        SearchCV(LogisticRegression(), {"C": (0.1, 10.0)}, **{name: value})
    search = SearchCV(LogisticRegression(), {"C": (0.1, 10.0)}, max_evaluations=3)
    assert clone(search).get_params()["max_evaluations"] == 3  # construction unchanged


def test_a_callable_returning_several_metrics_optimizes_the_refit_one():
    """With ``scoring`` a callable returning a dict, the optimizer maximizes the metric
    ``refit`` names, as with a list or dict of scorers (not the dict's first key)."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)

    def scoring(est, X, y):  # the first key is not the refit metric
        return {"n_iter": -float(est.n_iter_.max()), "acc": est.score(X, y)}

    s = SearchCV(LogisticRegression(max_iter=500), {"C": (0.01, 100.0)}, scoring=scoring,
                 refit="acc", max_evaluations=8, random_state=0).fit(X, y)
    optimized = -s.run_.trials["loss"].to_numpy()
    assert np.allclose(optimized, s.cv_results_["mean_test_acc"])
    assert not np.allclose(optimized, s.cv_results_["mean_test_n_iter"])


def test_parallel_search_inside_parallel_cross_validation():
    """SearchCV(n_jobs=2) inside cross_validate(n_jobs=2): the search's worker processes start
    inside joblib's loky workers (whose default start method their children do not know)."""
    from sklearn.datasets import load_iris
    from sklearn.model_selection import cross_validate

    X, y = load_iris(return_X_y=True)
    s = SearchCV(LogisticRegression(max_iter=500), {"C": (0.1, 1.0)}, n_jobs=2,
                 max_evaluations=4, random_state=0)
    scores = cross_validate(s, X, y, cv=2, n_jobs=2, error_score="raise")["test_score"]
    assert len(scores) == 2 and np.all(scores > 0.8)


FITS = []


class _CountingLR(LogisticRegression):
    def fit(self, X, y, **kw):
        FITS.append((self.C, len(y)))
        return super().fit(X, y, **kw)


def test_a_small_grid_fits_each_configuration_once_per_resource():
    import warnings

    X, y = load_breast_cancer(return_X_y=True)
    FITS.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the space is smaller than a bracket: it says so
        search = SearchCV(_CountingLR(max_iter=200), {"C": [0.01, 0.1, 1.0, 10.0]}, cv=3,
                          max_evaluations=30, random_state=0).fit(X, y)
    res = search.cv_results_
    assert len(res["params"]) == 30  # every evaluation is listed
    pairs = {(p["C"], n) for p, n in zip(res["params"], res["n_resources"], strict=True)}
    assert len(pairs) < 20  # many evaluations repeat a (configuration, resource) pair
    assert len(FITS) == 3 * len(pairs) + 1  # each pair fitted once per fold, and the refit


def test_an_optimizer_instance_is_checked_and_copied_and_options_go_by_name():
    from sklearn.base import clone
    from sklearn.datasets import load_iris

    from lowfi.optimizers.hyperband import Hyperband

    X, y = load_iris(return_X_y=True)
    space = {"C": (0.1, 10.0)}
    wrong = SearchCV(LogisticRegression(max_iter=300), space, cv=3, max_evaluations=6,
                     optimizer=Hyperband(space, min_budget=1, max_budget=10), random_state=0)
    with pytest.raises(ValueError, match=r"optimizer: its budgets are 1\.0\.\.10\.0, but this "
                                         r"search's resources are \d+\.\.150"):
        wrong.fit(X, y)
    lo, hi = wrong.min_resources_, wrong.max_resources_  # known once fit has seen the data
    opt = Hyperband(space, min_budget=lo, max_budget=hi, eta=3, budget_type=int)
    search = SearchCV(LogisticRegression(max_iter=300), space, cv=3, max_evaluations=6,
                      optimizer=opt, random_state=0)
    first = search.fit(X, y).best_params_
    assert search.fit(X, y).best_params_ == first  # fit again: a fresh copy each time
    assert clone(search).fit(X, y).best_params_ == first
    assert not opt.history.records  # the instance given stays unused
    kde = SearchCV(LogisticRegression(max_iter=300), space, cv=3, max_evaluations=6,
                   optimizer_kwargs={"model": "kde"}, random_state=0).fit(X, y)
    assert kde.run_.optimizer.model == "kde"
    with pytest.raises(ValueError, match="optimizer_kwargs: give them with an optimizer's name"):
        SearchCV(LogisticRegression(), space, optimizer=opt,
                 optimizer_kwargs={"model": "kde"}).fit(X, y)


def test_a_search_with_an_executor_instance_can_be_fit_again_and_cloned():
    from sklearn.base import clone
    from sklearn.datasets import load_iris

    from lowfi.execution.inline import InlineExecutor

    X, y = load_iris(return_X_y=True)
    search = SearchCV(LogisticRegression(max_iter=300), {"C": (0.1, 10.0)}, cv=3,
                      max_evaluations=4, executor=InlineExecutor(), random_state=0)
    first = search.fit(X, y).best_params_
    assert clone(search).fit(X, y).best_params_ == first  # nothing of the run stays in it
