"""PyTorch: train an MLP on digits with ASHA; promoted configurations continue training.

    python examples/pytorch_checkpoint.py

`TorchCheckpoint` saves model, optimizer and scheduler state in `trial.checkpoint_dir` after
every epoch, so a configuration promoted from 3 to 9 epochs trains epochs 4..9 only. A
`RungStopping` rule (ASHA's stopping variant) also ends trials inside their epochs when their
curve falls out of the best third at 2, 6 and 18 epochs: checks between ASHA's rungs (1, 3, 9
and 27 epochs), since at its own budget a trial is done anyway. Two worker processes run
trials.
"""

import os

import numpy as np
import torch
from ConfigSpace import Float, Integer
from sklearn.datasets import load_digits

import lowfi
from lowfi.curves import RungStopping
from lowfi.integrations.torch import TorchCheckpoint

X, y = load_digits(return_X_y=True)
X = torch.tensor(X / 16.0, dtype=torch.float32)
y = torch.tensor(y)
order = np.random.default_rng(0).permutation(len(y))
train, valid = order[:1200], order[1200:]


def objective(trial: lowfi.Trial) -> float:
    torch.set_num_threads(1)
    torch.manual_seed(trial.config_id)
    c = trial.config
    model = torch.nn.Sequential(torch.nn.Linear(64, c["width"]), torch.nn.ReLU(),
                                torch.nn.Linear(c["width"], 10))
    opt = torch.optim.SGD(model.parameters(), lr=c["lr"], momentum=0.9)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=c["decay"])
    ckpt = TorchCheckpoint(trial, model, opt, sched)  # restores the previous rung's state
    for epoch in ckpt.epochs():                       # only the epochs still to train
        for idx in torch.split(torch.from_numpy(train), 100):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(X[idx]), y[idx]).backward()
            opt.step()
        sched.step()
        with torch.no_grad():
            err = float((model(X[valid]).argmax(1) != y[valid]).float().mean())
        if ckpt.report(epoch, err):                    # True: the stopping rule says stop
            break
    return ckpt.last_value


space = {"lr": Float("lr", (1e-3, 1.0), log=True), "width": Integer("width", (8, 256), log=True),
         "decay": Float("decay", (0.8, 1.0))}

if __name__ == "__main__":
    res = lowfi.minimize(objective, space, "asha", min_budget=1, max_budget=27, eta=3,
                         n_workers=2, executor="processes",
                         max_evaluations=int(os.environ.get("LOWFI_EXAMPLE_EVALS", 60)),
                         stopping=RungStopping(min_step=2, eta=3), seed=0, progress=False)
    df = res.trials
    # a promoted trial continues from its checkpoint: count only the epochs it trained itself
    trained = sum(sum(1 for step, _ in curve if step > (info or {}).get("resumed_from", 0))
                  for curve, info in zip(df["curve"], df["info"]))
    print(f"best validation error {res.best_loss:.4f} with {res.best_config}")
    print(f"{len(df)} trials, {trained} epochs trained "
          f"({(df['status'] == 'stopped').sum()} stopped early by the rung rule)")
