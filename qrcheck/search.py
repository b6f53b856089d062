"""Generic search engines for the subset-uniform properties (20), (21), (30) (docs/search.md), on
explicit arrays (X, its Gram matrix, A0, Gamma_0), never on a whole draw or profile; the search
effort (``Effort``, the ``--effort`` presets) and the wall-clock ``Budget``.

Exact checking is NP-hard (certifying the restricted isometry property already is), so each value
is bracketed: one end by a search whose result is realised by an explicit subset (and direction),
which an auditor recomputes in one line; the other end by a bound that is a theorem (cited in its
docstring). When a family has at most ``effort.subset_samples`` members the baseline enumerates it,
and the value is then exact.

Each property's use of an engine, its proved bound and its bisection for n* / S* live with the
equation in ``qrcheck/properties/p20.py``, ``p21.py``, ``p30.py``.

Everything is deterministic given the generator passed in (``CheckContext.search_rng``); a wall-clock
``Budget`` may cut a search short, and the result says so. The searches run with one BLAS thread
(``single_blas``): they are long sequences of small factorisations, which threads only slow down,
badly so on a loaded machine.
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from . import InputError, model


@dataclass(frozen=True)
class Effort:
    """Search effort for the subset-uniform properties (20), (21), (30).

    subset_samples : random subsets examined per size (the baseline; a family with at most this
        many members is enumerated instead).
    restarts : independent starts of each adversarial search.
    iterations : alternation / power-iteration steps per start.
    time_budget : wall-clock seconds per property search (None: unlimited). Without a budget the
        searches are deterministic given the seed; a budget that cuts a search makes the result
        depend on machine speed, and the property's details say so (``budget_cut``).
    """

    subset_samples: int = 64
    restarts: int = 4
    iterations: int = 30
    time_budget: float | None = None

    @property
    def preset(self) -> str:
        """The ``--effort`` preset with these counts, or "custom"."""
        key = (self.subset_samples, self.restarts, self.iterations)
        for name, e in EFFORT_PRESETS.items():
            if (e.subset_samples, e.restarts, e.iterations) == key:
                return name
        return "custom"

    def to_json(self) -> dict:
        return {"subset_samples": self.subset_samples, "restarts": self.restarts,
                "iterations": self.iterations, "time_budget": self.time_budget}

    to_dict = to_json  # the name used before issue 9

    @classmethod
    def from_json(cls, d: dict) -> "Effort":
        return cls(int(d["subset_samples"]), int(d["restarts"]), int(d["iterations"]),
                   None if d.get("time_budget") is None else float(d["time_budget"]))


# ``--effort`` presets (docs/search.md)
EFFORT_PRESETS: dict[str, Effort] = {
    "low": Effort(subset_samples=16, restarts=2, iterations=10),
    "default": Effort(),
    "high": Effort(subset_samples=512, restarts=16, iterations=100),
}


def effort_from(preset: str = "default", subset_samples: int | None = None, restarts: int | None = None,
                iterations: int | None = None, time_budget: float | None = None) -> Effort:
    """The ``--effort`` preset with any count given explicitly overriding it."""
    if preset not in EFFORT_PRESETS:
        raise InputError(f"--effort must be one of {', '.join(EFFORT_PRESETS)}, got {preset!r}")
    e = EFFORT_PRESETS[preset]
    return Effort(e.subset_samples if subset_samples is None else subset_samples,
                  e.restarts if restarts is None else restarts,
                  e.iterations if iterations is None else iterations, time_budget)


# (30): above this many data points the searches use matrix-free products with H_Gamma (memory
# O(S m) instead of O(m^2) per evaluation; at n = 100, S = 400, m = 2000 one evaluation costs about
# the same either way, docs/search.md)
DENSE_LIMIT_30 = 2500


def single_blas(fn):
    """Run ``fn`` with BLAS limited to one thread (threadpoolctl)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            return fn(*args, **kwargs)
    return wrapper


def spectral_norm(M: np.ndarray) -> float:
    """||M||, the largest singular value (0 for an empty matrix)."""
    return float(np.linalg.norm(M, 2)) if M.size else 0.0


