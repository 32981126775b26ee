"""Analysis: incumbent trajectories, regret, plots, reports and the ``lowfi bench`` harness.

Import-light (matplotlib is imported only by the plotting functions). Submodules:
``lowfi.analysis.trajectory`` (incumbents, regret, aggregation over seeds),
``lowfi.analysis.plots`` (PNG figures), ``lowfi.analysis.report`` (``report(path)``: markdown
and HTML pages) and ``lowfi.analysis.bench`` (``bench(...)``: optimizers x benchmarks x seeds).
"""

from lowfi.analysis.trajectory import aggregate, final_values, incumbent_trajectory, regret

__all__ = ["aggregate", "final_values", "incumbent_trajectory", "regret"]
