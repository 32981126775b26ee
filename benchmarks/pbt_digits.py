"""PBT against ASHA, Hyperband and random search on a real PyTorch training (MLP on digits).

Every method gets the same number of *trained* epochs (``--epochs``, default 216 = a PBT
population of 8 trained to 27 epochs). Training continues from checkpoints
(:class:`lowfi.integrations.torch.TorchCheckpoint`): a promoted ASHA/Hyperband configuration
trains only its new epochs, and PBT's exploited members start from the better member's
weights (the run loop's checkpoint copy, reproduced here). The search space holds the SGD
learning rate, momentum and weight decay: hyperparameters PBT may change during training.

Reported per method (mean ± standard error over ``--seeds``): validation error of the
incumbent (lowest validation error among evaluations at 27 epochs), its test error, and the
run's seconds. Baseline measured in the same run: random search.

    python benchmarks/pbt_digits.py --seeds 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

import numpy as np

import lowfi
from lowfi.nas.nasbench101.build_mini import load_digits_split

EPOCHS_MAX = 27
_DATA: dict = {}
_COUNT = {"epochs": 0}


def data():
    if not _DATA:
        import torch

        for k, (X, y) in load_digits_split(0).items():
            _DATA[k] = (torch.from_numpy(X.reshape(len(X), -1)), torch.from_numpy(y))
    return _DATA


def objective(trial: lowfi.Trial) -> lowfi.Result:
    import torch

    from lowfi.integrations.torch import TorchCheckpoint

    torch.set_num_threads(1)
    c = trial.config
    torch.manual_seed(trial.config_id)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.SGD(model.parameters(), lr=c["lr"], momentum=c["momentum"],
                          weight_decay=c["weight_decay"])
    ckpt = TorchCheckpoint(trial, model, opt)
    for g in opt.param_groups:  # PBT may have changed them since the checkpoint
        g.update(lr=c["lr"], momentum=c["momentum"], weight_decay=c["weight_decay"])
    d = data()
    Xtr, ytr = d["train"]
    gen = torch.Generator().manual_seed(trial.id)
    for epoch in ckpt.epochs():
        perm = torch.randperm(len(ytr), generator=gen)
        for idx in torch.split(perm, 100):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(Xtr[idx]), ytr[idx]).backward()
            opt.step()
        _COUNT["epochs"] += 1
        with torch.no_grad():
            Xv, yv = d["valid"]
            err = float((model(Xv).argmax(1) != yv).float().mean())
        ckpt.report(epoch, err)
    with torch.no_grad():
        Xt, yt = d["test"]
        test = float((model(Xt).argmax(1) != yt).float().mean())
    loss = ckpt.last_value if ckpt.last_value is not None else 1.0
    return lowfi.Result(loss, info={"test_error": test})


def space():
    from ConfigSpace import ConfigurationSpace, Float

    return ConfigurationSpace({"lr": Float("lr", (1e-3, 1.0), log=True),
                               "momentum": Float("momentum", (0.0, 0.99)),
                               "weight_decay": Float("weight_decay", (1e-6, 1e-2), log=True)})


def run(method: str, seed: int, epochs: int) -> dict:
    kw = {"min_budget": 3, "max_budget": EPOCHS_MAX, "seed": seed}
    if method == "random":
        opt = lowfi.optimizers.get("random", space(), max_budget=EPOCHS_MAX, seed=seed)
    elif method == "pbt":
        opt = lowfi.optimizers.get("pbt", space(), population_size=epochs // EPOCHS_MAX, **kw)
    else:
        opt = lowfi.optimizers.get(method, space(), eta=3, **kw)
    base = tempfile.mkdtemp(prefix="pbt-bench-")
    _COUNT["epochs"] = 0
    t0 = time.perf_counter()
    from lowfi.execution.base import evaluate

    try:
        while _COUNT["epochs"] < epochs:
            trial = opt.ask()
            if trial is None:
                break
            work = trial.handle(checkpoint_dir=os.path.join(base, f"config_{trial.config_id}"))
            os.makedirs(work.checkpoint_dir, exist_ok=True)
            src = work.info.get("inherit_config_id")  # as lowfi.minimize does
            if src is not None and not os.listdir(work.checkpoint_dir):
                shutil.copytree(os.path.join(base, f"config_{src}"), work.checkpoint_dir,
                                dirs_exist_ok=True)
            opt.tell(trial, evaluate(objective, work).result)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    top = [r for r in opt.history.records if r.budget == EPOCHS_MAX and r.status == "ok"]
    best = min(top, key=lambda r: r.loss) if top else None
    return {"method": method, "seed": seed, "epochs": _COUNT["epochs"],
            "valid": None if best is None else float(best.loss),
            "test": None if best is None else float(best.result_info["test_error"]),
            "trials": len(opt.history.records), "seconds": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=8 * EPOCHS_MAX)
    ap.add_argument("--methods", default="random,hyperband,asha,pbt")
    args = ap.parse_args()
    rows = []
    for method in args.methods.split(","):
        for s in range(args.seeds):
            r = run(method, s, args.epochs)
            print(r, flush=True)
            rows.append(r)
    print(f"\n{args.epochs} trained epochs per run, {args.seeds} seeds; incumbent = lowest "
          f"validation error at {EPOCHS_MAX} epochs")
    print("| method | validation error | test error | trials | seconds per run | "
          "valid. vs random |")
    print("|---|---|---|---|---|---|")
    base = None
    for method in args.methods.split(","):
        rs = [r for r in rows if r["method"] == method and r["valid"] is not None]
        v = np.array([r["valid"] for r in rs])
        t = np.array([r["test"] for r in rs])
        n = max(len(rs), 1)
        if method == "random":
            base = v.mean()
        ratio = f"{v.mean() / base:.2f}" if base else "-"
        print(f"| {method} | {v.mean():.4f} ± {v.std() / np.sqrt(n):.4f} | "
              f"{t.mean():.4f} ± {t.std() / np.sqrt(n):.4f} | "
              f"{np.mean([r['trials'] for r in rs]):.0f} | "
              f"{np.mean([r['seconds'] for r in rs]):.1f} | {ratio} |")


if __name__ == "__main__":
    main()
