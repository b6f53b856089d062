"""Issue 10 acceptance on arrays qrcheck did not make: rounding cannot decide an exact status, the
(29)/(30) bars cannot collapse, (20) certifies every k, (21) on rank-deficient data, bad profile
constants, thresholds that can never bind."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

import qrcheck
from qrcheck import InputError
from qrcheck.profiles import load_profile
from qrcheck.results import Status


def unit(rng, n, m):
    X = rng.standard_normal((n, m))
    return X / np.linalg.norm(X, axis=0)


def profile(tmp_path, text, name="p"):
    f = tmp_path / f"{name}.toml"
    f.write_text(f'name = "{name}"\nbase = "paper"\n' + text)
    return str(f)


# ---- item 1: the three rounding cases ---------------------------------------------------------------
def test_25_exact_zero_is_violated_never_certified():
    rng = np.random.default_rng(3)
    X, W0, z0 = unit(rng, 20, 10), rng.standard_normal((40, 20)), rng.choice([-1.0, 1.0], 40)
    x = X[:, 4]
    w = np.zeros(20)
    for i in range(10):  # pairs (i, i + 10) whose products cancel exactly in rational arithmetic
        w[i], w[i + 10] = 0.5 * x[i + 10], -0.5 * x[i]
    W0[7] = w
    assert sum(Fraction(a) * Fraction(b) for a, b in zip(w, x)) == 0
    r = qrcheck.check(X, W0, z0)["25"]
    assert r.status is Status.VIOLATED and r.upper == 0.0 and r.statistic == 0.0
    assert (r.witness["nu"], r.witness["j"]) == (7, 4)


def test_25_true_nonzero_cancelled_by_gemm_is_never_violated():
    rng = np.random.default_rng(4)
    n = 20
    X, W0, z0 = unit(rng, n, 10), rng.standard_normal((40, n)), rng.choice([-1.0, 1.0], 40)
    # column 0 and row 0: 1 + t - 1 with t = 4e-20 (GEMM rounds 1 + t to 1)
    X[:, 0] = 0.0
    X[0, 0] = X[1, 0] = X[2, 0] = 0.5
    X[3, 0] = 0.5
    W0[0] = 0.0
    W0[0, 0], W0[0, 1], W0[0, 2] = 2.0, 8e-20, -2.0
    truth = sum(Fraction(a) * Fraction(b) for a, b in zip(W0[0], X[:, 0]))
    assert truth == Fraction(4e-20)
    r = qrcheck.check(X, W0, z0)["25"]
    assert r.status is not Status.VIOLATED
    assert r.lower <= 4e-20 <= r.upper and r.lower > 0  # recomputed exactly: proved > 0
    assert r.status is Status.CERTIFIED


def test_29_status_is_the_same_for_every_permutation_and_not_certified_below_the_rounding_bound(tmp_path):
    rng = np.random.default_rng(5)
    X, W0, z0 = unit(rng, 12, 8), rng.standard_normal((60, 12)), rng.standard_normal(60)
    base = qrcheck.check(X, W0, z0)["29"]
    C = (base.statistic - 1e-13) / base.g  # threshold 1e-13 below lambda_min(G0)
    prof = profile(tmp_path, f'[threshold."29"]\nC = {C!r}\np = 0\n')
    statuses, values = set(), set()
    for seed in range(6):
        p = np.random.default_rng(seed).permutation(60)
        r = qrcheck.check(X, W0[p], z0[p], profile=prof)["29"]
        statuses.add(r.status)
        values.add(r.statistic)
        assert r.lower < r.threshold < r.upper  # the margin is below the rounding bound
    assert len(values) == 1 and len(statuses) == 1 and Status.CERTIFIED not in statuses


# ---- item 2: the collapse ----------------------------------------------------------------------------
def collapse(seed=0, n=20, S=2000, m=10):
    rng = np.random.default_rng(seed)
    X = unit(rng, n, m)
    X[:, 1] = X[:, 0] + 1e-7 * rng.standard_normal(n)
    X[:, 1] /= np.linalg.norm(X[:, 1])
    return X, rng.standard_normal((S, n)), rng.choice([-1.0, 1.0], S)


def test_29_bar_does_not_collapse_on_nearly_identical_points():
    X, W0, z0 = collapse()
    rep = qrcheck.check(X, W0, z0)
    r = rep["29"]
    assert r.statistic < 1e-6  # lambda_min(G0) is tiny
    assert r.threshold >= 0.5 * 2000 * 1e-3  # c S kappa_0: Omega(S) whatever the data
    assert r.status is Status.VIOLATED
    assert r.details["lambda_min_Hz"] < 1e-8  # the data's own value is only a diagnostic
    for sharp in (qrcheck.check(X, W0, z0, profile="sharp")["29"],):
        assert sharp.status is Status.VIOLATED


def test_no_pass_verdict_rests_on_a_collapsed_29():
    X, W0, z0 = collapse(S=400)
    # eta_z/eta_w large: case (18), which requires (29)
    cert = qrcheck.verify(X=X, W0=W0, z0=z0, y=np.zeros(10), eta_w=1e-12, eta_z=1e-9, no_gd=True)
    assert "29" in cert.required
    assert cert.properties["29"].status is Status.VIOLATED
    assert str(cert.verdict).startswith("fail") and cert.exit_code == 1


# ---- item 4: (20) covers every k ----------------------------------------------------------------------
def test_20_is_not_certified_when_an_unexamined_k_exceeds(tmp_path):
    rng = np.random.default_rng(6)
    n, m = 100, 200
    X = unit(rng, n, m)
    v = rng.standard_normal(n)
    v /= np.linalg.norm(v)
    for j in range(90):
        c = v + 1e-4 * rng.standard_normal(n) / math.sqrt(n)
        X[:, j] = c / np.linalg.norm(c)
    prof = profile(tmp_path, '[threshold."20"]\nC = 4.8\np = 0\n')
    r = qrcheck.check(X, rng.standard_normal((30, n)), np.ones(30), profile=prof, effort="low")["20"]
    assert r.upper >= 4.86  # the bound over every k covers k = 90
    assert 90 in r.details["examined_k"]  # a cluster size the Gram matrix suggests
    assert r.status is Status.VIOLATED and r.statistic > 4.8 and len(r.witness["J"]) == 90


# ---- item 5: (21) on rank-deficient data ----------------------------------------------------------------
def test_21_rank_deficient_is_violated_with_the_null_direction(tmp_path):
    rng = np.random.default_rng(7)
    n, m = 10, 30
    X = rng.standard_normal((n, m))
    X[-1] = 0.0  # every column in the hyperplane x_n = 0
    X /= np.linalg.norm(X, axis=0)
    prof = profile(tmp_path, "[n_star]\nC = 1.5\np = 0\n")  # n* = 15 <= m
    r = qrcheck.check(X, rng.standard_normal((20, n)), np.ones(20), profile=prof)["21"]
    assert r.status is Status.VIOLATED and r.details["fails_for_every_n_star"]
    xi = np.asarray(r.witness["xi"])
    assert abs(abs(xi[-1]) - 1.0) < 1e-12 and len(r.witness["J"]) == 15
    # the paper profile's n* = 53 > m leaves no n*-subset, but every admissible n* <= m fails:
    # violated at J = [m], with the same null direction (issue 14: real data of low rank)
    r = qrcheck.check(X, rng.standard_normal((20, n)), np.ones(20))["21"]
    assert r.status is Status.VIOLATED and r.details["fails_for_every_n_star"]
    assert r.details["n_star"] > m and r.witness["J"] == list(range(m)) and r.upper < r.threshold
    assert abs(abs(np.asarray(r.witness["xi"])[-1]) - 1.0) < 1e-12
    # full-rank data with n* > m: the family is empty, vacuous
    Y = rng.standard_normal((n, m)); Y /= np.linalg.norm(Y, axis=0)
    r = qrcheck.check(Y, rng.standard_normal((20, n)), np.ones(20))["21"]
    assert r.status is Status.VACUOUS and "fails_for_every_n_star" not in r.details
    # square, full rank (m = n): sigma_min(X^T) < n/m = 1 fails every n* <= m, but that is the
    # threshold's doing, not the data's: the empty family stays vacuous (Table 1 has m = n = 100)
    Q = rng.standard_normal((n, n)); Q /= np.linalg.norm(Q, axis=0)
    r = qrcheck.check(Q, rng.standard_normal((20, n)), np.ones(20))["21"]
    assert r.status is Status.VACUOUS and r.details["fails_for_every_n_star"]
    # fewer points than dimensions (m < n): X^T always has a kernel; the empty family stays vacuous
    Z = rng.standard_normal((m + 5, m)); Z /= np.linalg.norm(Z, axis=0)
    r = qrcheck.check(Z, rng.standard_normal((20, m + 5)), np.ones(20))["21"]
    assert r.status is Status.VACUOUS and r.details["fails_for_every_n_star"]


# ---- items 8, 9: thresholds that can never bind; bad constants ---------------------------------------
def test_thresholds_that_can_never_bind_are_vacuous(tmp_path):
    rng = np.random.default_rng(8)
    X, W0, z0 = unit(rng, 20, 10), rng.standard_normal((40, 20)), rng.choice([-1.0, 1.0], 40)
    text = "".join(f'[threshold."{eq}"]\nC = 1e300\n' for eq in ("23", "26", "27")) + \
        "".join(f'[threshold."{eq}"]\nC = 1e-300\n' for eq in ("22", "29"))
    rep = qrcheck.check(X, W0, z0, profile=profile(tmp_path, text))
    for eq in ("22", "23", "26", "27", "29"):
        assert rep[eq].status is Status.VACUOUS, eq
        assert rep[eq].details["reason"]
    # and the paper's own thresholds stay decisive on the same arrays
    rep = qrcheck.check(X, W0, z0)
    assert all(rep[eq].status is not Status.VACUOUS for eq in ("22", "23", "26", "27", "29"))


@pytest.mark.parametrize("text", ["[n_star]\nC = 0\n", '[threshold."23"]\nC = -1\n',
                                  "[S_star]\nC = 0.0\n", "kernel_floor = 0\n", '[threshold."29"]\nC = nan\n'])
def test_bad_profile_constants_are_refused(tmp_path, text):
    with pytest.raises(InputError) as e:
        load_profile(profile(tmp_path, text))
    assert "\n" not in str(e.value)


# ---- random draws: statistics inside their enclosures, no undecided ----------------------------------
def test_random_draw_enclosures_are_tight_and_decisive():
    rng = np.random.default_rng(9)
    n, S, m = 30, 120, 40
    X, W0, z0 = unit(rng, n, m), rng.standard_normal((S, n)), rng.standard_normal(S)
    rep = qrcheck.check(X, W0, z0, effort="low")
    P = W0 @ X
    F = np.maximum(P, 0)
    G = X.T @ X
    np.fill_diagonal(G, 0)
    indep = {"19": np.abs(G).max(), "22": np.linalg.norm(W0, axis=1).min(),
             "23": max(np.abs(W0).max(), np.abs(z0).max()), "25": np.abs(P).min(), "26": np.abs(P).max(),
             "27": np.abs(F.T @ z0).max(), "29": np.linalg.eigvalsh(F.T @ F)[0]}
    for eq, v in indep.items():
        r = rep[eq]
        assert r.statistic == pytest.approx(v, rel=1e-7), eq
        assert r.lower <= r.statistic <= r.upper, eq
        assert r.upper - r.lower <= 1e-8 * max(1.0, abs(v)), eq  # tight
    assert not any(r.status is Status.UNDECIDED for r in rep)


# ---- item 8: verdict counts and --strict -----------------------------------------------------------
def test_verdict_counts_and_strict():
    from qrcheck.verify import VerifyConfig, verify

    out = verify(VerifyConfig(n=30, S=60, m=10, profile="sharp", no_gd=True))
    cert = out.certificate
    req = cert.required
    counts = {s: sum(1 for e in req if cert.properties[e].status.value == s) for s in ("certified", "vacuous")}
    assert f"{counts['certified']} certified" in str(cert.verdict) and f"{counts['vacuous']} vacuous" in str(cert.verdict)
    assert str(cert.verdict).startswith("pass:") and out.exit_code == 0
    strict = verify(VerifyConfig(n=30, S=60, m=10, profile="sharp", no_gd=True, strict=True))
    assert strict.not_certified == ("21",) and strict.exit_code == 1  # (21) vacuous: not certified
    # the same from Python: the certificate knows its --strict exit code
    assert cert.not_certified == ("21",) and cert.exit_code == 0 and cert.strict_exit_code == 1


def test_20_vacuity_uses_the_rigorous_column_norm_ceiling():
    """A sharp (20) threshold equal to the unit-column ceiling is not called vacuous on a rounding of
    the column norms: verify and the audit agree (found by verify-then-audit at n=4, S=200, m=30)."""
    c = qrcheck.verify(n=4, S=200, m=30, seed=2, profile="sharp", no_gd=True)
    r = c.properties["20"]
    assert r.status is Status.CERTIFIED and r.upper <= r.threshold
    assert qrcheck.audit(c).exit_code == 0
