"""The audit kernel's enclosures are rigorous: the value in real arithmetic on the given float64
arrays, computed with mpmath at 60 digits, lies inside every enclosure (products, extreme eigenvalues,
the exact statistics of (19)-(29)), on random and on degenerate inputs."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from qrcheck.audit import enclose as en
from qrcheck.audit import stats

mpmath.mp.dps = 60


def mp_matrix(A):
    return mpmath.matrix([[mpmath.mpf(float(x)) for x in row] for row in np.atleast_2d(A)])


def mp_eigs(M):
    E, _ = mpmath.eigsy(mp_matrix(M))
    return sorted(E[i] for i in range(E.rows))


def mp_gram(A, B):
    """A^T B exactly (60 digits suffice for these sizes)."""
    return mp_matrix(A).T * mp_matrix(B)


@pytest.mark.parametrize("seed", range(4))
def test_product_bound(seed):
    rng = np.random.default_rng(seed)
    A, B = rng.standard_normal((7, 9)) * 10.0 ** rng.integers(-3, 3), rng.standard_normal((9, 5))
    C, E = en.product(A, B)
    exact = mp_matrix(A) * mp_matrix(B)
    for i in range(7):
        for j in range(5):
            assert abs(exact[i, j] - mpmath.mpf(float(C[i, j]))) <= E[i, j]


@pytest.mark.parametrize("kind", ["random", "near_singular", "repeated", "negative", "tiny"])
def test_lambda_min_encloses(kind):
    rng = np.random.default_rng(3)
    m = 6
    if kind == "random":
        A = rng.standard_normal((m, m))
        M = A @ A.T
    elif kind == "near_singular":
        A = rng.standard_normal((m, 3))
        M = A @ A.T + 1e-13 * np.eye(m)
    elif kind == "repeated":
        M = np.eye(m) * 2.0
        M[0, 1] = M[1, 0] = 1e-17
    elif kind == "negative":
        A = rng.standard_normal((m, m))
        M = (A + A.T) / 2
    else:
        M = np.diag([1e-300, 1.0, 2.0, 3.0, 4.0, 5.0])
    lo, v, hi = en.lambda_min(M)
    true = mp_eigs(M)[0]
    assert mpmath.mpf(lo) <= true <= mpmath.mpf(hi), (kind, lo, float(true), hi)
    lo2, _, hi2 = en.lambda_max(M)
    true2 = mp_eigs(M)[-1]
    assert mpmath.mpf(lo2) <= true2 <= mpmath.mpf(hi2)


def test_lambda_max_stack_encloses():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((4, 6))
    X /= np.linalg.norm(X, axis=0)
    G, EG = en.product(X.T, X)
    idx = np.array([[0, 1, 2], [1, 3, 5], [0, 4, 5]])
    v, hi = en.lambda_max_stack(G[idx[:, :, None], idx[:, None, :]], EG[idx[:, :, None], idx[:, None, :]])
    for r, J in enumerate(idx):
        exact = mpmath.eigsy(mp_gram(X[:, J], X[:, J]))[0]
        top = max(exact[i] for i in range(exact.rows))
        assert top <= mpmath.mpf(float(hi[r])) and abs(float(top) - v[r]) < 1e-12


def _draw(seed, n=3, S=6, m=4, degenerate=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, m))
    if degenerate:
        X[:, 1] = X[:, 0] * (1 + 1e-15)
    X /= np.linalg.norm(X, axis=0)
    return X, rng.standard_normal((S, n)), rng.choice([-1.0, 1.0], S)


@pytest.mark.parametrize("seed,degenerate", [(0, False), (1, False), (2, True)])
def test_exact_statistics_enclose_the_real_values(seed, degenerate):
    X, W0, z0 = _draw(seed, degenerate=degenerate)
    q = stats.Quantities(X, W0, z0)
    enc = stats.exact(q)
    n, m = X.shape
    S = W0.shape[0]
    G = mp_gram(X, X)
    P = mp_matrix(W0) * mp_matrix(X)
    true = {
        "19": max(abs(G[i, j]) for i in range(m) for j in range(m) if i != j),
        "22": min(mpmath.sqrt(sum(mpmath.mpf(float(w)) ** 2 for w in W0[i])) for i in range(S)),
        "25": min(abs(P[i, j]) for i in range(S) for j in range(m)),
        "26": max(abs(P[i, j]) for i in range(S) for j in range(m)),
    }
    F = mpmath.matrix(S, m)
    for i in range(S):
        for j in range(m):
            F[i, j] = max(P[i, j], 0)
    f0 = F.T * mp_matrix(z0.reshape(-1, 1))
    true["27"] = max(abs(f0[j]) for j in range(m))
    cols = [sorted(abs(P[i, j]) for i in range(S)) for j in range(m)]
    true["28"] = max(mpmath.mpf(k + 1) / (S * cols[j][k] + 1) for j in range(m) for k in range(S))
    E, _ = mpmath.eigsy(F.T * F)
    true["29"] = min(E[i] for i in range(E.rows))
    for eq, t in true.items():
        e = enc[eq]
        assert mpmath.mpf(e.lo) <= t <= mpmath.mpf(e.hi), (eq, e, float(t))
        assert math.isclose(e.value, float(t), rel_tol=1e-9, abs_tol=1e-12), (eq, e.value, float(t))


def test_search_bounds_are_valid():
    """(20)'s per-k bound is at least the true maximum; (21)'s and (30)'s Weyl bounds at most the true
    minimum (checked by brute force on a tiny draw)."""
    import itertools

    X, W0, z0 = _draw(4, n=3, S=6, m=5)
    q = stats.Quantities(X, W0, z0)
    b20 = stats.bound_20(q, list(range(1, 6)))
    for k in range(1, 6):
        best = max(np.linalg.norm(X[:, list(J)], 2) for J in itertools.combinations(range(5), k))
        assert best / (1 + math.sqrt(k / 3)) <= b20[k] * (1 + 1e-12)
    for n_star in (3, 4, 5):
        worst = min(stats.value_21(q, np.array(J)).value for J in itertools.combinations(range(5), n_star))
        assert stats.bound_21(q, n_star) <= worst + 1e-12
    G0 = np.arange(6)
    for s_star in (0, 1, 2):
        worst = min(stats.value_30(q, np.setdiff1d(G0, R)).value for R in itertools.combinations(range(6), s_star))
        assert stats.bound_30(q, G0, s_star) <= worst + 1e-12


@pytest.mark.parametrize("seed", [0, 1])
def test_ntk_enclosures(seed):
    """lambda_min(H0) with Gaussian z0 (rounded weights z0^2) and lambda_min(H_Gamma) of (30)."""
    rng = np.random.default_rng(seed)
    X, W0, _ = _draw(seed, n=3, S=7, m=4)
    z0 = rng.standard_normal(7)
    q = stats.Quantities(X, W0, z0)
    P = mp_matrix(W0) * mp_matrix(X)
    A = [[1 if P[i, j] > 0 else 0 for j in range(4)] for i in range(7)]
    G = mp_gram(X, X)

    def H(rows, w):
        M = mpmath.matrix(4, 4)
        for a in range(4):
            for b in range(4):
                M[a, b] = G[a, b] * sum(w[i] * A[i][a] * A[i][b] for i in rows)
        E, _ = mpmath.eigsy(M)
        return min(E[i] for i in range(E.rows))

    e = stats.enclosure_H0(q)
    assert mpmath.mpf(e.lo) <= H(range(7), [mpmath.mpf(float(z)) ** 2 for z in z0]) <= mpmath.mpf(e.hi)
    keep = np.array([0, 2, 3, 5, 6])
    e30 = stats.value_30(q, keep)
    assert mpmath.mpf(e30.lo) <= H(keep, [1] * 7) <= mpmath.mpf(e30.hi)


def test_open_signs_are_refined_exactly():
    """A product that is exactly 0 in real arithmetic but not in float64 GEMM: the audit recomputes it
    in rational arithmetic, so A0 and (25) see the true 0."""
    x = np.array([[1 + 2.0 ** -30, 0.5], [1.0, 0.5], [1.0, 0.5]])
    W0 = np.array([[1 + 2.0 ** -30, -(1 + 2.0 ** -29), -(2.0 ** -60)], [1.0, 1.0, 1.0]])
    q = stats.Quantities(x, W0, np.array([1.0, -1.0]))
    P, EP = q.P
    assert P[0, 0] == 0 and EP[0, 0] == 0 and q.A0[0, 0] == 0
    assert stats.exact_zeros(q) == 1 and stats.exact(q)["25"].hi == 0
