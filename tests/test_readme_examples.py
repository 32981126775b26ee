"""Every Python example in README.md runs.

The ```python blocks run in order in one namespace (the README reads top to bottom: later
examples use the data and the space of the first), in a temporary folder. Runs are kept
small: ``lowfi.minimize`` runs inline on one worker with at most 4 evaluations; everything
else runs as written.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
MAX_EVALUATIONS = 4


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_readme_has_python_examples():
    blocks = python_blocks(README.read_text())
    assert len(blocks) >= 4
    for block in blocks:
        compile(block, "README.md", "exec")  # every block is valid Python


def test_readme_examples_run(tmp_path, monkeypatch):
    import lowfi

    real_minimize = lowfi.minimize
    calls = []

    def small_minimize(objective, space=None, optimizer=None, **kwargs):
        kwargs.update(n_workers=1, executor="inline", progress=False)
        kwargs["max_evaluations"] = min(kwargs.get("max_evaluations") or MAX_EVALUATIONS,
                                        MAX_EVALUATIONS)
        kwargs.pop("walltime", None)
        res = real_minimize(objective, space, optimizer, **kwargs)
        calls.append(res)
        return res

    monkeypatch.setattr(lowfi, "minimize", small_minimize)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__main__"}  # blocks guarded as scripts run too
    blocks = python_blocks(README.read_text())
    for i, block in enumerate(blocks):
        if re.search(r"^\s*import torch", block, flags=re.M):
            pytest.importorskip("torch")  # optional extra lowfi[nas]
        n_before = len(calls)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. ConvergenceWarning at one epoch
            exec(compile(block, f"README.md block {i + 1}", "exec"), namespace)  # noqa: S102
        for res in calls[n_before:]:
            assert res.best_loss is not None, f"README block {i + 1}: every trial failed"
            assert (res.trials["status"] != "failed").all(), res.trials["error"].dropna().tolist()
    assert len(calls) >= 4  # minimize x 3, SearchCV
