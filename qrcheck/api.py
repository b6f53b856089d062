"""The Python API: :func:`check`, :func:`verify`, :func:`audit` and :class:`Report`.

``import qrcheck`` loads this module only on first use of one of its names (``qrcheck.check``), so
the import stays cheap; scipy, typer and rich are loaded only by the computations that need them.
In-memory arrays go through the same validation as ``qrcheck verify --X X.npy`` (one-line
:class:`qrcheck.InputError`, the CLI's message) and are recorded with ``source: "memory"`` and
their sha256 digests.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from . import InputError
from .results import PropertyResult, Status, html_table, rich_table, text_table

if TYPE_CHECKING:  # pragma: no cover
    from .certificate.records import Certificate
    from .draw import Draw
    from .profiles import Profile

__all__ = ["Report", "audit", "check", "verify"]

EQS = tuple(str(e) for e in range(19, 31))


def _eq_key(eq: Any) -> str:
    s = str(eq).strip().strip("()")
    if s not in EQS:
        raise KeyError(f"no property ({eq}); the properties are (19)-(30)")
    return s


def _profile(profile: "str | Path | Profile") -> "Profile":
    from .profiles import Profile, load_profile
    if isinstance(profile, Profile):
        return profile
    if not isinstance(profile, (str, Path)):
        raise InputError(f"--profile must be paper, sharp or a TOML profile file, got {profile!r}")
    return load_profile(str(profile))


def _effort(effort: Any):
    from .search import Effort, effort_from
    if isinstance(effort, Effort):
        return effort
    if isinstance(effort, str):
        return effort_from(effort)
    raise InputError(f"--effort must be low, default or high (or a qrcheck.search.Effort), got {effort!r}")


# ---------------------------------------------------------------------------------------------
# check

@dataclass(frozen=True, repr=False, eq=False)
class Report:
    """The twelve properties (19)-(30) of one draw, as :func:`check` returns them (frozen).

    ``report["29"]`` (or ``report[29]``) is property (29)'s :class:`qrcheck.results.PropertyResult`
    (``status``, ``statistic``, ``threshold``, ``lower``, ``upper``, ``witness``, ``details``);
    ``iter(report)`` yields the results in equation order; ``len(report) == 12`` (fewer when
    :func:`check` was given ``properties``).

    Attributes
    ----------
    results : tuple of PropertyResult
        In equation order (19)..(30).
    draw : qrcheck.draw.Draw
        The arrays checked: X (n, m), W0 (S, n), z0 (S,), y (m,), their ``sources``
        (``memory``, ``file`` or ``sampled``) and ``seed``.
    profile : qrcheck.profiles.Profile
        The threshold profile (``paper``, ``sharp`` or a file's).
    profile_spec : str
        What was passed as ``profile`` (a name or a file path), for the reproducing command.
    effort : qrcheck.search.Effort
        The search effort of (20), (21), (30).
    """

    results: tuple[PropertyResult, ...]
    draw: "Draw"
    profile: "Profile"
    profile_spec: str
    effort: Any
    _by_eq: Mapping[str, PropertyResult] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_eq", {r.eq: r for r in self.results})

    # container protocol --------------------------------------------------------------------
    def __getitem__(self, eq: str | int) -> PropertyResult:
        return self._by_eq[_eq_key(eq)]

    def __iter__(self) -> Iterator[PropertyResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __contains__(self, eq: object) -> bool:
        try:
            return _eq_key(eq) in self._by_eq
        except KeyError:
            return False

    def keys(self) -> tuple[str, ...]:
        """The equation numbers ``("19", ..., "30")``."""
        return tuple(r.eq for r in self.results)

    # summaries -----------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return self.draw.n

    @property
    def S(self) -> int:
        return self.draw.S

    @property
    def m(self) -> int:
        return self.draw.m

    @property
    def statuses(self) -> dict[str, Status]:
        """``{"19": Status.CERTIFIED, ...}``."""
        return {r.eq: r.status for r in self.results}

    @property
    def violated(self) -> tuple[str, ...]:
        """The properties whose status is ``violated``, in equation order."""
        return tuple(r.eq for r in self.results if r.status is Status.VIOLATED)

    @property
    def holds(self) -> bool:
        """No property is ``violated`` (vacuous, undecided and not-applicable ones do not fail:
        :attr:`qrcheck.Status.holds`)."""
        return not self.violated

    @property
    def inputs(self) -> dict[str, dict]:
        """CONTRACT ``inputs``: sha256 (C-order little-endian float64 bytes), shape, dtype, source."""
        from .certificate.io import sha256_of
        return {k: {"sha256": sha256_of(a), "shape": list(a.shape), "dtype": "float64",
                    "source": self.draw.sources.get(k, "sampled")} for k, a in self.draw.arrays().items()}

    def to_json(self) -> dict:
        """JSON form: ``parameters``, ``inputs`` and ``properties`` as a certificate has them
        (non-finite numbers as null)."""
        from .certificate.io import clean
        d = self.draw
        return clean({"parameters": {"n": d.n, "S": d.S, "m": d.m, "seed": d.seed, "profile": self.profile.name,
                                     "z_dist": d.z_dist, "labels": d.labels, "normalized": d.normalized},
                      "inputs": self.inputs, "properties": {r.eq: r.to_json() for r in self.results}})

    def command(self, folder: str | Path | None = None) -> str:
        """The ``qrcheck verify ... --no-gd`` line that reproduces this check. Arrays that no seed
        regenerates (memory, file) are written as ``.npy`` to ``folder`` (default
        :func:`qrcheck.testing.save_arrays`'s folder) and loaded from there; arrays generated by
        :func:`qrcheck.strategies.draws` are recognised by their digests and regenerated from their
        seed instead."""
        from .testing import _known, save_arrays
        d = self.draw
        given = [k for k in ("X", "W0", "z0") if d.sources.get(k) != "sampled"]
        cmd = ["qrcheck verify"]
        known = _known(d.arrays(), {**d.sources, "y": "sampled"}) if given else None
        if known is not None:
            cmd.append(known.seed_flags())
            given = ["X", "W0", "z0"]  # nothing else to add but the profile and effort
        elif given:
            path = save_arrays({k: getattr(d, k) for k in given}, folder)
            cmd += [f"--{k} {shlex.quote(str(path / (k + '.npy')))}" for k in given]
        fixed = {"n": ("X", "W0"), "S": ("W0", "z0"), "m": ("X",)}
        cmd += [f"--{dim} {getattr(d, dim)}" for dim, by in fixed.items() if not set(by) & set(given)]
        if len(given) < 3 and known is None:
            cmd.append(f"--seed {d.seed}")
            if "z0" not in given and d.z_dist != "rademacher":
                cmd.append(f"--z-dist {d.z_dist}")
        cmd.append(f"--profile {self.profile_spec}")
        if self.effort.preset != "default":
            cmd.append(f"--effort {self.effort.preset}" if self.effort.preset != "custom"
                       else f"--subset-samples {self.effort.subset_samples} --restarts {self.effort.restarts} "
                            f"--iterations {self.effort.iterations}")
        cmd.append("--no-gd")
        return " ".join(cmd)

    # display -------------------------------------------------------------------------------
    def _title(self) -> str:
        src = ", ".join(f"{k} {v}" for k, v in self.draw.sources.items())
        return (f"qrcheck.Report(n={self.n}, S={self.S}, m={self.m}, seed={self.draw.seed}, "
                f"profile={self.profile.name!r}; {src})")

    def _footer(self) -> list[str]:
        v = self.violated
        return ["violated: " + (", ".join(f"({e})" for e in v) if v else "none")]

    def __repr__(self) -> str:
        return text_table(self._title(), self.results, self._footer())

    def _repr_html_(self) -> str:
        return html_table(self._title(), self.results, self._footer())

    def __rich__(self):
        return rich_table(self._title(), self.results, self._footer())


def _selection(properties: Any) -> tuple[str, ...] | None:
    if properties is None:
        return None
    items = [properties] if isinstance(properties, (int, str)) else list(properties)
    try:
        return tuple(sorted({_eq_key(e) for e in items}, key=int))
    except KeyError as exc:
        raise InputError(str(exc.args[0])) from None


def _run_properties(draw: "Draw", profile: "Profile", effort: Any,
                    only: tuple[str, ...] | None = None) -> tuple[PropertyResult, ...]:
    from .properties import CheckContext, registry
    ctx = CheckContext.of(draw, profile, effort)
    return tuple(c.check(ctx) for c in registry() if only is None or c.eq in only)


def check(X: Any = None, W0: Any = None, z0: Any = None, *, S: int | None = None, seed: int = 0,
          z_dist: str = "rademacher", profile: "str | Path | Profile" = "paper", effort: Any = "default",
          n: int | None = None, m: int | None = None, normalize: bool = False,
          properties: Any = None) -> Report:
    """Check the quasirandom properties (19)-(30) (paper Section 3.1) on in-memory arrays.

    Parameters
    ----------
    X : (n, m) array_like, optional
        Data points as columns on the unit sphere S^{n-1} (Section 2.4). Sampled from ``seed``
        when not given (then ``n`` and ``m`` are needed).
    W0 : (S, n) array_like, optional
        First-layer weights at initialisation. Sampled i.i.d. N(0, 1) from ``seed`` when not given
        (then ``S`` is needed).
    z0 : (S,) array_like, optional
        Output weights at initialisation; sampled from ``z_dist`` when not given ((13)-(14)).
    S : int, optional
        Number of neurons; needed only when ``W0`` is not given.
    seed : int
        Base seed of the streams that sample the arrays not given (:func:`qrcheck.draw.streams`).
    z_dist : {"rademacher", "gaussian"}
        Distribution of a sampled z0.
    profile : str, path or Profile
        ``"paper"`` (the proofs' constants, one factor of L = ln(nS) per O~), ``"sharp"``
        (explicit tail bounds) or a TOML profile file (docs/profiles.md).
    effort : {"low", "default", "high"} or qrcheck.search.Effort
        Search effort of the subset searches of (20), (21), (30) (docs/search.md).
    n, m : int, optional
        Sizes when ``X`` is not given.
    normalize : bool
        Rescale X's columns to unit norm instead of rejecting them (``--normalize``).
    properties : int, str or iterable of them, optional
        Check only these properties (``properties=[19, 22]``; default all twelve): a fast
        hypothesis test of one property skips the subset searches of (20), (21), (30). The
        results are the same as in a full check.

    Returns
    -------
    Report
        ``report["29"].status`` etc.; ``iter(report)`` in equation order.

    Raises
    ------
    qrcheck.InputError
        Bad input, with the one-line message ``qrcheck verify`` prints (non-finite values, wrong
        dimensions or inconsistent shapes, X columns off the unit sphere, unknown profile).

    Examples
    --------
    >>> import numpy as np, qrcheck
    >>> X = np.linalg.qr(np.random.default_rng(0).standard_normal((20, 10)))[0]   # (20, 10)
    >>> report = qrcheck.check(X, S=40, seed=1, profile="sharp")
    >>> report["19"].status, report["19"].statistic < 1e-12    # orthonormal: <X^j, X^j'> = 0
    (<Status.CERTIFIED: 'certified'>, True)
    >>> report.inputs["X"]["source"], len(report)
    ('memory', 12)
    """
    from .draw import make_draw
    prof, eff, only = _profile(profile), _effort(effort), _selection(properties)
    draw = make_draw(n=n, S=S, m=m, seed=seed, z_dist=z_dist, X=X, W0=W0, z0=z0, normalize=normalize)
    spec = str(profile) if isinstance(profile, (str, Path)) else prof.name
    return Report(_run_properties(draw, prof, eff, only), draw, prof, spec, eff)


# ---------------------------------------------------------------------------------------------
# verify

_OPTIONS = {"z_dist": "rademacher", "profile": "paper", "eta_w": None, "eta_z": None, "labels": "gaussian",
            "tol": 1e-3, "max_steps": 100_000, "no_gd": False, "force": False, "require": "regime",
            "normalize": False, "effort": "default", "subset_samples": None, "restarts": None,
            "iterations": None, "time_budget": None, "track_every": 0, "paper_rates": None,
            "dataset": None, "center": False, "baseline": 0}


def verify(X: Any = None, W0: Any = None, z0: Any = None, y: Any = None, *, n: int | None = None,
           S: int | None = None, m: int | None = None, seed: int = 0, **options: Any) -> "Certificate":
    """What ``qrcheck verify`` does, in process: check (19)-(30), gate, run gradient descent (12)
    on a draw whose required properties hold, and return the certificate.

    Parameters
    ----------
    X : (n, m) array_like, optional
        Data points on the unit sphere; sampled from ``seed`` when not given.
    W0 : (S, n) array_like, optional
        First-layer weights at initialisation.
    z0 : (S,) array_like, optional
        Output weights at initialisation.
    y : (m,) array_like, optional
        Labels; sampled by ``labels`` when not given.
    n, S, m : int, optional
        Sizes of the arrays not given (CLI defaults 100, 500, 300 when nothing fixes them).
    seed : int
        Base seed of the sampled arrays.
    **options
        The CLI's flags with underscores: ``z_dist``, ``profile``, ``eta_w`` (default 1e-3),
        ``eta_z`` (default 0), ``paper_rates`` (``"stated"`` or ``"implied"``: Section 4's rates,
        :func:`qrcheck.rates.paper_rates`, instead of ``eta_w``/``eta_z``), ``labels``, ``tol``,
        ``max_steps``, ``no_gd``, ``force``, ``require``, ``normalize``, ``effort``,
        ``subset_samples``, ``restarts``, ``iterations``, ``time_budget``, ``track_every``;
        ``dataset`` (a data set bundled with scikit-learn, ``"digits"``, ...: X is m of its points,
        subsampled from ``seed``), ``center``, ``baseline`` (K random instances of the same sizes
        to compare every property with; docs/real-data.md).

    Returns
    -------
    qrcheck.Certificate
        Frozen; ``.properties["29"]``, ``.gd``, ``.verdict``, ``.exit_code`` (as the CLI's),
        ``.to_json()``, ``.write(path)``. In-memory arrays are recorded with ``source: "memory"``
        and their digests, and kept on the certificate, which :meth:`Certificate.write` embeds
        (``CERT.arrays.npz``) so that ``qrcheck audit`` can check them.

    Raises
    ------
    qrcheck.InputError
        Bad input or an unknown option, with the CLI's one-line message.
    """
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise InputError(f"unknown option {unknown[0]!r}; verify takes {', '.join(_OPTIONS)}")
    o = {**_OPTIONS, **options}
    from .draw import make_draw
    from .search import effort_from
    from . import _callable_module
    from .verify import VerifyConfig, verify as run_verify

    _callable_module("qrcheck.verify", "verify")  # importing it bound qrcheck.verify to the module

    if o["paper_rates"] is not None and (o["eta_w"] is not None or o["eta_z"] is not None):
        raise InputError("--paper-rates sets eta_w and eta_z: pass either --paper-rates or --eta-w/--eta-z")
    eff = o["effort"] if not isinstance(o["effort"], str) else effort_from(
        o["effort"], o["subset_samples"], o["restarts"], o["iterations"], o["time_budget"])
    arrays = {"X": X, "W0": W0, "z0": z0, "y": y}
    if o["dataset"] is not None:  # issue 14: verify draws X from the data set itself
        if any(v is not None for v in arrays.values()) or n is not None:
            raise InputError("dataset gives X (and n): it cannot be combined with n, X, W0, z0 or y")
        _profile(o["profile"])
        cfg = VerifyConfig(n=None, S=500 if S is None else int(S), m=m, seed=int(seed), z_dist=o["z_dist"],
                           labels=o["labels"], profile=str(o["profile"]), eta_w=1e-3 if o["eta_w"] is None
                           else float(o["eta_w"]), eta_z=0.0 if o["eta_z"] is None else float(o["eta_z"]),
                           tol=float(o["tol"]), max_steps=int(o["max_steps"]), no_gd=bool(o["no_gd"]),
                           force=bool(o["force"]), require=o["require"], track_every=int(o["track_every"]),
                           effort=eff, paper_rates=o["paper_rates"], dataset=o["dataset"],
                           center=bool(o["center"]), baseline=int(o["baseline"]))
        return run_verify(cfg, command=["qrcheck.verify"] + [f"{k}={v!r}" for k, v in options.items()]).certificate
    if o["center"]:
        raise InputError("center needs dataset (it centres the data set's points)")
    if all(v is None for v in arrays.values()):
        n, S, m = (100 if n is None else n), (500 if S is None else S), (300 if m is None else m)
    draw = make_draw(n=n, S=S, m=m, seed=seed, z_dist=o["z_dist"], labels=o["labels"],
                     normalize=o["normalize"], **arrays)
    eta_w = 1e-3 if o["eta_w"] is None else float(o["eta_w"])  # paper_rates replaces them in verify
    eta_z = 0.0 if o["eta_z"] is None else float(o["eta_z"])
    profile = o["profile"]
    _profile(profile)  # one-line error before any work
    cfg = VerifyConfig(n=draw.n, S=draw.S, m=draw.m, seed=int(seed), z_dist=o["z_dist"], labels=o["labels"],
                       profile=str(profile) if isinstance(profile, (str, Path)) else profile.name,
                       eta_w=eta_w, eta_z=eta_z, tol=float(o["tol"]), max_steps=int(o["max_steps"]),
                       no_gd=bool(o["no_gd"]), force=bool(o["force"]), require=o["require"],
                       track_every=int(o["track_every"]), normalize=bool(o["normalize"]), effort=eff,
                       paper_rates=o["paper_rates"], center=bool(o["center"]), baseline=int(o["baseline"]))
    command = ["qrcheck.verify"] + [f"{k}=<{draw.sources[k]} {tuple(getattr(draw, k).shape)}>" for k in arrays
                                    if draw.sources.get(k) != "sampled"]
    command += [f"{k}={v!r}" for k, v in (("n", n), ("S", S), ("m", m), ("seed", seed)) if v is not None]
    command += [f"{k}={v!r}" for k, v in options.items()]
    return run_verify(cfg, draw=draw, command=command).certificate


# ---------------------------------------------------------------------------------------------
# audit

def audit(path_or_certificate: Any, *, arrays: str | Path | None = None, replay_gd: bool = False):
    """Audit a certificate independently of the code that wrote it (``qrcheck audit``).

    Parameters
    ----------
    path_or_certificate : path, qrcheck.Certificate or dict
        A certificate file (its embedded ``CERT.arrays.npz`` is found beside it), or one in memory.
    arrays : path, optional
        An ``.npz`` with X, W0, z0, y (``--arrays``) for arrays no seed regenerates.
    replay_gd : bool
        Also replay gradient descent (12) and compare T and the final error (``--replay-gd``).

    Returns
    -------
    AuditReport
        ``.exit_code`` (0 consistent, 1 mismatch, 2 unreadable, 3 incomplete; as the CLI's) and
        ``.mismatches``.
    """
    from . import _callable_module
    from .audit import audit as run_audit

    _callable_module("qrcheck.audit", "audit")
    return run_audit(path_or_certificate, arrays=arrays, replay_gd=replay_gd)
