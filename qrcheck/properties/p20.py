"""(20) Uniform bounds on norm: for all k, max_{|J|=k} ||X^J|| <= O~(1 + (k/n)^{1/2}).

The statistic is normalised: max over the examined k of max_{|J|=k} ||X^J|| / (1 + sqrt(k/n)).
Exact checking is NP-hard, so every k gets an interval: a lower end realised by a subset J found by
search (``qrcheck.search.search_norm``), and a proved upper end min(||X||, sqrt(k), Gershgorin).
"""

from __future__ import annotations

import math

from . import Checker
from ..results import Sense, Status
from ..search import Budget, k_grid, search_norm


class UniformNorm(Checker):
    eq = "20"
    name = "uniform_norm"
    statement = "for all k: max_{|J|=k} ||X^J|| / (1 + (k/n)^{1/2}) <= C L^p"
    statistic = "max over examined k of max_{|J|=k} ||X^J|| / (1 + sqrt(k/n)) (best subset found)"
    sense = Sense.LE

    def reach(self, ctx):
        # ||X^J|| <= ||X^J||_F = sqrt(k) and sqrt(k)/(1+sqrt(k/n)) increases with k
        return (0.0, math.sqrt(ctx.m) / (1.0 + math.sqrt(ctx.m / ctx.n)))

    def check(self, ctx):
        """Lower end by search (witness J per k), upper end proved; X (n, m)."""
        thr, C, p = ctx.threshold(self.eq, 1.0)
        rng, budget = ctx.search_rng(self.eq), Budget(ctx.effort.time_budget)
        rows = []
        for k in k_grid(ctx.m, ctx.n):
            scale = 1.0 + math.sqrt(k / ctx.n)
            found = search_norm(ctx, k, rng, budget)
            rows.append({"k": k, "lower": found.value / scale, "upper": ctx.norm_bound_20(k) / scale,
                         "J": list(found.J), "found_by": found.found_by,
                         "vacuous": thr >= math.sqrt(k) / scale})
        worst = max(rows, key=lambda r: r["lower"])
        lower, upper = worst["lower"], max(r["upper"] for r in rows)
        if all(r["vacuous"] for r in rows):
            status = Status.VACUOUS
        elif any(r["lower"] > thr for r in rows):
            status = Status.VIOLATED
        elif all(r["upper"] <= thr for r in rows):
            status = Status.CERTIFIED
        else:
            status = Status.PASSED
        return self.result(ctx, statistic=lower, exact=False, lower=lower, upper=upper, status=status,
                           method="search (random subsets + truncated power method); "
                                  "bound min(||X||, sqrt(k), Gershgorin)",
                           witness={"J": worst["J"], "k": worst["k"]},
                           details={"per_k": rows, "effort": ctx.effort.to_dict()})


CHECKER = UniformNorm()
