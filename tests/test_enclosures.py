"""Rigorous enclosures (qrcheck/enclosures.py, issue 10 item 1) against exact rational arithmetic
and 60-digit mpmath eigenvalues on small cases: the true value always lies in [lower, upper]."""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from qrcheck import enclosures as E


# ---- exact reference arithmetic -------------------------------------------------------------------
def frac(A):
    return [[Fraction(float(v)) for v in row] for row in np.atleast_2d(A)]


def matmul(A, B):
    Bt = list(zip(*B))
    return [[sum((a * b for a, b in zip(row, col)), Fraction(0)) for col in Bt] for row in A]


def transpose(A):
    return [list(r) for r in zip(*A)]


def relu(A):
    return [[max(v, Fraction(0)) for v in row] for row in A]


def lambda_min_exact(M) -> mpmath.mpf:
    """Smallest eigenvalue of a rational symmetric matrix, 60 significant digits."""
    with mpmath.workdps(60):
        Mm = mpmath.matrix([[mpmath.mpf(v.numerator) / v.denominator for v in row] for row in M])
        return min(mpmath.eigsy(Mm, eigvals_only=True))


def inside(enc, truth) -> bool:
    with mpmath.workdps(60):
        t = mpmath.mpf(truth.numerator) / truth.denominator if isinstance(truth, Fraction) else truth
        return enc.lower <= t <= enc.upper


def unit(rng, n, m):
    X = rng.standard_normal((n, m))
    return X / np.linalg.norm(X, axis=0)


# ---- the three rounding cases of issue 10 item 1 ----------------------------------------------------
def orthogonal_row(x: np.ndarray) -> np.ndarray:
    """A row w with w . x = 0 exactly in rational arithmetic (pairs (i, i + n/2): w_i = 2^e x_j,
    w_j = -2^e x_i, whose products cancel exactly), while a float dot product rounds."""
    n = x.size
    w = np.zeros(n)
    h = n // 2
    for i in range(h):
        e = 2.0 ** (i % 3 - 1)
        w[i], w[i + h] = e * x[i + h], -e * x[i]
    return w


def test_exact_zero_is_never_certified():
    rng = np.random.default_rng(3)
    X = unit(rng, 20, 10)
    W = rng.standard_normal((40, 20))
    W[7] = orthogonal_row(X[:, 4])
    assert sum(Fraction(a) * Fraction(b) for a, b in zip(W[7], X[:, 4])) == 0
    rp = E.refined_product(W, X)
    enc = E.min_abs(rp)
    assert enc.lower == 0.0 and enc.upper == 0.0  # proved: min |W0 X| = 0 exactly
    assert rp.P[7, 4] == 0.0 and enc.value == 0.0
    # without the exact refinement the float value is within its radius of 0
    assert abs((W @ X)[7, 4]) <= rp.bound.radius()[7, 4]


def test_true_nonzero_cancelled_by_gemm_is_never_zero():
    # w . x = 1 + 4e-20 - 1: float sums in order give 0, the truth is 4e-20
    x = np.array([1.0, 1.0, 1.0, 0.5])
    w = np.array([1.0, 4e-20, -1.0, 0.0])
    truth = sum(Fraction(a) * Fraction(b) for a, b in zip(w, x))
    assert truth > 0 and float(truth) == pytest.approx(4e-20)
    rp = E.refined_product(w[None, :], x[:, None])
    enc = E.min_abs(rp)
    assert enc.lower > 0 and inside(enc, truth)  # proved > 0
    assert rp.P[0, 0] == float(truth)
    assert float(truth) <= rp.bound.radius()[0, 0]  # even GEMM's 0 has the truth within its radius


def G0_case(seed=0, n=6, S=12, m=5):
    rng = np.random.default_rng(seed)
    return unit(rng, n, m), rng.standard_normal((S, n))


def G0_enclosure(W, X):
    rp = E.refined_product(W, X)
    F = np.maximum(rp.P, 0.0)
    return E.lambda_min_enclosure(F.T @ F, E.G_error(F, rp.bound))