def gram_row_cumsum(gram: np.ndarray) -> np.ndarray:
    """(m, m) from X^T X (m, m): row j, entry k-1 = sum of the k-1 largest |<X^j, X^j'>| over
    j' != j (entry 0 = 0); what Gershgorin's bound on max_{|J|=k} ||X^J||^2 needs."""
    m = gram.shape[0]
    G = np.abs(gram)
    np.fill_diagonal(G, -np.inf)
    G = -np.sort(-G, axis=1)[:, :-1]  # drop the diagonal (sorted last)
    out = np.zeros((m, m))
    np.cumsum(G, axis=1, out=out[:, 1:])
    return out


def n_subsets(m: int, k: int) -> int:
    return math.comb(m, k) if 0 <= k <= m else 0


class Budget:
    """Wall-clock budget of one property's searches (None: unlimited)."""

    def __init__(self, seconds: float | None):
        self.deadline = None if seconds is None else time.perf_counter() + seconds
        self.cut = False

    def spent(self) -> bool:
        if self.deadline is not None and time.perf_counter() > self.deadline:
            self.cut = True
        return self.cut


# a family with at most this many members is always enumerated, whatever the effort: exact and cheap
EXHAUSTIVE_LIMIT = 256


def subsets(m: int, k: int, rng: np.random.Generator, samples: int) -> tuple[Iterator[np.ndarray], bool]:
    """The baseline family: every k-subset of range(m) when there are at most
    max(``samples``, EXHAUSTIVE_LIMIT) of them (then ``exhaustive`` is True), else ``samples``
    uniformly random ones. Subsets are sorted arrays."""
    if n_subsets(m, k) <= max(samples, EXHAUSTIVE_LIMIT):
        return (np.array(c, dtype=np.intp) for c in itertools.combinations(range(m), k)), True
    return (np.sort(rng.choice(m, size=k, replace=False)) for _ in range(samples)), False


def _ints(a) -> tuple[int, ...]:
    return tuple(int(i) for i in a)


# ---- (20) ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NormSearch:
    """Best subset found for max_{|J|=k} ||X^J||: value = ||X^J||, J (sorted, 0-based), how it was
    found, and whether the value is exact (k in {1, 2, m} or the family was enumerated)."""

    k: int
    value: float
    J: tuple[int, ...]
    found_by: str
    exact: bool


def truncated_power(G: np.ndarray, k: int, v0: np.ndarray, iterations: int) -> np.ndarray:
    """Truncated power method for k-sparse PCA (Yuan & Zhang 2013): v <- top-k(G v) / norm.

    G = X^T X (m, m), v0 (m,); returns the sorted support (k,) of the last iterate (stops at a fixed
    support)."""
    m = G.shape[0]
    J = np.sort(np.argpartition(-np.abs(v0), k - 1)[:k])
    v = np.zeros(m)
    v[J] = v0[J]
    for _ in range(iterations):
        nv = np.linalg.norm(v)
        if nv == 0:
            break
        u = G @ (v / nv)
        Jn = np.sort(np.argpartition(-np.abs(u), k - 1)[:k])
        v = np.zeros(m)
        v[Jn] = u[Jn]
        if np.array_equal(Jn, J):
            break
        J = Jn
    return J


def greedy_growth(X: np.ndarray, seed: int, k_max: int) -> np.ndarray:
    """Greedy sparse PCA: from J = {seed}, repeatedly add the column with the largest |<X^i, u>|,
    u the top left singular vector of X^J (kept by warm-started power iteration). X (n, m); returns
    the order (k_max,) in which columns were added, so order[:k] is the greedy k-subset."""
    n, m = X.shape
    order = [seed]
    inside = np.zeros(m, dtype=bool)
    inside[seed] = True
    u = X[:, seed] / max(np.linalg.norm(X[:, seed]), 1e-300)
    for _ in range(1, k_max):
        s = (X.T @ u) ** 2
        s[inside] = -1.0
        i = int(np.argmax(s))
        order.append(i)
        inside[i] = True
        M = X[:, order]
        for _ in range(3):
            u = M @ (M.T @ u)
            u /= max(np.linalg.norm(u), 1e-300)
    return np.array(order, dtype=np.intp)


