"""(20) Uniform bounds on norm: for all k, max_{|J|=k} ||X^J|| <= O~(1 + (k/n)^{1/2}).

The statistic is normalised: max over the examined k (``search.k_grid``: every k when m <= 64, else
1, 2, 4, ..., n and m) of max_{|J|=k} ||X^J|| / (1 + sqrt(k/n)). Exact checking is NP-hard, so
every k gets an interval (docs/search.md): a lower end realised by a subset J found by search
(``search.search_norms``: random subsets, greedy growth, truncated power method; exact for
k in {1, 2, m} and for families small enough to enumerate) and a proved upper end
min(||X||, Gershgorin_k^{1/2}) (``search.norm_upper_20``).

Status: ``violated`` when some witness exceeds the threshold, ``certified`` when the proved upper end
is within it for every examined k, ``vacuous`` when the threshold is at least sqrt(k) max_j ||X^j||
/ (1 + sqrt(k/n)) (what any k-subset can reach) for every examined k, ``passed`` otherwise.
"""

from __future__ import annotations

import math

import numpy as np

from . import Checker
from ..results import Sense, Status
from ..search import Budget, k_grid, norm_upper_20, search_norms


class UniformNorm(Checker):
    eq = "20"
    name = "uniform_norm"
    statement = "for all k: max_{|J|=k} ||X^J|| / (1 + (k/n)^{1/2}) <= C L^p"
    statistic = "max over examined k of max_{|J|=k} ||X^J|| / (1 + sqrt(k/n)) (best subset found)"
    sense = Sense.LE

    def reach(self, ctx):
        # ||X^J|| <= ||X^J||_F <= sqrt(k) max_j ||X^j||, and sqrt(k)/(1+sqrt(k/n)) increases with k
        c = float(np.sqrt(np.max(np.diag(ctx.gram))))
        return (0.0, c * math.sqrt(ctx.m) / (1.0 + math.sqrt(ctx.m / ctx.n)))

    def check(self, ctx):
        """Lower end by search (witness J per k), upper end proved; X (n, m)."""
        thr, _, _ = ctx.threshold(self.eq, 1.0)
        rng, budget = ctx.search_rng(self.eq), Budget(ctx.effort.time_budget)
        ks = k_grid(ctx.m, ctx.n)
        found = search_norms(ctx, ks, rng, budget, ctx.progress(self.eq, "(20) subset norms"))
        colmax = float(np.sqrt(np.max(np.diag(ctx.gram))))
        rows = []
        for f in found:
            k = f.k
            scale = 1.0 + math.sqrt(k / ctx.n)
            upper = f.value if f.exact else max(norm_upper_20(ctx, k), f.value)
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
