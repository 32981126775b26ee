"""Analysis: incumbent trajectories, regret, plots, reports and the ``lowfi bench`` harness.

Import-light (matplotlib is imported only by the plotting functions). Submodules:
``lowfi.analysis.trajectory`` (incumbents, regret, aggregation over seeds),
``lowfi.analysis.plots`` (PNG figures), ``lowfi.analysis.report`` (``report(path)``: markdown
and HTML pages) and ``lowfi.analysis.bench`` (``bench(...)``: optimizers x benchmarks x seeds).
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lowfi.analysis.trajectory import aggregate, final_values, incumbent_trajectory, regret


def __getattr__(name: str) -> Any:  # pandas loads on first use (keeps `lowfi --help` fast)
    if name in ("aggregate", "final_values", "incumbent_trajectory", "regret"):
        from lowfi.analysis import trajectory

        return getattr(trajectory, name)
    raise AttributeError(f"module 'lowfi.analysis' has no attribute {name!r}")

__all__ = ["aggregate", "final_values", "incumbent_trajectory", "regret"]
