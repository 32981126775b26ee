import numpy as np
import pytest

from lowfi.benchmarks import tables

try:
    ROOT = tables.data_root()
    HAVE = all((ROOT / f).exists() for f in tables.FILES.values())
except FileNotFoundError:
    HAVE = False
pytestmark = pytest.mark.skipif(not HAVE, reason="NAS-Bench-201 tables not found")

BEST = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
        "nor_conv_1x1~2|")


def _config(arch: str) -> dict:
    ops = [p.split("~")[0] for p in arch.strip("|").replace("|+|", "|").split("|")]
    return dict(zip(tables.EDGES, ops, strict=True))


@pytest.fixture(scope="module")
def nb():
    return tables.nb201_cifar10()


def test_all_architectures_and_the_known_optimum(nb):
    assert len(nb) == 15625
    cfg = _config(BEST)
    assert tables.arch_string(cfg) == BEST
    assert nb.test_loss(cfg) == pytest.approx(nb.optimum)
    assert nb.optimum == pytest.approx(1 - 94.3733 / 100, abs=2e-3)  # 94.37 % seed average
    assert nb.optimum < nb.f_rand < 0.2


def test_two_fidelities_and_costs(nb):
    cfg = _config(BEST)
    lo, hi = nb.evaluate(cfg, 12), nb.evaluate(cfg, 200)
    assert lo.info["epochs"] == 12 and hi.info["epochs"] == 200
    assert nb.evaluate(cfg, 50).loss == lo.loss  # below 200: the 12-epoch schedule
    assert hi.loss < lo.loss
    assert hi.cost == pytest.approx(lo.cost * 200 / 12) and lo.cost > 0
    t = nb.table()
    assert 500 < np.min(t["seconds_per_epoch"]) * 200 < np.max(t["seconds_per_epoch"]) * 200 < 3500
    # Hyperband with eta = 200/12 uses exactly the two recorded fidelities
    assert nb.max_budget / nb.eta == pytest.approx(nb.min_budget)


def test_all_ops_none_is_chance_level(nb):
    cfg = dict.fromkeys(tables.EDGES, "none")
    assert nb.test_loss(cfg) > 0.85


def test_other_datasets_and_errors(tmp_path):
    c100 = tables.nb201_cifar100()
    assert 0.25 < c100.optimum < c100.f_rand
    with pytest.raises(ValueError, match="dataset"):
        tables.NB201("mnist")
    with pytest.raises(FileNotFoundError, match="nats_bench.csv"):
        tables.NB201("cifar10", data_path=tmp_path)
    nb = tables.nb201_cifar10()
    with pytest.raises(ValueError, match="config"):
        nb.evaluate({"edge_0_1": "conv"}, 12)