def test_G0_permuted_rows_overlap_and_contain_the_truth():
    X, W = G0_case()
    F = relu(matmul(frac(W), frac(X)))
    truth = lambda_min_exact(matmul(transpose(F), F))
    rng = np.random.default_rng(1)
    encs = [G0_enclosure(W[rng.permutation(W.shape[0])], X) for _ in range(8)]
    for e in encs:
        assert inside(e, truth)
    assert max(e.lower for e in encs) <= min(e.upper for e in encs)
    # a margin of 1e-13 is below the rounding bound: the threshold lies inside every enclosure
    thr = encs[0].value - 1e-13
    assert all(e.lower < thr < e.upper for e in encs)


def test_canonical_order_makes_sums_over_neurons_permutation_invariant():
    X, W = G0_case(2, n=10, S=60, m=8)
    z = np.random.default_rng(0).standard_normal(60)
    vals = set()
    for seed in range(5):
        p = np.random.default_rng(seed).permutation(60)
        Wp, zp = W[p], z[p]
        o = E.canonical_order(Wp, zp)
        F = np.maximum(Wp[o] @ X, 0.0)
        vals.add(float(np.linalg.eigvalsh(F.T @ F)[0]))
    assert len(vals) == 1


# ---- hypothesis: truth in [lower, upper] -------------------------------------------------------------
scales = st.sampled_from([1e-150, 1e-8, 1.0, 1e6, 1e150])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), sw=scales, sx=scales, n=st.integers(1, 7), S=st.integers(1, 6),
       m=st.integers(1, 5))
def test_product_statistics_contain_the_truth(seed, sw, sx, n, S, m):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((S, n)) * sw
    X = rng.standard_normal((n, m)) * sx
    if rng.random() < 0.3:  # an exactly orthogonal pair, or a repeated column
        X[:, 0] = X[:, -1]
    P = matmul(frac(W), frac(X))
    absP = [abs(v) for row in P for v in row]
    rp = E.refined_product(W, X)
    assert inside(E.min_abs(rp), min(absP))
    assert inside(E.max_abs(rp), max(absP))
    # row norms of W (squared, exactly)
    s, lo, hi = E.sum_squares(W, 1)
    for i, row in enumerate(frac(W)):
        t = sum(v * v for v in row)
        assert lo[i] <= t <= hi[i]
    # (28): max_{j,k} k / (S a_(k),j + 1)
    cols = [sorted(abs(P[i][j]) for i in range(S)) for j in range(m)]
    truth28 = max(Fraction(k + 1) / (S * c[k] + 1) for c in cols for k in range(S))
    a = np.sort(np.abs(rp.P), axis=0)
    V = float(np.max(np.arange(1, S + 1)[:, None] / (S * a + 1.0)))
    assert inside(E.good_behaviour(V, S, rp.bound), truth28)
    # (27): f = relu(W X)^T z
    z = rng.standard_normal(S)
    F = np.maximum(rp.P, 0.0)
    f = F.T @ z
    Ft = relu(P)
    ftrue = [sum((Ft[i][j] * Fraction(z[i]) for i in range(S)), Fraction(0)) for j in range(m)]
    assert inside(E.max_abs_vector(f, E.output_bound(F, z, f, rp.bound)), max(abs(v) for v in ftrue))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 6), m=st.integers(2, 6), dup=st.booleans())
def test_gram_and_eigenvalue_enclosures_contain_the_truth(seed, n, m, dup):
    rng = np.random.default_rng(seed)
    X = unit(rng, n, m)
    if dup:
        X[:, 1] = X[:, 0] + 1e-9 * rng.standard_normal(n)
    G = matmul(transpose(frac(X)), frac(X))
    off = max(abs(G[i][j]) for i in range(m) for j in range(m) if i != j)
    gb = E.gram_bound(X)
    gram = X.T @ X
    assert inside(E.max_offdiag_abs(gram, gb), off)
    # lambda_min and lambda_max of the true Gram (formation error: gamma_n ||X||_F^2 bound)
    err = gb.norm2()
    lo = E.lambda_min_enclosure(gram, err)
    hi = E.lambda_max_enclosure(gram, err)
    with mpmath.workdps(60):
        Gm = mpmath.matrix([[mpmath.mpf(v.numerator) / v.denominator for v in row] for row in G])
        ev = sorted(mpmath.eigsy(Gm, eigvals_only=True))
    assert lo.lower <= ev[0] <= lo.upper
    assert hi.lower <= ev[-1] <= hi.upper
    assert E.spectral_norm_upper(X) ** 2 >= ev[-1]
    # Gershgorin for every k: >= the largest k-subset norm^2 (exhaustive at this size)
    from itertools import combinations
    Ga = np.abs(gram)
    np.fill_diagonal(Ga, -np.inf)
    cs = np.zeros((m, m))
    np.cumsum(-np.sort(-Ga, axis=1)[:, :-1], axis=1, out=cs[:, 1:])
    g = E.gershgorin_all_k_upper(cs, E.sum_squares(X, 0)[2], gb)
    for k in range(1, m + 1):
        best = max(np.linalg.eigvalsh(gram[np.ix_(J, J)])[-1] for J in map(list, combinations(range(m), k)))
        assert g[k - 1] >= best * (1 - 1e-12)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 5), S=st.integers(2, 9), m=st.integers(2, 5),
       z_kind=st.sampled_from(["rademacher", "gaussian"]))
