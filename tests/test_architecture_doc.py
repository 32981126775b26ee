"""Every code block of docs/architecture.md's extension points runs as it is."""

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def _blocks():
    text = DOC.read_text()
    runnable = text.split("## Public contract")[0]  # the contract block lists every option
    return re.findall(r"```python\n(.*?)```", runnable, flags=re.S)


def test_the_doc_has_an_example_per_extension_point():
    text = DOC.read_text()
    for title in ("A new proposer", "A new scheduler", "A new executor", "A new stopping rule",
                  "A new benchmark"):
        assert f"### {title}" in text
    assert len(_blocks()) >= 6


@pytest.mark.parametrize("i", range(6))
def test_architecture_example_runs(i, capsys):
    code = _blocks()[i]
    exec(compile(code, f"{DOC.name}[block {i}]", "exec"), {"__name__": "__doc_example__"})
    assert capsys.readouterr().out.strip()  # each example prints what it found
