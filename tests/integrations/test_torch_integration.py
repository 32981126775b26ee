"""lowfi.integrations.torch: training continues across rungs, reports reach the journal."""

import pytest

import lowfi
from lowfi import StoppingRule
from lowfi.core.trial import Trial
from lowfi.integrations.torch import TorchCheckpoint, epochs

torch = pytest.importorskip("torch")

X = torch.linspace(-1, 1, 32).reshape(-1, 1)
Y = 3 * X + 0.5


def make(lr):
    torch.manual_seed(0)
    model = torch.nn.Linear(1, 1)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    return model, opt, sched


def train_epoch(model, opt, sched):
    opt.zero_grad()
    batch = torch.randperm(len(X))[:16]  # random batches: the random stream matters too
    loss = ((model(X[batch]) - Y[batch]) ** 2).mean()
    loss.backward()
    opt.step()
    sched.step()
    return float(loss.detach())


def test_resumed_training_equals_training_straight_through(tmp_path):
    straight = make(0.1)
    for _ in range(9):
        train_epoch(*straight)
    trained = []
    for budget in (1, 3, 9):  # three rungs of the same configuration
        trial = Trial(budget, {"lr": 0.1}, budget, config_id=7, checkpoint_dir=str(tmp_path))
        parts = make(0.1)
        ckpt = TorchCheckpoint(trial, *parts)
        for e in ckpt.epochs():
            ckpt.report(e, train_epoch(*parts))
            trained.append(e)
    assert trained == list(range(1, 10))  # every epoch trained once, in order
    for a, b in zip(straight[0].parameters(), parts[0].parameters(), strict=True):
        assert torch.equal(a, b)  # model, momentum, lr schedule and random stream restored
    assert [p[0] for p in trial.curve] == list(range(1, 10))  # the whole curve


def test_successive_halving_trains_each_epoch_once_and_journals_whole_curves(tmp_path):
    trained = {}

    def objective(trial):
        parts = make(trial.config["lr"])
        ckpt = TorchCheckpoint(trial, *parts)
        for e in ckpt.epochs():
            trained.setdefault(trial.config_id, []).append(e)
            ckpt.report(e, train_epoch(*parts))
        return ckpt.last_value

    from ConfigSpace import Float

    res = lowfi.minimize(objective, {"lr": Float("lr", (1e-3, 0.3), log=True)}, "sh", min_budget=1,
                         max_budget=9, eta=3, max_evaluations=13,
                         storage=str(tmp_path / "run.db"), progress=False, seed=0)
    df = res.trials
    assert set(df["status"]) == {"ok"}
    for cid, eps in trained.items():
        top = df[df["config_id"] == cid]["budget"].max()
        assert eps == list(range(1, int(top) + 1))  # no epoch retrained after a promotion
    final = df[df["budget"] == 9].iloc[0]
    assert [p[0] for p in final["curve"]] == list(range(1, 10))


class StopAt(StoppingRule):
    def __init__(self, step):
        self.step = step

    def should_stop(self, trial):
        return trial.curve[-1][0] >= self.step


def test_stopped_trial_keeps_its_last_epoch(tmp_path):
    def objective(trial):
        parts = make(0.1)
        ckpt = TorchCheckpoint(trial, *parts)
        for e in ckpt.epochs():
            if ckpt.report(e, train_epoch(*parts)):
                break
        return ckpt.last_value

    res = lowfi.minimize(objective, {"x": (0.0, 1.0)}, "random", max_budget=9,
                         max_evaluations=1, stopping=StopAt(4), progress=False,
                         checkpoint_dir=str(tmp_path))
    assert list(res.trials["status"]) == ["stopped"]
    state = torch.load(next(tmp_path.rglob("lowfi_torch.pt")), weights_only=False)
    assert state["epoch"] == 4 and len(state["curve"]) == 4


def test_without_checkpoint_dir_and_bad_input():
    trial = Trial(0, {}, 3, config_id=0)
    parts = make(0.1)
    assert list(epochs(trial, *parts)) == [1, 2, 3]  # nothing saved, nothing loaded
    with pytest.raises(TypeError, match="objects\\[0\\]"):
        TorchCheckpoint(trial, 42)
    with pytest.raises(TypeError, match="trial: got dict"):
        TorchCheckpoint({}, parts[0])
    with pytest.raises(ValueError, match="budget: got -1"):
        list(TorchCheckpoint(trial, parts[0]).epochs(-1))


class _Bomb:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_checkpoint_runs_no_code_unless_trusted(tmp_path):
    """Checkpoints load with weights_only=True: a planted pickle payload is refused with a
    clear error; trust=True loads it (and runs it)."""
    marker = tmp_path / "PWNED"
    torch.save({"epoch": 1, "states": [_Bomb(marker)], "curve": []}, tmp_path / "lowfi_torch.pt")
    trial = Trial(0, {"lr": 0.1}, 3, config_id=1, checkpoint_dir=str(tmp_path))
    model = make(0.1)[0]
    with pytest.raises(ValueError, match="weights_only=True.*trust=True"):
        TorchCheckpoint(trial, model)
    assert not marker.exists()
    with pytest.raises(Exception):  # noqa: B017 - the payload is not a state dict
        TorchCheckpoint(trial, model, trust=True)
    assert marker.exists()


def test_epochs_restored_from_a_checkpoint_are_not_counted_as_trained(tmp_path):
    """A trial promoted from 1 to 3 epochs trains 2: its result says where it resumed, and the
    report's "epochs trained" column sums to the epochs really trained."""
    from lowfi.analysis.report import trials_table

    trained = []

    def objective(trial):
        model, opt, sched = make(trial.config["lr"])
        ckpt = TorchCheckpoint(trial, model, opt, sched)
        for e in ckpt.epochs():
            trained.append(e)
            ckpt.report(e, train_epoch(model, opt, sched))
        return ckpt.last_value

    db = str(tmp_path / "run.db")
    res = lowfi.minimize(objective, {"lr": (0.01, 0.2)}, "asha", min_budget=1, max_budget=9,
                         eta=3, max_evaluations=15, seed=0, progress=False, storage=db)
    promoted = [i for i in res.trials["info"] if i.get("resumed_from")]
    assert promoted  # some trials continued from a checkpoint
    table = trials_table(db)
    assert int(table["epochs trained"].sum()) == len(trained)
