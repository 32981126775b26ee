"""The Auto-DispNet recipe: architecture by DARTS, then training hyperparameters by BOHB.

Saikia, Marrakchi, Zela, Hutter & Brox (ICCV 2019, "AutoDispNet") first search the cells with
DARTS (with warm-starting) and then tune the training hyperparameters of the found network with
BOHB, using training epochs as the budget. :func:`nas_then_hpo` does both on lowfi's engine.
"""

from __future__ import annotations

import importlib.util
import warnings
from dataclasses import dataclass, field
from typing import Any

import lowfi
from lowfi.core.seeding import SeedLike, as_generator
from lowfi.core.trial import Result
from lowfi.nas._torch import require_torch
from lowfi.nas.darts.genotype import Genotype
from lowfi.nas.darts.search import SearchConfig, SearchResult, darts_search
from lowfi.nas.darts.supernet import SearchEncoderDecoder, SearchNetwork
from lowfi.nas.darts.tasks import build_seeded, digits_task, train_network

torch = require_torch()


def hpo_space(lr: tuple[float, float] = (1e-3, 0.3), weight_decay: tuple[float, float] = (1e-5, 1e-2),
              batch_size: tuple[int, int] = (16, 128)):
    """ConfigSpace of the training hyperparameters: learning rate, weight decay (both log),
    batch size (integer, log)."""
    from ConfigSpace import ConfigurationSpace, Float, Integer

    cs = ConfigurationSpace()
    cs.add([Float("lr", lr, log=True), Float("weight_decay", weight_decay, log=True),
            Integer("batch_size", batch_size, log=True)])
    return cs


@dataclass
class NasHpoResult:
    """Outcome of :func:`nas_then_hpo`.

    Attributes
    ----------
    genotype : Genotype
    search : SearchResult
    optimizer : str
        The HPO optimizer used ("bohb", or "hyperband" when BOHB is not installed).
    engine : str
        "minimize" (``lowfi.minimize``) or "ask_tell".
    best_config : dict
    best_loss : float
        Validation metric of ``best_config`` at the largest budget.
    test_metric : float
        Test metric of ``best_config`` retrained for ``max_budget`` epochs (None if not run).
    trials : list of dict
        ``config, budget, loss`` of every evaluation.
    """

    genotype: Genotype
    search: SearchResult
    optimizer: str
    engine: str
    best_config: dict[str, Any]
    best_loss: float
    test_metric: float | None
    trials: list[dict[str, Any]] = field(default_factory=list)


