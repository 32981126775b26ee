"""Build the mini NAS-Bench-101 table: every unique cell of a reduced space trained on digits.

Every unique cell with at most ``max_vertices`` vertices is trained from scratch at each epoch
budget (a separate run with its own cosine learning-rate schedule, as in NAS-Bench-101) with
several seeds, on scikit-learn's 8x8 digits (1,797 images; fixed split 1,000 train / 397
validation / 400 test). Each finished run is appended as one JSON line to a results file keyed
by (cell hash, epochs, seed), so an interrupted build resumes where it stopped; ``finalize``
compresses the lines into the shipped table.
"""

from __future__ import annotations

import gzip
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from lowfi.core.seeding import as_generator
from lowfi.nas.nasbench101.enumerate import enumerate_cells
from lowfi.nas.nasbench101.spec import ModelSpec

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "nasbench101_mini"
TABLE_FILE = DATA_DIR / "table.jsonl.gz"
#: where ``finalize`` puts a complete build with the default settings, by vertex limit
SHIPPED_TABLES = {4: TABLE_FILE,
                  5: DATA_DIR.parent / "nasbench101_mini5" / "table.jsonl.gz"}
DEFAULT_WORK = Path("build") / "nasbench101_mini"

#: settings of the shipped table; changing them needs a rebuild
DEFAULTS: dict[str, Any] = {
    "max_vertices": 4,
    "max_edges": 9,
    "epochs": (4, 12, 36),
    "seeds": (0, 1, 2),
    "stem_channels": 16,
    "num_stacks": 3,
    "cells_per_stack": 1,
    "batch_size": 200,
    "lr": 0.05,
    "momentum": 0.9,
    "weight_decay": 1e-4,
    "split_seed": 0,
}


