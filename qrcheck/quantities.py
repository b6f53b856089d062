"""The linear algebra of one draw, computed once (``functools.cached_property``): pure, no profile,
no effort, no random numbers.

Memory stays O(Sm + m^2 + Sn): the largest objects are P0 = W0 X (S x m) and m x m Gram/NTK
matrices (above ``dense_limit``, (19)-(21) read X^T X by row blocks, ``gram_rows``); the
Khatri-Rao product A0 * X (Sn x m) is never formed (identity (7), :func:`qrcheck.model.khatri_rao_gram`).
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np

from . import enclosures, kernels, model, search, spectral
from .draw import Draw


class Quantities:
    """Shared, lazily computed quantities of one draw.

    Names follow the paper: X (n, m), W0 (S, n), z0 (S,), y (m,) or None, P0 = W0 X (S, m),
    A0 = 1(P0 > 0), F0 = relu(P0) (S, m), f0 (m,), L = ln(n S). ``draw`` is the
    :class:`~qrcheck.draw.Draw` the arrays came from, when there is one (its seed feeds the
    searches' generators in :class:`qrcheck.properties.CheckContext`).
    """

    def __init__(self, X: np.ndarray, W0: np.ndarray, z0: np.ndarray, y: np.ndarray | None = None,
                 draw: Draw | None = None, dense_limit: int = spectral.DENSE_M_LIMIT):
        self.X, self.W0, self.z0, self.y = X, W0, z0, y
        self.draw = draw
        # above this m no m x m array is formed (``matrix_free``); tests lower it to force that path
        self.dense_limit = int(dense_limit)
        self.n, self.m = X.shape
        self.S = W0.shape[0]
        self.L = math.log(self.n * self.S)

    @classmethod
    def of(cls, draw: Draw, dense_limit: int = spectral.DENSE_M_LIMIT) -> "Quantities":
        """The quantities of a :class:`~qrcheck.draw.Draw`."""
        return cls(draw.X, draw.W0, draw.z0, draw.y, draw=draw, dense_limit=dense_limit)

    @property
    def matrix_free(self) -> bool:
        """True when m > ``dense_limit``: no m x m array may be formed (memory O(Sm + Sn + nm))."""
        return self.m > self.dense_limit

    # ---- data ---------------------------------------------------------------------------
    @cached_property
    def gram(self) -> np.ndarray:
        """X^T X, (m, m)."""
        return self.X.T @ self.X

    @cached_property
    def X_norm(self) -> float:
        """||X||, the spectral norm."""
        return float(np.linalg.norm(self.X, 2))

    @cached_property
    def gram_rows(self) -> "search.GramRows":
        """X^T X by row blocks (``search.GramRows``): views of ``gram`` on the dense path, blocks
        computed from X when ``matrix_free`` (nothing m x m). What (19), (20), (21) read."""
        return search.GramRows(self.X, None if self.matrix_free else self.gram)

    @cached_property
    def column_norm_max(self) -> float:
        """max_j ||X^j||."""
        return float(np.sqrt(np.max(self.gram_rows.diag)))

    @cached_property
    def gram_scan(self) -> "search.GramScan":
        """One pass over X^T X by row blocks (``search.scan_rows``; m >= 2): (19)'s largest
        off-diagonal |<X^j, X^j'>| and its pair, (20)'s best pair (k = 2) and cluster counts."""
        return search.scan_rows(self.gram_rows)

    @property
    def offdiag_abs_max(self) -> tuple[float, int, int]:
        """(19): (max_{j != j'} |<X^j, X^j'>|, j, j') (``gram_scan``); m >= 2."""
        return self.gram_scan.offdiag

    @cached_property
    def lambda_min_XXt(self) -> float:
        """lambda_min(X X^T), (n, n); zero when m < n."""
        return float(np.linalg.eigvalsh(self.X @ self.X.T)[0]) if self.m >= self.n else 0.0

    def gram_sorted(self, ks=()) -> "search.SortedRows":
        """One pass over the row-sorted |X^T X| by row blocks (``search.sorted_rows``): (20)'s
        Gershgorin sums for every k, their rigorous upper ends, and the per-row sums at each k in
        ``ks``. Kept until a later call asks for a k it lacks (then the pass runs again)."""
        have = getattr(self, "_gram_sorted", None)
        if have is None or not set(ks) <= set(have.at):
            b = self.bounds
            have = self._gram_sorted = search.sorted_rows(self.gram_rows, tuple(ks), b.column_sq[2], b.gram_bound)
        return have

    def gershgorin_sq(self, k: int) -> float:
        """Gershgorin bound on max_{|J|=k} ||X^J||^2:
        max_j (||X^j||^2 + sum of the k-1 largest |<X^j, X^j'>|, j' != j)."""
        return float(self.gram_sorted().gershgorin_sq[k - 1])

    # ---- initialisation -------------------------------------------------------------------
    @cached_property
    def P0_product(self) -> "enclosures.RefinedProduct":
        """W0 X with its rounding bound; entries whose sign the bound leaves open are recomputed
        exactly (``enclosures.refined_product``), so A0 is the true activation pattern. The GEMM runs
        with the rows in ``neuron_order`` (then put back), so every entry's float value is the same
        however the neurons are listed."""
        o = self.neuron_order
        P = np.empty((self.S, self.m))
        P[o] = model.preactivations(self.W0[o], self.X)
        return enclosures.refined_product(self.W0, self.X, P)

    @cached_property
    def P0(self) -> np.ndarray:
        """W0 X, (S, m) (``P0_product.P``)."""
        return self.P0_product.P

    @cached_property
    def neuron_order(self) -> np.ndarray:
        """A canonical order of the S neurons (``enclosures.canonical_order``): sums over neurons
        (f0, G0, H0) are computed in it, so they do not depend on how the neurons are listed."""
        return enclosures.canonical_order(self.W0, self.z0)

    @cached_property
    def A0(self) -> np.ndarray:
        """1(P0 > 0), (S, m) boolean."""
        return model.activations(self.P0)

    @cached_property
    def F0(self) -> np.ndarray:
        """relu(P0), (S, m)."""
        return model.features(self.P0)

    @cached_property
    def f0(self) -> np.ndarray:
        """F0^T z0, (m,) (summed in ``neuron_order``)."""
        o = self.neuron_order
        return model.output(self.F0[o], self.z0[o])

    # ---- NTK ---------------------------------------------------------------------------------
    def _dense(self, what: str) -> None:
        """One clear error where an m x m array is asked for above ``dense_limit``."""
        if self.matrix_free:
            raise RuntimeError(f"{what} is m x m: not formed at m = {self.m} > dense_limit = {self.dense_limit}")

    @cached_property
    def Hw_extreme(self) -> "spectral.Extreme | None":
        """lambda_min(H^w(X)) (Appendix C), a diagnostic only (never a bar, schema 2), with its
        stated accuracy (``kernels.lambda_min_limit``); None when ``matrix_free`` (H^w has no cheap
        product with a vector: each would cost a pass over X^T X)."""
        return None if self.matrix_free else kernels.lambda_min_limit(kernels.f_w(self.gram))

    @cached_property
    def Hz_extreme(self) -> "spectral.Extreme | None":
        """lambda_min(H^z(X)) (Appendix C), as :attr:`Hw_extreme` (started from its Ritz vector)."""
        if self.matrix_free:
            return None
        return kernels.lambda_min_limit(kernels.f_z(self.gram), v0=self.Hw_extreme.vector)

    @property
    def lambda_min_Hw(self) -> float | None:
        """delta = lambda_min(H^w(X)) (Appendix C); None when ``matrix_free`` (not computed)."""
        return None if self.Hw_extreme is None else self.Hw_extreme.value

    @property
    def lambda_min_Hz(self) -> float | None:
        """lambda_min(H^z(X)) (Appendix C); None when ``matrix_free`` (not computed)."""
        return None if self.Hz_extreme is None else self.Hz_extreme.value

    @cached_property
    def G0(self) -> np.ndarray:
        """G0 = F0^T F0, (m, m) (summed in ``neuron_order``); an error when ``matrix_free``."""
        self._dense("G0")
        return model.G_matrix(self.F0[self.neuron_order])

    @cached_property
    def G0_extreme(self) -> "spectral.Extreme":
        """lambda_min(G0), G0 = F0^T F0: 0 exactly by rank when m > S (above EIGVALSH_M_MAX; also
        when ``matrix_free``), else from the formed G0 (``spectral.lambda_min_dense``) or, when
        ``matrix_free``, by Lanczos on v -> F0^T (F0 v) (``spectral.lambda_min_G``; its lower end is
        only "residual"-kind)."""
        if self.matrix_free or self.m > max(self.S, spectral.EIGVALSH_M_MAX):   # the latter: 0 by rank, G0 not formed
            return spectral.lambda_min_G(self.F0[self.neuron_order], dense_limit=self.dense_limit)
        return spectral.lambda_min_dense(self.G0, rank=self.S, verify=False)

    @property
    def lambda_min_G0(self) -> float:
        """lambda_min(G0), G0 = F0^T F0 (m, m)."""
        return self.G0_extreme.value

    @cached_property
    def K0(self) -> np.ndarray:
        """B0^T B0 = A0^T diag(z0^2) A0, (m, m) (summed in ``neuron_order``); an error when
        ``matrix_free``."""
        self._dense("K0 = B0^T B0")
        o = self.neuron_order
        Af = self.A0[o].astype(np.float64)
        return Af.T @ (Af * (self.z0[o] ** 2)[:, None])

    @cached_property
    def H0(self) -> np.ndarray:
        """H0 = (X^T X) o (B0^T B0), B0 = diag(z0) A0, (m, m) (identity (7)); an error when
        ``matrix_free``."""
        self._dense("H0")
        return model.khatri_rao_gram(None, self.X, gram=self.gram, AtA=self.K0)

    @cached_property
    def H0_extreme(self) -> "spectral.Extreme":
        """lambda_min(H0), H0 = (X^T X) o (B0^T B0), B0 = diag(z0) A0 (identity (7)): from the formed
        H0 (``spectral.lambda_min_dense``; enclosed by ``bounds.H0``), or, when ``matrix_free``,
        through (7) without it (``spectral.lambda_min_H``: 0 by rank when m > S n, else iterative with
        a "residual"-kind lower end). One value for (29)'s details, ``diagnostics`` and GD."""
        if self.matrix_free or self.m > max(self.S * self.n, spectral.EIGVALSH_M_MAX):  # the latter: 0 by rank
            o = self.neuron_order
            return spectral.lambda_min_H(self.X, self.z0[o], self.A0[o], dense_limit=self.dense_limit)
        return spectral.lambda_min_dense(self.H0, rank=self.S * self.n, verify=False)

    @property
    def lambda_min_H0(self) -> float:
        """lambda_min(H0) (:attr:`H0_extreme`'s value)."""
        return self.H0_extreme.value

    # ---- rigorous enclosures -------------------------------------------------------------------
    @cached_property
    def bounds(self) -> "enclosures.DrawBounds":
        """Rigorous enclosures of this draw's exact statistics (``enclosures.DrawBounds``)."""
        return enclosures.DrawBounds(self)
