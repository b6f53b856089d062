"""qrcheck.baseline (random instances of the same sizes) and qrcheck.diagnostics (issue 14)."""

import math

import numpy as np
import pytest

from qrcheck import InputError
from qrcheck import baseline as bl
from qrcheck import diagnostics as dg
from qrcheck.draw import make_draw
from qrcheck.profiles import load_profile
from qrcheck.properties import CheckContext, registry
from qrcheck.quantities import Quantities


def test_seeds_are_deterministic_and_not_the_draws_streams():
    a = bl.baseline_seeds(0, 5)
    assert a == bl.baseline_seeds(0, 5) and a[:3] == bl.baseline_seeds(0, 3)
    assert len(set(a)) == 5 and a != bl.baseline_seeds(1, 5)
    assert all(0 <= s < 2**32 for s in a)


@pytest.mark.parametrize("s, values, side", [
    (2.0, [1.0, 1.1, 1.2, 1.1, 1.1], "above"),       # beyond max + width and 1.25 max
    (1.35, [1.0, 1.1, 1.2, 1.1, 1.1], None),          # outside the range, but by less than its width
    (0.1, [1.0, 1.1, 1.2, 1.1, 1.1], "below"),
    (1.1, [1.0, 1.1, 1.2, 1.1, 1.1], None),
    (500.0, [500.0] * 5, None),                       # a constant baseline: equal is not far
    (501.0, [500.0] * 5, None),                       # ... nor a tiny step beside it (factor guard)
    (None, [1.0, 2.0] * 3, None),
    (5.0, [1.0, 1.1, 1.2, 1.1], None),                # fewer than FAR_MIN_K values
])
def test_far_rule(s, values, side):
    assert bl.far_side(s, values) == side


def test_comparison_quantile_ratio_and_failing_side():
    c = bl.Comparison.of(3.0, [1.0, 1.0, 1.1, 1.0, 1.0, None], "<=")
    assert c.median == 1.0 and c.quantile == 1.0 and c.ratio == 3.0 and c.far == "above" and c.failing
    d = bl.Comparison.of(3.0, [1.0, 1.0, 1.1, 1.0, 1.0], ">=")
    assert d.far == "above" and not d.failing          # far on the holding side is not named
    e = bl.Comparison.of(1.0, [1.0, 2.0, 3.0, 4.0])
    assert e.quantile == pytest.approx(0.125) and e.min == 1.0 and e.max == 4.0
    assert bl.Comparison.from_json(c.to_json()) == c
    assert "FAR" in bl.column(c) and bl.column(bl.Comparison.of(None, [])) == "-"


def _results(draw):
    ctx = CheckContext.of(draw, load_profile("paper"))
    return tuple(c.check(ctx) for c in registry()), ctx


def test_baseline_names_planted_collinear_columns():
    d = make_draw(n=20, S=40, m=10, seed=1)
    X = np.array(d.X)
    X[:, 1] = X[:, 0]                       # two identical points: (19)'s cosine is 1
    d = d.derived(X=X)
    res, ctx = _results(d)
    diag = dg.kernel_diagnostics(ctx.q, 1e-3, 0.0, 1e-3)
    b = bl.run_baseline(res, diag, n=20, S=40, m=10, z_dist="rademacher", profile=load_profile("paper"),
                        effort=None, K=5, seed=1)
    assert b.K == 5 and len(b.seeds) == 5 and set(b.properties) == {r.eq for r in res}
    assert b.properties["19"].failing and "19" in b.far
    assert b.verdict_clause().startswith("; far outside the random baseline: (19)")
    assert set(b.diagnostics) == set(dg.BASELINE_KEYS)
    assert bl.Baseline.from_json(b.to_json()).to_json() == b.to_json()
    with pytest.raises(InputError, match="--baseline"):
        bl.run_baseline(res, diag, n=20, S=40, m=10, z_dist="rademacher", profile=load_profile("paper"),
                        effort=None, K=1, seed=1)


def test_diagnostics_against_eigvalsh_and_the_stable_step():
    from qrcheck import model

    d = make_draw(n=20, S=40, m=10, seed=2)
    q = Quantities.of(d)
    diag = dg.kernel_diagnostics(q, 1.0, 0.5, 1e-3)
    H0 = model.H_matrix(d.X, d.z0, model.activations(d.W0 @ d.X))
    ev = np.linalg.eigvalsh(H0)
    assert diag["H0"]["lambda_min"] == pytest.approx(ev[0]) and diag["H0"]["lambda_max"] == pytest.approx(ev[-1])
    assert diag["H0"]["stable_step"] == pytest.approx(2 / ev[-1])
    assert diag["H0"]["exceeds_stable_step"] is bool(1.0 > 2 / ev[-1])
    G = np.linalg.eigvalsh(model.G_matrix(model.features(d.W0 @ d.X)))
    assert diag["G0"]["lambda_max"] == pytest.approx(G[-1])
    assert diag["X"]["rank"] == 10 and diag["X"]["full_rank"]
    assert dg.kernel_diagnostics(q, 1e-3, 0.0)["G0"] is None


def test_predicted_steps():
    assert dg.predicted_steps(0.5, 1.0, 2.0, math.e, 1.0) == math.ceil(1 / -math.log(0.5))
    assert dg.predicted_steps(1.0, 1.0, 2.0, 10.0, 1.0) == 1
    assert dg.predicted_steps(3.0, 1.0, 2.0, 10.0, 1.0) is None      # unstable
    assert dg.predicted_steps(0.5, 0.0, 2.0, 10.0, 1.0) is None


def test_gd_stop_words():
    diag = {"H0": {"eta": 1e-3, "stable_step": 5e-5, "exceeds_stable_step": True, "suggested_eta": 2.5e-5,
                   "predicted_steps_at_suggested": 1234, "flag": "--eta-w"}, "G0": None}
    early = dg.gd_stop({"ran": True, "status": "diverged", "T": 1, "initial_error": 490.0, "final_error": 900.0},
                       diag, errors=np.array([490.0, 900.0]))
    assert early["kind"] == "safety_valve" and early["suggested_eta_w"] == 2.5e-5
    assert "exceeds the stable step" in early["words"] and "--eta-w 2.5e-05" in early["words"]
    late = dg.gd_stop({"ran": True, "status": "diverged", "T": 873, "initial_error": 490.0, "final_error": 254.018},
                      {"H0": {"eta": 5e-5, "stable_step": 5.4e-5, "exceeds_stable_step": False}},
                      errors=np.r_[np.linspace(490, 254, 873), 254.018])
    assert late["words"].startswith("stopped by the safety valve") and "fell from 490 to 254" in late["words"]
    assert "rose by 0.018" in late["words"] and late["suggested_eta_w"] is None
    assert dg.gd_stop({"ran": False}, diag) is None
    conv = dg.gd_stop({"ran": True, "status": "converged", "T": 9, "initial_error": 3.0, "final_error": 1e-4}, diag)
    assert conv["words"].startswith("converged")


@pytest.mark.parametrize("kw, match", [({"baseline": 1}, "--baseline"), ({"baseline": -3}, "--baseline"),
                                       ({"center": True}, "--center needs --dataset")])
def test_config_refuses_bad_baseline_and_center_before_work(kw, match):
    from qrcheck.verify import VerifyConfig

    with pytest.raises(InputError, match=match):
        VerifyConfig(n=5, S=5, m=5, **kw).validate()
