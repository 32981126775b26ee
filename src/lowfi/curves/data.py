"""Real learning curves for evaluating curve models.

* :func:`load_epoch_curves` -- per-epoch validation-error curves recorded by lowfi itself
  (PyTorch MLPs and CNNs, scikit-learn MLPs; shipped in ``lowfi/data/curves``).
* :func:`load_lcdb_curves` -- training-set-size curves from LCDB 1.0 (Mohr et al., ECML-PKDD
  2022), read from a local copy of its accuracy table.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

EPOCH_CURVES = Path(__file__).resolve().parents[1] / "data" / "curves" / "epoch_curves.npz"
LCDB_FILES = ("database-accuracy.csv.gz", "database-accuracy.csv")


def load_epoch_curves(kinds: str | list[str] | None = None) -> dict[str, Any]:
    """The shipped per-epoch curves: ``{"curves": (N, E) validation errors, "kinds": (N,),
    "hyperparameters": list of dicts, "epochs": (E,)}``, optionally only some ``kinds``
    (e.g. ``"torch-cnn-digits"``, ``"sklearn-mlp-wine"``)."""
    if not EPOCH_CURVES.exists():
        raise FileNotFoundError(
            f"{EPOCH_CURVES} is missing; record it with: python benchmarks/curves_record.py"
        )
    with np.load(EPOCH_CURVES) as z:
        out = {
            "curves": z["curves"].astype(float),
            "kinds": z["kinds"].astype(str),
            "hyperparameters": [json.loads(h) for h in z["hyperparameters"]],
            "epochs": z["epochs"].astype(float),
        }
    if kinds is not None:
        want = [kinds] if isinstance(kinds, str) else list(kinds)
        known = sorted(set(out["kinds"]))
        bad = [k for k in want if k not in known]
        if bad:
            raise ValueError(f"kinds: got {bad}; allowed are {', '.join(known)}")
        keep = np.isin(out["kinds"], want)
        out["curves"], out["kinds"] = out["curves"][keep], out["kinds"][keep]
        out["hyperparameters"] = [h for h, k in zip(out["hyperparameters"], keep) if k]
    return out


def lcdb_path(path: str | os.PathLike | None = None) -> Path:
    """The LCDB accuracy table: ``path`` (a file or a folder holding it), else the
    ``LOWFI_LCDB`` environment variable (or ``LOWFI_LCDB_DATA``, which
    :mod:`lowfi.benchmarks.lcdb` also reads); a clear error when neither leads to it."""
    given = path if path is not None else (os.environ.get("LOWFI_LCDB")
                                           or os.environ.get("LOWFI_LCDB_DATA"))
    if given is None:
        raise FileNotFoundError(
            "LCDB: no path given; pass path=... (or --lcdb) or set LOWFI_LCDB to a folder with "
            f"{' or '.join(LCDB_FILES)} (from the lcdb==0.1.0 package on PyPI)"
        )
    p = Path(given).expanduser()
    if p.is_dir():
        for name in LCDB_FILES:
            if (p / name).exists():
                return p / name
    elif p.is_file():
        return p
    raise FileNotFoundError(
        f"LCDB: got {str(p)!r}, which holds neither {' nor '.join(LCDB_FILES)}; give the folder "
        "of LCDB 1.0's accuracy table (from the lcdb==0.1.0 package on PyPI)"
    )


def load_lcdb_curves(
    path: str | os.PathLike | None = None,
    n: int = 300,
    min_points: int = 12,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """``n`` sample-size curves of LCDB 1.0 (validation error ``1 - score_valid`` against the
    training-set size), drawn at random (``seed``) among the curves of outer and inner seed 0
    with at least ``min_points`` anchors: ``{"steps": [...], "values": [...], "keys": [...]}``.

    The selection is cached (``cache_dir``, default ``~/.cache/lowfi``) so later calls do not
    read the 150 MB table again.
    """
    table = lcdb_path(path)
    for name, v, low in (("n", n, 1), ("min_points", min_points, 3)):
        if not isinstance(v, int) or v < low:
            raise ValueError(f"{name}: got {v!r}; allowed is an int >= {low}")
    st = table.stat()
    key = hashlib.sha1(f"{table.resolve()}|{st.st_size}|{n}|{min_points}|{seed}".encode())
    cache = Path(cache_dir or Path.home() / ".cache" / "lowfi") / f"lcdb_{key.hexdigest()[:12]}.npz"
    if cache.exists():
        with np.load(cache, allow_pickle=False) as z:
            lens = z["lengths"]
            cut = np.cumsum(lens)[:-1]
            return {
                "steps": np.split(z["steps"], cut),
                "values": np.split(z["values"], cut),
                "keys": z["keys"].astype(str).tolist(),
            }
    import pandas as pd

    cols = ["openmlid", "learner", "size_train", "outer_seed", "inner_seed", "score_valid"]
    parts = []
    for chunk in pd.read_csv(table, usecols=cols, chunksize=500_000):
        parts.append(chunk[(chunk.outer_seed == 0) & (chunk.inner_seed == 0)])
    df = pd.concat(parts).dropna()
    df = df.sort_values(["openmlid", "learner", "size_train"])
    groups = [
        (f"{oid}/{learner}", g["size_train"].to_numpy(float), 1.0 - g["score_valid"].to_numpy(float))
        for (oid, learner), g in df.groupby(["openmlid", "learner"], sort=True)
    ]
    groups = [
        g for g in groups if len(g[1]) >= min_points and np.all(np.diff(g[1]) > 0)
    ]
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(groups), size=min(n, len(groups)), replace=False))
    sel = [groups[i] for i in pick]
    out = {"steps": [s for _, s, _ in sel], "values": [v for _, _, v in sel],
           "keys": [k for k, _, _ in sel]}
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            cache,
            steps=np.concatenate(out["steps"]),
            values=np.concatenate(out["values"]),
            lengths=np.array([len(s) for s in out["steps"]]),
            keys=np.array(out["keys"]),
        )
    except OSError:  # a read-only home: no cache
        pass
    return out
