"""The PyTorch network builder: shapes, channel handling, parameters."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lowfi.nas import ModelSpec, build_network, enumerate_cells  # noqa: E402
from lowfi.nas.nasbench101.builder import Cell, compute_vertex_channels  # noqa: E402

C3, C1, MP = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"


def test_vertex_channels_as_in_the_paper():
    # vertices 2 and 3 feed the output (10 = 5 + 5); vertex 1 feeds only vertex 2, takes its 5
    m = np.zeros((5, 5), dtype=int)
    m[0, 1] = m[1, 2] = m[0, 3] = 1
    m[2, 4] = m[3, 4] = 1
    assert compute_vertex_channels(6, 10, m) == [6, 5, 5, 5, 10]
    m2 = np.zeros((5, 5), dtype=int)
    m2[0, 1] = m2[0, 2] = m2[0, 3] = m2[1, 4] = m2[2, 4] = m2[3, 4] = 1
    assert compute_vertex_channels(6, 10, m2) == [6, 4, 3, 3, 10]


def test_cell_output_channels_and_concat():
    torch.manual_seed(0)
    m = np.zeros((5, 5), dtype=int)
    m[0, 1] = m[0, 2] = m[0, 3] = m[1, 4] = m[2, 4] = m[3, 4] = m[0, 4] = 1
    spec = ModelSpec(m, ["input", C3, C1, MP, "output"])
    cell = Cell(spec, 6, 10)
    y = cell(torch.randn(2, 6, 8, 8))
    assert y.shape == (2, 10, 8, 8)
    assert "4" in cell.proj  # the input-to-output edge adds a projection


@pytest.mark.parametrize("stacks,cells,size,out_hw", [(3, 3, 8, 2), (2, 1, 8, 4), (1, 2, 6, 6)])
def test_network_output_shapes(stacks, cells, size, out_hw):
    torch.manual_seed(0)
    spec = ModelSpec([[0, 1, 1, 0], [0, 0, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
                     ["input", C3, MP, "output"])
    net = build_network(spec, num_classes=10, in_channels=1, stem_channels=8,
                        num_stacks=stacks, cells_per_stack=cells)
    x = torch.randn(4, 1, size, size)
    assert net(x).shape == (4, 10)
    assert net.features(x).shape == (4, 8 * 2 ** (stacks - 1), out_hw, out_hw)
    n_cells = sum(isinstance(m, Cell) for m in net.modules())
    assert n_cells == stacks * cells


def test_every_small_cell_builds_and_runs():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, 8)
    sizes = []
    for spec in enumerate_cells(4).specs():
        net = build_network(spec, stem_channels=4, num_stacks=2, cells_per_stack=1)
        assert net(x).shape == (2, 10)
        sizes.append(sum(p.numel() for p in net.parameters()))
    assert len(set(sizes)) > 10  # different cells give different networks


def test_paper_defaults_and_errors():
    spec = ModelSpec(np.eye(3, k=1, dtype=int), ["input", C3, "output"])
    net = build_network(spec)  # 128 channels, 3 stacks of 3 cells
    assert net.classifier.in_features == 512
    with pytest.raises(ValueError, match="stem_channels"):
        build_network(spec, stem_channels=0)
    with pytest.raises(ValueError, match="invalid"):
        build_network(ModelSpec([[0, 0], [0, 0]], ["input", "output"]))
