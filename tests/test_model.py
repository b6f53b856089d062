"""The Khatri-Rao identity (7) and the Schur bounds (8)-(10) that justify never forming A * X."""

import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from qrcheck import model

TOL = 1e-9


def khatri_rao(A, X):
    """(A * X)_{(nu i), j} = A_{nu j} X_{i j}: the explicit Sn x m matrix, for small test cases only."""
    S, m = A.shape
    n = X.shape[0]
    K = np.zeros((S * n, m))
    for nu in range(S):
        for i in range(n):
            K[nu * n + i] = A[nu] * X[i]
    return K


dims = st.tuples(st.integers(1, 5), st.integers(1, 4), st.integers(1, 6))
finite = st.floats(-3, 3, allow_nan=False, allow_infinity=False)


@st.composite
def pair(draw):
    S, n, m = draw(dims)
    A = draw(arrays(np.float64, (S, m), elements=finite))
    X = draw(arrays(np.float64, (n, m), elements=finite))
    z = draw(arrays(np.float64, (S,), elements=finite))
    return A, X, z


def norm(M):
    return np.linalg.norm(M, 2) if M.size else 0.0


def smin(M):
    """sigma_min(M) = min over unit xi of ||M xi|| (0 when M has more columns than rows)."""
    s = np.linalg.svd(M, compute_uv=False)
    return s[-1] if M.shape[0] >= M.shape[1] else 0.0


@settings(max_examples=60, deadline=None)
@given(pair())
def test_khatri_rao_identity(p):
    A, X, _ = p
    K = khatri_rao(A, X)
    np.testing.assert_allclose(K.T @ K, (A.T @ A) * (X.T @ X), atol=TOL * (1 + np.abs(K).max() ** 2))


@settings(max_examples=60, deadline=None)
@given(pair())
def test_schur_bounds_8(p):
    A, X, _ = p
    K = khatri_rao(A, X)
    colmax = np.linalg.norm(A, axis=0).max()
    colmin = np.linalg.norm(A, axis=0).min()
    scale = 1 + np.abs(K).max() * 10
    assert norm(K) <= colmax * norm(X) + TOL * scale
    assert smin(K) >= colmin * smin(X) - 1e-7 * scale


@settings(max_examples=60, deadline=None)
@given(pair())
def test_norm_bounds_9_10(p):
    A, X, z = p
    K = khatri_rao(z[:, None] * A, X)
    scale = 1 + np.abs(K).max() * 10
    assert norm(K) <= np.abs(z).max() * norm(khatri_rao(A, X)) + TOL * scale
    mid = max(norm(X * A[nu][None, :]) for nu in range(A.shape[0]))   # max_nu ||X diag(A_nu)||
    assert norm(K) <= np.linalg.norm(z) * mid + TOL * scale
    assert mid <= np.abs(A).max() * norm(X) + TOL * scale


@settings(max_examples=40, deadline=None)
@given(pair(), st.integers(0, 2**31))
def test_H_matrix_and_matvec_match_explicit_khatri_rao(p, seed):
    A, X, z = p
    Ab = A > 0
    B = z[:, None] * Ab
    K = khatri_rao(B, X)
    H = model.H_matrix(X, z, Ab)
    np.testing.assert_allclose(H, K.T @ K, atol=1e-9 * (1 + np.abs(H).max()))
    xi = np.random.default_rng(seed).standard_normal(X.shape[1])
    np.testing.assert_allclose(model.H_matvec(X, B, xi), K.T @ (K @ xi), atol=1e-8 * (1 + np.abs(H).max()))
    K0 = khatri_rao(Ab.astype(float), X)
    np.testing.assert_allclose(model.H_matrix(X, None, Ab), K0.T @ K0, atol=1e-9 * (1 + np.abs(H).max()))


def test_forward_pass_shapes_and_values(rng):
    X = rng.standard_normal((3, 4))
    W = rng.standard_normal((5, 3))
    z = rng.standard_normal(5)
    P = model.preactivations(W, X)
    F = model.features(P)
    f = model.output(F, z)
    for j in range(4):
        assert np.isclose(f[j], sum(z[nu] * max(W[nu] @ X[:, j], 0.0) for nu in range(5)))
    np.testing.assert_allclose(model.G_matrix(F), F.T @ F)


@settings(max_examples=40, deadline=None)
@given(pair(), st.integers(0, 2**31))
def test_khatri_rao_gram_is_identity_7_with_weights_stacks_and_downdates(p, seed):
    """(7): (A * X)^T diag(w (x) 1) (A * X) = (A^T diag(w) A) o (X^T X), dense and matrix-free."""
    A, X, z = p
    w = z ** 2
    K = khatri_rao(np.sqrt(w)[:, None] * A, X)
    H = model.khatri_rao_gram(A, X, w)
    tol = 1e-9 * (1 + np.abs(H).max())
    np.testing.assert_allclose(H, K.T @ K, atol=tol)
    xi = np.random.default_rng(seed).standard_normal(X.shape[1])
    np.testing.assert_allclose(model.khatri_rao_gram_matvec(A, X, xi, w), H @ xi, atol=10 * tol * (1 + np.abs(xi).max()))
    stack = model.khatri_rao_gram(A[:, None, :], X)  # one (m, m) matrix per row of A
    for nu in range(A.shape[0]):
        np.testing.assert_allclose(stack[nu], model.khatri_rao_gram(A[nu:nu + 1], X), atol=tol)
    down = model.khatri_rao_gram(None, X, gram=X.T @ X, AtA=A.T @ A - A[:1].T @ A[:1])
    np.testing.assert_allclose(down, model.khatri_rao_gram(A[1:], X), atol=tol)
