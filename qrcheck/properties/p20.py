"""(20) Uniform bounds on norm: for all k, max_{|J|=k} ||X^J|| <= O~(1 + (k/n)^{1/2}).

The statistic is normalised: max over the examined k (``k_grid``: every k when m <= 64, else
1, 2, 4, ..., n and m) of max_{|J|=k} ||X^J|| / (1 + sqrt(k/n)). Exact checking is NP-hard, so
every k gets an interval (docs/search.md): a lower end realised by a subset J found by search
(``search.search_norms``: random subsets, greedy growth, truncated power method; exact for
k in {1, 2, m} and for families small enough to enumerate) and a proved upper end
min(||X||, Gershgorin_k^{1/2}) (``norm_upper``). The ``sharp`` threshold is ``threshold_sharp``.

Status: ``violated`` when some witness exceeds the threshold, ``certified`` when the proved upper end
is within it for every examined k, ``vacuous`` when the threshold is at least sqrt(k) max_j ||X^j||
/ (1 + sqrt(k/n)) (what any k-subset can reach) for every examined k, ``passed`` otherwise.
"""

from __future__ import annotations

import math

import numpy as np

from . import Checker
from .. import probability
from ..quantities import Quantities
from ..results import Sense, Status
from ..search import Budget, search_norms


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
    """One threshold tau for max over the examined k of max_{|J|=k} ||X^J|| / (1 + sqrt(k/n)):
    tau = max_k min(b_k, sqrt(k)) / (1 + sqrt(k/n)), b_k = norm_tail at delta / (number of k).
    A normalised value above tau at some k exceeds b_k there (it cannot exceed sqrt(k)), which has
    probability <= delta / #k. For n < 3 the bound is unavailable and tau is the reachable maximum."""
    ks = k_grid(m, n)
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
        # ||X^J|| <= ||X^J||_F <= sqrt(k) max_j ||X^j||, and sqrt(k)/(1+sqrt(k/n)) increases with k
        c = ctx.q.column_norm_max
        return (0.0, c * math.sqrt(ctx.m) / (1.0 + math.sqrt(ctx.m / ctx.n)))

    def tail_threshold(self, ctx, delta):
        return threshold_sharp(ctx.n, ctx.m, delta)

    def check(self, ctx):
        """Lower end by search (witness J per k), upper end proved; X (n, m)."""
        thr, _, _ = ctx.threshold(self.eq, 1.0)
        rng, budget = ctx.search_rng(self.eq), Budget(ctx.effort.time_budget)
        ks = k_grid(ctx.m, ctx.n)
        q = ctx.q
        found = search_norms(q.X, ks, ctx.effort, rng, budget, ctx.progress(self.eq, "(20) subset norms"),
                             gram=q.gram, X_norm=q.X_norm, row_cumsum=q.gram_row_cumsum)
        colmax = q.column_norm_max
        rows = []
        for f in found:
            k = f.k
            scale = 1.0 + math.sqrt(k / ctx.n)
            upper = f.value if f.exact else max(norm_upper(q, k), f.value)
            rows.append({"k": k, "lower": f.value / scale, "upper": upper / scale, "J": list(f.J),
                         "found_by": f.found_by, "exact": f.exact,
                         "vacuous": thr >= colmax * math.sqrt(k) / scale})
        worst = max(rows, key=lambda r: r["lower"])
        lower, upper = worst["lower"], max(r["upper"] for r in rows)
        if all(r["vacuous"] for r in rows):
            status = Status.VACUOUS
        elif lower > thr:
            status = Status.VIOLATED
        elif all(r["upper"] <= thr for r in rows):
            status = Status.CERTIFIED
        else:
            status = Status.PASSED
        return self.result(ctx, statistic=lower, exact=False, lower=lower, upper=upper, status=status,
                           method="search (random subsets + greedy growth + truncated power method); "
                                  "bound min(||X||, Gershgorin)",
                           witness={"J": worst["J"], "k": worst["k"]},
                           details={"per_k": rows, "effort": ctx.effort.to_dict(), "budget_cut": budget.cut})


CHECKER = UniformNorm()
