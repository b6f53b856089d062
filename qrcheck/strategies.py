"""Hypothesis strategies for property-based tests of the quasirandom properties (19)-(30).

Needs the optional extra ``pip install qrcheck[hypothesis]``; nothing else in qrcheck imports this
module (``qrcheck.strategies`` is loaded on first use).

- :func:`draws`: draws ``(X, W0, z0, y)`` sampled as in the paper's Section 2.4 from a seed, each size
  an int or a strategy.
- :func:`sizes`, :func:`overparametrized` (``S >= c m ln m``), :func:`theorem_sizes` (inside a case
  (16)-(18) of Theorem 2.3, with rates satisfying (15)), :func:`paper_grid` (the cells of Section 4
  with the paper's rates): size strategies for the regimes a researcher states.
- :func:`planted`: draws with one named planted defect (:data:`DEFECTS`), each documented with the
  property that catches it and the sizes where it is caught.

Every generated draw is a :class:`Drawn`: a frozen, readable value (``Drawn(n=20, S=40, m=10,
seed=0)``) whose arrays are rebuilt from its integers, so a failing example shrinks to small sizes
and seed 0 and prints as one line. ``Drawn.kwargs`` feeds :func:`qrcheck.check` and
:func:`qrcheck.verify`; ``Drawn.command()`` is the ``qrcheck verify`` line that reproduces it.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Mapping, NamedTuple

import numpy as np

try:
    from hypothesis import strategies as st
except ImportError as exc:  # the optional extra
    raise ImportError("qrcheck.strategies needs hypothesis: pip install 'qrcheck[hypothesis]'") from exc

from . import InputError
from .rates import RateRule, paper_rates

__all__ = ["DEFECTS", "Defect", "Drawn", "Sizes", "draws", "known_draw", "overparametrized", "paper_grid",
           "planted", "plant", "sample", "seeds", "sizes", "theorem_sizes"]

SEED_MAX = 2**32 - 1
IntOrStrategy = "int | st.SearchStrategy[int]"


def _as_strategy(v: Any, name: str) -> st.SearchStrategy:
    if isinstance(v, st.SearchStrategy):
        return v
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0:
        return st.just(int(v))
    raise InputError(f"{name} must be a positive int or a hypothesis strategy, got {v!r}")


def seeds() -> st.SearchStrategy[int]:
    """Seeds of :func:`qrcheck.draw.streams`: integers in [0, 2**32 - 1], shrinking towards 0."""
    return st.integers(0, SEED_MAX)


# ---------------------------------------------------------------------------------------------
# the generated value

class Sizes(NamedTuple):
    """Sizes ``(n, S, m)`` and, where a strategy fixes them, the rates ``(eta_w, eta_z)`` of (12)."""

    n: int
    S: int
    m: int
    eta_w: float | None = None
    eta_z: float | None = None


@dataclass(frozen=True, repr=False, eq=False)
class Drawn:
    """One generated draw: X (n, m) unit columns, W0 (S, n), z0 (S,), y (m,), sampled from ``seed``
    by :func:`qrcheck.draw.make_draw` (Section 2.4), then, for :func:`planted`, given one defect.

    Attributes
    ----------
    n, S, m, seed, z_dist, labels : what the arrays are sampled from.
    defect : name of the planted defect (:data:`DEFECTS`) or None.
    params : the defect's parameters (``{"size": 5, "spread": 0.05}``).
    catches : the properties (equation numbers) that must catch the defect, e.g. ``("19", "20")``.
    J : data points (0-based) carrying the defect, or neurons for row defects (:attr:`neurons`).
    neurons : neurons involved (starved point: the ones left active; short rows; near-orthogonal).
    eta_w, eta_z : rates fixed by the size strategy (:func:`theorem_sizes`, :func:`paper_grid`), else None.
    """

    n: int
    S: int
    m: int
    seed: int = 0
    z_dist: str = "rademacher"
    labels: str = "gaussian"
    defect: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    eta_w: float | None = None
    eta_z: float | None = None
    catches: tuple[str, ...] = ()
    J: tuple[int, ...] = ()
    neurons: tuple[int, ...] = ()
    _arrays: Mapping[str, np.ndarray] = field(default_factory=dict)

    # arrays -------------------------------------------------------------------------------
    X = property(lambda self: self._arrays["X"], doc="(n, m) data, unit columns.")
    W0 = property(lambda self: self._arrays["W0"], doc="(S, n) first-layer weights at initialisation.")
    z0 = property(lambda self: self._arrays["z0"], doc="(S,) output weights at initialisation.")
    y = property(lambda self: self._arrays["y"], doc="(m,) labels.")

    def arrays(self) -> dict[str, np.ndarray]:
        """``{"X", "W0", "z0", "y"}`` (read-only float64)."""
        return dict(self._arrays)

    @property
    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`qrcheck.check` (``X, W0, z0``) and, with ``y``,
        :func:`qrcheck.verify`: ``qrcheck.check(**d.kwargs)``; plus ``eta_w``/``eta_z`` when the
        size strategy fixed them (only :func:`qrcheck.verify` takes those: use :attr:`verify_kwargs`)."""
        return {"X": self.X, "W0": self.W0, "z0": self.z0}

    @property
    def verify_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`qrcheck.verify`: the four arrays and the rates if fixed."""
        kw: dict[str, Any] = {"X": self.X, "W0": self.W0, "z0": self.z0, "y": self.y}
        if self.eta_w is not None:
            kw["eta_w"] = self.eta_w
        if self.eta_z is not None:
            kw["eta_z"] = self.eta_z
        return kw

    def seed_flags(self) -> str:
        """``--n .. --S .. --m .. --seed ..`` (and ``--z-dist``/``--labels`` when not the default):
        the flags that regenerate an unplanted draw."""
        zd = "" if self.z_dist == "rademacher" else f" --z-dist {self.z_dist}"
        lb = "" if self.labels == "gaussian" else f" --labels {self.labels}"
        return f"--n {self.n} --S {self.S} --m {self.m} --seed {self.seed}{zd}{lb}"

    def command(self, profile: str = "paper", *, extra: str = "") -> str:
        """The ``qrcheck verify`` line that reproduces this draw. An unplanted draw is regenerated
        from its seed; a planted one has to be loaded from files (``--X X.npy ...``): write them
        with :func:`qrcheck.testing.save_arrays` (the assertion helpers do so on failure)."""
        rates = "".join(f" --{k.replace('_', '-')} {v:g}" for k, v in (("eta_w", self.eta_w), ("eta_z", self.eta_z))
                        if v is not None)
        if self.defect is not None:
            files = " ".join(f"--{k} {k}.npy" for k in ("X", "W0", "z0", "y"))
            return f"qrcheck verify {files} --profile {profile}{rates}{extra}"
        return f"qrcheck verify {self.seed_flags()} --profile {profile}{rates}{extra}"

    # display ------------------------------------------------------------------------------
    def __repr__(self) -> str:
        parts = [f"n={self.n}", f"S={self.S}", f"m={self.m}", f"seed={self.seed}"]
        if self.z_dist != "rademacher":
            parts.append(f"z_dist={self.z_dist!r}")
        if self.labels != "gaussian":
            parts.append(f"labels={self.labels!r}")
        for k in ("eta_w", "eta_z"):
            if getattr(self, k) is not None:
                parts.append(f"{k}={getattr(self, k):g}")
        if self.defect is not None:
            parts.append(f"defect={self.defect!r}")
            parts += [f"{k}={v!r}" for k, v in self.params.items()]
        return f"Drawn({', '.join(parts)})"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # IPython and hypothesis's falsifying examples
        p.text(repr(self))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Drawn) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))


# digests of the arrays of recently generated unplanted draws -> the draw, so that a failing
# check on them is reproduced by a seed (``qrcheck verify --n .. --seed ..``), not by files
_KNOWN: "OrderedDict[tuple[str, ...], Drawn]" = OrderedDict()
_KNOWN_MAX = 256


def _digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a, dtype="<f8").tobytes()).hexdigest()


def known_draw(X: np.ndarray, W0: np.ndarray, z0: np.ndarray, y: np.ndarray | None = None) -> Drawn | None:
    """The unplanted :class:`Drawn` among the last few hundred generated here whose X, W0, z0 (and
    y, when given) are these arrays, bit for bit; else None."""
    key = (_digest(X), _digest(W0), _digest(z0))
    d = _KNOWN.get(key)
    if d is None or (y is not None and _digest(y) != _digest(d.y)):
        return None
    return d


def _make(n: int, S: int, m: int, seed: int, z_dist: str, labels: str, eta_w=None, eta_z=None,
          register: bool = True) -> Drawn:
    from .draw import make_draw
    d = make_draw(n=n, S=S, m=m, seed=seed, z_dist=z_dist, labels=labels)
    out = Drawn(n, S, m, seed, z_dist, labels, eta_w=eta_w, eta_z=eta_z, _arrays=d.arrays())
    if register:
        _KNOWN[(_digest(d.X), _digest(d.W0), _digest(d.z0))] = out
        while len(_KNOWN) > _KNOWN_MAX:
            _KNOWN.popitem(last=False)
    return out


def sample(n: int, S: int, m: int, seed: int = 0, z_dist: str = "rademacher", labels: str = "gaussian") -> Drawn:
    """The :class:`Drawn` that :func:`draws` generates for these sizes and seed, without hypothesis
    (the arrays of ``qrcheck verify --n n --S S --m m --seed seed``)."""
    return _make(int(n), int(S), int(m), int(seed), z_dist, labels)


# ---------------------------------------------------------------------------------------------
# sizes

@st.composite
def sizes(draw, n: Any = st.integers(2, 30), S: Any = st.integers(2, 60), m: Any = st.integers(2, 20)) -> Sizes:
    """Sizes ``(n, S, m)``, each an int or a strategy; shrink towards the strategies' minima.

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(sizes(n=20, S=st.integers(40, 80), m=10))
    ... def test(s): assert s.n == 20 and 40 <= s.S <= 80
    """
    return Sizes(draw(_as_strategy(n, "n")), draw(_as_strategy(S, "S")), draw(_as_strategy(m, "m")))


@st.composite
def overparametrized(draw, c: float = 10.0, n: Any = st.integers(2, 30), m: Any = st.integers(2, 12),
                     slack: float = 2.0) -> Sizes:
    """Sizes with ``S >= c m ln m``, the width at which matrix Chernoff makes (29)
    (``lambda_min(G0) >= Omega~(S)``) hold for a random draw; ``S`` ranges over
    ``[ceil(c m ln m), slack * ceil(c m ln m)]`` (at least 2) and shrinks to the smallest allowed.

    Parameters
    ----------
    c : float
        The constant of ``S >= c m ln m``.
    n, m : int or strategy
        Dimension and number of points.
    slack : float
        Upper end of ``S`` as a multiple of the lower one.
    """
    nn, mm = draw(_as_strategy(n, "n")), draw(_as_strategy(m, "m"))
    lo = max(2, math.ceil(c * mm * math.log(mm)))
    S = draw(st.integers(lo, max(lo, math.ceil(slack * lo))))
    return Sizes(nn, S, mm)


def _theorem_rates(case: str, n: int, S: int, m: int) -> tuple[float, float]:
    """Rates inside (15) and on the right side of case's ratio condition, one factor of L each
    (qrcheck.regime's convention): half of what (15) allows."""
    L = math.log(n * S)
    w_max = min(1 / (S * S * L), n / (m * S * S * L))
    z_max = 1 / (m * S * S * L)
    if case == "16":
        return w_max / 2, 0.0
    ratio = L * (m * m / (n * S) if case == "17" else 1 + m / n)
    eta_z = z_max / 2
    return min(w_max / 2, eta_z / (2 * ratio)), eta_z


@st.composite
def theorem_sizes(draw, case: str = "16", n: Any = st.integers(10, 40), S: Any = st.integers(40, 400),
                  rates: tuple[float, float] | None = None) -> Sizes:
    """Sizes ``(n, S, m)`` and rates ``(eta_w, eta_z)`` inside case (16), (17) or (18) of Theorem 2.3.

    The hypotheses are evaluated by :func:`qrcheck.regime.classify`, which makes every o~ / omega~
    explicit with one factor of ``L = ln(nS)`` (docs/regime.md): (15) ``eta_w <= 1/(S^2 L)``,
    ``eta_w <= n/(m S^2 L)``, ``eta_z <= 1/(m S^2 L)``; ``m <= S/L``; (16) ``m <= n S^{1/4}/L`` and
    ``eta_z/eta_w <= S/(m L)``; (17) ``m <= n S^{1/4}/L`` and ``eta_z/eta_w >= L m^2/(nS)``; (18)
    ``eta_z/eta_w >= L (1 + m/n)``. ``m`` is drawn from ``[1, m_max]`` with ``m_max`` the largest
    these allow; ``(n, S)`` with no room for ``m`` are rejected (hypothesis filters them).

    Parameters
    ----------
    case : {"16", "17", "18"}
    n, S : int or strategy
    rates : (eta_w, eta_z), optional
        Fixed rates; by default half of what (15) allows, on the right side of the case's ratio
        (eta_z = 0 for (16)). Returned in ``Sizes.eta_w``, ``Sizes.eta_z``.
    """
    from .regime import classify
    if case not in ("16", "17", "18"):
        raise InputError(f"case must be '16', '17' or '18', got {case!r}")
    nn, SS = draw(_as_strategy(n, "n")), draw(_as_strategy(S, "S"))
    L = math.log(nn * SS)
    m_max = SS / L if case == "18" else min(SS / L, nn * SS ** 0.25 / L)
    st_m = st.integers(1, max(1, math.floor(m_max)))
    mm = draw(st_m)
    eta_w, eta_z = rates if rates is not None else _theorem_rates(case, nn, SS, mm)
    c = classify(nn, SS, mm, eta_w, eta_z)
    from hypothesis import assume
    assume(c.theorem_applies and case in c.applicable)
    return Sizes(nn, SS, mm, float(eta_w), float(eta_z))


def paper_grid(S: Any = None, m_max: int | None = None, rule: RateRule = "implied",
               step: str = "table") -> st.SearchStrategy[Sizes]:
    """The cells of the paper's Section 4 with the paper's rates: ``n = 100``, ``S`` in
    {100, 200, 500, 1000}; ``m = 100, 200, ..., 1000`` (``step="table"``: the 40 rows of Table 1)
    or ``m = 100, 100 + S/10, ..., 1000`` (``step="text"``: every cell the text says was run).
    ``eta_w, eta_z`` are :func:`qrcheck.rates.paper_rates` under ``rule`` (``"implied"``, the rule
    that reproduces the printed Table 1, docs/errata.md erratum 12; or ``"stated"``). Shrinks
    towards the smallest cell (S = 100, m = 100).

    Parameters
    ----------
    S : int, iterable of int, or None
        Restrict to these widths (default all four).
    m_max : int, optional
        Only cells with ``m <= m_max`` (keeps GD-based tests fast: ``S=[100, 200], m_max=100``).
    rule : {"implied", "stated"}
    step : {"table", "text"}
    """
    if step not in ("table", "text"):
        raise InputError(f"step must be 'table' or 'text', got {step!r}")
    widths = (100, 200, 500, 1000) if S is None else ((S,) if isinstance(S, int) else tuple(S))
    cells = []
    for s in sorted(widths):
        if s not in (100, 200, 500, 1000):
            raise InputError(f"Section 4 has S in 100, 200, 500, 1000, not {s}")
        for m in range(100, 1001, 100 if step == "table" else s // 10):
            if m_max is None or m <= m_max:
                eta_w, eta_z = paper_rates(s, m, rule)
                cells.append(Sizes(100, s, m, eta_w, eta_z))
    if not cells:
        raise InputError("no Section 4 cell within these bounds")
    cells.sort(key=lambda c: (c.S * c.m, c.S))
    return st.sampled_from(cells)


# ---------------------------------------------------------------------------------------------
# draws

@st.composite
def draws(draw, n: Any = st.integers(2, 30), S: Any = st.integers(2, 60), m: Any = st.integers(2, 20),
          z_dist: Any = "rademacher", labels: Any = "gaussian", seed: Any = None,
          sizes: st.SearchStrategy[Sizes] | None = None) -> Drawn:
    """Draws ``(X, W0, z0, y)`` of Section 2.4, sampled by :func:`qrcheck.draw.make_draw`.

    Parameters
    ----------
    n, S, m : int or strategy of int
        Input dimension, neurons, data points (ignored when ``sizes`` is given).
    z_dist : {"rademacher", "gaussian"} or a strategy of them
        Distribution of z0 ((13)-(14)).
    labels : {"gaussian", "low", "high", "local"} or a strategy of them
        How y is drawn (Section 4).
    seed : int or strategy, optional
        Default :func:`seeds` (shrinks towards 0).
    sizes : strategy of :class:`Sizes`, optional
        One of :func:`sizes`, :func:`overparametrized`, :func:`theorem_sizes`, :func:`paper_grid`;
        rates it fixes are kept in ``Drawn.eta_w`` / ``eta_z``.

    Returns
    -------
    strategy of :class:`Drawn`
    """
    s = draw(sizes) if sizes is not None else Sizes(draw(_as_strategy(n, "n")), draw(_as_strategy(S, "S")),
                                                    draw(_as_strategy(m, "m")))
    zd = draw(z_dist if isinstance(z_dist, st.SearchStrategy) else st.just(z_dist))
    lb = draw(labels if isinstance(labels, st.SearchStrategy) else st.just(labels))
    sd = draw(seeds() if seed is None else (seed if isinstance(seed, st.SearchStrategy) else st.just(int(seed))))
    return _make(s.n, s.S, s.m, sd, zd, lb, s.eta_w, s.eta_z)


# ---------------------------------------------------------------------------------------------
# planted defects

def _unit(v: np.ndarray, axis: int = 0) -> np.ndarray:
    return v / np.linalg.norm(v, axis=axis, keepdims=True)


def _short_rows(d, count: int, scale: float, rng):
    """``count`` rows of W0 (S, n) rescaled to norm ``scale * sqrt(n)``."""
    W0 = np.array(d.W0)
    rows = np.sort(rng.choice(d.S, size=count, replace=False))
    W0[rows] *= (scale * math.sqrt(d.n) / np.linalg.norm(W0[rows], axis=1))[:, None]
    return {"W0": W0}, (), tuple(int(r) for r in rows)


def _few_large_z0(d, count: int, floor: float, rng):
    """z0 with ``count`` entries +-sqrt(S / count) (so ||z0||^2 ~ S, as for Rademacher z0) and the
    other S - count entries +-floor."""
    big = np.sort(rng.choice(d.S, size=count, replace=False))
    z0 = rng.choice(np.array([-1.0, 1.0]), size=d.S) * floor
    z0[big] = rng.choice(np.array([-1.0, 1.0]), size=count) * math.sqrt(d.S / count)
    return {"z0": z0}, (), tuple(int(b) for b in big)


def _near_orthogonal(d, count: int, width: float, rng, j: int = 0):
    """``count`` rows w of W0 moved along X^j so that <w, X^j> is uniform in [-width, width]
    (the rest of w unchanged): many neurons nearly orthogonal to one data point."""
    x = np.asarray(d.X[:, j])
    W0 = np.array(d.W0)
    rows = np.sort(rng.choice(d.S, size=count, replace=False))
    t = rng.uniform(-width, width, size=count)
    W0[rows] += np.outer(t - W0[rows] @ x, x)
    return {"W0": W0}, (int(j),), tuple(int(r) for r in rows)


def _from_planted(fn, key: str, d, rng, **kw):
    from .draw import Draw
    base = Draw(X=d.X, W0=d.W0, z0=d.z0, y=d.y)
    p = fn(base, rng=rng, **kw)
    return {key: getattr(p.draw, key)}, tuple(p.J), tuple(p.neurons or ())


def _cluster(d, size: int, spread: float, rng):
    from .planted import with_cluster
    return _from_planted(with_cluster, "X", d, rng, size=size, spread=spread)


def _slab(d, count: int, width: float, rng):
    from .planted import with_slab
    return _from_planted(with_slab, "X", d, rng, count=count, width=width)


def _starved(d, active: int, rng, j: int = 0):
    from .planted import with_starved_point
    return _from_planted(with_starved_point, "W0", d, rng, j=j, active=active)


@dataclass(frozen=True)
class Defect:
    """A planted defect: what it plants, the properties that catch it, its parameters' defaults,
    the default sizes (where it is caught) and the documented detection range."""

    name: str
    catches: tuple[str, ...]
    summary: str
    defaults: Mapping[str, Any]
    sizes: Sizes
    detected: str


DEFECTS: dict[str, Defect] = {
    "cluster": Defect(
        "cluster", ("19", "20"),
        "`size` columns of X replaced by unit vectors around one random direction u "
        "(u + spread g / sqrt(n), normalised): pairwise inner products ~ 1 - spread^2",
        {"size": 8, "spread": 0.05}, Sizes(20, 40, 10),
        "(19) violated under `sharp` for n >= 10 with size >= 2, and at n = 5 with size = 8 (not with "
        "size = 2); (20) violated under `sharp` at (n, S, m) = (20, 40, 40) and (50, 20, 200) with "
        "size >= 20. Under `paper` (19) is vacuous until 2 L n^{-1/2} < 1 (n > 4 L^2, several hundred)"),
    "slab": Defect(
        "slab", ("21",),
        "`count` columns of X within `width` of a hyperplane xi^perp (near-hyperplane points)",
        {"count": 200, "width": 1e-3}, Sizes(10, 20, 400),
        "(21) violated under `sharp` at (n, S, m) = (10, 20, 400) with count = 200 (count = 120: about "
        "half the seeds: the subset search must find the slab); not under `paper` there"),
    "short_rows": Defect(
        "short_rows", ("22",),
        "`count` rows of W0 rescaled to norm scale * sqrt(n)",
        {"count": 1, "scale": 0.1}, Sizes(20, 40, 10),
        "(22) violated under `paper` at any size (scale < 2^{-1/2}); under `sharp` for n >= 10 at "
        "scale 0.1 with S <= 1000 (its threshold, the sqrt of chi^2_n's delta/S quantile, is tiny "
        "at small n: not caught at n <= 4); exact"),
    "few_large_z0": Defect(
        "few_large_z0", ("24",),
        "z0 has `count` entries +-sqrt(S/count) and S - count entries +-floor",
        {"count": 2, "floor": 1e-4}, Sizes(20, 40, 10),
        "(24) violated whenever count < S/L under `paper` (count < S/2 under `sharp`) and floor "
        "is below the profile's zeta_0 (1/L under `paper`, 1e-3 under `sharp`); exact, any size"),
    "near_orthogonal": Defect(
        "near_orthogonal", ("28",),
        "`count` rows of W0 moved so that their preactivation <w, X^0> on data point 0 is uniform "
        "in [-width, width]",
        {"count": 10, "width": 1e-4}, Sizes(20, 40, 10),
        "(28) violated under `paper` and `sharp` at (20, 40, 10) with count >= 10, width <= 1e-4 "
        "(and count = 30, width = 1e-3); exact"),
    "starved_point": Defect(
        "starved_point", ("30",),
        "data point 0 active on only `active` neurons (the others reflected: <w, X^0> -> -<w, X^0>); "
        "active = 0 leaves it dead",
        {"active": 0}, Sizes(20, 40, 10),
        "(30) violated under `paper` whenever active <= S* (S* = 5 at (20, 40, 10), 22 at "
        "(20, 200, 20), 83 at (20, 900, 40)); under `sharp` (S* = 0 at these sizes) only a dead "
        "point, active = 0, at any of them"),
}
DEFECTS["near_hyperplane"] = DEFECTS["slab"]
_PLANTERS = {"cluster": _cluster, "slab": _slab, "near_hyperplane": _slab, "short_rows": _short_rows,
             "few_large_z0": _few_large_z0, "near_orthogonal": _near_orthogonal, "starved_point": _starved}


def plant(defect: str, n: int | None = None, S: int | None = None, m: int | None = None, seed: int = 0,
          z_dist: str = "rademacher", **params: Any) -> Drawn:
    """The draw of :func:`planted` without hypothesis: sample ``(n, S, m, seed)`` and plant ``defect``.

    Sizes default to the defect's :attr:`Defect.sizes`; parameters to :attr:`Defect.defaults`. The
    defect's own random choices (which points, which direction) come from ``seed`` too.
    """
    if defect not in DEFECTS:
        raise InputError(f"unknown defect {defect!r}; known: {', '.join(DEFECTS)}")
    spec = DEFECTS[defect]
    unknown = set(params) - set(spec.defaults)
    if unknown:
        raise InputError(f"defect {defect!r} takes {', '.join(spec.defaults)}, not {', '.join(sorted(unknown))}")
    p = {**spec.defaults, **params}
    n, S, m = (spec.sizes.n if n is None else n, spec.sizes.S if S is None else S,
               spec.sizes.m if m is None else m)
    base = _make(n, S, m, seed, z_dist, "gaussian", register=False)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(7,)))
    limit = {"size": m, "count": S if defect in ("short_rows", "few_large_z0", "near_orthogonal") else m,
             "active": S}
    for k, v in p.items():
        low = 0 if k == "active" else 1
        if k in limit and not low <= v <= limit[k]:
            raise InputError(f"defect {defect!r}: {k} = {v} must be in [{low}, {limit[k]}] at these sizes")
    changed, J, neurons = _PLANTERS[defect](base, rng=rng, **p)
    arrays = dict(base.arrays())
    for k, a in changed.items():
        a = np.ascontiguousarray(a, dtype=np.float64)
        a.setflags(write=False)
        arrays[k] = a
    return Drawn(n, S, m, seed, z_dist, "gaussian", defect=defect, params=p, catches=spec.catches,
                 J=J, neurons=neurons, _arrays=arrays)


