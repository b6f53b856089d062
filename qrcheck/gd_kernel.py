"""The elementwise part of one row block of a GD step (12), eta_z = 0: a sweep over P, and the
masked, scaled mask that the gradient GEMM takes.

After a row block's two GEMMs (its rows of the gradient, then P_r = W_r X), a step needs, on the
block's S_r x m entries p of P_r = W_r X: the mask a = 1(p > 0) (A_{t+1}), relu(p) for the output
f = F^T z, the exact zeros of W_{t+1} X (Appendix A), the flips a != A_t, the set D (OR of the
flips), the number of flips and the number of neurons (rows) that flipped more than n* times in the
step (Appendix F), and ("split" mode) the 0/1 float64 copy of the mask updated at the flips.
:func:`sweep_numpy` does all of it in numpy passes; the same loop compiled by numba (``nogil``, so
the row-block threads of :func:`qrcheck.gd.run_gd` run it in parallel) reads each p once. The
gradient's left factor A_t o 1 e_t^T (S_r x m) is :func:`masked_scale_numpy` or its compiled loop.
numba is the optional extra ``fast``; without it the numpy versions run. The two give bitwise the
same arrays and counts: relu(p) is ``p * a`` and the masked scale ``a * e_j`` (a as 0.0 / 1.0) in
IEEE arithmetic in both, so ``-0.0`` and NaN come out alike; every other output is a comparison, a
0/1 copy or a count. The GEMMs and the GEMV z @ F stay in numpy's BLAS. docs/gd.md, "The hot path".
"""

from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import numpy as np

from . import InputError

KERNELS = ("auto", "numba", "numpy")


def sweep_numpy(P: np.ndarray, A_new: np.ndarray, A_old: np.ndarray, Af: np.ndarray | None,
                changed: np.ndarray, scratch: np.ndarray, n_star: int) -> tuple[int, int, int]:
    """The sweep in numpy passes, in place on one row block (all arrays S_r x m, C-contiguous).

    P : W_{t+1} X on entry, relu(W_{t+1} X) = P * A_new on exit (float64).
    A_new : out, 1(P > 0) (bool); A_old : A_t (bool); Af : A_t as 0/1 float64, set to A_new at the
    flips, or None (not kept); changed : D (bool), OR-ed with the flips; scratch : bool work space.
    Returns (exact zeros of P, flips, rows with more than n_star flips).
    """
    np.greater(P, 0.0, out=A_new)
    zeros = int(np.count_nonzero(np.equal(P, 0.0, out=scratch)))
    np.multiply(P, A_new, out=P)
    np.not_equal(A_new, A_old, out=scratch)
    if Af is not None:
        np.copyto(Af, A_new, where=scratch)
    np.bitwise_or(changed, scratch, out=changed)
    k = int(np.count_nonzero(scratch))
    # only when more than n* pairs flip can one row exceed n*; uint16 row sums are exact below 2^16
    dtype = np.uint16 if P.shape[1] < 2**16 else np.int64
    over = int(np.count_nonzero(scratch.sum(axis=1, dtype=dtype) > n_star)) if k > n_star else 0
    return zeros, k, over


def masked_scale_numpy(A: np.ndarray, e: np.ndarray, out: np.ndarray) -> None:
    """out = A o 1 e^T: A (S_r, m) bool, e (m,), out (S_r, m) float64 (a * e_j, a as 0.0 / 1.0)."""
    np.multiply(A, e, out=out)


def _sweep_loops(P, A_new, A_old, Af, changed, scratch, n_star):
    """:func:`sweep_numpy` as one loop over the entries (compiled by numba; scratch unused)."""
    rows, m = P.shape
    zeros = flips = over = 0
    for i in range(rows):
        k = 0
        for j in range(m):
            p = P[i, j]
            a = p > 0.0
            A_new[i, j] = a
            zeros += p == 0.0
            P[i, j] = p * (1.0 if a else 0.0)
            if a != A_old[i, j]:
                if Af is not None:
                    Af[i, j] = 1.0 if a else 0.0
                changed[i, j] = True
                k += 1
        flips += k
        over += k > n_star
    return zeros, flips, over


def _masked_scale_loops(A, e, out):
    """:func:`masked_scale_numpy` as one loop (compiled by numba)."""
    rows, m = A.shape
    for i in range(rows):
        for j in range(m):
            out[i, j] = (1.0 if A[i, j] else 0.0) * e[j]


class Kernel(NamedTuple):
    """The elementwise functions of a row block: ``sweep`` and ``masked_scale`` (signatures of
    :func:`sweep_numpy` and :func:`masked_scale_numpy`), and which implementation they are."""

    sweep: Callable
    masked_scale: Callable
    name: str


NUMPY = Kernel(sweep_numpy, masked_scale_numpy, "numpy")


@functools.cache
def compiled() -> Kernel | None:
    """The kernel compiled by numba (``njit(nogil=True, cache=True)``), None without numba. numba
    is imported here, on first use, not with the module (its import takes 0.3-0.5 s)."""
    try:
        import numba
    except ImportError:  # the optional extra "fast"
        return None
    jit = numba.njit(nogil=True, cache=True)
    return Kernel(jit(_sweep_loops), jit(_masked_scale_loops), "numba")


def validate(kernel: str) -> None:
    """An InputError unless ``kernel`` is one of :data:`KERNELS`."""
    if kernel not in KERNELS:
        raise InputError(f"run_gd: kernel must be one of {', '.join(KERNELS)}, got {kernel!r}")


def select(kernel: str = "auto") -> Kernel:
    """The kernel for ``kernel``: "numba" (an InputError without numba), "numpy", or "auto" (numba
    when installed). numba's first call compiles (~0.8 s) or loads its on-disk cache;
    :func:`warm_up` does it on a tiny block."""
    validate(kernel)
    jitted = compiled() if kernel != "numpy" else None
    if kernel == "numba" and jitted is None:
        raise InputError("run_gd: kernel 'numba' needs numba (pip install 'qrcheck[fast]')")
    return jitted or NUMPY


def warm_up(k: Kernel, keep_mask: bool) -> None:
    """Compile (or load from cache) ``k`` for the argument types run_gd passes, on a 1 x 1 block;
    keep_mask: the sweep with a 0/1 float64 mask to keep ("split"), else with None ("fused")."""
    P = np.zeros((1, 1))
    A = np.zeros((1, 1), dtype=bool)
    k.sweep(P, A, A.copy(), P.copy() if keep_mask else None, A.copy(), A.copy(), 0)
    k.masked_scale(A, np.zeros(1), P)
