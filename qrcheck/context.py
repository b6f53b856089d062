"""Everything the property checkers share, computed once per draw (``functools.cached_property``).

Memory stays O(Sm + m^2 + Sn): the largest objects are P0 = W0 X (S x m) and m x m Gram/NTK
matrices; the Khatri-Rao product A0 * X (Sn x m) is never formed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import numpy as np

from . import InputError, kernels, model
from .draw import Draw
from .profiles import Profile


@dataclass(frozen=True)
class Effort:
    """Search effort for the subset-uniform properties (20), (21), (30).

    subset_samples : random subsets examined per size (the baseline; a family with at most this
        many members is enumerated instead).
    restarts : independent starts of each adversarial search.
    iterations : alternation / power-iteration steps per start.
    time_budget : wall-clock seconds per property search (None: unlimited). Without a budget the
        searches are deterministic given the seed; a budget that cuts a search makes the result
        depend on machine speed, and the property's details say so (``budget_cut``).
    """

    subset_samples: int = 64
    restarts: int = 4
    iterations: int = 30
    time_budget: float | None = None

    @property
    def preset(self) -> str:
        """The ``--effort`` preset with these counts, or "custom"."""
        key = (self.subset_samples, self.restarts, self.iterations)
        for name, e in EFFORT_PRESETS.items():
            if (e.subset_samples, e.restarts, e.iterations) == key:
                return name
        return "custom"

    def to_dict(self) -> dict:
        return {"subset_samples": self.subset_samples, "restarts": self.restarts,
                "iterations": self.iterations, "time_budget": self.time_budget}


# ``--effort`` presets (docs/search.md)
EFFORT_PRESETS: dict[str, Effort] = {
    "low": Effort(subset_samples=16, restarts=2, iterations=10),
    "default": Effort(),
    "high": Effort(subset_samples=512, restarts=16, iterations=100),
}


def effort_from(preset: str = "default", subset_samples: int | None = None, restarts: int | None = None,
                iterations: int | None = None, time_budget: float | None = None) -> Effort:
    """The ``--effort`` preset with any count given explicitly overriding it."""
    if preset not in EFFORT_PRESETS:
        raise InputError(f"--effort must be one of {', '.join(EFFORT_PRESETS)}, got {preset!r}")
    e = EFFORT_PRESETS[preset]
    return Effort(e.subset_samples if subset_samples is None else subset_samples,
                  e.restarts if restarts is None else restarts,
                  e.iterations if iterations is None else iterations, time_budget)


# spawn key of the search stream: independent of the X, W0, z0, y streams (keys 0..3)
SEARCH_SPAWN_KEY = 17


class Context:
    """Shared, lazily computed quantities of one draw under one profile.

    Names follow the paper: X (n, m), W0 (S, n), z0 (S,), P0 = W0 X (S, m), A0, F0 (S, m),
    f0 (m,), Gamma0 (indices of (24)), L = ln(n S).
    """

    def __init__(self, draw: Draw, profile: Profile, effort: Effort | None = None,
                 on_search: Callable[[str, str, float], None] | None = None):
        self.draw = draw
        self.profile = profile
        self.effort = effort or Effort()
        self.on_search = on_search  # (eq, what, fraction done) from the long searches, for progress
        self.X, self.W0, self.z0, self.y = draw.X, draw.W0, draw.z0, draw.y
        self.n, self.S, self.m = draw.n, draw.S, draw.m
        self.L = math.log(self.n * self.S)

    def progress(self, eq: str, what: str) -> Callable[[float], None]:
        """A callback reporting a search's fraction done through ``on_search`` (no-op without one)."""
        cb = self.on_search
        return (lambda frac: cb(eq, what, frac)) if cb else (lambda frac: None)

    def search_rng(self, eq: str) -> np.random.Generator:
        """A deterministic generator per property search, independent of the draw's streams."""
        ss = np.random.SeedSequence(self.draw.seed, spawn_key=(SEARCH_SPAWN_KEY, int(eq) if eq.isdigit() else 0))
        return np.random.default_rng(ss)

    def threshold(self, eq: str, g: float) -> tuple[float, float | None, float | None]:
        """(threshold, C, p) with threshold = C * L^p * g under the profile (for a tail-bound rule,
        C is the effective constant threshold / g and p = 0; see Profile.threshold_for)."""
        return self.profile.threshold_for(eq, self, g)

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
    def lambda_min_XXt(self) -> float:
        """lambda_min(X X^T), (n, n); zero when m < n."""
        return float(np.linalg.eigvalsh(self.X @ self.X.T)[0]) if self.m >= self.n else 0.0

    @cached_property
    def gram_row_cumsum(self) -> np.ndarray:
        """(m, m): row j, entry k-1 = sum of the k-1 largest |<X^j, X^j'>| over j' != j (entry 0 = 0)."""
        G = np.abs(self.gram)
        np.fill_diagonal(G, -np.inf)
        G = -np.sort(-G, axis=1)[:, :-1]  # drop the diagonal (sorted last)
        out = np.zeros((self.m, self.m))
        np.cumsum(G, axis=1, out=out[:, 1:])
        return out

    def gershgorin_sq(self, k: int) -> float:
        """Gershgorin bound on max_{|J|=k} ||X^J||^2:
        max_j (||X^j||^2 + sum of the k-1 largest |<X^j, X^j'>|, j' != j)."""
        return float((np.diag(self.gram) + self.gram_row_cumsum[:, k - 1]).max())

    # ---- initialisation -------------------------------------------------------------------
    @cached_property
    def P0(self) -> np.ndarray:
        """W0 X, (S, m)."""
        return model.preactivations(self.W0, self.X)

    @cached_property
    def A0(self) -> np.ndarray:
        return model.activations(self.P0)

    @cached_property
    def F0(self) -> np.ndarray:
        return model.features(self.P0)

    @cached_property
    def f0(self) -> np.ndarray:
        return model.output(self.F0, self.z0)

    @cached_property
    def zeta0(self) -> float:
        """(24): the largest zeta_0 keeping |Gamma_0| >= gamma0_fraction * S."""
        k = max(1, int(math.ceil(self.profile.gamma0_fraction * self.S)))
        return float(np.sort(np.abs(self.z0))[::-1][k - 1])

    @cached_property
    def Gamma0(self) -> np.ndarray:
        """(24): indices nu with |z0_nu| >= zeta_0, sorted."""
        return np.flatnonzero(np.abs(self.z0) >= self.zeta0)

    # ---- NTK ---------------------------------------------------------------------------------
    @cached_property
    def lambda_min_Hw(self) -> float:
        """delta = lambda_min(H^w(X)) (Appendix C)."""
        return model.lambda_min(kernels.H_w(self.X))

    @cached_property
    def lambda_min_Hz(self) -> float:
        """lambda_min(H^z(X)) (Appendix C)."""
        return model.lambda_min(kernels.H_z(self.X))

    @cached_property
    def lambda_min_G0(self) -> float:
        return model.lambda_min(model.G_matrix(self.F0))

    @cached_property
    def lambda_min_H0(self) -> float:
        """lambda_min(H0), H0 = (X^T X) o (B0^T B0), B0 = diag(z0) A0."""
        return model.lambda_min(model.H_matrix(self.X, self.z0, self.A0))
