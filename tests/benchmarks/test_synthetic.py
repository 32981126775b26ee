import math

import numpy as np
import pytest

import lowfi.benchmarks as B
from lowfi.benchmarks.synthetic import MFBranin, mf_cost, mf_hartmann3, mf_hartmann6


def cfg(x):
    return {f"x{i}": float(v) for i, v in enumerate(x)}


@pytest.mark.parametrize("name,fstar", [("mf-branin", 0.397887), ("mf-hartmann3", -3.86278),
                                        ("mf-hartmann6", -3.322368)])
def test_optimum_at_known_maximizer(name, fstar):
    b = B.get(name)
    assert b.optimum == pytest.approx(fstar)
    assert b.test_loss(cfg(b.x_opt)) == pytest.approx(fstar, abs=2e-5)
    assert b.evaluate(cfg(b.x_opt), b.max_budget).loss == pytest.approx(fstar, abs=2e-5)
    # random points are worse than the optimum, and f_rand lies between
    rng = np.random.default_rng(0)
    lo = np.array([h.lower for h in b.space.values()])
    hi = np.array([h.upper for h in b.space.values()])
    X = lo + (hi - lo) * rng.random((500, len(lo)))
    assert b.loss_at(X, 1.0).min() >= fstar - 1e-6
    assert b.f_rand > fstar


def test_branin_all_three_minimizers():
    b = MFBranin()
    for x in [(-math.pi, 12.275), (math.pi, 2.275), (9.42478, 2.475)]:
        assert b.test_loss(cfg(x)) == pytest.approx(0.397887, abs=1e-5)


def test_lower_fidelity_is_biased_and_cheaper():
    b = mf_hartmann6()
    x = cfg(b.x_opt)
    low, mid, top = (b.evaluate(x, bud) for bud in (10, 30, 90))
    assert low.loss != pytest.approx(top.loss) and mid.loss != pytest.approx(top.loss)
    assert low.cost < mid.cost < top.cost == pytest.approx(1.0)
    assert low.info["z"] == pytest.approx(1 / 9)


def test_cost_formula_and_monotone_in_z():
    z = np.linspace(0, 1, 21)
    for p in (1, 2, 3, 5):
        c = mf_cost(np.repeat(z[:, None], p, axis=1))
        assert np.all(np.diff(c) > 0)
        assert c[-1] == pytest.approx(0.05 + 0.95 * p)
    assert mf_cost([[0.5]])[0] == pytest.approx(0.05 + 0.95 * 0.25)
    assert mf_cost([[0.5, 0.5]])[0] == pytest.approx(0.05 + 0.95 * (0.125 + 0.25))
    assert mf_cost([[0.5, 0.5, 0.5]])[0] == pytest.approx(0.05 + 0.95 * (0.125 + 0.25 + 0.5 ** 1.5))


def test_branin_fidelity_deltas():
    # z1 perturbs b by -0.01 (1 - z1); with p = 3 all three parameters move
    b1, b3 = MFBranin(fidelity_dim=1), MFBranin(fidelity_dim=3)
    x = np.array([[2.0, 3.0]])
    bb = 5.1 / (4 * math.pi ** 2) - 0.01 * 0.5
    expect1 = (3.0 - bb * 4 + 5 / math.pi * 2 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(2) + 10
    assert b1.loss_at(x, 0.5)[0] == pytest.approx(expect1)
    c = 5 / math.pi - 0.1 * 0.5
    t = 1 / (8 * math.pi) + 0.005 * 0.5
    expect3 = (3.0 - bb * 4 + c * 2 - 6) ** 2 + 10 * (1 - t) * math.cos(2) + 10
    assert b3.loss_at(x, 0.5)[0] == pytest.approx(expect3)


def test_f_rand_is_cached_and_deterministic():
    a, b = mf_hartmann3(), mf_hartmann3()
    assert a.f_rand == b.f_rand
    assert -1.5 < a.f_rand < -0.5


def test_bad_inputs_rejected():
    b = MFBranin()
    with pytest.raises(ValueError, match="budget"):
        b.evaluate(cfg([0, 0]), 100)
    with pytest.raises(ValueError, match="budget"):
        b.evaluate(cfg([0, 0]), 0)
    with pytest.raises(ValueError, match="config"):
        b.evaluate({"x0": 1.0}, 90)
    with pytest.raises(ValueError, match="fidelity_dim"):
        MFBranin(fidelity_dim=4)
    with pytest.raises(ValueError, match="dim"):
        B.synthetic.MFHartmann(dim=4)


def test_budget_grid_defaults():
    b = B.get("mf-branin")
    assert (b.min_budget, b.max_budget, b.eta) == (10.0, 90.0, 3.0)
