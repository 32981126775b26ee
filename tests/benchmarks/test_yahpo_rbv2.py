import numpy as np
import pytest

pytest.importorskip("onnxruntime")
from lowfi.benchmarks import yahpo  # noqa: E402
from lowfi.core.seeding import as_generator  # noqa: E402
from lowfi.space import Space  # noqa: E402

try:
    ROOT = yahpo.data_path()
except FileNotFoundError:
    ROOT = None


def _have(scen):
    return ROOT is not None and (ROOT / scen / "model.onnx").exists()


needs_xgb = pytest.mark.skipif(not _have("rbv2_xgboost"), reason="YAHPO rbv2_xgboost not found")
needs_rpart = pytest.mark.skipif(not _have("rbv2_rpart"), reason="YAHPO rbv2_rpart not found")
RPART = {"cp": 0.001, "maxdepth": 20, "minbucket": 5, "minsplit": 10,
         "num.impute.selected.cpo": "impute.mean"}


@pytest.fixture(scope="module")
def xgb():
    return yahpo.rbv2_xgboost("1067")


@pytest.fixture(scope="module")
def rpart():
    return yahpo.rbv2_rpart("3")


@needs_xgb
def test_model_input_shapes_match_the_declared_input_order(xgb):
    for scen in ("rbv2_xgboost", "rbv2_rpart"):
        sess = yahpo._session(ROOT / scen / "model.onnx")
        shapes = {i.name: i.shape[1] for i in sess.get_inputs()}
        cont, cat = yahpo.RBV2_INPUTS[scen]
        assert shapes == {"x_cont": len(cont), "x_cat": len(cat)}
        assert sess.get_outputs()[0].shape[1] == len(yahpo.RBV2_TARGETS)


@needs_xgb
def test_xgboost_1067_matches_the_data_guide_sanity_figures(xgb):
    # data guide 2.4: 200 random configs (trainsize random too): acc 0.474 / 0.844 / 0.878
    cfgs = Space(xgb.space).sample(as_generator(1), 200)
    ts = as_generator(2).uniform(0.03, 1.0, 200)
    acc = 1 - np.array([xgb.evaluate(c, float(t)).loss for c, t in zip(cfgs, ts)])
    lo, med, hi = np.percentile(acc, [0, 50, 100])
    assert abs(lo - 0.474) < 0.05 and abs(med - 0.844) < 0.015 and abs(hi - 0.878) < 0.015
    # the other outputs sit in the ranges of YAHPO's global statistics (order check)
    y = xgb.predict(cfgs, 1.0)
    assert np.all((y[:, :5] >= -0.05) & (y[:, :5] <= 1.05))  # acc, bac, auc, brier, f1
    assert np.median(y[:, 8]) > 100  # memory (MB)
    assert set(xgb.space.keys()) >= {"booster", "nrounds", "eta", "rate_drop"}
    assert len(xgb.space.conditions) == 8  # booster-dependent parameters kept conditional


@needs_xgb
def test_xgboost_cost_grows_with_trainsize_and_nrounds(xgb):
    base = {"booster": "gbtree", "nrounds": 100, "eta": 0.1, "gamma": 0.01, "lambda": 1.0,
            "alpha": 0.01, "subsample": 0.8, "max_depth": 6, "min_child_weight": 3.0,
            "colsample_bytree": 0.8, "colsample_bylevel": 0.8,
            "num.impute.selected.cpo": "impute.mean"}
    costs = [xgb.evaluate(base, t).cost for t in (0.03, 0.3, 1.0)]
    assert all(c >= 0 for c in costs) and costs[0] < costs[-1]
    assert xgb.evaluate({**base, "nrounds": 2000}, 1.0).cost > costs[-1]


@needs_xgb
def test_xgboost_optimum_and_random_loss_are_consistent(xgb):
    assert xgb.tabular and (xgb.min_budget, xgb.max_budget) == (0.03, 1.0)
    assert 0 <= xgb.optimum < xgb.f_rand < 1
    cfgs = Space(xgb.space).sample(as_generator(5), 300)
    losses = np.array([xgb.test_loss(c) for c in cfgs])
    assert losses.min() >= xgb.optimum - 1e-9
    assert abs(losses.mean() - xgb.f_rand) < 0.02
    assert xgb.test_loss(cfgs[0]) == xgb.evaluate(cfgs[0], 1.0).loss


@needs_rpart
def test_rpart_accuracy_rises_with_trainsize(rpart):
    acc = [1 - rpart.evaluate(RPART, t).loss for t in (0.03, 0.1, 0.3, 1.0)]
    assert acc == sorted(acc) and acc[0] < 0.92 and acc[-1] > 0.96
    assert all(rpart.evaluate(RPART, t).cost >= 0 for t in (0.03, 1.0))
    assert set(rpart.space.keys()) == {"cp", "maxdepth", "minbucket", "minsplit",
                                       "num.impute.selected.cpo"}


@needs_rpart
def test_bad_inputs_raise_clear_errors(rpart):
    with pytest.raises(ValueError, match="budget"):
        rpart.evaluate(RPART, 2.0)
    with pytest.raises(ValueError, match="num.impute.selected.cpo"):
        rpart.evaluate({**RPART, "num.impute.selected.cpo": "zero"}, 1.0)
    with pytest.raises(ValueError, match="task_id"):
        yahpo.rbv2_rpart("123456789")
    with pytest.raises(ValueError, match="repl"):
        yahpo.rbv2_rpart("3", repl=0)
    with pytest.raises(ValueError, match="scenario"):
        yahpo.RBV2("rbv2_svm", "3")
    with pytest.raises(FileNotFoundError, match="data_path"):
        yahpo.rbv2_rpart("3", data_path="/nonexistent/yahpo")
