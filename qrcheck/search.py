"""Searches and proved bounds for the subset-uniform properties (20), (21), (30).

Every search returns the subset (and direction) that realises its value, so an auditor recomputes it
in one line; every bound here is a theorem, cited in its docstring.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from .context import Context


def spectral_norm(M: np.ndarray) -> float:
    """||M||, the largest singular value (0 for an empty matrix)."""
    return float(np.linalg.norm(M, 2)) if M.size else 0.0


def sigma_min_T(X: np.ndarray, J: np.ndarray) -> float:
    """sigma_min((X^J)^T) = min_{|xi|=1} ||(X^J)^T xi||, X (n, m), J (k,); 0 when k < n."""
    n = X.shape[0]
    if len(J) < n:
        return 0.0
    XJ = X[:, J]
    return math.sqrt(max(0.0, float(scipy.linalg.eigh(XJ @ XJ.T, eigvals_only=True,
                                                        subset_by_index=[0, 0])[0])))


def k_grid(m: int, n: int) -> list[int]:
    """(20)'s examined sizes: all k when m <= 64, else 1, 2, 4, ... plus n and m."""
    if m <= 64:
        return list(range(1, m + 1))
    ks = {1 << i for i in range(int(math.log2(m)) + 1)} | {min(n, m), m}
    return sorted(k for k in ks if 1 <= k <= m)


class Budget:
    """Wall-clock budget of one search (None: unlimited)."""

    def __init__(self, seconds: float | None):
        self.deadline = None if seconds is None else time.perf_counter() + seconds

    def spent(self) -> bool:
        return self.deadline is not None and time.perf_counter() > self.deadline


# ---- (20) ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NormSearch:
    """Best subset found for max_{|J|=k} ||X^J||: value, J (sorted, 0-based) and how it was found."""

    k: int
    value: float
    J: tuple[int, ...]
    found_by: str


def truncated_power(X: np.ndarray, k: int, v0: np.ndarray, iterations: int) -> np.ndarray:
    """Truncated power method for k-sparse PCA of X^T X (Yuan & Zhang 2013): v <- top-k(X^T X v).

    X (n, m), v0 (m,); returns the support J (k,) of the final iterate.
    """
    v = v0
    J = np.argsort(-np.abs(v))[:k]
    for _ in range(iterations):
        u = X.T @ (X @ v)
        Jn = np.argpartition(-np.abs(u), k - 1)[:k] if k < len(u) else np.arange(len(u))
        v = np.zeros_like(u)
        v[Jn] = u[Jn]
        nv = np.linalg.norm(v)
        if nv == 0:
            break
        v /= nv
        if set(Jn.tolist()) == set(J.tolist()):
            J = Jn
            break
        J = Jn
    return np.sort(J)


