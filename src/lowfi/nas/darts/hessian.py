"""Dominant eigenvalue of a Hessian by power iteration on Hessian-vector products.

RobustDARTS (Zela, Elsken, Saikia, Marrakchi, Brox & Hutter, ICLR 2020) tracks the dominant
eigenvalue of the Hessian of the validation loss with respect to the architecture weights:
it grows as DARTS moves to sharp regions whose discretization generalizes badly. The
Hessian is never formed: ``H v`` is the gradient of ``grad(L) . v`` (double backpropagation,
Pearlmutter 1994).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lowfi.core.seeding import SeedLike, as_generator
from lowfi.nas._torch import require_torch

torch = require_torch()


def _flat(ts) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in ts])


def hessian_vector_product(grads: Sequence, params: Sequence, vec) -> torch.Tensor:
    """``H vec`` from first-order ``grads`` built with ``create_graph=True`` (flat vector)."""
    dot = (_flat(grads) * vec).sum()
    hv = torch.autograd.grad(dot, list(params), retain_graph=True, allow_unused=True)
    return _flat([torch.zeros_like(p) if h is None else h for h, p in zip(hv, params)])


def dominant_eigenvalue(loss_fn: Callable[[], torch.Tensor], params: Sequence,
                        n_iter: int = 20, tol: float = 1e-4, seed: SeedLike = 0,
                        return_vector: bool = False, which: str = "magnitude"):
    """Dominant eigenvalue of the Hessian of ``loss_fn()`` with respect to ``params``, by power
    iteration on Hessian-vector products.

    Parameters
    ----------
    loss_fn : callable
        Returns a scalar loss differentiable twice in ``params``.
    params : sequence of tensors
        Parameters (``requires_grad``) the Hessian is taken over (all flattened together).
    n_iter : int
        Maximum number of power iterations.
    tol : float
        Stop when the Rayleigh quotient changes by less than ``tol`` relative.
    seed : int or Generator
        Seeds the starting vector.
    return_vector : bool
        Also return the unit eigenvector (flat).
    which : {"magnitude", "largest"}
        "magnitude": the eigenvalue largest in absolute value, with its sign (plain power
        iteration). "largest": the largest (most positive) eigenvalue; when the first run finds
        a negative dominant eigenvalue ``m``, a second power iteration on ``H - m I`` finds it.

    Returns
    -------
    float (and the eigenvector tensor if ``return_vector``)
    """
    if not isinstance(n_iter, int) or n_iter < 1:
        raise ValueError(f"n_iter: got {n_iter!r}; allowed is an int >= 1")
    if which not in ("magnitude", "largest"):
        raise ValueError(f"which: got {which!r}; allowed are 'magnitude' and 'largest'")
    params = list(params)
    loss = loss_fn()
    grads = torch.autograd.grad(loss, params, create_graph=True, allow_unused=True)
    grads = tuple(torch.zeros_like(p) if g is None else g for g, p in zip(grads, params))
    dim = sum(p.numel() for p in params)
    rng = as_generator(seed)
    v0 = torch.tensor(rng.standard_normal(dim), dtype=params[0].dtype, device=params[0].device)
    lam, v = _power(grads, params, v0, n_iter, tol, 0.0)
    if which == "largest" and lam < 0:
        shifted, v = _power(grads, params, v0, n_iter, tol, lam)
        lam = shifted + lam
    return (lam, v) if return_vector else lam


def _power(grads, params, v, n_iter: int, tol: float, shift: float):
    """Power iteration on ``H - shift * I``; returns (Rayleigh quotient, unit vector)."""
    v = v / v.norm()
    lam = 0.0
    for _ in range(n_iter):
        hv = hessian_vector_product(grads, params, v).detach() - shift * v
        new = float((v * hv).sum())
        norm = hv.norm()
        if float(norm) == 0.0:
            lam = 0.0
            break
        v = hv / norm
        converged = abs(new - lam) <= tol * max(abs(new), 1e-12)
        lam = new
        if converged:
            break
    return lam, v


__all__ = ["dominant_eigenvalue", "hessian_vector_product"]
