"""The scripts in examples/ run as shipped (with fewer evaluations)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("name, expect", [
    ("quickstart.py", "best validation error"),
    ("ask_tell.py", "incumbent"),
    ("nas_search.py", "test regret"),
    ("pytorch_checkpoint.py", "epochs trained"),
    ("dask_cluster.py", "trials on 2 workers"),
])
def test_example_runs(name, expect, tmp_path):
    if name == "pytorch_checkpoint.py":
        pytest.importorskip("torch")
    if name == "dask_cluster.py":
        pytest.importorskip("distributed")
    env = {**os.environ, "LOWFI_EXAMPLE_EVALS": "20", "TMPDIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert expect in proc.stdout
