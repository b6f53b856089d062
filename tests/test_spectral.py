"""qrcheck.spectral: matrix-free and shift-invert extreme eigenvalues against numpy's eigvalsh, and
gradient descent on the matrix-free path (a lowered DENSE_M_LIMIT) against the dense one."""

from __future__ import annotations

import numpy as np
import pytest

from qrcheck import model, spectral
from qrcheck.draw import make_draw
from qrcheck.gd import GDConfig, run_gd
from qrcheck.gd_report import norm_khatri_rao_change

REL = 1e-8   # documented tolerance of the Lanczos paths (docs/gd.md)


def _draw(n=10, S=40, m=30, seed=0):
    d = make_draw(n=n, S=S, m=m, seed=seed)
    return d, model.activations(d.W0 @ d.X)


def _eig(M):
    return np.linalg.eigvalsh(M)


@pytest.mark.parametrize("seed, size", [(0, (10, 40, 30)), (1, (10, 40, 30)), (0, (20, 40, 300))])
def test_lambda_min_H_matrix_free_matches_dense(seed, size):
    d, A = _draw(*size, seed=seed)                   # (n, S, m); the last: m / (S n) = 0.375, near (100, 500, 20000)
    ref = _eig(model.H_matrix(d.X, d.z0, A))[0]
    got = spectral.lambda_min_H(d.X, d.z0, A, dense_limit=0)
    assert got.method == "lobpcg" and got.converged
    assert (got.lower_kind, got.upper_kind) == ("residual", "verified")
    assert got.value == pytest.approx(ref, rel=REL)
    assert got.lower <= ref * (1 + 1e-12) and ref <= got.upper * (1 + 1e-12)
    assert got.residual < 1e-6 * ref
    # z = None: (X^T X) o (A^T A), as in (30)
    ref30 = _eig(model.H_matrix(d.X, None, A))[0]
    assert spectral.lambda_min_H(d.X, None, A, dense_limit=0).value == pytest.approx(ref30, rel=REL)


def test_lambda_min_H_matrix_free_gaussian_z():
    d = make_draw(n=20, S=40, m=300, seed=4, z_dist="gaussian")   # weights z^2 not all 1
    A = model.activations(d.W0 @ d.X)
    ref = _eig(model.H_matrix(d.X, d.z0, A))[0]
    got = spectral.lambda_min_H(d.X, d.z0, A, dense_limit=0)
    assert got.converged and got.value == pytest.approx(ref, rel=REL)


def test_outlier_preconditioner_is_the_inverse_of_its_model():
    d, A = _draw(n=10, S=40, m=60)
    B = spectral._weighted(A, d.z0 ** 2)
    H = model.H_matrix(d.X, d.z0, A)
    one = np.ones(60)
    T = spectral._outlier_preconditioner(B, d.X, H @ one)
    # the model P = D + c^2 X^T X + d 11^T, built densely from its definition
    off = lambda M: (M.sum() - np.trace(M)) / (60 * 59)
    G = d.X.T @ d.X
    c2 = off(B.T @ B)
    dd = max(off(H) - c2 * off(G), 0.0)
    P = c2 * G + dd * np.outer(one, one)
    P += np.diag(np.diag(H) - np.diag(P))
    R = np.random.default_rng(0).standard_normal((60, 3))
    np.testing.assert_allclose(P @ T.matmat(R), R, atol=1e-10)
    np.testing.assert_allclose(P @ T.matvec(R[:, 0]), R[:, 0], atol=1e-10)


def test_lobpcg_warm_start_and_forced_iterations():
    d, A = _draw(n=10, S=40, m=60, seed=3)
    ref = _eig(model.H_matrix(d.X, d.z0, A))[0]
    cold = spectral.lambda_min_H(d.X, d.z0, A, dense_limit=0)
    warm = spectral.lambda_min_H(d.X, d.z0, A, dense_limit=0, v0=cold.vector)
    assert warm.value == pytest.approx(ref, rel=REL) and warm.matvecs < cold.matvecs
    assert np.linalg.norm(warm.vector) == pytest.approx(1.0)
    # out of products: the best vector so far, flagged unconverged, its theta still an upper bound
    B = spectral._weighted(A, d.z0 ** 2)
    mv = lambda v: model.khatri_rao_gram_matvec(B, d.X, v)
    short = spectral._lobpcg_min(mv, 60, None, maxiter=3)
    assert not short.converged and short.upper >= ref and short.matvecs < 10
    # a coarse product whose rounding floor (1e-2 relative) is above LOBPCG_COARSE_TOL: the coarse
    # phase stalls and stops, the exact products finish, the result is theirs
    noise = np.random.default_rng(1)
    rough = lambda v: mv(v) * (1 + 1e-2 * noise.standard_normal(60))
    T = spectral._outlier_preconditioner(B, d.X, mv(np.ones(60)))
    got = spectral._lobpcg_min(mv, 60, T, coarse=rough)
    assert got.converged and got.value == pytest.approx(ref, rel=REL)