def load_digits_split(split_seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Digits as ``(N, 1, 8, 8)`` float32 in [0, 1]; fixed 1000/397/400 split."""
    from sklearn.datasets import load_digits

    d = load_digits()
    X = (d.images / 16.0).astype(np.float32)[:, None]
    y = d.target.astype(np.int64)
    order = as_generator(split_seed).permutation(len(y))
    tr, va, te = order[:1000], order[1000:1397], order[1397:]
    return {"train": (X[tr], y[tr]), "valid": (X[va], y[va]), "test": (X[te], y[te])}


def train_cell(
    spec: ModelSpec,
    epochs: int,
    seed: int,
    data: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """Train ``spec`` for ``epochs`` epochs on digits with ``seed``; return accuracies and costs."""
    import torch
    from torch import nn

    from lowfi.nas.nasbench101.builder import Network, count_parameters

    cfg = {**DEFAULTS, **settings}
    if data is None:
        data = load_digits_split(cfg["split_seed"])
    rng = as_generator(seed)
    torch_seed = int(rng.integers(2**62))
    gen = torch.Generator().manual_seed(torch_seed)
    with torch.random.fork_rng():
        torch.manual_seed(torch_seed)
        model = Network(
            spec, num_classes=10, in_channels=1, stem_channels=cfg["stem_channels"],
            num_stacks=cfg["num_stacks"], cells_per_stack=cfg["cells_per_stack"],
        )
    Xtr, ytr = (torch.from_numpy(a) for a in data["train"])
    n = len(ytr)
    bs = cfg["batch_size"]
    steps = epochs * ((n + bs - 1) // bs)
    opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=cfg["momentum"],
                          weight_decay=cfg["weight_decay"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    loss_fn = nn.CrossEntropyLoss()
    t0 = time.process_time()
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, bs):
            idx = perm[i : i + bs]
            opt.zero_grad()
            loss = loss_fn(model(Xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            sched.step()
    train_time = time.process_time() - t0
    model.eval()
    out: dict[str, Any] = {"training_time": train_time, "trainable_parameters": count_parameters(model)}
    with torch.no_grad():
        for part in ("train", "valid", "test"):
            X, y = (torch.from_numpy(a) for a in data[part])
            acc = float((model(X).argmax(1) == y).float().mean())
            out[{"train": "train_accuracy", "valid": "validation_accuracy",
                 "test": "test_accuracy"}[part]] = acc
    return out


def _repair(path: Path) -> None:
    """Cut a last line left unfinished by a kill, so appends start on a fresh line."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with open(path, "r+b") as f:
            f.truncate(data.rfind(b"\n") + 1)


def _done_keys(path: Path) -> set[tuple[str, int, int]]:
    done: set[tuple[str, int, int]] = set()
    _repair(path)
    if path.exists():
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    r = json.loads(line)
                except json.JSONDecodeError:  # a line cut by a kill: it is redone
                    continue
                done.add((r["hash"], int(r["epochs"]), int(r["seed"])))
    return done


_WORKER: dict[str, Any] = {}


def _init_worker(split_seed: int) -> None:
    import torch

    try:  # Linux: end this trainer when the building process dies (killed or interrupted)
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    torch.set_num_threads(1)
    _WORKER["data"] = load_digits_split(split_seed)


def _train_job(matrix: list, ops: list, epochs: int, seed: int, train_cfg: dict) -> dict[str, Any]:
    return train_cell(ModelSpec(np.array(matrix), list(ops)), epochs, seed, _WORKER["data"],
                      **train_cfg)


def build(
    work_dir: str | os.PathLike = DEFAULT_WORK,
    resume: bool = True,
    limit: int | None = None,
    log: Any = print,
    workers: int = 1,
    **settings: Any,
) -> Path:
    """Train every (cell, epochs, seed) not yet in ``work_dir/results.jsonl``; return its path.

    Parameters
    ----------
    work_dir
        Folder of the results file.
    resume
        Skip runs already in the file; with False an existing file is an error.
    limit
        Stop after this many new runs (None: all).
    log
        Called with progress lines.
    workers
        Training processes (each single-threaded); this process appends their results as
        they finish, so the file stays one writer's.
    """
    from lowfi.nas._torch import require_torch

    torch = require_torch("lowfi nas build-mini")

    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers: got {workers!r}; allowed is an int >= 1")
    torch.set_num_threads(1)
    cfg = {**DEFAULTS, **settings}
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    path = work / "results.jsonl"
    if path.exists() and not resume:
        raise ValueError(f"work_dir: {path} exists; pass resume=True (--resume) to continue it")
    (work / "settings.json").write_text(json.dumps(cfg, indent=1))
    done = _done_keys(path)
    cells = enumerate_cells(cfg["max_vertices"], cfg["max_edges"])
    data = load_digits_split(cfg["split_seed"])
    train_cfg = {k: v for k, v in cfg.items() if k not in ("epochs", "seeds")}
    jobs = []
    specs = [cells.spec(i) for i in range(len(cells))]
    hashes = [s.hash() for s in specs]
    # seeds outermost: a partial build covers every cell and budget with fewer repeats
    for seed in cfg["seeds"]:
        for epochs in cfg["epochs"]:
            for spec, h in zip(specs, hashes):
                if (h, int(epochs), int(seed)) not in done:
                    jobs.append((spec, h, int(epochs), int(seed)))
    total = len(cells) * len(cfg["epochs"]) * len(cfg["seeds"])
    log(f"{len(cells)} cells, {total} runs, {len(done)} done, {len(jobs)} to do")
    t0 = time.time()
    todo = jobs[:limit] if limit else jobs

    def write(k: int, spec: ModelSpec, h: str, epochs: int, seed: int, r: dict) -> None:
        row = {"hash": h, "epochs": epochs, "seed": seed,
               "matrix": spec.matrix.tolist(), "ops": spec.ops, **r}
        with open(path, "a") as f:
            f.write(json.dumps(row) + "\n")
        log(f"[{len(done) + k + 1}/{total}] {h[:8]} epochs={epochs} seed={seed} "
            f"val={r['validation_accuracy']:.3f} test={r['test_accuracy']:.3f} "
            f"cpu={r['training_time']:.1f}s wall={time.time() - t0:.0f}s")

    if workers == 1:
        for k, (spec, h, epochs, seed) in enumerate(todo):
            write(k, spec, h, epochs, seed, train_cell(spec, epochs, seed, data, **train_cfg))
        return path
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor
    from concurrent.futures import wait as wait_futures

    ctx = mp.get_context("spawn")  # no forked torch state in the workers
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(cfg["split_seed"],)) as pool:
        pending: dict = {}
        it = iter(todo)
        k = 0
        while True:
            while len(pending) < 2 * workers:
                job = next(it, None)
                if job is None:
                    break
                spec, h, epochs, seed = job
                fut = pool.submit(_train_job, spec.matrix.tolist(), list(spec.ops), epochs, seed,
                                  train_cfg)
                pending[fut] = job
            if not pending:
                break
            finished, _ = wait_futures(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                spec, h, epochs, seed = pending.pop(fut)
                write(k, spec, h, epochs, seed, fut.result())
                k += 1
    return path


def finalize(work_dir: str | os.PathLike = DEFAULT_WORK, out: str | os.PathLike | None = None,
             partial: bool = False) -> Path:
    """Compress ``work_dir/results.jsonl`` (sorted, deduplicated) into a table file.

    Parameters
    ----------
    work_dir
        Folder of the build (``results.jsonl`` and ``settings.json``).
    out
        The ``.jsonl.gz`` file to write (required; search and query read it with
        ``--data PATH``). A table shipped with lowfi (:data:`SHIPPED_TABLES`) is written only
        from a complete build with the default settings (how the shipped tables are made).
    partial
        Write even when runs are missing (every (cell, epochs, seed) of the settings is
        required otherwise).
    """
    src = Path(work_dir) / "results.jsonl"
    if not src.exists():
        raise ValueError(f"work_dir: {src} does not exist; run the build first")
    settings_file = Path(work_dir) / "settings.json"
    cfg = {**DEFAULTS, **(json.loads(settings_file.read_text()) if settings_file.exists()
                          else {})}
    cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()}
    rows: dict[tuple, dict] = {}
    with open(src) as f:
        for line in f:
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            for key in ("training_time", "train_accuracy", "validation_accuracy", "test_accuracy"):
                r[key] = round(float(r[key]), 5)
            rows[(r["hash"], r["epochs"], r["seed"])] = r
    if out is None:
        raise ValueError("out: got None; give the .jsonl.gz file to write (--out), e.g. "
                         "my_table.jsonl.gz, and pass it to search or query with --data")
    shipped = {Path(t).resolve() for t in SHIPPED_TABLES.values()}
    if Path(out).resolve() in shipped:
        same = all(cfg[k] == v for k, v in DEFAULTS.items() if k != "max_vertices")
        if partial or not same or SHIPPED_TABLES.get(cfg["max_vertices"]) is None \
                or Path(SHIPPED_TABLES[cfg["max_vertices"]]).resolve() != Path(out).resolve():
            raise ValueError(
                f"out: {str(out)!r} is a table shipped with lowfi; only a complete build with "
                f"the default settings for its vertex limit replaces it (this build: {cfg}, "
                f"partial={partial}); write another file")
    if not partial:
        n_cells = len(enumerate_cells(cfg["max_vertices"], cfg["max_edges"]))
        total = n_cells * len(cfg["epochs"]) * len(cfg["seeds"])
        if len(rows) < total:
            raise ValueError(
                f"work_dir: {src} holds {len(rows)} of the {total} runs of its settings "
                f"({n_cells} cells x {len(cfg['epochs'])} budgets x {len(cfg['seeds'])} seeds); "
                "finish the build (--resume) or pass partial=True (--partial)")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(out, "wt") as f:
        for key in sorted(rows):
            f.write(json.dumps(rows[key], separators=(",", ":")) + "\n")
    return out
