import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")


@pytest.fixture
def toy_space():
    return {"x": (0.0, 1.0), "y": (1, 8), "c": ["a", "b", "c"]}


def toy_loss(config, budget):
    """A toy multi-fidelity loss: better with x near 0.3, c == 'b', and more budget."""
    return (config["x"] - 0.3) ** 2 + 0.1 * (config["c"] != "b") + 0.01 * config["y"] + 1.0 / budget