@st.composite
def planted(draw, defect: str, n: Any = None, S: Any = None, m: Any = None, seed: Any = None,
            z_dist: Any = "rademacher", **params: Any) -> Drawn:
    """Draws with one planted defect (:data:`DEFECTS`), sizes and parameters ints or strategies.

    =============== ========== ==================================================================
    defect          caught by  detected (measured; tests/test_strategies.py checks the defaults)
    =============== ========== ==================================================================
    cluster         (19), (20) (19) under ``sharp``, n >= 10 (size >= 2); (20) under ``sharp`` at
                               (20, 40, 40) with size >= 20
    slab            (21)       under ``sharp`` at (10, 20, 400), count = 200
    short_rows      (22)       ``paper`` any size, ``sharp`` n >= 10 (exact)
    few_large_z0    (24)       count < S/L (``paper``) or S/2 (``sharp``), floor < zeta_0 (exact)
    near_orthogonal (28)       both profiles at (20, 40, 10), count >= 10, width <= 1e-4 (exact)
    starved_point   (30)       ``paper`` when active <= S*; ``sharp`` when active = 0 (dead)
    =============== ========== ==================================================================

    (``near_hyperplane`` is another name of ``slab``.) ``Drawn.catches`` names the properties and
    ``Drawn.J`` / ``Drawn.neurons`` where the defect sits. Sizes default to the defect's
    :attr:`Defect.sizes` (where it is caught); the seed shrinks towards 0.
    """
    if defect not in DEFECTS:
        raise InputError(f"unknown defect {defect!r}; known: {', '.join(DEFECTS)}")
    spec = DEFECTS[defect]
    get = lambda v, name, dflt: draw(_as_strategy(dflt if v is None else v, name))  # noqa: E731
    nn, SS, mm = get(n, "n", spec.sizes.n), get(S, "S", spec.sizes.S), get(m, "m", spec.sizes.m)
    sd = draw(seeds() if seed is None else (seed if isinstance(seed, st.SearchStrategy) else st.just(int(seed))))
    zd = draw(z_dist if isinstance(z_dist, st.SearchStrategy) else st.just(z_dist))
    p = {k: draw(v) if isinstance(v, st.SearchStrategy) else v for k, v in params.items()}
    return plant(defect, nn, SS, mm, sd, zd, **p)
