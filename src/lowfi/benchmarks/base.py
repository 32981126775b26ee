"""The benchmark protocol and its registry."""

from __future__ import annotations

import importlib
from typing import Any

from lowfi.core.trial import Result


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

    def evaluate(self, config: dict[str, Any], budget: float, seed: int | None = None) -> Result:
        raise NotImplementedError

    def test_loss(self, config: dict[str, Any]) -> float | None:
        """Noise-free loss at ``max_budget`` (for regret), if the problem has one."""
        return None

    def __call__(self, config: dict[str, Any], budget: float) -> Result:
        return self.evaluate(config, budget)


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
