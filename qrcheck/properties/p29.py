"""(29) NTK, second layer: lambda_min(G0) >= Omega(S), G0 = F0^T F0.

Appendix C: G0 is a sum of S i.i.d. rank-one matrices with mean H^z(X); matrix Chernoff with
delta = 1/2 gives lambda_min(G0) >= (1/2) S lambda_min(H^z(X)), the paper profile's threshold.
"""

from __future__ import annotations

import numpy as np

from . import Checker
from .. import probability
from ..quantities import Quantities
from ..results import Sense


def threshold_sharp(q: Quantities, delta: float) -> float:
    """lambda_min(G0) >= max over r of chernoff_lower(mu(r), ||X||^2 r, m, delta), conditional on X.

    G0 >= sum_nu Y_nu with Y_nu = F_nu F_nu^T 1(||(W0)_nu||^2 <= r) (dropped terms are PSD);
    lambda_max(Y_nu) <= ||X||^2 r; E Y >= H^z(X) - ||X||^2 E[||w||^2 1(||w||^2 > r)] I and
    E[||w||^2 1(||w||^2 > r)] = n P(chi^2_{n+2} > r), so mu(r) = S (lambda_min(H^z) - ||X||^2 n
    P(chi^2_{n+2} > r)). r ranges over chi^2_n quantiles. The threshold is conditional on X, which
    is why it reads the draw's quantities; the unconditional failure probability is <= delta too."""
    n, S, m = q.n, q.S, q.m
    X2 = q.X_norm ** 2
    best = 0.0
    for qq in np.geomspace(1e-12, 0.5, 60):
        r = probability.chi2_isf(qq, n)
        mu = S * (q.lambda_min_Hz - X2 * n * probability.chi2_sf(r, n + 2))
        best = max(best, probability.chernoff_lower(mu, X2 * r, m, delta))
    return best


class NTKSecondLayer(Checker):
    eq = "29"
    name = "ntk_second_layer"
    statement = "lambda_min(G0) >= c S lambda_min(H^z(X))"
    statistic = "lambda_min(G0), G0 = relu(W0 X)^T relu(W0 X)"
    sense = Sense.GE
    g_formula = "S lambda_min(H^z(X))"

    def g(self, ctx):
        return ctx.S * ctx.q.lambda_min_Hz

    def tail_threshold(self, ctx, delta):
        return threshold_sharp(ctx.q, delta)

    def check(self, ctx):
        """Exact (LAPACK eigvalsh of the m x m G0), with concentration ratios in ``details``:
        lambda_min(G0) / (S lambda_min(H^z)) and lambda_min(H0) / (E[zeta^2] S lambda_min(H^w)),
        E[zeta^2] estimated by mean(z0^2)."""
        lg, lh = ctx.q.lambda_min_G0, ctx.q.lambda_min_H0
        ez2 = float(np.mean(ctx.q.z0 ** 2))
        expect_g, expect_h = ctx.S * ctx.q.lambda_min_Hz, ez2 * ctx.S * ctx.q.lambda_min_Hw
        return self.result(ctx, statistic=lg, method="exact: eigvalsh(G0)", details={
            "lambda_min_Hz": ctx.q.lambda_min_Hz, "S_lambda_min_Hz": expect_g,
            "concentration_ratio_G": lg / expect_g if expect_g > 0 else None,
            "lambda_min_H0": lh, "lambda_min_Hw": ctx.q.lambda_min_Hw, "E_zeta2": ez2,
            "E_zeta2_S_lambda_min_Hw": expect_h,
            "concentration_ratio_H": lh / expect_h if expect_h > 0 else None})


CHECKER = NTKSecondLayer()
