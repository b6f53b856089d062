"""(29) NTK, second layer: lambda_min(G0) >= Omega(S), G0 = F0^T F0.

Appendix C: G0 is a sum of S i.i.d. rank-one matrices with mean H^z(X); matrix Chernoff with
delta = 1/2 gives lambda_min(G0) >= (1/2) S lambda_min(H^z(X)), the paper profile's threshold.
"""

from __future__ import annotations

import numpy as np

from . import Checker
from ..results import Sense


class NTKSecondLayer(Checker):
    eq = "29"
    name = "ntk_second_layer"
    statement = "lambda_min(G0) >= c S lambda_min(H^z(X))"
    statistic = "lambda_min(G0), G0 = relu(W0 X)^T relu(W0 X)"
    sense = Sense.GE
    g_formula = "S lambda_min(H^z(X))"

    def g(self, ctx):
        return ctx.S * ctx.lambda_min_Hz

    def check(self, ctx):
        """Exact (LAPACK eigvalsh of the m x m G0), with concentration ratios in ``details``:
        lambda_min(G0) / (S lambda_min(H^z)) and lambda_min(H0) / (E[zeta^2] S lambda_min(H^w)),
        E[zeta^2] estimated by mean(z0^2)."""
        lg, lh = ctx.lambda_min_G0, ctx.lambda_min_H0
        ez2 = float(np.mean(ctx.z0 ** 2))
        expect_g, expect_h = ctx.S * ctx.lambda_min_Hz, ez2 * ctx.S * ctx.lambda_min_Hw
        return self.result(ctx, statistic=lg, method="exact: eigvalsh(G0)", details={
            "lambda_min_Hz": ctx.lambda_min_Hz, "S_lambda_min_Hz": expect_g,
            "concentration_ratio_G": lg / expect_g if expect_g > 0 else None,
            "lambda_min_H0": lh, "lambda_min_Hw": ctx.lambda_min_Hw, "E_zeta2": ez2,
            "E_zeta2_S_lambda_min_Hw": expect_h,
            "concentration_ratio_H": lh / expect_h if expect_h > 0 else None})


CHECKER = NTKSecondLayer()
