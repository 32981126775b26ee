import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")


def _project_data() -> None:
    """The project's benchmark data (not shipped with lowfi; see docs/benchmarks/
    tabular-problems.md): ``../shared/data`` beside the checkout, or the workplace's copy,
    unless the environment names a folder already. Tests that need a table skip without it."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for root in (os.path.join(os.path.dirname(here), "shared", "data"), "/work/shared/data"):
        if os.path.isdir(root):
            os.environ.setdefault("LOWFI_DATA", root)
            os.environ.setdefault("LOWFI_LCDB", os.path.join(root, "lcdb"))
            os.environ.setdefault("LOWFI_YAHPO_DATA", os.path.join(root, "yahpo_data"))
            return


_project_data()


@pytest.fixture
def toy_space():
    return {"x": (0.0, 1.0), "y": (1, 8), "c": ["a", "b", "c"]}


def toy_loss(config, budget):
    """A toy multi-fidelity loss: better with x near 0.3, c == 'b', and more budget."""
    return (config["x"] - 0.3) ** 2 + 0.1 * (config["c"] != "b") + 0.01 * config["y"] + 1.0 / budget
