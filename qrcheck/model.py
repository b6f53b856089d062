"""The network of paper Section 2.3 and its NTK matrices (Section 3), without the Khatri-Rao product.

Shapes: X (n, m), W (S, n), z (S,), P = W X (S, m), A = (P > 0) (S, m), F = relu(P) (S, m),
f = F^T z (m,), B = diag(z) A (S, m).

The first-layer NTK is H = (B * X)^T (B * X) where ``*`` is the column-wise Khatri-Rao product
(Sn x m). It is never formed: by (7), (A * X)^T (A * X) = (A^T A) o (X^T X), so
H = (X^T X) o (B^T B) costs one S x m x m GEMM, and a product H xi costs two GEMMs of S x m x n.
"""

from __future__ import annotations

import numpy as np


def preactivations(W: np.ndarray, X: np.ndarray) -> np.ndarray:
    """P = W X, (S, n) @ (n, m) -> (S, m)."""
    return W @ X


def activations(P: np.ndarray) -> np.ndarray:
    """A = sigma'(P) = 1(P > 0), (S, m) boolean (the activation matrix, Section 3)."""
    return P > 0


def features(P: np.ndarray) -> np.ndarray:
    """F = sigma(P) = relu(P), (S, m) (Section 2.3)."""
    return np.maximum(P, 0.0)


def output(F: np.ndarray, z: np.ndarray) -> np.ndarray:
    """f = F^T z, (S, m), (S,) -> (m,) (Section 2.3)."""
    return F.T @ z


def khatri_rao_gram(A: np.ndarray, X: np.ndarray, weights: np.ndarray | None = None, *,
                    gram: np.ndarray | None = None, AtA: np.ndarray | None = None) -> np.ndarray:
    """Identity (7): (A * X)^T diag(w (x) 1_n) (A * X) = (A^T diag(w) A) o (X^T X), the one place
    qrcheck writes it; the Sn x m Khatri-Rao product A * X is never formed.

    A (S, m) (boolean or real; a stack (b, S, m) gives a stack (b, m, m)), X (n, m), weights (S,)
    or None (all ones) -> (m, m). ``gram`` is X^T X and ``AtA`` is A^T diag(w) A when the caller
    already has them (then A and weights are not read for that factor).
    """
    G = X.T @ X if gram is None else gram
    if AtA is None:
        Af = np.asarray(A).astype(np.float64, copy=False)
        Bw = Af if weights is None else Af * np.asarray(weights, dtype=np.float64)[:, None]
        AtA = np.swapaxes(Af, -1, -2) @ Bw
    return G * AtA


def khatri_rao_gram_matvec(A: np.ndarray, X: np.ndarray, xi: np.ndarray,
                           weights: np.ndarray | None = None) -> np.ndarray:
    """The product of (7)'s matrix with a vector, matrix-free: ((A^T diag(w) A) o (X^T X)) xi with
    two GEMMs of S x m x n. A (S, m), X (n, m), xi (m,), weights (S,) or None -> (m,).

    (A * X) xi reshaped to (S, n) is V = (A diag(xi)) X^T; then the result's entry j is
    sum_nu w_nu A_nu,j (V X)_nu,j.
    """
    A = np.asarray(A)
    V = (A * xi[None, :]) @ X.T
    Aw = A if weights is None else A * np.asarray(weights, dtype=np.float64)[:, None]
    return np.einsum("sj,sj->j", Aw, V @ X)


def H_matrix(X: np.ndarray, z: np.ndarray | None, A: np.ndarray) -> np.ndarray:
    """H = (X^T X) o (B^T B), B = diag(z) A; with ``z=None``, (X^T X) o (A^T A) as in (30).

    X (n, m), z (S,) or None, A (S, m) -> (m, m): :func:`khatri_rao_gram` with weights z^2.
    """
    return khatri_rao_gram(A, X, None if z is None else np.asarray(z, dtype=np.float64) ** 2)


def H_matvec(X: np.ndarray, B: np.ndarray, xi: np.ndarray) -> np.ndarray:
    """H xi = (B * X)^T (B * X) xi, X (n, m), B (S, m), xi (m,) -> (m,): :func:`khatri_rao_gram_matvec`."""
    return khatri_rao_gram_matvec(B, X, xi)


def G_matrix(F: np.ndarray) -> np.ndarray:
    """G = F^T F, (S, m) -> (m, m), the second-layer NTK (Section 3)."""
    return F.T @ F


def lambda_min(M: np.ndarray) -> float:
    """Smallest eigenvalue of a symmetric matrix (LAPACK via numpy.linalg.eigvalsh); NaN when ``M``
    holds a non-finite entry (an overflowed matrix has no computable spectrum)."""
    if not np.isfinite(M).all():
        return float("nan")
    return float(np.linalg.eigvalsh(M)[0])
