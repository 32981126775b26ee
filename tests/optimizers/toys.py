"""Toy problems shared by the optimizer tests (imported as ``from toys import ...``)."""

from ConfigSpace import Categorical, ConfigurationSpace, EqualsCondition, Float, Integer

ONES = {f"c{i}": ["0", "1"] for i in range(12)}
SMOOTH = {f"x{i}": (0.0, 1.0) for i in range(4)}


def f_ones(c):
    """Counting ones over categorical "0"/"1" parameters (negated: minimized)."""
    return -sum(int(v) for v in c.values())


def f_smooth(c):
    """A sphere with its minimum at 0.3 in every dimension."""
    return sum((c[f"x{i}"] - 0.3) ** 2 for i in range(4))


def conditional_space(max_depth: int = 10, with_scale: bool = True) -> ConfigurationSpace:
    """``model`` in {lin, tree}; ``depth`` only for trees, ``alpha`` only for linear models."""
    cs = ConfigurationSpace()
    model = Categorical("model", ["lin", "tree"])
    depth = Integer("depth", (1, max_depth))
    alpha = Float("alpha", (1e-4, 1.0), log=True)
    cs.add(model, depth, alpha)
    if with_scale:
        cs.add(Categorical("scale", ["yes", "no"]))
    cs.add(EqualsCondition(depth, model, "tree"), EqualsCondition(alpha, model, "lin"))
    return cs


def run(opt, f, n):
    """Ask and tell ``n`` times with loss ``f(config)``."""
    for _ in range(n):
        t = opt.ask()
        opt.tell(t, f(t.config))
    return opt
