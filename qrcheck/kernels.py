"""The limit NTK matrices of Appendix C.

For w ~ N(0, I_n),
  H^w(X) = E_w[(X^T X) o (sigma'(X^T w) sigma'(w^T X))],   H^w_{jj'} = f^w(<X^j, X^j'>),
  H^z(X) = E_w[sigma(X^T w) sigma(w^T X)],                 H^z_{jj'} = f^z(<X^j, X^j'>),
with (Appendix C)
  f^w(g) = g (1/2 - arccos(g) / (2 pi)),
  f^z(g) = (g (pi - arccos(g)) + sqrt(1 - g^2)) / (2 pi).
Inner products of unit vectors can round to just outside [-1, 1]; they are clipped, and arccos and
sqrt(1 - g^2) are evaluated as 2 atan2(sqrt(1 - g), sqrt(1 + g)) and sqrt((1 - g)(1 + g)), which
keep full relative accuracy as g -> +-1.
"""

from __future__ import annotations

import numpy as np


def _acos(g: np.ndarray) -> np.ndarray:
    return 2.0 * np.arctan2(np.sqrt(1.0 - g), np.sqrt(1.0 + g))


def f_w(gamma: np.ndarray | float) -> np.ndarray:
    """f^w(g) = g (1/2 - arccos(g)/(2 pi)) (Appendix C), elementwise on g in [-1, 1]."""
    g = np.clip(np.asarray(gamma, dtype=np.float64), -1.0, 1.0)
    return g * (0.5 - _acos(g) / (2.0 * np.pi))


def f_z(gamma: np.ndarray | float) -> np.ndarray:
    """f^z(g) = (g (pi - arccos g) + sqrt(1 - g^2)) / (2 pi) (Appendix C), elementwise."""
    g = np.clip(np.asarray(gamma, dtype=np.float64), -1.0, 1.0)
    return (g * (np.pi - _acos(g)) + np.sqrt((1.0 - g) * (1.0 + g))) / (2.0 * np.pi)


def f_w_taylor(gamma: np.ndarray | float, terms: int = 200) -> np.ndarray:
    """Taylor series of f^w: g/4 + (1/2pi) sum_r (2r)! / (4^r (r!)^2 (2r+1)) g^(2r+2) (Appendix C)."""
    g = np.asarray(gamma, dtype=np.float64)
    out = g / 4.0
    c = 1.0  # (2r)! / (4^r (r!)^2), updated by the ratio (2r+1)(2r+2) / (4 (r+1)^2)
    for r in range(terms):
        out = out + c / (2 * r + 1) * g ** (2 * r + 2) / (2.0 * np.pi)
        c *= (2 * r + 1) * (2 * r + 2) / (4.0 * (r + 1) ** 2)
    return out


def f_z_taylor(gamma: np.ndarray | float, terms: int = 200) -> np.ndarray:
    """Taylor series of f^z, corrected (see docs/errata.md):
    1/(2pi) + g/4 + (1/2pi) sum_{r>=1} (2r-3)!! / ((2r)!! (2r-1)) g^(2r)  [(-1)!! = 1].

    The paper prints the g^2 coefficient as 1/(48 pi) and omits the 1/(2r-1) factor; the closed form
    f^z it derives from has g^2 coefficient 1/(4 pi) and g^4 coefficient 1/(48 pi).
    """
    g = np.asarray(gamma, dtype=np.float64)
    out = 1.0 / (2.0 * np.pi) + g / 4.0
    c = 0.5  # (2r-3)!! / (2r)!! at r = 1; ratio to r+1 is (2r-1) / (2r+2)
    for r in range(1, terms):
        out = out + c / (2 * r - 1) * g ** (2 * r) / (2.0 * np.pi)
        c *= (2 * r - 1) / (2.0 * r + 2)
    return out


def H_w(X: np.ndarray) -> np.ndarray:
    """H^w(X) = f^w(X^T X) entrywise, X (n, m) -> (m, m) (Appendix C)."""
    return f_w(X.T @ X)


def H_z(X: np.ndarray) -> np.ndarray:
    """H^z(X) = f^z(X^T X) entrywise, X (n, m) -> (m, m) (Appendix C)."""
    return f_z(X.T @ X)

