"""The benchmark protocol and its registry."""

from __future__ import annotations

import importlib
import threading
from typing import Any

from lowfi.core.trial import Result

_CHECKING = threading.local()  # per thread: executors evaluate in threads


class Benchmark:
    """A problem to optimize.

    Attributes
    ----------
    space
        A ConfigSpace ``ConfigurationSpace``.
    min_budget, max_budget
        The fidelity range (equal for single-fidelity problems).
    optimum
        Known or best known loss at ``max_budget`` (None if unknown).
    f_rand
        Mean loss of uniformly random configurations at ``max_budget`` where known, used for
        normalized regret ``(f - optimum) / (f_rand - optimum)``.
    tabular
        True when evaluations are look-ups whose ``cost`` is a recorded time (so a simulated
        clock makes sense).
    """

    name: str = ""
    space: Any = None
    min_budget: float = 1.0
    max_budget: float = 1.0
    eta: float = 3.0
    optimum: float | None = None
    f_rand: float | None = None
    tabular: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "evaluate" in cls.__dict__:  # every implementation checks the configuration first
            cls.evaluate = _checked(cls.__dict__["evaluate"])  # type: ignore[method-assign]

    def evaluate(self, config: dict[str, Any], budget: float, seed: int | None = None) -> Result:
        """The loss of ``config`` (a configuration of :attr:`space`: one with a missing or
        unknown parameter or a value outside its range is a ValueError) at ``budget``;
        ``seed`` seeds the evaluation noise of noisy problems."""
        raise NotImplementedError

    def check_config(self, config: Any) -> dict[str, Any]:
        """``config`` as a configuration of :attr:`space`, or a ValueError naming what is
        wrong (a surrogate or a formula would otherwise return a number for anything)."""
        from ConfigSpace import ConfigurationSpace

        if not isinstance(self.space, ConfigurationSpace):
            return config
        space = self.__dict__.get("_checked_space")
        if space is None or space.cs is not self.space:
            from lowfi.space import Space

            space = self.__dict__["_checked_space"] = Space(self.space)
        return space.validate(config, argument=f"{self.name or type(self).__name__}: config")

    def test_loss(self, config: dict[str, Any]) -> float | None:
        """Noise-free loss at ``max_budget`` (for regret), if the problem has one."""
        return None

    def __call__(self, config: dict[str, Any], budget: float) -> Result:
        return self.evaluate(config, budget)


def _checked(evaluate: Any) -> Any:
    import functools

    @functools.wraps(evaluate)
    def checked(self: Benchmark, config: dict[str, Any], budget: float, *args: Any,
                **kwargs: Any) -> Result:
        if getattr(_CHECKING, "busy", False):  # a subclass calling its parent's evaluate
            return evaluate(self, config, budget, *args, **kwargs)
        config = self.check_config(config)
        _CHECKING.busy = True
        try:
            return evaluate(self, config, budget, *args, **kwargs)
        finally:
            _CHECKING.busy = False

    return checked


class SeededBenchmark:
    """A benchmark as the objective of a run with seed ``seed``: trial ``i`` is evaluated with
    the seed drawn from ``SeedSequence([seed, i])``, so the run's noisy evaluations repeat
    with its seed (in any order and with any number of workers). ``lowfi.minimize`` wraps a
    benchmark given as the objective in it."""

    def __init__(self, benchmark: Benchmark, seed: int | None):
        self.benchmark, self.seed = benchmark, seed

    def __call__(self, config: dict[str, Any], budget: float, trial: Any) -> Result:
        import numpy as np

        seed = None if self.seed is None else int(
            np.random.SeedSequence([self.seed, int(trial.id)]).generate_state(1)[0])
        return self.benchmark.evaluate(config, budget, seed=seed)


#: registered name -> "module:factory"; factories are imported only when used
REGISTRY: dict[str, str] = {
    "mlp-digits": "lowfi.benchmarks.mlp_digits:MLPDigits",
    "counting-ones-8-8": "lowfi.benchmarks.counting_ones:counting_ones_8_8",
    "counting-ones-16-16": "lowfi.benchmarks.counting_ones:counting_ones_16_16",
    "mf-branin": "lowfi.benchmarks.synthetic:MFBranin",
    "mf-hartmann3": "lowfi.benchmarks.synthetic:mf_hartmann3",
    "mf-hartmann6": "lowfi.benchmarks.synthetic:mf_hartmann6",
    "mf2-branin": "lowfi.benchmarks.multi_fidelity:TwoFidelityBranin",
    "mlp-digits-2f": "lowfi.benchmarks.multi_fidelity:MLPDigits2F",
    "svm-digits": "lowfi.benchmarks.sklearn_tasks:SVMDigits",
    "svm-digits-heldout": "lowfi.benchmarks.sklearn_tasks:svm_digits_heldout",
    "nb201-cifar10": "lowfi.benchmarks.tables:nb201_cifar10",
    "nb201-cifar100": "lowfi.benchmarks.tables:nb201_cifar100",
    "nb201-imagenet16": "lowfi.benchmarks.tables:nb201_imagenet16",
    "yahpo-nb301": "lowfi.benchmarks.yahpo:nb301",
    "nasbench101-mini": "lowfi.nas.nasbench101.tabular:mini_benchmark",
    "nasbench101-mini5": "lowfi.nas.nasbench101.tabular:mini5_benchmark",
    "nasbench101-digits": "lowfi.nas.nasbench101.search:digits_cells",
}

#: name prefixes handled by a factory taking the rest of the name (e.g. yahpo-lcbench-3945)
PREFIXES: dict[str, str] = {
    "yahpo-lcbench-": "lowfi.benchmarks.yahpo:lcbench",
    "yahpo-rbv2-xgboost-": "lowfi.benchmarks.yahpo:rbv2_xgboost",
    "yahpo-rbv2-rpart-": "lowfi.benchmarks.yahpo:rbv2_rpart",
    "lcdb-": "lowfi.benchmarks.lcdb:lcdb",
}


def register(name: str, target: str) -> None:
    """Register ``"module:factory"`` under ``name``."""
    REGISTRY[name] = target


def _resolve(target: str):
    module, attr = target.split(":")
    return getattr(importlib.import_module(module), attr)


def names() -> list[str]:
    return sorted(REGISTRY)


def get(name: str, **kwargs: Any) -> Benchmark:
    """Build the benchmark registered under ``name``."""
    if name in REGISTRY:
        try:
            factory = _resolve(REGISTRY[name])
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"benchmark: {name!r} is not available in this installation ({exc})") from exc
        return factory(**kwargs)
    for prefix, target in PREFIXES.items():
        if isinstance(name, str) and name.startswith(prefix):
            return _resolve(target)(name[len(prefix):], **kwargs)
    raise ValueError(
        f"benchmark: got {name!r}; known benchmarks are {', '.join(names())} "
        f"and names starting with {', '.join(PREFIXES)}"
    )
