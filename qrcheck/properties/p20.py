"""(20) Uniform bounds on norm: for all k, max_{|J|=k} ||X^J|| <= O~(1 + (k/n)^{1/2}).

The statistic is normalised: max over k of max_{|J|=k} ||X^J|| / (1 + sqrt(k/n)). Exact checking is
NP-hard, so it gets an interval (docs/search.md, docs/properties.md "Thresholds (schema 2)"):
- ``upper``: a proved bound over **every** k = 1..m, max_k min(||X||, Gershgorin_k^{1/2}) /
  (1 + sqrt(k/n)), with ||X|| and the Gram entries rigorously bounded (``enclosures``); cheap for
  all k at once from the row-sorted cumulative sums;
- ``lower`` (= ``statistic``): the best subset J the search finds (``search.search_norms``:
  random subsets, greedy growth, truncated power method; exact for k in {1, 2, m}) over the
  examined k: ``k_grid`` (every k when m <= 64, else 1, 2, 4, ..., n and m) plus the cluster
  sizes the Gram matrix suggests (``cluster_sizes``).

Status: ``violated`` when a witness's rigorous lower end exceeds the threshold, ``certified`` when
the proved upper end over every k is within it, ``vacuous`` when the threshold is at least
sqrt(m) max_j ||X^j|| / (1 + sqrt(m/n)) (what any subset of any size can reach), ``passed``
(or ``undecided``) otherwise. The ``sharp`` threshold is ``threshold_sharp`` over every k.
"""

from __future__ import annotations

import math

import numpy as np

from . import Checker
from .. import enclosures as E, probability
from ..quantities import Quantities
from ..results import Sense, Status
from ..search import CLUSTER_LEVELS, Budget, GramRows, GramScan, Work, scan_rows, search_norms


MAX_CLUSTER_SIZES = 12


def cluster_sizes(gram: "np.ndarray | GramRows | GramScan", levels=CLUSTER_LEVELS,
                  limit: int = MAX_CLUSTER_SIZES) -> list[int]:
    """Subset sizes the data suggest for (20): for each data point j and level t, the number of
    points j' (j included) with |<X^j, X^j'>| >= t; the distinct sizes >= 3, largest first, at most
    ``limit`` of them. A cluster of k nearly parallel columns has ||X^J|| ~ sqrt(k). ``gram``: X^T X
    (m, m), its row blocks (``search.GramRows``, memory O(block x m)), or their scan at these
    levels (``Quantities.gram_scan``)."""
    if not isinstance(gram, GramScan):
        gram = scan_rows(gram if isinstance(gram, GramRows) else GramRows(None, gram), levels)
    sizes = {c for t in levels for c in gram.counts[t] if c >= 3}
    return sorted(sizes, reverse=True)[:limit]


def k_grid(m: int, n: int) -> list[int]:
    """(20)'s examined sizes: all k when m <= 64, else 1, 2, 4, ... plus n and m."""
    if m <= 64:
        return list(range(1, m + 1))
    ks = {1 << i for i in range(int(math.log2(m)) + 1)} | {min(n, m), m}
    return sorted(k for k in ks if 1 <= k <= m)


def norm_upper(q: Quantities, k: int) -> float:
    """Proved bound on max_{|J|=k} ||X^J||: min(||X||, Gershgorin_k^{1/2}), where (Gershgorin on
    (X^J)^T X^J) ||X^J||^2 <= max_j (||X^j||^2 + sum of the k-1 largest |<X^j, X^j'>|, j' != j);
    this is also <= k max_j ||X^j||^2."""
    return min(q.X_norm, math.sqrt(q.gershgorin_sq(k)))


def witness_value(X: np.ndarray, witness: dict) -> float:
    """||X^J|| / (1 + sqrt(k/n)) for the witness subset J (|J| = k), X (n, m)."""
    J, k = witness["J"], witness["k"]
    return float(np.linalg.norm(X[:, J], 2)) / (1.0 + math.sqrt(k / X.shape[0]))


def norm_tail(n: int, m: int, k: int, delta_k: float) -> float:
    """A bound b with P(max_{|J|=k} ||X^J|| > b) <= delta_k for X with m i.i.d. uniform unit columns.

    E||X^J|| <= E||G^J|| / c_n <= (sqrt(n) + sqrt(k)) / c_n (G = X diag(r), r = column norms,
    independent of X; Jensen; Gordon [Ver12, Thm 5.32]); X^J -> ||X^J|| is 1-Lipschitz and
    (S^{n-1})^k has Ricci curvature n - 2, so P(||X^J|| >= E + t) <= exp(-(n-2) t^2 / 2)
    [Ledoux 2001, Thm 2.7 with Bakry-Emery]; union over binom(m, k) subsets. Needs n >= 3.
    """
    t = math.sqrt(2.0 * (probability.ln_binom(m, k) + math.log(1.0 / delta_k)) / (n - 2))
    return (math.sqrt(n) + math.sqrt(k)) / probability.chi_mean(n) + t


