"""LowfiSearchCV: a scikit-learn estimator running lowfi's multi-fidelity search."""

import pytest
from ConfigSpace import ConfigurationSpace, Float
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import train_test_split

from lowfi.integrations import LowfiSearchCV


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.3, random_state=0)


def test_sample_size_as_budget(digits):
    Xtr, Xte, ytr, yte = digits
    space = ConfigurationSpace({"C": Float("C", (1e-4, 1e2), log=True)})
    search = LowfiSearchCV(LogisticRegression(max_iter=300), space, optimizer="hyperband",
                           max_evaluations=25, random_state=0).fit(Xtr, ytr)
    assert 1e-4 <= search.best_params_["C"] <= 1e2
    assert search.best_score_ > 0.9
    df = search.cv_results_
    assert len(df) == 25 and df["budget"].nunique() > 1 and df["budget"].max() == len(Xtr)
    assert search.score(Xte, yte) > 0.9
    assert search.predict(Xte).shape == yte.shape


def test_estimator_parameter_as_budget(digits):
    Xtr, Xte, ytr, yte = digits
    space = {"alpha": (1e-6, 1e-1)}
    search = LowfiSearchCV(SGDClassifier(tol=None, random_state=0), space, resource="max_iter",
                           min_resource=1, max_resource=27, optimizer="bohb", max_evaluations=40,
                           random_state=1).fit(Xtr, ytr)
    assert set(search.cv_results_["budget"]) <= {1.0, 3.0, 9.0, 27.0}
    assert search.best_resource_ == 27  # the first bracket (27+9+3+1 trials) reached it
    assert search.best_estimator_.get_params()["max_iter"] == 27
    assert search.score(Xte, yte) > 0.8


def test_bad_resource_arguments(digits):
    Xtr, _, ytr, _ = digits
    with pytest.raises(ValueError, match="min_resource"):
        LowfiSearchCV(SGDClassifier(), {"alpha": (1e-6, 1e-1)}, resource="max_iter").fit(Xtr, ytr)
    with pytest.raises(ValueError, match="resource"):
        LowfiSearchCV(SGDClassifier(), {"alpha": (1e-6, 1e-1)}, resource="epochs",
                      min_resource=1, max_resource=9).fit(Xtr, ytr)
    with pytest.raises(ValueError, match="max_resource"):
        LowfiSearchCV(LogisticRegression(), {"C": (0.1, 1.0)}, max_resource=10**6).fit(Xtr, ytr)


def test_searchcv_is_the_contract_name():
    import lowfi.integrations as integ
    from lowfi.integrations.sklearn import LowfiSearchCV

    assert integ.SearchCV is LowfiSearchCV
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        integ.Nope  # noqa: B018


def test_searchcv_mistakes_are_clear(digits):
    Xtr, _, ytr, _ = digits
    from sklearn.svm import SVC

    with pytest.raises(ValueError, match=r"space: parameters \['Cc'\] are not parameters of SVC"):
        LowfiSearchCV(SVC(), {"Cc": (1e-2, 1e2)}, max_evaluations=2).fit(Xtr, ytr)
    # a limit too small to reach max_resource: warned, and the resource is reported
    with pytest.warns(UserWarning, match="no evaluation reached max_resource"):
        s = LowfiSearchCV(SVC(), {"C": (1e-2, 1e2)}, optimizer="hyperband",
                          max_evaluations=3).fit(Xtr, ytr)
    assert s.best_resource_ < len(Xtr)
    assert s.cv_results_["budget"].max() == s.best_resource_


@pytest.mark.filterwarnings("ignore:minimize. all")
def test_searchcv_failing_everywhere_keeps_cv_results(digits):
    Xtr, _, ytr, _ = digits
    space = ConfigurationSpace({"C": Float("C", (-2.0, -1.0))})  # negative C: SVC refuses it
    from sklearn.svm import SVC

    search = LowfiSearchCV(SVC(), space, optimizer="random", max_evaluations=2)
    with pytest.raises(RuntimeError, match="every evaluation failed"):
        search.fit(Xtr, ytr)
    assert len(search.cv_results_) == 2 and search.cv_results_["error"].notna().all()
