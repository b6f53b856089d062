"""Limit kernels of Appendix C against their Taylor series and Monte Carlo (issue 2)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from qrcheck import kernels


@given(st.floats(-0.97, 0.97))
def test_closed_forms_match_taylor_series(g):
    assert kernels.f_w(g) == pytest.approx(float(kernels.f_w_taylor(g, terms=400)), abs=1e-12)
    assert kernels.f_z(g) == pytest.approx(float(kernels.f_z_taylor(g, terms=400)), abs=1e-12)


def test_special_values():
    assert kernels.f_w(1.0) == 0.5 and kernels.f_z(1.0) == 0.5      # E[1(g>0) g^2]... = 1/2, E[relu(g)^2] = 1/2
    assert kernels.f_w(-1.0) == 0.0 and kernels.f_z(-1.0) == 0.0
    assert kernels.f_w(0.0) == 0.0 and kernels.f_z(0.0) == pytest.approx(1 / (2 * math.pi))
    # inner products that rounded past +-1 are clipped, not NaN
    assert kernels.f_w(1 + 1e-15) == 0.5 and np.isfinite(kernels.f_z(-1 - 1e-15))


def test_stable_near_plus_minus_one():
    """Against the series sum of the exact expansions in eps = 1 - g (no cancellation):
    arccos(1-eps) = sqrt(2 eps)(1 + eps/12 + 3 eps^2/160 + ...)."""
    for eps in (1e-6, 1e-9, 1e-12):
        g = 1.0 - eps
        eps = 1.0 - g  # exact (Sterbenz): the eps the float g really carries
        acos = math.sqrt(2 * eps) * (1 + eps / 12 + 3 * eps ** 2 / 160)
        assert kernels.f_w(g) == pytest.approx(g * (0.5 - acos / (2 * math.pi)), rel=1e-14)
        # f_z(-1 + eps) = ((-1+eps)(pi - (pi - acos)) + sqrt(eps (2 - eps))) / 2pi, tiny but positive
        expect = ((-1 + eps) * acos + math.sqrt(eps * (2 - eps))) / (2 * math.pi)
        assert kernels.f_z(-g) == pytest.approx(expect, rel=1e-6)


def test_f_z_second_order_coefficient_is_one_over_four_pi():
    """Erratum: the paper prints 1/(48 pi) for the g^2 coefficient; the closed form gives 1/(4 pi)."""
    h = 1e-3
    second = (kernels.f_z(h) - 2 * kernels.f_z(0.0) + kernels.f_z(-h)) / (2 * h * h)
    assert second == pytest.approx(1 / (4 * math.pi), rel=1e-5)
    assert abs(second - 1 / (48 * math.pi)) > 0.05


def test_taylor_coefficients_are_nonnegative():
    """Appendix C's claim that makes H^w, H^z PSD: every coefficient >= 0 (odd part only g/4)."""
    coeffs = np.polynomial.polynomial.polyfit(np.linspace(-0.5, 0.5, 41), kernels.f_z(np.linspace(-0.5, 0.5, 41)), 8)
    assert np.all(coeffs[[0, 1, 2, 4]] > 0)


def test_limit_kernels_match_monte_carlo():
    rng = np.random.default_rng(7)
    n, m, N = 6, 5, 400_000
    X = rng.standard_normal((n, m))
    X /= np.linalg.norm(X, axis=0)
    X[:, 1] = 0.999 * X[:, 0] + np.sqrt(1 - 0.999 ** 2) * X[:, 2]  # a nearly parallel pair
    X[:, 1] /= np.linalg.norm(X[:, 1])
    w = rng.standard_normal((N, n))
    P = w @ X                                   # (N, m): rows w^T X
    A, F = (P > 0).astype(float), np.maximum(P, 0)
    mc_w = (X.T @ X) * (A.T @ A) / N
    mc_z = F.T @ F / N
    se = 4.0 / np.sqrt(N) * 3                     # generous: entries have variance <= ~2
    np.testing.assert_allclose(kernels.H_w(X), mc_w, atol=se)
    np.testing.assert_allclose(kernels.H_z(X), mc_z, atol=se)


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 8), st.integers(1, 12), st.integers(0, 2**31))
def test_limit_kernels_are_psd(n, m, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, m))
    X /= np.linalg.norm(X, axis=0)
    for H in (kernels.H_w(X), kernels.H_z(X)):
        assert np.linalg.eigvalsh(H)[0] > -1e-12


# ---- Appendix C lower bounds from (19) (issue 10, item 2) ---------------------------------------
def _unit(rng, n, m):
    X = rng.standard_normal((n, m))
    return X / np.linalg.norm(X, axis=0)


@pytest.mark.parametrize("kind", ["w", "z"])
def test_series_coefficients_match_closed_forms(kind):
    p, a, total = kernels._series(kind, 20000)
    assert np.all(a >= 0) and total == 0.5
    f = kernels.f_w if kind == "w" else kernels.f_z
    for g in (-0.9, -0.3, 0.0, 0.4, 0.8):
        assert float(np.sum(a * np.where(p == 0, 1.0, g ** p))) == pytest.approx(float(f(g)), abs=1e-12)


@pytest.mark.parametrize("n,m,seed", [(20, 10, 0), (30, 40, 1), (8, 30, 2), (50, 5, 3)])
def test_beta_is_below_lambda_min_of_the_limit_kernels(n, m, seed):
    X = _unit(np.random.default_rng(seed), n, m)
    G = X.T @ X
    gamma = float(np.max(np.abs(G - np.diag(np.diag(G)))))
    bw, bz = kernels.lambda_min_Hw_bound(gamma, m), kernels.lambda_min_Hz_bound(gamma, m)
    assert 0 <= bw <= np.linalg.eigvalsh(kernels.H_w(X))[0]
    assert 0 <= bz <= np.linalg.eigvalsh(kernels.H_z(X))[0]


def test_beta_exact_at_orthonormal_and_zero_when_degenerate():
    # orthonormal columns: H^z = J/(2pi) + (1/2 - 1/(2pi)) I, H^w = I/2; the bound is sharp there
    assert kernels.lambda_min_Hz_bound(0.0, 10) == pytest.approx(0.5 - 1 / (2 * math.pi), rel=1e-9)
    assert kernels.lambda_min_Hw_bound(0.0, 10) == pytest.approx(0.5, rel=1e-9)
    assert kernels.lambda_min_Hz_bound(1.0, 10) == 0.0 == kernels.lambda_min_Hw_bound(1.0, 10)
    assert kernels.lambda_min_Hz_bound(1 - 1e-12, 2000) < 1e-6
    # monotone in gamma and in m
    gs = np.linspace(0, 0.99, 12)
    bz = [kernels.lambda_min_Hz_bound(g, 50) for g in gs]
    assert all(x >= y for x, y in zip(bz, bz[1:]))
    assert kernels.lambda_min_Hw_bound(0.3, 100) >= kernels.lambda_min_Hw_bound(0.3, 1000)


def test_kernel_bar_never_below_floor():
    assert kernels.kernel_bar("z", 1.0, 100) == kernels.KAPPA0
    assert kernels.kernel_bar("w", 0.0, 100) == pytest.approx(0.5, rel=1e-9)
