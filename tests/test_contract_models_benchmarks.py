"""Contract checks shared by every model and every benchmark that can be built here."""

import numpy as np
import pytest

from lowfi import Result
from lowfi.benchmarks import get, names
from lowfi.models import KDE
from lowfi.models.gp import GP
from lowfi.models.random_forest import RandomForest
from lowfi.space import Space

RNG = np.random.default_rng(0)
X = RNG.random((40, 3))
Y = np.sin(3 * X[:, 0]) + X[:, 1] ** 2 + 0.01 * RNG.standard_normal(40)
REGRESSORS = {"gp": lambda: GP(seed=0), "random_forest": lambda: RandomForest(seed=0)}


@pytest.mark.parametrize("name", sorted(REGRESSORS))
def test_regressors_fit_returns_self_and_variance_is_nonnegative(name):
    model = REGRESSORS[name]()
    assert model.fit(X, Y) is model
    mean, var = model.predict(RNG.random((25, 3)))
    assert mean.shape == (25,) and var.shape == (25,)
    assert np.all(np.isfinite(mean)) and np.all(var >= 0)
    fit_mean, _ = model.predict(X)
    assert np.corrcoef(fit_mean, Y)[0, 1] > 0.8  # it learned something


def test_kde_fit_returns_self_and_density_is_a_density():
    space = Space({"x": (0.0, 1.0), "c": ["a", "b", "c"]})
    data = space.encode(space.sample(np.random.default_rng(1), 30))
    kde = KDE.for_space(space)
    assert kde.fit(data, np.random.default_rng(0)) is kde
    grid = np.stack(np.meshgrid(np.linspace(0.0005, 0.9995, 1000), [0.0, 1.0, 2.0]), -1).reshape(-1, 2)
    cols = {"x": grid[:, 0], "c": grid[:, 1]}
    dens = np.exp(kde.logpdf(np.column_stack([cols[n] for n in space.names])))
    assert np.all(dens >= 0)
    assert dens.sum() / 1000 == pytest.approx(1.0, abs=0.02)  # integrates to one


SLOW = {"mlp-digits", "mlp-digits-2f"}  # trains real networks
# every registered benchmark, named explicitly: a new registration must be added here, and one
# that cannot be built fails instead of dropping out of the suite
NAMES = ["counting-ones-16-16", "counting-ones-8-8", "mf-branin", "mf-hartmann3",
         "mf-hartmann6", "mf2-branin", "mlp-digits", "mlp-digits-2f", "nasbench101-digits", "nasbench101-mini",
         "nasbench101-mini5", "nb201-cifar10", "nb201-cifar100", "nb201-imagenet16",
         "svm-digits", "svm-digits-heldout", "yahpo-nb301"]


def test_every_registered_benchmark_is_covered():
    assert sorted(names()) == sorted(NAMES)


def buildable():
    return [(name, get(name)) for name in NAMES if name not in SLOW]


@pytest.mark.parametrize("name, bench", buildable(), ids=lambda v: v if isinstance(v, str) else "")
def test_benchmark_protocol(name, bench):
    space = Space(bench.space)
    assert 0 < bench.min_budget <= bench.max_budget
    for budget in (bench.min_budget, bench.max_budget):
        config = space.sample(np.random.default_rng(3))
        r = bench.evaluate(config, budget, seed=0)
        assert isinstance(r, Result)
        assert r.cost is not None and r.cost >= 0
        loss = r.loss[0] if isinstance(r.loss, tuple) else r.loss
        assert r.status == "failed" or np.isfinite(loss)