def alternate_norm(X: np.ndarray, k: int, v: np.ndarray, iterations: int) -> np.ndarray:
    """Alternating maximisation for max_{|J|=k} ||X^J|| = max_{|v|=1} sqrt(sum of the k largest
    <X^j, v>^2) (the maxima over J and v commute): J <- the k largest |<X^j, v>|, v <- top left
    singular vector of X^J; the value never decreases. X (n, m), v (n,); returns the sorted J (k,)."""
    J = None
    for _ in range(iterations):
        Jn = np.sort(np.argpartition(-np.abs(X.T @ v), k - 1)[:k])
        if J is not None and np.array_equal(Jn, J):
            break
        J = Jn
        v = np.linalg.svd(X[:, J], full_matrices=False)[0][:, 0]
    return J


@single_blas
def search_norms(X: np.ndarray, ks: list[int], effort: Effort, rng: np.random.Generator, budget: Budget,
                 progress: Callable[[float], None] | None = None, *, gram: np.ndarray | None = None,
                 X_norm: float | None = None, row_cumsum: np.ndarray | None = None) -> list[NormSearch]:
    """Lower ends for max_{|J|=k} ||X^J||, k in ``ks``, X (n, m). ``gram`` = X^T X, ``X_norm`` =
    ||X|| and ``row_cumsum`` (``Quantities.gram_row_cumsum``, (m, m)) are computed when not given. Exact for k in {1, 2, m} (and for any k
    whose family has at most ``effort.subset_samples`` members: enumerated). Otherwise the best of:
    random k-subsets (the baseline, ``effort.subset_samples`` per k); greedy growth from
    ``effort.restarts`` seeds (alternately the Gershgorin-heaviest columns and random ones, each
    grown once to the largest k, its prefixes serving every k); the truncated power method
    (``effort.iterations`` steps) started from each greedy prefix and from random vectors; and
    alternating maximisation over (J, v) from the best subset so far and from random directions."""
    n, m = X.shape
    eff = effort
    G = X.T @ X if gram is None else gram
    out: dict[int, NormSearch] = {}
    colnorm = np.sqrt(np.diag(G))
    if 1 in ks:
        j = int(np.argmax(colnorm))
        out[1] = NormSearch(1, float(colnorm[j]), (j,), "exact (k = 1)", True)
    if 2 in ks and m >= 2:
        # ||X^{j,j'}||^2 = lambda_max of [[a, c], [c, b]] = (a+b)/2 + sqrt(((a-b)/2)^2 + c^2)
        d = np.diag(G)
        lam = (d[:, None] + d[None, :]) / 2 + np.sqrt(((d[:, None] - d[None, :]) / 2) ** 2 + G ** 2)
        np.fill_diagonal(lam, -1.0)
        j, jp = divmod(int(np.argmax(lam)), m)
        J = tuple(sorted((j, jp)))
        out[2] = NormSearch(2, spectral_norm(X[:, list(J)]), J, "exact (k = 2: all pairs)", True)
    if m in ks:
        out[m] = NormSearch(m, spectral_norm(X) if X_norm is None else X_norm, tuple(range(m)), "exact (J = [m])", True)
    todo = [k for k in ks if k not in out]
    if not todo:
        return [out[k] for k in ks]

    best: dict[int, tuple[float, np.ndarray, str]] = {k: (-1.0, np.arange(k), "") for k in todo}

    def consider(k: int, J: np.ndarray, how: str) -> None:
        v = spectral_norm(X[:, J])
        if v > best[k][0] + 1e-15:
            best[k] = (v, np.sort(J), how)

    exhaustive = {}
    steps, done = 3 * len(todo) + 1, 0
    for k in todo:  # baseline
        family, exhaustive[k] = subsets(m, k, rng, eff.subset_samples)
        for J in family:
            consider(k, J, "every subset" if exhaustive[k] else "random subset")
            if budget.spent():
                break
        done += 1
        if progress:
            progress(done / steps)
    k_max = max(k for k in todo if not exhaustive[k]) if not all(exhaustive.values()) else 0
    prefixes = []
    if k_max:
        row_cumsum = gram_row_cumsum(G) if row_cumsum is None else row_cumsum
        heavy = np.argsort(-row_cumsum[:, min(k_max, m - 1) - 1], kind="stable")
        for r in range(eff.restarts):
            seed = int(heavy[r // 2]) if r % 2 == 0 else int(rng.integers(m))
            prefixes.append(greedy_growth(X, seed, k_max))
            if budget.spent():
                break
    done += 1
    if progress:
        progress(done / steps)
    for k in todo:
        if exhaustive[k]:
            done += 2
            continue
        for order in prefixes:
            consider(k, order[:k], "greedy growth")
        starts = []
        for order in prefixes:
            v0 = np.zeros(m)
            v0[order[:k]] = 1.0
            starts.append(v0)
        starts += [rng.standard_normal(m) for _ in range(max(1, eff.restarts // 2))]
        for v0 in starts:
            if budget.spent():
                break
            consider(k, truncated_power(G, k, v0, eff.iterations), "truncated power method")
        vs = [np.linalg.svd(X[:, best[k][1]], full_matrices=False)[0][:, 0]]  # polish the best so far
        vs += [rng.standard_normal(n) for _ in range(eff.restarts)]
        for v0 in vs:
            if budget.spent():
                break
            consider(k, alternate_norm(X, k, v0, eff.iterations), "alternating maximisation")
        done += 2
        if progress:
            progress(done / steps)
    for k in todo:
        v, J, how = best[k]
        out[k] = NormSearch(k, v, _ints(J), how, exhaustive[k])
    return [out[k] for k in ks]


# ---- (21) ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SigmaSearch:
    """Best (J, xi) found for min_{|J|=n*} sigma_min((X^J)^T): value = ||(X^J)^T xi|| =
    sigma_min((X^J)^T), xi the bottom singular direction; ``exact`` when the family was enumerated."""

    n_star: int
    value: float
    J: tuple[int, ...]
    xi: tuple[float, ...]
    found_by: str
    exact: bool


def _bottom(X: np.ndarray, J: np.ndarray) -> tuple[float, np.ndarray]:
    """(sigma_min((X^J)^T), bottom eigenvector xi (n,) of X^J (X^J)^T)."""
    XJ = X[:, J]
    w, V = np.linalg.eigh(XJ @ XJ.T)
    return math.sqrt(max(0.0, float(w[0]))), V[:, 0]


@single_blas
def search_sigma_min(X: np.ndarray, n_star: int, effort: Effort, rng: np.random.Generator, budget: Budget,
                     baseline: bool = True) -> SigmaSearch:
    """Upper end for (21) at n* (n <= n* <= m), X (n, m). The minima over J and over unit xi commute, so the
    value is min_xi sqrt(sum of the n* smallest <X^j, xi>^2). Alternate xi <- bottom singular vector
    of (X^J)^T and J <- the n* smallest projections (each step does not increase the value), from
    these starts: the bottom eigenvector of X X^T, the best direction of the baseline, directions
    orthogonal to n - 1 columns (chosen like the baseline's subsets: every (n-1)-subset when there
    are at most max(``subset_samples``, ``restarts``), else that many random ones; ``restarts``
    random ones when ``baseline`` is off), and ``effort.restarts`` random directions. Baseline: ``effort.subset_samples`` random n*-subsets, or all
    of them when there are no more (then the value is exact)."""
    n, m = X.shape
    eff = effort
    best = [math.inf, np.arange(n_star), np.zeros(n), ""]

    def consider(J: np.ndarray, how: str) -> np.ndarray:
        val, xi = _bottom(X, J)
        if val < best[0] - 1e-15:
            best[:] = [val, np.sort(J), xi, how]
        return xi

    exhaustive = False
    if baseline:
        family, exhaustive = subsets(m, n_star, rng, eff.subset_samples)
        for J in family:
            consider(J, "every subset" if exhaustive else "random subset")
            if budget.spent():
                break
    if not exhaustive:
        starts = [np.linalg.eigh(X @ X.T)[1][:, 0]]
        if np.isfinite(best[0]):
            starts.append(best[2].copy())
        # directions orthogonal to n - 1 columns (the baseline's rule: all when few, else random)
        family, _ = subsets(m, min(n - 1, m), rng,
                            max(eff.subset_samples, eff.restarts) if baseline else eff.restarts)
        for K in family:
            starts.append(np.linalg.svd(X[:, K].T, full_matrices=True)[2][-1] if n > 1 else np.ones(n))
        starts += [rng.standard_normal(n) for _ in range(eff.restarts)]
        for xi in starts:
            xi = xi / np.linalg.norm(xi)
            prev = math.inf
            for _ in range(eff.iterations):
                J = np.sort(np.argsort((X.T @ xi) ** 2, kind="stable")[:n_star])
                val, xi = _bottom(X, J)
                if val < best[0] - 1e-15:
                    best[:] = [val, J, xi, "alternating minimisation"]
                if val >= prev - 1e-15:
                    break
                prev = val
            if budget.spent():
                break
    return SigmaSearch(n_star, float(best[0]), _ints(best[1]), tuple(map(float, best[2])), best[3],
                       exhaustive)


@dataclass(frozen=True)
class Interval:
    """Where the existential parameter (n* of (21), S* of (30)) switches between fail and hold.

    lower, upper : the switch point lies in [lower, upper] (None: unbounded on that side).
    proof_at : a value at which the proved bound shows the property holds (None: none found).
    fail_at : a value at which a witness shows it fails (None: none found); ``fail_witness`` is that
              witness (the property's witness format) and ``fail_value`` its statistic.
    """

    lower: int | None
    upper: int | None
    proof_at: int | None
    fail_at: int | None
    fail_value: float | None
    fail_witness: dict | None

    def to_json(self) -> dict:
        return {"lower": self.lower, "upper": self.upper, "proof_at": self.proof_at,
                "fail_at": self.fail_at, "fail_value": self.fail_value, "fail_witness": self.fail_witness}


# ---- (30) ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RemovalSearch:
    """Best removal found for min_Gamma lambda_min(((A0)_Gamma * X)^T ((A0)_Gamma * X)): value is
    lambda_min(H_Gamma), Gamma = Gamma_0 minus ``removed``; ``exact`` when every removal was tried."""

    S_star: int
    value: float
    removed: tuple[int, ...]
    found_by: str
    exact: bool


class RestrictedNTK:
    """H_Gamma = ((A0)_Gamma * X)^T ((A0)_Gamma * X) = (X^T X) o (A_Gamma^T A_Gamma) by (7)
    (``model.khatri_rao_gram``), (m, m), X (n, m), A0 (S, m), Gamma0 (indices into the S neurons),
    for Gamma = Gamma_0 minus a removal; dense (one S* x m x m GEMM per removal after one
    |Gamma_0| x m x m GEMM) when m <= ``dense_limit``, else matrix-free (a product with H_Gamma is
    two GEMMs of |Gamma| x m x n, ``model.khatri_rao_gram_matvec``) with LOBPCG (tolerance 1e-6, at most 200
    iterations) for an approximate bottom eigenpair; the value reported for a witness is always
    ``exact_value`` (dense LAPACK)."""

    def __init__(self, X: np.ndarray, A0: np.ndarray, Gamma0: np.ndarray, gram: np.ndarray | None = None,
                 dense_limit: int = DENSE_LIMIT_30):
        self.X = X
        self.m = X.shape[1]
        self.gram = X.T @ X if gram is None else gram
        self.G0 = Gamma0
        self.A = A0.astype(np.float64)
        self.dense = self.m <= dense_limit
        self._AtA0 = None

    @property
    def AtA0(self) -> np.ndarray:
        if self._AtA0 is None:
            AG = self.A[self.G0]
            self._AtA0 = AG.T @ AG
        return self._AtA0

    def dense_matrix(self, removed) -> np.ndarray:
        Ar = self.A[list(removed)]
        return model.khatri_rao_gram(None, self.X, gram=self.gram, AtA=self.AtA0 - Ar.T @ Ar)

    def bottom(self, removed, xi0: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """(lambda_min(H_Gamma), its unit eigenvector (m,)) for Gamma = Gamma_0 minus ``removed``."""
        if self.dense:
            w, V = np.linalg.eigh(self.dense_matrix(removed))
            return float(w[0]), V[:, 0]
        keep = np.setdiff1d(self.G0, np.asarray(list(removed), dtype=np.intp))
        B = self.A[keep]
        import scipy.sparse.linalg

        X, m = self.X, self.m
        op = scipy.sparse.linalg.LinearOperator(
            (m, m), dtype=np.float64, matvec=lambda v: model.khatri_rao_gram_matvec(B, X, np.ravel(v)))
        x0 = (xi0 if xi0 is not None else np.ones(m)).reshape(m, 1)
        with warnings.catch_warnings():  # a rough eigenvector is enough to steer the search
            warnings.simplefilter("ignore", UserWarning)
            w, V = scipy.sparse.linalg.lobpcg(op, x0, largest=False, tol=1e-6, maxiter=200)
        xi = V[:, 0] / np.linalg.norm(V[:, 0])
        return float(xi @ model.khatri_rao_gram_matvec(B, X, xi)), xi  # a Rayleigh quotient: >= lambda_min

    def exact_value(self, removed) -> float:
        """lambda_min(H_Gamma) by dense LAPACK (what an auditor recomputes)."""
        return float(np.linalg.eigvalsh(self.dense_matrix(removed))[0])

    def neuron_weights(self, xi: np.ndarray) -> np.ndarray:
        """||X (a_nu o xi)||^2 = xi^T H_nu xi for nu in Gamma_0: one GEMM (|Gamma_0|, m) x (m, n)."""
        V = (self.A[self.G0] * xi[None, :]) @ self.X.T
        return np.einsum("sn,sn->s", V, V)


@single_blas
def search_removal(H: RestrictedNTK, S_star: int, effort: Effort, rng: np.random.Generator, budget: Budget,
                   baseline: bool = True) -> RemovalSearch:
    """Upper end for (30) at S* (0 < S* <= |Gamma_0|). For a fixed unit xi the adversary removes the
    S* neurons of Gamma_0 with the largest ||X (a_nu o xi)||^2 = xi^T H_nu xi (that minimises
    xi^T H_Gamma xi); alternate xi <- bottom eigenvector of H_Gamma and that removal (each step does
    not increase lambda_min), from ``effort.restarts`` starts: the bottom eigenvector of H_Gamma0,
    unit vectors e_j at the data points with the smallest diagonal of H_Gamma0, then random xi.
    Baseline: ``effort.subset_samples`` random removals, or all when there are no more (exact)."""
    G0, eff, m = H.G0, effort, H.m
    best = [math.inf, (), ""]

    def consider(removed, how: str, xi0=None) -> np.ndarray:
        val, xi = H.bottom(removed, xi0)
        if val < best[0] - 1e-12 * max(1.0, abs(best[0]) if np.isfinite(best[0]) else 1.0):
            best[:] = [val, _ints(np.sort(removed)), how]
        return xi

    exhaustive = False
    if baseline:
        family, exhaustive = subsets(G0.size, S_star, rng, eff.subset_samples)
        for idx in family:
            consider(G0[idx], "every removal" if exhaustive else "random removal")
            if budget.spent():
                break
    if not exhaustive:
        lam0, xi0 = H.bottom(())
        diag = np.einsum("sj,sj->j", H.A[G0], H.A[G0]) * np.diag(H.gram)
        starts = [xi0]
        for j in np.argsort(diag, kind="stable")[: max(1, eff.restarts // 2)]:
            e = np.zeros(m)
            e[j] = 1.0
            starts.append(e)
        starts += [rng.standard_normal(m) for _ in range(max(0, eff.restarts - len(starts)))]
        for xi in starts:
            xi = xi / np.linalg.norm(xi)
            prev = math.inf
            for _ in range(eff.iterations):
                w = H.neuron_weights(xi)
                removed = G0[np.argsort(-w, kind="stable")[:S_star]]
                val, xi = H.bottom(removed, xi)
                if val < best[0] - 1e-12 * max(1.0, abs(best[0]) if np.isfinite(best[0]) else 1.0):
                    best[:] = [val, _ints(np.sort(removed)), "alternating minimisation"]
                if val >= prev - 1e-12 * max(1.0, abs(prev)):
                    break
                prev = val
            if budget.spent():
                break
    value = best[0] if H.dense else H.exact_value(best[1])
    return RemovalSearch(S_star, float(value), best[1], best[2], exhaustive)
