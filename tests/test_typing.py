"""Public names resolve to their real signatures for a type checker (mypy on a user script)."""

import subprocess
import sys

import pytest

pytest.importorskip("mypy")

USER_SCRIPT = '''
import lowfi
from lowfi.integrations import SearchCV
from lowfi.optimizers import Hyperband, RegularizedEvolution


def objective(config: dict, budget: float) -> float:
    return float(config["x"]) * budget


res = lowfi.minimize(objective, {"x": (0.0, 1.0)}, "hyperband", min_budget=1, max_budgett=9)
study = lowfi.Study("run.db", {"x": (0.0, 1.0)}, min_budgett=1)
search = SearchCV(None, {"x": (0.0, 1.0)}, max_evaluationss=3)
opt = Hyperband({"x": (0.0, 1.0)}, min_budget=1, max_budget=9, etaa=3)
evo = RegularizedEvolution({"x": (0.0, 1.0)}, population_sizee=3)
ok: lowfi.Result = lowfi.Result(0.1)
loss: str = res.best_loss
'''


def test_mypy_sees_real_signatures(tmp_path):
    script = tmp_path / "user.py"
    script.write_text(USER_SCRIPT)
    (tmp_path / "mypy.ini").write_text("[mypy]\n")
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(tmp_path / "mypy.ini"),
         "--cache-dir", str(tmp_path / ".mypy_cache"), "--follow-imports=silent",
         "--no-error-summary", str(script)],
        capture_output=True, text=True, cwd=tmp_path)
    errors = [ln for ln in out.stdout.splitlines() if ": error:" in ln]
    text = "\n".join(errors)
    assert 'Unexpected keyword argument "max_budgett" for "minimize"' in text, out.stdout
    assert 'Unexpected keyword argument "min_budgett" for "Study"' in text
    assert 'Unexpected keyword argument "max_evaluationss" for "SearchCV"' in text
    assert 'Unexpected keyword argument "etaa" for "Hyperband"' in text
    assert 'Unexpected keyword argument "population_sizee" for "RegularizedEvolution"' in text
    # RunResult.best_loss is typed: assigning it to a str is an error
    assert any("incompatible types" in ln.lower() and "float | None" in ln for ln in errors), text
    assert len(errors) == 6, text  # and nothing else: Result, SearchCV, ... resolve