def threshold_sharp(n: int, m: int, delta: float) -> float:
    """One threshold tau for max over every k = 1..m of max_{|J|=k} ||X^J|| / (1 + sqrt(k/n)):
    tau = max_k min(b_k, sqrt(k)) / (1 + sqrt(k/n)), b_k = norm_tail at delta / m (schema 2: the
    union bound runs over all m values of k, since a certified (20) covers every k). A normalised
    value above tau at some k exceeds b_k there (it cannot exceed sqrt(k)), which has probability
    <= delta / m. For n < 3 the bound is unavailable and tau is the reachable maximum."""
    ks = list(range(1, m + 1))
    tau = 0.0
    for k in ks:
        scale = 1.0 + math.sqrt(k / n)
        b = norm_tail(n, m, k, delta / len(ks)) if n >= 3 else math.inf
        tau = max(tau, min(b, math.sqrt(k)) / scale)
    return tau


class UniformNorm(Checker):
    eq = "20"
    name = "uniform_norm"
    statement = "for all k: max_{|J|=k} ||X^J|| / (1 + (k/n)^{1/2}) <= C L^p"
    statistic = "max over examined k of max_{|J|=k} ||X^J|| / (1 + sqrt(k/n)) (best subset found)"
    sense = Sense.LE

    def reach(self, ctx):
        # ||X^J|| <= ||X^J||_F <= sqrt(k) max_j ||X^j||, and sqrt(k)/(1+sqrt(k/n)) increases with k;
        # max_j ||X^j|| by its rigorous upper end, so a threshold equal to the unit-column ceiling is
        # not called vacuous on a rounding of the column norms
        c = float(E.up(math.sqrt(float(np.max(ctx.q.bounds.column_sq[2])))))
        return (0.0, c * math.sqrt(ctx.m) / (1.0 + math.sqrt(ctx.m / ctx.n)))

    def tail_threshold(self, ctx, delta):
        return threshold_sharp(ctx.n, ctx.m, delta)

    def check(self, ctx):
        """Lower end by search over the examined k (witness J), upper end proved over every k;
        X (n, m)."""
        thr, _, _ = ctx.threshold(self.eq, 1.0)
        rng, budget = ctx.search_rng(self.eq), Budget(ctx.effort.time_budget)
        q, b, n, m = ctx.q, ctx.q.bounds, ctx.n, ctx.m
        clusters = [k for k in cluster_sizes(q.gram_scan) if k <= m] if m >= 2 else []
        ks = sorted(set(k_grid(m, n)) | set(clusters))
        work = Work(ctx.effort.work_flops(n, m))
        found = search_norms(q.X, ks, ctx.effort, rng, budget, ctx.progress(self.eq, "(20) subset norms"),
                             gram=q.gram_rows, X_norm=q.X_norm, row_sums=lambda k: q.gram_sorted((k,)).at[k],
                             pair=q.gram_scan.pair if m >= 2 else None, work=work)
        # proved bound for every k = 1..m: min(||X||, Gershgorin_k^{1/2}) / (1 + sqrt(k/n))
        k_all = np.arange(1, m + 1, dtype=np.float64)
        scale_all = 1.0 + np.sqrt(k_all / n)
        U = np.minimum(b.X_norm_upper, E.up(np.sqrt(b.gershgorin_upper)))
        bound_all = E.up(U / E.dn(scale_all))
        k_up = int(np.argmax(bound_all)) + 1
        upper = float(bound_all[k_up - 1])
        colmax = float(np.sqrt(np.max(b.column_sq[2])))
        rows = []
        for f in found:
            k = f.k
            scale = 1.0 + math.sqrt(k / n)
            rows.append({"k": k, "lower": f.value / scale, "upper": float(bound_all[k - 1]), "J": list(f.J),
                         "found_by": f.found_by, "exact": f.exact, "cluster_size": k in clusters,
                         "vacuous": thr >= colmax * math.sqrt(k) / scale})
        worst = max(rows, key=lambda r: r["lower"])
        lower = worst["lower"]
        details = {"per_k": rows, "examined_k": ks, "cluster_sizes": clusters,
                   "upper_over_every_k": upper, "upper_attained_at_k": k_up,
                   "effort": ctx.effort.to_dict(), "budget_cut": budget.cut, "work_cut": work.cut}
        reach = self.reach(ctx)[1]
        if thr >= reach:
            status = Status.VACUOUS
            details["reason"] = f"threshold {thr:.4g} >= {reach:.4g}, the most any subset can reach"
        elif upper <= thr:
            status = Status.CERTIFIED
        else:
            # a violation must rest on the witness's rigorous value: a verified lower bound on
            # lambda_max of its Gram matrix (Rayleigh quotient, formation error by Weyl)
            status = Status.PASSED
            if lower > thr:
                Jw = worst["J"]
                XJ = q.X[:, Jw]
                M = XJ.T @ XJ if len(Jw) <= n else XJ @ XJ.T
                kk = len(Jw) if len(Jw) <= n else XJ.shape[1]
                err = E.up(E.gamma(kk) * E.frobenius_upper(XJ) ** 2 + kk * max(M.shape) * E.ETA)
                lam_lo = E.lambda_max_enclosure(M, err).lower
                w_lower = E.dn(math.sqrt(max(lam_lo, 0.0)) / (1.0 + math.sqrt(worst["k"] / n)) / (1 + 1e-15))
                details["witness_lower"] = w_lower
                status = Status.VIOLATED if w_lower > thr else Status.UNDECIDED
        return self.result(ctx, statistic=lower, exact=False, lower=lower, upper=max(upper, lower),
                           status=status, details=details,
                           method="search (random subsets + greedy growth + truncated power method) over "
                                  "the examined k; proved bound min(||X||, Gershgorin_k^{1/2}) over every k",
                           witness={"J": worst["J"], "k": worst["k"]})


CHECKER = UniformNorm()
