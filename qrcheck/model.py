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


def H_matrix(X: np.ndarray, z: np.ndarray | None, A: np.ndarray) -> np.ndarray:
    """H = (X^T X) o (B^T B), B = diag(z) A; with ``z=None``, (X^T X) o (A^T A) as in (30).

    X (n, m), z (S,) or None, A (S, m) -> (m, m). Uses (7); never forms B * X.
    """
    Af = A.astype(np.float64, copy=False)
    Bw = Af if z is None else Af * (np.asarray(z, dtype=np.float64) ** 2)[:, None]
    return (X.T @ X) * (Af.T @ Bw)


def H_matvec(X: np.ndarray, B: np.ndarray, xi: np.ndarray) -> np.ndarray:
    """H xi = (B * X)^T (B * X) xi with two GEMMs, X (n, m), B (S, m), xi (m,) -> (m,).

    (B * X) xi reshaped to (S, n) is V = (B diag(xi)) X^T; then (H xi)_j = sum_nu B_nu,j (V X)_nu,j.
    """
    V = (B * xi[None, :]) @ X.T
    return np.einsum("sj,sj->j", B, V @ X)


def G_matrix(F: np.ndarray) -> np.ndarray:
    """G = F^T F, (S, m) -> (m, m), the second-layer NTK (Section 3)."""
    return F.T @ F


def lambda_min(M: np.ndarray) -> float:
    """Smallest eigenvalue of a symmetric matrix (LAPACK via numpy.linalg.eigvalsh)."""
    return float(np.linalg.eigvalsh(M)[0])
