import numpy as np
import pytest
from ConfigSpace import (
    Categorical,
    ConfigurationSpace,
    Constant,
    EqualsCondition,
    Float,
    ForbiddenAndConjunction,
    ForbiddenEqualsClause,
    Integer,
    OrdinalHyperparameter,
)

from lowfi.space import Space


def full_space():
    cs = ConfigurationSpace({"lr": (1e-5, 1e-1), "layers": (1, 4), "act": ["relu", "tanh"]})
    cs.add(Float("x", (1e-3, 1.0), log=True), Integer("n", (1, 1000), log=True),
           OrdinalHyperparameter("o", ["a", "b", "c"]), Categorical("opt", ["sgd", "adam"]),
           Float("mom", (0, 1)), Constant("k", 3))
    cs.add(EqualsCondition(cs["mom"], cs["opt"], "sgd"))
    cs.add(ForbiddenAndConjunction(ForbiddenEqualsClause(cs["act"], "tanh"), ForbiddenEqualsClause(cs["o"], "c")))
    return cs


def test_dict_shorthand_and_kinds():
    s = Space({"lr": (1e-5, 1e-1), "layers": (1, 4), "act": ["relu", "tanh"]})
    assert dict(zip(s.names, s.kinds)) == {"act": "cat", "layers": "int", "lr": "float"}
    assert s.dim == 3


def test_conditions_and_forbiddens_respected_when_sampling():
    s = Space(full_space())
    configs = s.sample(np.random.default_rng(0), 3000)
    assert all(("mom" in c) == (c["opt"] == "sgd") for c in configs)
    assert not any(c["act"] == "tanh" and c["o"] == "c" for c in configs)
    for c in configs[:100]:
        s.validate(c)


def test_encoding_round_trip_and_ranges():
    s = Space(full_space())
    configs = s.sample(np.random.default_rng(1), 500)
    X = s.encode(configs)
    assert X.shape == (500, s.dim)
    num = [i for i, k in enumerate(s.kinds) if k in ("float", "int")]
    finite = X[:, num][~np.isnan(X[:, num])]
    assert finite.min() >= 0 and finite.max() <= 1
    # inactive -> NaN
    mom = s.index["mom"]
    assert np.array_equal(np.isnan(X[:, mom]), [c["opt"] != "sgd" for c in configs])
    # categoricals/ordinals are indices
    assert set(np.unique(X[:, s.index["o"]])) <= {0.0, 1.0, 2.0}
    back = s.to_dicts(X)
    for a, b in zip(configs, back):
        assert a.keys() == b.keys()
        for k in a:
            assert a[k] == pytest.approx(b[k]) if isinstance(a[k], float) else a[k] == b[k]


def test_log_scale_encoding():
    s = Space(ConfigurationSpace({"lr": Float("lr", (1e-4, 1.0), log=True)}))
    X = s.encode([{"lr": 1e-4}, {"lr": 1e-2}, {"lr": 1.0}])
    assert np.allclose(X[:, 0], [0.0, 0.5, 1.0])


def test_sampling_is_seeded_by_our_generator_only():
    cs = full_space()
    a = Space(cs).sample(np.random.default_rng(7), 20)
    cs.seed(123)  # ConfigSpace's own random state must not matter
    b = Space(cs).sample(np.random.default_rng(7), 20)
    assert a == b
    assert a != Space(cs).sample(np.random.default_rng(8), 20)


def test_repair_snaps_and_deactivates():
    s = Space(full_space())
    X = np.full((1, s.dim), 0.49)
    Xr, ok = s.repair(X)
    assert np.isnan(Xr[0, s.index["mom"]]) == (s.to_dicts(Xr)[0]["opt"] != "sgd")
    assert Xr[0, s.index["o"]] in (0.0, 1.0, 2.0)


@pytest.mark.parametrize("bad", [{"lr": 5.0, "layers": 2, "act": "relu"},
                                 {"lr": 0.01, "layers": 2, "act": "sigmoid"},
                                 {"lr": 0.01, "layers": 2, "act": "relu", "nope": 1}])
def test_validate_rejects_configs_outside_the_space(bad):
    s = Space({"lr": (1e-5, 1e-1), "layers": (1, 4), "act": ["relu", "tanh"]})
    with pytest.raises(ValueError, match="config"):
        s.validate(bad)


def test_empty_and_wrong_spaces_rejected():
    with pytest.raises(ValueError, match="space"):
        Space(ConfigurationSpace())
    with pytest.raises(TypeError, match="space"):
        Space([1, 2, 3])


def test_pickle_round_trip():
    import pickle

    s = Space(full_space())
    s2 = pickle.loads(pickle.dumps(s))
    assert s2.names == s.names
    assert s2.sample(np.random.default_rng(0), 5) == s.sample(np.random.default_rng(0), 5)