def test_shift_invert_verifies_its_lower_bound(monkeypatch):
    d, A = _draw()
    H = model.H_matrix(d.X, d.z0, A)
    ref = _eig(H)[0]
    monkeypatch.setattr(spectral, "EIGVALSH_M_MAX", 0)
    got = spectral.lambda_min_dense(H)
    assert got.method == "shift_invert" and got.lower_kind == "verified"
    assert got.value == pytest.approx(ref, rel=1e-10)
    assert got.lower <= ref <= got.upper * (1 + 1e-14)
    # a singular PSD matrix fails the Cholesky test and falls back to Lanczos
    F = np.maximum(d.W0[:5] @ d.X, 0.0)              # rank <= 5 < m
    low = spectral.lambda_min_dense(F.T @ F)
    assert low.method == "lanczos" and abs(low.value) < 1e-8 * _eig(F.T @ F)[-1]


def test_rank_bounds_give_exact_zero():
    d, A = _draw(n=3, S=4, m=30)                     # m > S n and m > S
    assert spectral.lambda_min_H(d.X, d.z0, A, dense_limit=0).value == 0.0
    F = model.features(d.W0 @ d.X)
    assert spectral.lambda_min_G(F).value == pytest.approx(_eig(F.T @ F)[0], abs=1e-10)  # m <= 1000: eigvalsh
    assert spectral.lambda_min_G(F, dense_limit=0).value == pytest.approx(_eig(F.T @ F)[0], abs=1e-10)


def test_lambda_min_G_and_norm_60_matrix_free(monkeypatch):
    d, A = _draw()
    F = model.features(d.W0 @ d.X)                   # S = 40 > m = 30: G nonsingular
    ref = _eig(F.T @ F)[0]
    monkeypatch.setattr(spectral, "EIGVALSH_M_MAX", 0)
    assert spectral.lambda_min_G(F, dense_limit=0).value == pytest.approx(ref, rel=REL)
    A1 = model.activations((d.W0 + 0.3) @ d.X)
    Delta = A1.astype(float) - A.astype(float)
    ref60 = np.sqrt(_eig(model.khatri_rao_gram(Delta, d.X))[-1])
    assert norm_khatri_rao_change(d.X, A, A1, dense_limit=0) == pytest.approx(ref60, rel=REL)
    assert norm_khatri_rao_change(d.X, A, A, dense_limit=0) == 0.0


def test_gd_matrix_free_path_matches_dense():
    d = make_draw(n=10, S=40, m=30, seed=2)
    cfg = GDConfig(eta_w=1e-2, tol=1e-3, max_steps=400)
    dense = run_gd(d.X, d.W0, d.z0, d.y, cfg)
    free = run_gd(d.X, d.W0, d.z0, d.y, cfg, dense_limit=0)
    assert free.spectral["H0"]["method"] == "lobpcg" and dense.spectral["H0"]["method"] == "dense"
    assert (free.T, free.D, free.status) == (dense.T, dense.D, dense.status)
    np.testing.assert_array_equal(free.errors, dense.errors)        # the loop is the same code
    assert free.kappa_H == pytest.approx(dense.kappa_H, rel=REL)
    assert free.changes.norm_60 == pytest.approx(dense.changes.norm_60, rel=REL)
    # a shared lambda_min(H0) is used as given
    shared = run_gd(d.X, d.W0, d.z0, d.y, cfg, lambda_min_H0=dense.lambda_min_H0)
    assert shared.kappa_H == dense.kappa_H and shared.spectral["H0"]["method"] == "given"
    assert set(dense.phase_seconds) == {"setup", "loop", "eigenvalues", "changes"}
    assert dense.peak_rss_bytes is None or dense.peak_rss_bytes > 0
