import shutil

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
from lowfi.benchmarks import get, yahpo  # noqa: E402

try:
    ROOT = yahpo.data_path()
except FileNotFoundError:
    ROOT = None
needs_lcbench = pytest.mark.skipif(ROOT is None or not (ROOT / "lcbench" / "model.onnx").exists(),
                                   reason="YAHPO lcbench data not found")
CFG = dict(batch_size=64, learning_rate=1e-2, momentum=0.9, weight_decay=1e-4, num_layers=3,
           max_units=256, max_dropout=0.2)


@pytest.fixture(scope="module")
def lc():
    return get("yahpo-lcbench-3945")


@needs_lcbench
def test_lcbench_matches_the_surrogate_figures_of_the_data_guide(lc):
    # val_accuracy 49.47 / 90.14 / 91.37 % at epochs 1 / 10 / 52 (identical to yahpo-gym)
    losses = [lc.evaluate(CFG, e).loss for e in (1, 10, 52)]
    np.testing.assert_allclose(losses, [1 - 0.4947, 1 - 0.9014, 1 - 0.9137], atol=2e-4)
    assert (lc.min_budget, lc.max_budget) == (2.0, 51.0)
    assert set(lc.space.keys()) == {"batch_size", "learning_rate", "momentum", "weight_decay",
                                    "num_layers", "max_units", "max_dropout"}


@needs_lcbench
def test_lcbench_cost_grows_with_epochs_and_optimum_is_below_random(lc):
    costs = [lc.evaluate(CFG, e).cost for e in (2, 10, 30, 51)]
    assert all(c > 0 for c in costs) and costs == sorted(costs)
    assert 0 <= lc.optimum < lc.f_rand < 1
    assert lc.test_loss(CFG) == lc.evaluate(CFG, 51).loss
    assert lc.tabular
    curve = lc.curve(CFG)
    assert curve.shape == (52,) and curve[-1] < curve[0]


@needs_lcbench
def test_lcbench_rejects_unknown_task_and_budget(lc):
    with pytest.raises(ValueError, match="task_id"):
        yahpo.lcbench("123")
    with pytest.raises(ValueError, match="budget"):
        lc.evaluate(CFG, 60)


@needs_lcbench
def test_missing_file_error_names_the_file(tmp_path, monkeypatch):
    (tmp_path / "lcbench").mkdir()
    shutil.copy(ROOT / "lcbench" / "encoding.json", tmp_path / "lcbench")
    shutil.copy(ROOT / "lcbench" / "config_space.json", tmp_path / "lcbench")
    with pytest.raises(FileNotFoundError, match="model.onnx"):
        yahpo.lcbench("3945", data_path=tmp_path)
    monkeypatch.setenv(yahpo.ENV, str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=yahpo.ENV):
        yahpo.lcbench("3945")


@pytest.mark.skipif(ROOT is None or not (ROOT / "nb301_v2" / "model_v2.onnx").exists(),
                    reason="YAHPO nb301 v2 data not found")
def test_nb301_v2_loss_falls_and_runtime_grows_with_epochs():
    from lowfi.space import Space

    nb = yahpo.nb301()
    archs = Space(nb.space).sample(np.random.default_rng(0), 5)
    early = [nb.evaluate(a, 1) for a in archs]
    late = [nb.evaluate(a, 98) for a in archs]
    assert all(b.loss < a.loss for a, b in zip(early, late, strict=True))
    assert all(b.cost > a.cost > 0 for a, b in zip(early, late, strict=True))
    assert 0 < nb.optimum < nb.f_rand < 1