def test_G0_and_H0_enclosures_contain_the_truth(seed, n, S, m, z_kind):
    rng = np.random.default_rng(seed)
    X = unit(rng, n, m)
    W = rng.standard_normal((S, n))
    z = rng.choice([-1.0, 1.0], S) if z_kind == "rademacher" else rng.standard_normal(S)
    P = matmul(frac(W), frac(X))
    F = relu(P)
    truthG = lambda_min_exact(matmul(transpose(F), F))
    rp = E.refined_product(W, X)
    Ff = np.maximum(rp.P, 0.0)
    eG = E.lambda_min_enclosure(Ff.T @ Ff, E.G_error(Ff, rp.bound))
    assert eG.lower <= truthG <= eG.upper
    # H0 = (X^T X) o (B^T B), B = diag(z) A, A = 1(P > 0) exactly
    A = [[Fraction(1) if v > 0 else Fraction(0) for v in row] for row in P]
    zf = [Fraction(v) for v in z]
    K = [[sum((A[i][j] * A[i][k] * zf[i] ** 2 for i in range(S)), Fraction(0)) for k in range(m)]
         for j in range(m)]
    Gx = matmul(transpose(frac(X)), frac(X))
    truthH = lambda_min_exact([[Gx[j][k] * K[j][k] for k in range(m)] for j in range(m)])
    Af = (rp.P > 0).astype(np.float64)
    Kf = Af.T @ (Af * (z ** 2)[:, None])
    gram = X.T @ X
    Hf = gram * Kf
    eH = E.lambda_min_enclosure(Hf, E.H_error(Kf, np.abs(gram).max(), E.gram_bound(X), E.K_rel_weighted(S), S * E.ETA))
    assert eH.lower <= truthH <= eH.upper


def test_witness_residual_bound():
    rng = np.random.default_rng(5)
    Y = rng.standard_normal((4, 3))
    Y[3] = 0.0  # rank-deficient rows: xi = e_4 is a null direction of Y^T
    xi = np.array([0.0, 0.0, 0.0, 1.0])
    assert E.residual_norm_upper(Y, xi) < 1e-14  # rounding bound only
    xi = rng.standard_normal(4)
    true = np.linalg.norm(Y.T @ xi) / np.linalg.norm(xi)
    assert E.residual_norm_upper(Y, xi) >= true


def test_batched_lambda_max_upper():
    rng = np.random.default_rng(2)
    Ms = []
    for _ in range(6):
        B = rng.standard_normal((5, 7))
        Ms.append(B @ B.T)
    Ms = np.array(Ms)
    vals = np.linalg.eigvalsh(Ms)[:, -1]
    ub = E.lambda_max_batched_upper(Ms, vals, 0.0)
    assert np.all(ub >= vals) and np.all(ub <= vals * (1 + 1e-9))


def test_enclosure_widens_to_its_value_and_exact():
    e = E.Enclosure(1.0, 1.5, 2.0)
    assert e.lower == 1.0 and e.contains(1.0)
    assert E.Enclosure.exact(3.0).radius == 0.0
    assert math.isinf(E.Enclosure(math.nan, 0, 1).upper)


def test_many_open_signs_still_prove_an_exact_zero():
    rng = np.random.default_rng(0)
    X = unit(rng, 5, 40)
    W = rng.standard_normal((200, 5))
    W[:150] = 0.0  # 6000 exact zeros: more than EXACT_LIMIT are recomputed
    rp = E.refined_product(W, X)
    assert not rp.complete and not rp.signs_exact
    enc = E.min_abs(rp)
    assert enc.lower == enc.upper == 0.0