def search_norm(ctx: Context, k: int, rng: np.random.Generator, budget: Budget) -> NormSearch:
    """Lower end for max_{|J|=k} ||X^J||: exact for k in {1, 2, m}; otherwise the best of random
    subsets (``effort.subset_samples``) and multi-start truncated power iterations
    (``effort.restarts`` starts: the Gershgorin-heaviest rows and random vectors)."""
    X, m = ctx.X, ctx.m
    if k == m:
        return NormSearch(k, ctx.X_norm, tuple(range(m)), "exact (J = [m])")
    if k == 1:
        return NormSearch(k, float(np.linalg.norm(X[:, 0])), (0,), "exact (k = 1)")
    if k == 2:
        G = np.abs(ctx.gram)
        np.fill_diagonal(G, -1.0)
        j, jp = divmod(int(np.argmax(G)), m)
        J = tuple(sorted((j, jp)))
        return NormSearch(k, spectral_norm(X[:, list(J)]), J, "exact (k = 2: largest |<X^j, X^j'>|)")
    best = NormSearch(k, -1.0, (), "")
    for _ in range(ctx.effort.subset_samples):
        J = np.sort(rng.choice(m, size=k, replace=False))
        v = spectral_norm(X[:, J])
        if v > best.value:
            best = NormSearch(k, v, tuple(int(i) for i in J), "random subset")
        if budget.spent():
            break
    heavy = np.argsort(-ctx.gram_row_cumsum[:, k - 1])
    for r in range(ctx.effort.restarts):
        if budget.spent() and best.value >= 0:
            break
        if r % 2 == 0:  # start at a row with the heaviest Gershgorin sum: its k-1 nearest columns
            j = int(heavy[r // 2])
            v0 = np.abs(ctx.gram[j]).copy()
        else:
            v0 = rng.standard_normal(m)
        J = truncated_power(X, k, v0, ctx.effort.iterations)
        v = spectral_norm(X[:, J])
        if v > best.value:
            best = NormSearch(k, v, tuple(int(i) for i in J), "truncated power method")
    return best


# ---- (21) ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SigmaSearch:
    """Best (J, xi) found for min_{|J|=n*} sigma_min((X^J)^T)."""

    value: float
    J: tuple[int, ...]
    xi: tuple[float, ...]
    found_by: str


def search_sigma_min(ctx: Context, n_star: int, rng: np.random.Generator, budget: Budget) -> SigmaSearch:
    """Upper end for (21). The minima over J and over unit xi commute, so the value is
    min_xi sqrt(sum of the n* smallest <X^j, xi>^2). Alternate xi <- bottom singular vector of
    (X^J)^T and J <- the n* smallest projections, from ``effort.restarts`` starts (the bottom
    eigenvector of X X^T, then random directions); the baseline is random subsets."""
    X, n, m = ctx.X, ctx.n, ctx.m

    def bottom(J: np.ndarray) -> tuple[float, np.ndarray]:
        XJ = X[:, J]
        w, V = scipy.linalg.eigh(XJ @ XJ.T, subset_by_index=[0, 0])
        return math.sqrt(max(0.0, float(w[0]))), V[:, 0]

    best = SigmaSearch(math.inf, (), (), "")
    for _ in range(ctx.effort.subset_samples):
        J = np.sort(rng.choice(m, size=n_star, replace=False))
        val, xi = bottom(J)
        if val < best.value:
            best = SigmaSearch(val, tuple(int(i) for i in J), tuple(map(float, xi)), "random subset")
        if budget.spent():
            break
    starts = [np.linalg.eigh(X @ X.T)[1][:, 0]] + [rng.standard_normal(n) for _ in range(max(0, ctx.effort.restarts - 1))]
    for xi in starts:
        xi = xi / np.linalg.norm(xi)
        prev = math.inf
        for _ in range(ctx.effort.iterations):
            J = np.sort(np.argsort((X.T @ xi) ** 2, kind="stable")[:n_star])
            val, xi = bottom(J)
            if val < best.value:
                best = SigmaSearch(val, tuple(int(i) for i in J), tuple(map(float, xi)), "alternating minimisation")
            if val >= prev - 1e-15:
                break
            prev = val
        if budget.spent():
            break
    return best


def sigma_min_lower_bound(ctx: Context, n_star: int) -> float:
    """Proved lower end for (21): X X^T = X^J X^J^T + X^K X^K^T (K the complement, |K| = m - n*),
    so by Weyl lambda_min(X^J X^J^T) >= lambda_min(X X^T) - max_{|K|=m-n*} ||X^K||^2, the last
    bounded by (20)'s proved bound."""
    k = ctx.m - n_star
    loss = ctx.norm_bound_20(k) ** 2 if k > 0 else 0.0
    return math.sqrt(max(0.0, ctx.lambda_min_XXt - loss))


# ---- (30) ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RemovalSearch:
    """Best removal found for min_Gamma lambda_min(((A0)_Gamma * X)^T ((A0)_Gamma * X))."""

    value: float
    removed: tuple[int, ...]
    found_by: str


def H_restricted(ctx: Context, AtA: np.ndarray) -> np.ndarray:
    """((A0)_Gamma * X)^T ((A0)_Gamma * X) = (X^T X) o (A_Gamma^T A_Gamma) by (7); (m, m)."""
    return ctx.gram * AtA


def lambda_min_vec(H: np.ndarray) -> tuple[float, np.ndarray]:
    w, V = scipy.linalg.eigh(H, subset_by_index=[0, 0])
    return float(w[0]), V[:, 0]


def neuron_weights(ctx: Context, xi: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """||X (a_nu o xi)||^2 for nu in idx: one GEMM (|idx|, m) x (m, n). xi (m,) -> (|idx|,)."""
    V = (ctx.A0[idx] * xi[None, :]) @ ctx.X.T
    return np.einsum("sn,sn->s", V, V)


def search_removal(ctx: Context, S_star: int, rng: np.random.Generator, budget: Budget) -> RemovalSearch:
    """Upper end for (30). For a fixed unit xi the adversary removes the S* neurons of Gamma_0 with
    the largest ||X (a_nu o xi)||^2; alternate xi <- bottom eigenvector of H_Gamma and that removal,
    from ``effort.restarts`` starts (the bottom eigenvector of H_Gamma0, then random xi); the baseline
    removes random S*-subsets."""
    G0 = ctx.Gamma0
    A = ctx.A0.astype(np.float64)
    AtA0 = A[G0].T @ A[G0]

    def evaluate(removed: np.ndarray) -> tuple[float, np.ndarray]:
        Ar = A[removed]
        return lambda_min_vec(H_restricted(ctx, AtA0 - Ar.T @ Ar))

    best = RemovalSearch(math.inf, (), "")
    lam0, xi0 = lambda_min_vec(H_restricted(ctx, AtA0))
    for _ in range(ctx.effort.restarts):
        removed = np.sort(rng.choice(G0, size=S_star, replace=False))
        val, _ = evaluate(removed)
        if val < best.value:
            best = RemovalSearch(val, tuple(int(i) for i in removed), "random removal")
        if budget.spent():
            break
    starts = [xi0] + [rng.standard_normal(ctx.m) for _ in range(max(0, ctx.effort.restarts - 1))]
    for xi in starts:
        xi = xi / np.linalg.norm(xi)
        prev = math.inf
        for _ in range(ctx.effort.iterations):
            w = neuron_weights(ctx, xi, G0)
            removed = np.sort(G0[np.argsort(-w, kind="stable")[:S_star]])
            val, xi = evaluate(removed)
            if val < best.value:
                best = RemovalSearch(val, tuple(int(i) for i in removed), "alternating minimisation")
            if val >= prev - 1e-12 * max(1.0, abs(prev)):
                break
            prev = val
        if budget.spent():
            break
    return best


def per_neuron_lambda_max(ctx: Context, idx: np.ndarray) -> np.ndarray:
    """lambda_max((X^T X) o (a_nu a_nu^T)) = ||X^{supp a_nu}||^2 for nu in idx, via the n x n
    matrices X diag(a_nu) X^T."""
    out = np.empty(len(idx))
    for t, nu in enumerate(idx):
        Xs = ctx.X[:, ctx.A0[nu]]
        out[t] = float(scipy.linalg.eigh(Xs @ Xs.T, eigvals_only=True,
                                         subset_by_index=[ctx.n - 1, ctx.n - 1])[0]) if Xs.shape[1] else 0.0
    return out


def removal_lower_bound(ctx: Context, S_star: int) -> tuple[float, float]:
    """Proved lower end for (30): H_Gamma = H_Gamma0 - sum_{removed} H_nu, so by Weyl
    lambda_min(H_Gamma) >= lambda_min(H_Gamma0) - (sum of the S* largest lambda_max(H_nu)).
    Returns (bound, lambda_min(H_Gamma0))."""
    G0 = ctx.Gamma0
    A = ctx.A0[G0].astype(np.float64)
    lam0 = float(np.linalg.eigvalsh(ctx.gram * (A.T @ A))[0])
    lm = np.sort(per_neuron_lambda_max(ctx, G0))[::-1]
    return lam0 - float(lm[:S_star].sum()), lam0
