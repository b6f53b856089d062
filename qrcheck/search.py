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
from functools import cached_property
from typing import Callable, Iterator

import numpy as np

from . import InputError, model
from .system import GRAM_BLOCK_BYTES


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
    work : the most arithmetic one property's search may do, in passes over X (one pass = the
        charge of one product X^T v, ``pass_flops``); the cap is ``max(WORK_FLOOR, work *
        pass_flops(n, m))`` flops, counted by the
        nominal cost of each step (:class:`Work`), so it is deterministic: the same counts on every
        machine (None: unbounded). It binds only at large sizes; then the searches stop early and
        ``details.work_cut`` says so (docs/search.md "Effort, work cap, determinism").
    """

    subset_samples: int = 64
    restarts: int = 4
    iterations: int = 30
    time_budget: float | None = None
    work: float | None = 2000.0

    @property
    def preset(self) -> str:
        """The ``--effort`` preset with these counts, or "custom"."""
        key = (self.subset_samples, self.restarts, self.iterations, self.work)
        for name, e in EFFORT_PRESETS.items():
            if (e.subset_samples, e.restarts, e.iterations, e.work) == key:
                return name
        return "custom"

    def work_flops(self, n: int, m: int) -> float | None:
        """The work cap of one property search on X (n, m), in flops (None: unbounded)."""
        return None if self.work is None else max(WORK_FLOOR, self.work * pass_flops(n, m))

    def to_json(self) -> dict:
        return {"subset_samples": self.subset_samples, "restarts": self.restarts,
                "iterations": self.iterations, "time_budget": self.time_budget, "work": self.work}

    to_dict = to_json  # the name used before issue 9

    @classmethod
    def from_json(cls, d: dict) -> "Effort":
        """Inverse of ``to_json``; a record without ``work`` (before issue 15) had no cap."""
        return cls(int(d["subset_samples"]), int(d["restarts"]), int(d["iterations"]),
                   None if d.get("time_budget") is None else float(d["time_budget"]),
                   None if d.get("work") is None else float(d["work"]))


#: matrix-vector products (BLAS-2) are memory-bound: charged this many times their flops, which
#: puts them on the scale of the BLAS-3 and LAPACK steps (measured on the project machine)
MATVEC_WEIGHT = 4.0


def pass_flops(n: int, m: int) -> float:
    """The charge of one product X^T v or X v, X (n, m): MATVEC_WEIGHT x 2 n m."""
    return MATVEC_WEIGHT * 2.0 * n * m


#: the work cap is never below this many nominal flops (the searches run at about 10-15 nominal
#: Gflop/s on one core of the project machine: under a second), so small problems are searched
#: with the full counts whatever ``Effort.work`` says (docs/search.md: where the cap binds)
WORK_FLOOR = 8e9

# ``--effort`` presets (docs/search.md)
EFFORT_PRESETS: dict[str, Effort] = {
    "low": Effort(subset_samples=16, restarts=2, iterations=10, work=500.0),
    "default": Effort(),
    "high": Effort(subset_samples=512, restarts=16, iterations=100, work=None),
}


def effort_from(preset: str = "default", subset_samples: int | None = None, restarts: int | None = None,
                iterations: int | None = None, time_budget: float | None = None) -> Effort:
    """The ``--effort`` preset with any count given explicitly overriding it."""
    if preset not in EFFORT_PRESETS:
        raise InputError(f"--effort must be one of {', '.join(EFFORT_PRESETS)}, got {preset!r}")
    e = EFFORT_PRESETS[preset]
    return Effort(e.subset_samples if subset_samples is None else subset_samples,
                  e.restarts if restarts is None else restarts,
                  e.iterations if iterations is None else iterations, time_budget, e.work)


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


class Work:
    """The deterministic work cap of one property's searches (``Effort.work``), in flops.

    Each step ``charge``s its nominal cost (the formulas in :func:`norm_flops` and the search
    docstrings: a product with X or X^T is ``pass_flops`` = 4 x 2 n m, a Gram matrix of a k-column subset 2 n k
    min(n, k), an eigendecomposition of an r x r matrix 9 r^3), and a search loop stops once its
    meter is ``spent``; so, unlike the wall-clock :class:`Budget`, the same search stops at the same
    step on every machine. ``take(parts)`` is the meter of one of ``parts`` phases still to run: a
    1/parts share of what is left now (what a phase leaves unused passes to the later ones); its
    charges count against every meter above it, and a cut sets ``cut`` on all of them. ``used``:
    the flops charged to this meter and the ones below it.
    """

    def __init__(self, flops: float | None, parent: "Work | None" = None):
        self.cap = flops
        self.left = flops
        self.parent = parent
        self.cut = False
        self.used = 0.0

    def charge(self, flops: float) -> None:
        w = self
        while w is not None:
            w.used += flops
            if w.left is not None:
                w.left -= flops
            w = w.parent

    def spent(self) -> bool:
        if self.left is None or self.left > 0:
            return False
        w = self
        while w is not None:
            w.cut = True
            w = w.parent
        return True

    def take(self, parts: int) -> "Work":
        return Work(None if self.left is None else max(self.left, 0.0) / max(parts, 1), self)


def norm_flops(n: int, k: int) -> float:
    """Nominal cost of ||X^J|| for |J| = k (:func:`subset_norm`): the Gram matrix plus its top
    eigenvalue (also charged for LAPACK's SVD on small subsets)."""
    r = min(n, k)
    return 2.0 * n * k * r + 9.0 * r ** 3


#: a subset X^J with at most this many entries (n |J|) gets LAPACK's SVD for its norm and top
#: singular vector (as before issue 15); a larger one the top eigenpair of its min(n, k)-square Gram
#: matrix (norm) and three warm-started power steps (direction), several times cheaper at Table 2's
#: sizes
SMALL_SUBSET = 2 ** 14


def subset_norm(X: np.ndarray, J) -> float:
    """||X^J|| for the columns J of X (n, m): LAPACK's SVD when n |J| <= ``SMALL_SUBSET``, else
    sqrt(lambda_max) of the smaller Gram matrix (the same number to about 1e-15 relative)."""
    XJ = X[:, J]
    if XJ.size <= SMALL_SUBSET:
        return spectral_norm(XJ)
    import scipy.linalg

    M = XJ @ XJ.T if XJ.shape[0] <= XJ.shape[1] else XJ.T @ XJ
    r = M.shape[0]
    return math.sqrt(max(float(scipy.linalg.eigvalsh(M, subset_by_index=[r - 1, r - 1], check_finite=False)[0]), 0.0))


def top_left_vector(XJ: np.ndarray, v0: np.ndarray | None = None) -> np.ndarray:
    """The top left singular vector (n,) of XJ (n, k): LAPACK's SVD when XJ has at most
    ``SMALL_SUBSET`` entries; else three power steps on XJ XJ^T from ``v0`` (which never lower
    ||XJ^T v||), or, without ``v0``, the top eigenvector of the smaller Gram matrix."""
    if XJ.size <= SMALL_SUBSET:
        return np.linalg.svd(XJ, full_matrices=False)[0][:, 0]
    if v0 is None:
        import scipy.linalg

        small = XJ.shape[0] <= XJ.shape[1]
        M = XJ @ XJ.T if small else XJ.T @ XJ
        r = M.shape[0]
        w = scipy.linalg.eigh(M, subset_by_index=[r - 1, r - 1], check_finite=False)[1][:, 0]
        u = w if small else XJ @ w
        return u / max(float(np.linalg.norm(u)), 1e-300)
    u = v0
    for _ in range(3):
        u = XJ @ (XJ.T @ u)
        u = u / max(float(np.linalg.norm(u)), 1e-300)
    return u


def top_vector_flops(n: int, k: int, warm: bool) -> float:
    """Nominal cost of :func:`top_left_vector` for a k-column subset."""
    if n * k <= SMALL_SUBSET or not warm:
        return norm_flops(n, k) + 2.0 * n * k * min(n, k)
    return MATVEC_WEIGHT * 12.0 * n * k


# ---- row blocks of X^T X (no m x m array above Quantities.dense_limit) --------------------------
#: the largest row block of X^T X formed at once (bytes, ``system.GRAM_BLOCK_BYTES``); the passes
#: below hold a few such blocks per thread

#: threads of the passes over row blocks (``GramRows.map``): the project machine has two cores
PASS_THREADS = 2


class GramRows:
    """X^T X (m, m), X (n, m), as row blocks of at most ``block_bytes`` (default
    ``GRAM_BLOCK_BYTES``): views of ``gram`` when it is
    given (the dense path), else each block ``X[:, rows].T @ X`` computed when it is used, so
    nothing m x m is ever held (memory O(block x m)). Every entry, either way, is a float64 dot
    product of length n within the (E1) radius of the true one (``enclosures.gram_bound``): the
    statistics below agree between the two paths to that radius (bitwise when the BLAS gives the
    same bits for a block as for the whole product). ``diag``: ||X^j||^2 (m,)."""

    def __init__(self, X: np.ndarray | None, gram: np.ndarray | None = None, block_bytes: int | None = None):
        if X is None and gram is None:
            raise ValueError("GramRows needs X or its Gram matrix")
        self.X, self.gram = X, gram
        self.m = (gram if gram is not None else X).shape[1]
        block_bytes = GRAM_BLOCK_BYTES if block_bytes is None else block_bytes
        self.rows = max(1, int(block_bytes) // (8 * max(self.m, 1)))

    @property
    def blocked(self) -> bool:
        """True when the blocks are computed from X (no m x m array)."""
        return self.gram is None

    def block(self, s: int) -> np.ndarray:
        """Rows s..s+b-1 of X^T X, (b, m)."""
        e = min(self.m, s + self.rows)
        return self.gram[s:e] if self.gram is not None else self.X[:, s:e].T @ self.X

    def map(self, fn: Callable[[int, np.ndarray], object]) -> Iterator[object]:
        """fn(s, rows s..s+b-1 of X^T X) for consecutive row blocks, the results in block order.
        Up to ``PASS_THREADS`` blocks are formed and processed at once, each with one BLAS thread
        (numpy's sorts, reductions and the BLAS release the GIL); results do not depend on it."""
        starts = range(0, self.m, self.rows)
        if PASS_THREADS <= 1 or len(starts) <= 1:
            for s in starts:
                yield fn(s, self.block(s))
            return
        from concurrent.futures import ThreadPoolExecutor
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(PASS_THREADS) as pool:
            pending: list = []  # at most 2 PASS_THREADS blocks ahead of the consumer
            for s in starts:
                pending.append(pool.submit(lambda s=s: fn(s, self.block(s))))
                if len(pending) > 2 * PASS_THREADS:
                    yield pending.pop(0).result()
            while pending:
                yield pending.pop(0).result()

    @cached_property
    def diag(self) -> np.ndarray:
        """||X^j||^2 (m,): the Gram matrix's diagonal, or sums of squares of the columns."""
        if self.gram is not None:
            return np.diag(self.gram).copy()
        return np.einsum("ij,ij->j", self.X, self.X)


def _diagonal(b: int, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays of the diagonal entries (j, j) inside the row block of rows s..s+b-1."""
    i = np.arange(b)
    return i, s + i


#: (20)'s cluster levels: for each data point j and level t, #{j' : |<X^j, X^j'>| >= t} is a
#: subset size the search examines (``properties.p20.cluster_sizes``)
CLUSTER_LEVELS = (0.999, 0.99, 0.9, 0.5)


@dataclass(frozen=True)
class GramScan:
    """One pass over the row blocks of X^T X, X (n, m), m >= 2, for what (19) and (20) read.

    offdiag : (19) (max over j != j' of |(X^T X)_{jj'}|, j, j'), the first maximal entry in
        row-major order.
    pair : (20) at k = 2, the pair (j, j') maximising ||X^{j,j'}||^2 = lambda_max [[a, c], [c, b]]
        = (a+b)/2 + sqrt(((a-b)/2)^2 + c^2) (the first in row-major order).
    counts : {t: the distinct row counts #{j' : |<X^j, X^j'>| >= t} (j' = j included) that are
        >= 3} per level t: (20)'s cluster sizes.
    """

    offdiag: tuple[float, int, int]
    pair: tuple[int, int]
    counts: dict


def scan_rows(rows: GramRows, levels=CLUSTER_LEVELS) -> GramScan:
    """The :class:`GramScan` of ``rows`` (m >= 2) in one pass, memory O(block x m). Every value is
    the one the whole matrix gives (maxima and first maximisers of the blocks' maxima); the pair's
    search looks only at the entries with |c| >= lower end - max_j ||X^j||^2 (lambda <= max(a, b)
    + |c|, with a margin for the rounding), which contain every maximiser."""
    d, m = rows.diag, rows.m
    dmax = float(np.max(d))
    low = min(levels) if levels else math.inf

    def lam(a, b, c):
        return (a + b) / 2 + np.sqrt(((a - b) / 2) ** 2 + c ** 2)

    def one(s: int, B: np.ndarray):
        b = B.shape[0]
        A = np.abs(B)
        # a row counts >= 3 at some level only if it does at the lowest: those few rows are recounted
        hit = np.flatnonzero(np.count_nonzero(A >= low, axis=1) >= 3)
        counts = {t: {int(c) for c in np.count_nonzero(A[hit] >= t, axis=1) if c >= 3} for t in levels}
        A[_diagonal(b, s)] = -1.0
        top = A.max(axis=1)
        r = int(np.argmax(top))  # the first row with the block's largest |c|, its first column
        c = int(np.argmax(A[r]))
        off = (float(top[r]), s + r, c)
        # that pair gives a lower end for the pair's maximum in this block; only rows whose largest
        # |c| reaches it minus max_j ||X^j||^2 hold candidates
        lo = float(lam(d[s + r], d[c], B[r, c]))
        thr = lo - dmax - 1e-12 * abs(lo)
        pair = (-math.inf, 0, 1)
        for r in np.flatnonzero(top >= thr):
            j = np.flatnonzero(A[r] >= thr)
            j = j[j != s + r]
            if not j.size:
                continue
            v = lam(d[s + r], d[j], B[r, j])
            t = int(np.argmax(v))
            if float(v[t]) > pair[0]:
                pair = (float(v[t]), s + int(r), int(j[t]))
        return counts, off, pair

    counts: dict = {t: set() for t in levels}
    off, pair = (-1.0, 0, 1), (-math.inf, 0, 1)
    for c_b, off_b, pair_b in rows.map(one):  # in block order: the first maximiser wins ties
        for t in levels:
            counts[t] |= c_b[t]
        off = off_b if off_b[0] > off[0] else off
        pair = pair_b if pair_b[0] > pair[0] else pair
    return GramScan(off, (pair[1], pair[2]), {t: frozenset(c) for t, c in counts.items()})


#: (20)'s Gershgorin pass sorts only this many of the largest |<X^j, X^j'>| of a row; for larger k
#: it uses a rigorous extrapolation (``sorted_rows``), which never matters where Gershgorin_k is
#: above ||X||^2 (the bound is min(||X||, Gershgorin_k^{1/2})): at m <= TOP_K + 1 nothing changes
TOP_K = 4096


def row_cumsum(B: np.ndarray, s: int, K: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """From the row block B (b, m) = rows s..s+b-1 of X^T X: ((b, K + 1) row j, entry k-1 = sum of
    the k-1 largest |<X^j, X^j'>| over j' != j (entry 0 = 0), for k - 1 <= K (default m - 1);
    (b,) the K-th largest of them (0 when K = 0)), what Gershgorin's bound on max_{|J|=k} ||X^J||^2
    needs. The K largest are found by a partition and then sorted (the same sums as a full sort)."""
    b, m = B.shape
    K = m - 1 if K is None else K
    out = np.zeros((b, K + 1))
    if K == 0:
        return out, np.zeros(b)
    G = np.abs(B)
    G[_diagonal(b, s)] = -np.inf
    if K < m - 1:
        G.partition(m - K, axis=1)  # in place: the K largest last
        G = G[:, m - K:]
    G.sort(axis=1)
    G = G[:, :0:-1] if K == m - 1 else G[:, ::-1]  # descending, without the diagonal
    np.cumsum(G, axis=1, out=out[:, 1:])
    return out, G[:, -1].copy()


@dataclass(frozen=True)
class SortedRows:
    """One pass over the row-sorted |X^T X| ((20)'s Gershgorin bound), block by block.

    gershgorin_sq : (m,) entry k-1 = max_j (||X^j||^2 + sum of the k-1 largest |<X^j, X^j'>|, j' != j)
        (for k - 1 > ``TOP_K`` an upper bound on it, see ``sorted_rows``).
    gershgorin_upper : (m,) rigorous upper ends (``enclosures.gershgorin_all_k_upper``), or None.
    at : {k: (m,)} per-row sums of the k-1 largest |<X^j, X^j'>| (or, for k - 1 > ``TOP_K``, the
        same upper bound), for the k asked for.
    """

    gershgorin_sq: np.ndarray
    gershgorin_upper: np.ndarray | None
    at: dict


def sorted_rows(rows: GramRows, ks=(), d_upper: np.ndarray | None = None, bound=None) -> SortedRows:
    """The running maxima over row blocks of (20)'s Gershgorin sums for every k (and with
    ``d_upper`` (m,), the upper ends of ||X^j||^2, and ``bound``, the Gram matrix's
    ``enclosures.ProductBound``, their rigorous upper ends), plus the per-row sums at each k in
    ``ks``. Memory O(block x m); the same numbers as on the whole matrix (a maximum over rows is a
    maximum of the blocks' maxima). Only the K = min(m - 1, ``TOP_K``) largest entries of a row are
    sorted: for k - 1 > K the k - 1 largest sum to at most (the K largest) + (k - 1 - K) (the K-th
    largest), and the maximum over rows of that to at most max_j (d_j + sum of K) + (k - 1 - K)
    max_j (K-th largest) (``enclosures.gershgorin_tail_upper``)."""
    from . import enclosures as E

    m, d = rows.m, rows.diag
    K = min(m - 1, TOP_K) if m else 0
    tail = K < m - 1

    def one(s: int, B: np.ndarray):
        cs, kth = row_cumsum(B, s, K)
        e = s + B.shape[0]
        g = (d[s:e, None] + cs).max(axis=0)
        u = None if d_upper is None else E.gershgorin_all_k_upper(cs, d_upper[s:e], bound, m=m)
        rows_at = {k: (cs[:, k - 1] if k - 1 <= K else cs[:, K] + (k - 1 - K) * kth) for k in at}
        ends = (float(np.max(d[s:e] + cs[:, K])), float(np.max(kth)),
                -np.inf if d_upper is None else float(np.max(d_upper[s:e] + cs[:, K]))) if tail else None
        return s, e, g, u, rows_at, ends

    gsq = np.full(K + 1, -np.inf)
    gup = None if d_upper is None else np.full(K + 1, -np.inf)
    head, last, head_up = -np.inf, -np.inf, -np.inf  # the tail's ingredients (k - 1 > K)
    at = {int(k): np.empty(m) for k in ks}
    for s, e, g, u, rows_at, ends in rows.map(one):  # maxima: the order of the blocks does not matter
        np.maximum(gsq, g, out=gsq)
        if gup is not None:
            np.maximum(gup, u, out=gup)
        for k, a in at.items():
            a[s:e] = rows_at[k]
        if tail:
            head, last, head_up = max(head, ends[0]), max(last, ends[1]), max(head_up, ends[2])
    if K < m - 1:
        j = np.arange(K + 1, m, dtype=np.float64) - K  # k - 1 - K for k - 1 = K+1..m-1
        gsq = np.concatenate([gsq, head + j * last])
        if gup is not None:
            gup = np.concatenate([gup, E.gershgorin_tail_upper(head_up, last, K, m, bound)])
    return SortedRows(gsq, gup, at)


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


def truncated_power(X: np.ndarray, k: int, v0: np.ndarray, iterations: int, work: Work | None = None) -> np.ndarray:
    """Truncated power method for k-sparse PCA (Yuan & Zhang 2013): v <- top-k(X^T X v) / norm.

    X (n, m), v0 (m,); X^T X v is formed as X^T (X v) (4 n m flops, charged to ``work``, instead of
    the m^2 of the Gram matrix); returns the sorted support (k,) of the last iterate (stops at a
    fixed support, after ``iterations`` steps or when ``work`` is spent)."""
    n, m = X.shape
    J = np.sort(np.argpartition(-np.abs(v0), k - 1)[:k])
    v = np.zeros(m)
    v[J] = v0[J]
    for _ in range(iterations):
        nv = np.linalg.norm(v)
        if nv == 0:
            break
        u = X.T @ (X @ (v / nv))
        Jn = np.sort(np.argpartition(-np.abs(u), k - 1)[:k])
        v = np.zeros(m)
        v[Jn] = u[Jn]
        if work is not None:
            work.charge(2.0 * pass_flops(n, m))
        if np.array_equal(Jn, J) or (work is not None and work.spent()):
            J = Jn
            break
        J = Jn
    return J


#: greedy growth takes at most this many steps; above it each step adds the best ceil((k_max - 1) /
#: GREEDY_STEPS) columns at once (the same algorithm when k_max <= GREEDY_STEPS + 1)
GREEDY_STEPS = 256


def greedy_steps(k_max: int) -> tuple[int, int]:
    """(columns added per step, number of steps) of :func:`greedy_growth` up to k_max columns."""
    b = max(1, -(-(k_max - 1) // GREEDY_STEPS))
    return b, -(-(k_max - 1) // b) if k_max > 1 else 0


def greedy_flops(n: int, m: int, k_max: int) -> float:
    """Nominal cost of one :func:`greedy_growth` to k_max columns."""
    b, steps = greedy_steps(k_max)
    return steps * (pass_flops(n, m) + 2.0 * n * n * b + 6.0 * n * n)


def greedy_growth(X: np.ndarray, seed: int, k_max: int) -> np.ndarray:
    """Greedy sparse PCA: from J = {seed}, repeatedly add the column(s) with the largest
    |<X^i, u>|, u the top left singular vector of X^J, kept by three warm-started power steps on
    C = X^J (X^J)^T (n, n), updated as columns join (O(n^2) a column, not O(n k)). X (n, m);
    returns the order (k_max,) in which columns were added, so order[:k] is the greedy k-subset.
    At most ``GREEDY_STEPS`` steps (``greedy_steps``): a step adds the b best columns, best first."""
    n, m = X.shape
    b, _ = greedy_steps(k_max)
    order = [seed]
    inside = np.zeros(m, dtype=bool)
    inside[seed] = True
    x = X[:, seed]
    C = np.outer(x, x)
    u = x / max(np.linalg.norm(x), 1e-300)
    while len(order) < k_max:
        s = (X.T @ u) ** 2
        s[inside] = -1.0
        t = min(b, k_max - len(order))
        if t == 1:
            new = [int(np.argmax(s))]
        else:
            idx = np.argpartition(-s, t - 1)[:t]
            new = [int(i) for i in idx[np.argsort(-s[idx], kind="stable")]]
        order += new
        inside[new] = True
        Xn = X[:, new]
        C += Xn @ Xn.T
        for _ in range(3):
            u = C @ u
            u /= max(np.linalg.norm(u), 1e-300)
    return np.array(order, dtype=np.intp)


def alternate_norm(X: np.ndarray, k: int, v: np.ndarray, iterations: int, work: Work | None = None) -> np.ndarray:
    """Alternating maximisation for max_{|J|=k} ||X^J|| = max_{|v|=1} sqrt(sum of the k largest
    <X^j, v>^2) (the maxima over J and v commute): J <- the k largest |<X^j, v>|, v <- top left
    singular vector of X^J (``top_left_vector``, warm-started from v: either way ||X^J^T v|| does not
    decrease). X (n, m), v (n,); returns the sorted J (k,). Each step charges 2 n m plus the
    direction's cost to ``work`` and stops when it is spent."""
    n, m = X.shape
    J = None
    for _ in range(iterations):
        Jn = np.sort(np.argpartition(-np.abs(X.T @ v), k - 1)[:k])
        if J is not None and np.array_equal(Jn, J):
            break
        J = Jn
        v = top_left_vector(X[:, J], v)
        if work is not None:
            work.charge(pass_flops(n, m) + top_vector_flops(n, k, True))
            if work.spent():
                break
    return J


@single_blas
def search_norms(X: np.ndarray, ks: list[int], effort: Effort, rng: np.random.Generator, budget: Budget,
                 progress: Callable[[float], None] | None = None, *, gram: "np.ndarray | GramRows | None" = None,
                 X_norm: float | None = None, row_sums: Callable[[int], np.ndarray] | None = None,
                 pair: tuple[int, int] | None = None, work: Work | None = None) -> list[NormSearch]:
    """Lower ends for max_{|J|=k} ||X^J||, k in ``ks``, X (n, m).

    ``gram``: X^T X (m, m) or its row blocks (:class:`GramRows`; computed block by block from X when
    not given), ``X_norm`` = ||X||, ``row_sums(k)`` (m,) = per-row sums of the k-1 largest
    |<X^j, X^j'>| (``Quantities.gram_sorted``; from ``gram`` when not given), ``pair`` the best
    pair (``GramScan.pair``; from ``gram`` when not given). Exact for k in
    {1, 2, m} (and for any k whose family has at most ``effort.subset_samples`` members:
    enumerated). Otherwise the best of: random k-subsets (the baseline, ``effort.subset_samples``
    per k); greedy growth from ``effort.restarts`` seeds (alternately the Gershgorin-heaviest
    columns and random ones, each grown once to the largest k, its prefixes serving every k); the
    truncated power method (``effort.iterations`` steps) started from each greedy prefix and from
    random vectors; and alternating maximisation over (J, v) from the best subset so far and from
    random directions.

    Work cap (``work``, default ``Work(effort.work_flops(n, m))``), in the order the phases run:
    the baseline gets a quarter, split over its k (``Work.take``: each k a share of what is left),
    greedy growth a third of the rest, and the truncated power method and the alternation of each
    k, in turn, equal shares of what remains; a phase stops when its share is spent (its first
    step always runs), and what one leaves passes to the next. Enumerated families are not
    charged."""
    n, m = X.shape
    eff = effort
    rows = gram if isinstance(gram, GramRows) else GramRows(X, gram)
    work = Work(eff.work_flops(n, m)) if work is None else work
    out: dict[int, NormSearch] = {}
    colnorm = np.sqrt(rows.diag)
    if 1 in ks:
        j = int(np.argmax(colnorm))
        out[1] = NormSearch(1, float(colnorm[j]), (j,), "exact (k = 1)", True)
    if 2 in ks and m >= 2:
        J = tuple(sorted(scan_rows(rows, ()).pair if pair is None else pair))
        out[2] = NormSearch(2, spectral_norm(X[:, list(J)]), J, "exact (k = 2: all pairs)", True)
    if m in ks:
        out[m] = NormSearch(m, spectral_norm(X) if X_norm is None else X_norm, tuple(range(m)), "exact (J = [m])", True)
    todo = [k for k in ks if k not in out]
    if not todo:
        return [out[k] for k in ks]

    best: dict[int, tuple[float, np.ndarray, str]] = {k: (-1.0, np.arange(k), "") for k in todo}

    def consider(k: int, J: np.ndarray, how: str, meter: Work | None) -> None:
        v = subset_norm(X, J)
        if meter is not None:
            meter.charge(norm_flops(n, k))
        if v > best[k][0] + 1e-15:
            best[k] = (v, np.sort(J), how)

    exhaustive = {}
    steps, done = 3 * len(todo) + 1, 0
    base = work.take(4)
    n_base = sum(n_subsets(m, k) > max(eff.subset_samples, EXHAUSTIVE_LIMIT) for k in todo)
    for k in todo:  # baseline
        family, exhaustive[k] = subsets(m, k, rng, eff.subset_samples)
        meter = None if exhaustive[k] else base.take(n_base)
        n_base -= 0 if exhaustive[k] else 1
        for J in family:
            consider(k, J, "every subset" if exhaustive[k] else "random subset", meter)
            if budget.spent() or (meter is not None and meter.spent()):
                break
        done += 1
        if progress:
            progress(done / steps)
    searched = [k for k in todo if not exhaustive[k]]
    k_max = max(searched) if searched else 0
    prefixes = []
    if k_max:
        kk = min(k_max, m - 1)
        key = row_sums(kk) if row_sums is not None else sorted_rows(rows, (kk,)).at[kk]
        heavy = np.argsort(-key, kind="stable")
        meter = work.take(3)
        for r in range(eff.restarts):
            seed = int(heavy[r // 2]) if r % 2 == 0 else int(rng.integers(m))
            prefixes.append(greedy_growth(X, seed, k_max))
            meter.charge(greedy_flops(n, m, k_max))
            if budget.spent() or meter.spent():
                break
    done += 1
    if progress:
        progress(done / steps)
    phases = 2 * len(searched)
    for k in todo:
        if exhaustive[k]:
            done += 2
            continue
        for order in prefixes:
            consider(k, order[:k], "greedy growth", None)
        starts = []
        for order in prefixes:
            v0 = np.zeros(m)
            v0[order[:k]] = 1.0
            starts.append(v0)
        starts += [rng.standard_normal(m) for _ in range(max(1, eff.restarts // 2))]
        meter = work.take(phases)
        phases -= 1
        for v0 in starts:
            if budget.spent():
                break
            consider(k, truncated_power(X, k, v0, eff.iterations, meter), "truncated power method", meter)
            if meter.spent():
                break
        vs = [top_left_vector(X[:, best[k][1]])]  # polish the best so far
        vs += [rng.standard_normal(n) for _ in range(eff.restarts)]
        meter = work.take(phases)
        phases -= 1
        for v0 in vs:
            if budget.spent():
                break
            consider(k, alternate_norm(X, k, v0, eff.iterations, meter), "alternating maximisation", meter)
            if meter.spent():
                break
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


def bottom_flops(n: int, k: int) -> float:
    """Nominal cost of :func:`_bottom` for |J| = k: the n x n Gram matrix and its eigh."""
    return 2.0 * n * n * k + 9.0 * n ** 3


def smallest(s: np.ndarray, k: int) -> np.ndarray:
    """The sorted indices of the k smallest entries of s (m,), ties to the lower index: the same
    set as ``np.argsort(s, kind="stable")[:k]``, in O(m) (a partition) instead of a sort."""
    if k >= s.size:
        return np.arange(s.size)
    t = s[np.argpartition(s, k - 1)[k - 1]]
    below = np.flatnonzero(s < t)
    return np.sort(np.concatenate([below, np.flatnonzero(s == t)[: k - below.size]]))


@single_blas
def search_sigma_min(X: np.ndarray, n_star: int, effort: Effort, rng: np.random.Generator, budget: Budget,
                     baseline: bool = True, work: Work | None = None) -> SigmaSearch:
    """Upper end for (21) at n* (n <= n* <= m), X (n, m). The minima over J and over unit xi commute, so the
    value is min_xi sqrt(sum of the n* smallest <X^j, xi>^2). Alternate xi <- bottom singular vector
    of (X^J)^T and J <- the n* smallest projections (each step does not increase the value), from
    these starts: the bottom eigenvector of X X^T, the best direction of the baseline, directions
    orthogonal to n - 1 columns (chosen like the baseline's subsets: every (n-1)-subset when there
    are at most max(``subset_samples``, ``restarts``), else that many random ones; ``restarts``
    random ones when ``baseline`` is off), and ``effort.restarts`` random directions. Baseline: ``effort.subset_samples`` random n*-subsets, or all
    of them when there are no more (then the value is exact).

    Work cap (``work``, default ``Work(effort.work_flops(n, m))``): the baseline (when not
    enumerated) may spend half of it, the alternation the rest (all of it without a baseline);
    a step costs 2 n m (projections) plus ``bottom_flops``, a start orthogonal to n - 1 columns
    4 n^3 more; the starts are taken in the order above until the cap is spent (the first step
    always runs)."""
    n, m = X.shape
    eff = effort
    work = Work(eff.work_flops(n, m)) if work is None else work
    best = [math.inf, np.arange(n_star), np.zeros(n), ""]

    def consider(J: np.ndarray, how: str) -> np.ndarray:
        val, xi = _bottom(X, J)
        if val < best[0] - 1e-15:
            best[:] = [val, np.sort(J), xi, how]
        return xi

    exhaustive = False
    alt = work
    if baseline:
        family, exhaustive = subsets(m, n_star, rng, eff.subset_samples)
        meter = None if exhaustive else work.take(2)
        for J in family:
            consider(J, "every subset" if exhaustive else "random subset")
            if meter is not None:
                meter.charge(bottom_flops(n, n_star))
            if budget.spent() or (meter is not None and meter.spent()):
                break
    if not exhaustive:
        first = [np.linalg.eigh(X @ X.T)[1][:, 0]]
        if np.isfinite(best[0]):
            first.append(best[2].copy())
        # directions orthogonal to n - 1 columns (the baseline's rule: all when few, else random),
        # each an SVD computed only when its turn comes
        family, _ = subsets(m, min(n - 1, m), rng,
                            max(eff.subset_samples, eff.restarts) if baseline else eff.restarts)
        family = list(family)  # draws the random subsets now, in the order they always were
        randoms = [rng.standard_normal(n) for _ in range(eff.restarts)]

        def orthogonal(K):
            alt.charge(4.0 * n ** 3)
            return np.linalg.svd(X[:, K].T, full_matrices=True)[2][-1] if n > 1 else np.ones(n)

        starts = itertools.chain(first, (orthogonal(K) for K in family), randoms)
        for xi in starts:
            xi = xi / np.linalg.norm(xi)
            prev = math.inf
            for _ in range(eff.iterations):
                J = smallest((X.T @ xi) ** 2, n_star)
                val, xi = _bottom(X, J)
                alt.charge(pass_flops(n, m) + bottom_flops(n, n_star))
                if val < best[0] - 1e-15:
                    best[:] = [val, J, xi, "alternating minimisation"]
                if val >= prev - 1e-15 or alt.spent():
                    break
                prev = val
            if budget.spent() or alt.spent():
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
    ``exact_value`` (dense LAPACK). ``matrix_free``: no m x m array at all (``Quantities.matrix_free``):
    ``gram`` is never formed and ``exact_value`` is the matrix-free ``spectral.lambda_min_H``."""

    def __init__(self, X: np.ndarray, A0: np.ndarray, Gamma0: np.ndarray, gram: np.ndarray | None = None,
                 dense_limit: int = DENSE_LIMIT_30, matrix_free: bool = False):
        self.X = X
        self.m = X.shape[1]
        self._gram = gram
        self.matrix_free = matrix_free
        self.G0 = Gamma0
        self.A = A0.astype(np.float64)
        self.dense = self.m <= dense_limit and not matrix_free
        self._AtA0 = None

    @property
    def gram(self) -> np.ndarray:
        """X^T X (m, m), formed on first use; an error when ``matrix_free``."""
        if self._gram is None:
            if self.matrix_free:
                raise RuntimeError(f"X^T X is m x m: not formed for a matrix-free H_Gamma (m = {self.m})")
            self._gram = self.X.T @ self.X
        return self._gram

    @property
    def gram_diag(self) -> np.ndarray:
        """(m,) ||X^j||^2: the diagonal of ``gram``, or column sums of squares when ``matrix_free``."""
        return np.einsum("ij,ij->j", self.X, self.X) if self.matrix_free else np.diag(self.gram)

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
        """lambda_min(H_Gamma) by dense LAPACK (what an auditor recomputes); when ``matrix_free`` the
        iterative value of ``spectral.lambda_min_H`` (a Rayleigh quotient)."""
        if self.matrix_free:
            from . import spectral

            keep = np.setdiff1d(self.G0, np.asarray(list(removed), dtype=np.intp))
            return float(spectral.lambda_min_H(self.X, None, self.A[keep], dense_limit=0).value)
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
        diag = np.einsum("sj,sj->j", H.A[G0], H.A[G0]) * H.gram_diag
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