def nas_then_hpo(task: str = "classification", data: dict[str, tuple] | None = None,
                 search_config: SearchConfig | None = None,
                 supernet_kwargs: dict[str, Any] | None = None,
                 min_budget: float = 1, max_budget: float = 9, eta: float = 3,
                 max_evaluations: int | None = None, optimizer: str = "auto",
                 engine: str = "auto", seed: SeedLike = 0, final_test: bool = True,
                 verbose: bool = False) -> NasHpoResult:
    """Run DARTS, then BOHB (or Hyperband) over lr, weight decay and batch size of the result.

    Parameters
    ----------
    task : {"classification", "dense"}
    data : dict, optional
        As returned by :func:`~lowfi.nas.darts.tasks.digits_task` (the default).
    search_config : SearchConfig, optional
        DARTS settings (default: 6 epochs with 2 warm-start epochs, first order).
    supernet_kwargs : dict, optional
        Size of the supernet (``C``, ``n_nodes``, ``layers`` or ``n_levels``); the discrete
        network uses the same macro architecture.
    min_budget, max_budget, eta : float
        Training epochs as the budget of the multi-fidelity optimizer.
    max_evaluations : int, optional
        Evaluations of the HPO stage (default: one full Hyperband iteration).
    optimizer : {"auto", "bohb", "hyperband"}
        "auto" uses BOHB when ``lowfi.optimizers.available()`` lists it, else Hyperband with a
        warning.
    engine : {"auto", "minimize", "ask_tell"}
        "auto" uses ``lowfi.minimize`` when the run loop is installed, else a plain ask/tell loop.
    seed : int or Generator
    final_test : bool
        Retrain the best configuration at ``max_budget`` and report the test metric.
    """
    if task not in ("classification", "dense"):
        raise ValueError(f"task: got {task!r}; allowed are 'classification' and 'dense'")
    if optimizer not in ("auto", "bohb", "hyperband"):
        raise ValueError(f"optimizer: got {optimizer!r}; allowed are 'auto', 'bohb', 'hyperband'")
    if engine not in ("auto", "minimize", "ask_tell"):
        raise ValueError(f"engine: got {engine!r}; allowed are 'auto', 'minimize', 'ask_tell'")
    rng = as_generator(seed)
    data = digits_task(task, seed=rng) if data is None else data
    sk = {"C": 8, "n_nodes": 3, **(supernet_kwargs or {})}
    model_seed, search_seed, hpo_seed, train_seed = rng.spawn(4)
    model = (SearchNetwork(seed=model_seed, **sk) if task == "classification"
             else SearchEncoderDecoder(seed=model_seed, **sk))
    cfg = search_config or SearchConfig(epochs=6, warmstart_epochs=2)
    search = darts_search(model, data["search_train"], data["search_val"], cfg, seed=search_seed)
    genotype = search.genotype
    net_kwargs = model.network_kwargs()
    if verbose:
        print(search.report())
        print("genotype:", genotype.to_json())

    import lowfi.optimizers as lo

    if optimizer == "auto":
        optimizer = "bohb" if "bohb" in lo.available() else "hyperband"
        if optimizer == "hyperband":
            warnings.warn("nas_then_hpo: BOHB is not available in this installation; "
                          "using Hyperband (random proposals) instead", stacklevel=2)
    space = hpo_space()
    opt = lo.get(optimizer, space, min_budget=min_budget, max_budget=max_budget, eta=eta,
                 seed=hpo_seed)
    if max_evaluations is None:
        from lowfi.optimizers.hyperband import hyperband_schedule

        max_evaluations = sum(sum(s) for s, _ in hyperband_schedule(min_budget, max_budget, eta))
    trials: list[dict[str, Any]] = []
    train_seed_int = int(train_seed.integers(2**31))

    def objective(config: dict[str, Any], budget: float) -> Result:
        net = build_seeded(genotype, task, train_seed_int, **net_kwargs)
        out = train_network(net, data["train"], max(1, int(round(budget))), lr=float(config["lr"]),
                            weight_decay=float(config["weight_decay"]),
                            batch_size=int(config["batch_size"]), seed=train_seed_int,
                            eval_sets={"val": data["val"]})
        trials.append({"config": dict(config), "budget": float(budget), "loss": out["val_metric"]})
        if verbose:
            print(f"  budget {budget:5.1f}  {config}  val {out['val_metric']:.4f}")
        return Result(loss=out["val_metric"], info={"n_params": out["n_params"]})

    if engine == "auto":
        engine = "minimize" if importlib.util.find_spec("lowfi.run.loop") is not None else "ask_tell"
    if engine == "minimize":
        res = lowfi.minimize(objective, space, optimizer=opt, min_budget=min_budget,
                             max_budget=max_budget, eta=eta, n_workers=1, executor="inline",
                             max_evaluations=max_evaluations, seed=int(hpo_seed.integers(2**31)),
                             progress=False)
        best_config, best_loss = dict(res.best_config), float(res.best_loss)
    else:
        for _ in range(max_evaluations):
            trial = opt.ask()
            if trial is None:
                break
            opt.tell(trial, objective(trial.config, trial.budget))
        inc = opt.incumbent()
        best_config, best_loss = dict(inc[0]), float(inc[1])
    test_metric = None
    if final_test:
        net = build_seeded(genotype, task, train_seed_int, **net_kwargs)
        out = train_network(net, data["train"], max(1, int(round(max_budget))),
                            lr=float(best_config["lr"]),
                            weight_decay=float(best_config["weight_decay"]),
                            batch_size=int(best_config["batch_size"]), seed=train_seed_int,
                            eval_sets={"test": data["test"]})
        test_metric = out["test_metric"]
    return NasHpoResult(genotype, search, optimizer, engine, best_config, best_loss, test_metric,
                        trials)


__all__ = ["NasHpoResult", "hpo_space", "nas_then_hpo"]
