"""DARTS one-shot NAS (Liu et al. 2019) with warm-starting (Auto-DispNet, Saikia et al. 2019),
the RobustDARTS regularizations (Zela et al. 2020), the NAS-then-HPO recipe and HPO around NAS
(:func:`compare_nas_hpo` runs both at equal compute).

Needs PyTorch (``pip install lowfi[nas]``); importing this package imports torch, so other lowfi
modules import it lazily.

>>> from lowfi.nas.darts import SearchNetwork, darts_search, digits_task, build_network
>>> data = digits_task("classification")
>>> res = darts_search(SearchNetwork(C=8), data["search_train"], data["search_val"],
...                    epochs=6, warmstart_epochs=2)            # doctest: +SKIP
>>> net = build_network(res.genotype, "classification", C=8)    # doctest: +SKIP
"""

from lowfi.nas.darts.cells import Cell, MixedOp, SearchCell, SearchUpCell, UpCell
from lowfi.nas.darts.genotype import (
    PARAMETERLESS,
    PRIMITIVES,
    Genotype,
    discretize,
    edge_index,
    n_edges,
    random_genotype,
)
from lowfi.nas.darts.hessian import dominant_eigenvalue, hessian_vector_product
from lowfi.nas.darts.nas_hpo import (
    OptionResult,
    compare_nas_hpo,
    darts_hpo_space,
    hpo_around_nas,
    search_config_for,
)
from lowfi.nas.darts.network import EncoderDecoder, Network, build_network
from lowfi.nas.darts.ops import OPS, drop_path, make_op
from lowfi.nas.darts.recipe import NasHpoResult, hpo_space, nas_then_hpo
from lowfi.nas.darts.search import (
    Architect,
    SearchConfig,
    SearchResult,
    alpha_hessian_eigenvalue,
    cutout,
    darts_search,
)
from lowfi.nas.darts.supernet import SearchEncoderDecoder, SearchNetwork
from lowfi.nas.darts.tasks import build_seeded, digits_task, train_network

__all__ = [
    "OPS", "PARAMETERLESS", "PRIMITIVES", "Architect", "Cell", "EncoderDecoder", "Genotype",
    "MixedOp", "NasHpoResult", "Network", "OptionResult", "SearchCell", "SearchConfig",
    "SearchEncoderDecoder", "SearchNetwork", "SearchResult", "SearchUpCell", "UpCell",
    "alpha_hessian_eigenvalue", "build_network", "build_seeded", "compare_nas_hpo", "cutout",
    "darts_hpo_space", "darts_search", "digits_task", "discretize", "dominant_eigenvalue",
    "drop_path", "edge_index", "hessian_vector_product", "hpo_around_nas", "hpo_space",
    "make_op", "n_edges", "nas_then_hpo", "random_genotype", "search_config_for",
    "train_network",
]
