"""Planted defects: non-random structure the quasirandom properties must catch (docs/sharp.md).

Each generator takes a sampled :class:`~qrcheck.draw.Draw`, plants one defect and returns the new
draw with what was planted, so a test or a demo can check that the right property is ``violated``
with a witness pointing at the defect. Labels ``y`` are kept as they were. The changed array is
recorded with source ``"derived"`` (``Draw.sources``), so a certificate of a planted draw says so
and its audit does not try to resample it from the seed.

- :func:`with_cluster`: ``size`` data points nearly parallel to one direction -> (19), (20).
- :func:`with_slab`: ``count`` data points nearly orthogonal to one direction xi -> (21).
- :func:`with_starved_point`: a data point on which only ``active`` neurons are active -> (30);
  with ``squeeze`` the inactive neurons' preactivations there are also pushed towards 0 -> (28).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .draw import Draw


def _derived(draw: Draw, **arrays: np.ndarray) -> Draw:
    """``draw`` with ``arrays`` replaced and recorded as ``"derived"`` in its per-array sources."""
    return replace(draw, **arrays, sources={**dict(draw.sources), **dict.fromkeys(arrays, "derived")})


def _unit(v: np.ndarray, axis: int = 0) -> np.ndarray:
    return v / np.linalg.norm(v, axis=axis, keepdims=True)


@dataclass(frozen=True)
class Planted:
    """A draw with a planted defect.

    draw : the new draw.
    J : data points (0-based) that carry the defect (cluster, slab, or the starved point).
    direction : the cluster's common direction u (n,) or the slab's normal xi (n,); None otherwise.
    neurons : for a starved point, the neurons left active on it; None otherwise.
    """

    draw: Draw
    J: tuple[int, ...]
    direction: np.ndarray | None = None
    neurons: tuple[int, ...] | None = None


def with_cluster(draw: Draw, size: int, spread: float = 0.05, rng: np.random.Generator | None = None) -> Planted:
    """Replace ``size`` random columns of X (n, m) by unit vectors u + spread g / sqrt(n), normalised,
    g ~ N(0, I_n), around one random unit direction u: pairwise inner products ~ 1 - spread^2, so
    ||X^J||^2 ~ size (1 - spread^2) for the cluster J."""
    rng = rng or np.random.default_rng(0)
    n, m = draw.X.shape
    J = np.sort(rng.choice(m, size=size, replace=False))
    u = _unit(rng.standard_normal(n))
    X = np.array(draw.X)
    X[:, J] = _unit(u[:, None] + spread * rng.standard_normal((n, size)) / np.sqrt(n))
    return Planted(_derived(draw, X=X), tuple(int(j) for j in J), u)


def with_slab(draw: Draw, count: int, width: float = 1e-3, rng: np.random.Generator | None = None) -> Planted:
    """Replace ``count`` random columns of X (n, m) by unit vectors whose component along one random
    unit direction xi is at most ``width`` in absolute value (uniform in [-width, width]; the rest
    uniform on the orthogonal sphere): then for any n* <= count, the n* of them give
    ||(X^J)^T xi|| <= width sqrt(n*)."""
    rng = rng or np.random.default_rng(0)
    n, m = draw.X.shape
    J = np.sort(rng.choice(m, size=count, replace=False))
    xi = _unit(rng.standard_normal(n))
    g = rng.standard_normal((n, count))
    g -= np.outer(xi, xi @ g)
    t = rng.uniform(-width, width, size=count)
    X = np.array(draw.X)
    X[:, J] = _unit(g) * np.sqrt(1.0 - t ** 2) + np.outer(xi, t)
    return Planted(_derived(draw, X=X), tuple(int(j) for j in J), xi)


def with_starved_point(draw: Draw, j: int = 0, active: int = 3, squeeze: float | None = None,
                       rng: np.random.Generator | None = None) -> Planted:
    """Make data point j active on only ``active`` neurons: every other row w of W0 (S, n) with
    <w, X^j> > 0 is reflected, w <- w - 2 <w, X^j> X^j (row norms and |<w, X^j>| unchanged), and the
    ``active`` kept neurons are reflected to <w, X^j> > 0 if needed. With ``squeeze`` > 0 the inactive
    rows are also shifted along X^j so that <w, X^j> is uniform in [-squeeze, 0)."""
    rng = rng or np.random.default_rng(0)
    x = np.asarray(draw.X[:, j])
    W0 = np.array(draw.W0)
    S = W0.shape[0]
    keep = np.sort(rng.choice(S, size=active, replace=False))
    p = W0 @ x
    flip = np.where(np.isin(np.arange(S), keep), p < 0, p > 0)
    W0[flip] -= 2.0 * np.outer(p[flip], x)
    if squeeze is not None:
        rest = np.setdiff1d(np.arange(S), keep)
        target = -rng.uniform(0.0, squeeze, size=rest.size) - 1e-12
        W0[rest] += np.outer(target - W0[rest] @ x, x)
    return Planted(_derived(draw, W0=W0), (int(j),), None, tuple(int(k) for k in keep))
