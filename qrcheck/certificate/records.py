"""The typed certificate: frozen records with ``to_json``/``from_json`` (CONTRACT, "Certificate keys").

:class:`Certificate` is the one in-memory form of a ``qrcheck verify`` result; its JSON form is the
CONTRACT dict, checked against the schema of :mod:`qrcheck.certificate.io` by :meth:`Certificate.validate`
(which :meth:`Certificate.to_json` and :meth:`Certificate.from_json` call). ``from_json(c.to_json())
== c`` holds, and ``Certificate.from_json(d).to_json()`` reproduces every key of a certificate
written by this release.

The top level is typed; the open-ended parts (a property's ``details`` and ``witness``, the regime's
conditions, the extra GD bookkeeping, provenance's BLAS build) are kept as immutable JSON values
(:class:`Frozen` mappings, tuples for lists), see :func:`freeze` and :func:`thaw`.

:class:`Parameters` is the one list of a run's parameters: the certificate's ``parameters``, a
sweep's run and error records and the equivalent ``qrcheck verify`` command line all derive from it,
and it holds the (n, S, m) defaults and the validation of the rates.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from .. import InputError
from ..results import PropertyResult, Sense, Status
from . import io

from ..draw import DEFAULT_M, DEFAULT_N, DEFAULT_S, SOURCES

PROPERTY_EQS = tuple(str(e) for e in range(19, 31))


# ---- immutable JSON values ------------------------------------------------------------------
class Frozen(Mapping[str, Any]):
    """An immutable JSON object (a read-only mapping whose values are frozen too)."""

    __slots__ = ("_d",)

    def __init__(self, d: Mapping[str, Any] = ()):
        object.__setattr__(self, "_d", {str(k): freeze(v) for k, v in dict(d).items()})

    def __getitem__(self, k: str) -> Any:
        return self._d[k]

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and self._d == dict(other)

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, _hashable(v)) for k, v in self._d.items())))

    def __setattr__(self, *_):
        raise AttributeError("Frozen is immutable")

    def __repr__(self) -> str:
        return f"Frozen({self._d!r})"


def _hashable(v: Any) -> Any:
    return tuple(_hashable(x) for x in v) if isinstance(v, tuple) else v


def freeze(obj: Any) -> Any:
    """An immutable copy of a JSON-like value: dicts -> :class:`Frozen`, lists -> tuples, numpy
    scalars and arrays -> Python values, non-finite floats -> None (as the JSON form has them)."""
    if isinstance(obj, Frozen):
        return obj
    if isinstance(obj, Mapping):
        return Frozen(obj)
    if isinstance(obj, (list, tuple, np.ndarray)):
        return tuple(freeze(v) for v in (obj.tolist() if isinstance(obj, np.ndarray) else obj))
    return io.clean(obj)


def thaw(obj: Any) -> Any:
    """The JSON form (dicts and lists) of a :func:`freeze` d value."""
    if isinstance(obj, Mapping):
        return {k: thaw(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return [thaw(v) for v in obj]
    return obj


def _num(x: Any) -> float | int | None:
    """A finite number (an int stays an int), or None (NaN and inf become null in JSON)."""
    if x is None:
        return None
    if isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)):
        return int(x)
    x = float(x)
    return x if math.isfinite(x) else None


def _int(x: Any) -> int | None:
    return None if x is None else int(x)


# ---- parameters -----------------------------------------------------------------------------
def check_rates(eta_w: float, eta_z: float, tol: float | None = None, *, no_gd: bool | None = None) -> None:
    """Validate the rates (and the tolerance, when given) of (12): the one place that does; one-line
    :class:`InputError`. ``no_gd=None`` (a command without that flag) asks for eta_w + eta_z > 0
    without suggesting ``--no-gd``."""
    given = (("eta_w", eta_w), ("eta_z", eta_z)) + ((("tol", tol),) if tol is not None else ())
    for name, v in given:
        if not np.isfinite(v) or v < 0:
            raise InputError(f"--{name.replace('_', '-')} must be a finite number >= 0, got {v}")
    if eta_w + eta_z <= 0 and not no_gd:
        raise InputError("--eta-w + --eta-z must be > 0" + ("" if no_gd is None else " (or pass --no-gd)"))
    if tol is not None and tol <= 0:
        raise InputError(f"--tol must be > 0, got {tol}")


@dataclass(frozen=True)
class Parameters:
    """The parameters of one verify run (certificate ``parameters``; CONTRACT keys first).

    n, S, m : sizes (X is n x m, W0 is S x n). seed : base seed of the sampled arrays.
    eta_w, eta_z, tol, max_steps, track_every : gradient descent (12). profile : the threshold
    profile's name (a built-in name, or a profile file's ``name``). z_dist, labels : how z0 and y
    are (or would have been) sampled. require, force, no_gd : gating. normalized : X's columns
    were rescaled to unit norm.
    """

    n: int = DEFAULT_N
    S: int = DEFAULT_S
    m: int = DEFAULT_M
    seed: int = 0
    eta_w: float = 1e-3
    eta_z: float = 0.0
    profile: str = "paper"
    z_dist: str = "rademacher"
    labels: str = "gaussian"
    tol: float = 1e-3
    max_steps: int = 100_000
    track_every: int = 0
    require: str = "regime"
    normalized: bool = False
    force: bool = False
    no_gd: bool = False
    # issue 14, written only when set: the bundled data set X came from, centring, baseline size
    dataset: str | None = None
    center: bool = False
    baseline: int = 0

    _OPTIONAL = {"dataset": None, "center": False, "baseline": 0}

    def validate(self) -> None:
        """Raise :class:`InputError` (one line) on bad rates, tolerance, step counts or gating."""
        check_rates(self.eta_w, self.eta_z, self.tol, no_gd=self.no_gd)
        if self.max_steps < 0:
            raise InputError(f"--max-steps must be >= 0, got {self.max_steps}")
        if self.track_every < 0:
            raise InputError(f"--track-every must be >= 0, got {self.track_every}")
        if self.require not in ("regime", "all", "none"):
            raise InputError(f"--require must be regime, all or none, got {self.require!r}")
        if self.baseline and (int(self.baseline) != self.baseline or self.baseline < 2):
            raise InputError(f"--baseline must be 0 (none) or an integer >= 2 (random instances), got {self.baseline}")
        if self.center and self.dataset is None:
            raise InputError("--center needs --dataset")

    def to_json(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)
                if not (f.name in self._OPTIONAL and getattr(self, f.name) == self._OPTIONAL[f.name])}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Parameters":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def mismatch(self, other: "Parameters") -> str | None:
        """The first parameter in which ``other`` differs from ``self`` (``"k = a there, b here"``)."""
        for f in fields(self):
            here, there = getattr(self, f.name), getattr(other, f.name)
            if here != there:
                return f"{f.name} = {there!r} there, {here!r} here"
        return None

    def verify_command(self, effort: Mapping[str, Any] | None = None, profile: str | None = None) -> list[str]:
        """The ``qrcheck verify`` command line that repeats this run (``effort``: the search effort's
        ``to_dict``; ``profile``: the ``--profile`` argument when it is a file, not a name)."""
        cmd = ["qrcheck", "verify", "--n", str(self.n), "--S", str(self.S), "--m", str(self.m),
               "--seed", str(self.seed), "--z-dist", self.z_dist, "--profile", profile or self.profile,
               "--eta-w", repr(self.eta_w), "--eta-z", repr(self.eta_z), "--labels", self.labels,
               "--tol", repr(self.tol), "--max-steps", str(self.max_steps), "--require", self.require]
        if effort is not None:
            cmd += ["--subset-samples", str(effort["subset_samples"]), "--restarts", str(effort["restarts"]),
                    "--iterations", str(effort["iterations"])]
            if effort.get("time_budget") is not None:
                cmd += ["--time-budget", repr(effort["time_budget"])]
        if self.track_every:
            cmd += ["--track-every", str(self.track_every)]
        cmd += [flag for flag, on in (("--no-gd", self.no_gd), ("--force", self.force),
                                      ("--normalize", self.normalized)) if on]
        if self.dataset is not None:
            cmd += ["--dataset", self.dataset] + (["--center"] if self.center else [])
        if self.baseline:
            cmd += ["--baseline", str(self.baseline)]
        return cmd


# ---- inputs ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class InputRecord:
    """CONTRACT ``inputs.<name>``: digest of the C-order little-endian float64 bytes, shape, source."""

    sha256: str
    shape: tuple[int, ...]
    source: str = "sampled"
    dtype: str = "float64"

    @classmethod
    def of(cls, a: np.ndarray, source: str = "sampled") -> "InputRecord":
        if source not in SOURCES:
            raise ValueError(f"unknown input source {source!r}; expected one of {', '.join(SOURCES)}")
        return cls(io.sha256_of(a), tuple(int(s) for s in np.shape(a)), source)

    def to_json(self) -> dict:
        return {"sha256": self.sha256, "shape": list(self.shape), "dtype": self.dtype, "source": self.source}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "InputRecord":
        return cls(d["sha256"], tuple(d["shape"]), d["source"], d.get("dtype", "float64"))


def inputs_of(draw) -> dict[str, InputRecord]:
    """The ``inputs`` records of a :class:`qrcheck.draw.Draw` (its arrays and per-array sources)."""
    return {k: InputRecord.of(a, draw.source(k)) for k, a in draw.arrays().items()}


@dataclass(frozen=True)
class ArraysRecord:
    """``arrays``: the embedded ``CERT.arrays.npz`` beside the certificate and its sha256."""

    file: str
    sha256: str

    def to_json(self) -> dict:
        return {"file": self.file, "sha256": self.sha256}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "ArraysRecord":
        return cls(d["file"], d["sha256"])


# ---- properties -----------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)  # PropertyResult's one-line repr
class PropertyRecord(PropertyResult):
    """``properties["NN"]``: a :class:`qrcheck.results.PropertyResult` (status, statistic, threshold
    C * L^p * g, method, the enclosure ``[lower, upper]`` written where either is known, witness,
    details) made deeply immutable, with non-finite numbers as None (as JSON has them)."""

    def __post_init__(self) -> None:
        for k in ("statistic", "threshold", "lower", "upper", "C", "p", "g"):
            object.__setattr__(self, k, _num(getattr(self, k)))
        object.__setattr__(self, "status", Status(self.status))
        object.__setattr__(self, "sense", Sense(self.sense))
        object.__setattr__(self, "details", freeze(self.details or {}))
        if self.witness is not None:
            object.__setattr__(self, "witness", freeze(self.witness))

    @classmethod
    def from_result(cls, r: PropertyResult) -> "PropertyRecord":
        return cls(**{f.name: getattr(r, f.name) for f in fields(PropertyResult)})

    def as_result(self) -> PropertyResult:
        """The plain :class:`qrcheck.results.PropertyResult` (details and witness as JSON values)."""
        kw = {f.name: getattr(self, f.name) for f in fields(PropertyResult)}
        kw.update(details=thaw(self.details), witness=None if self.witness is None else thaw(self.witness))
        return PropertyResult(**kw)

    def to_json(self) -> dict:
        """The CONTRACT form, written by :meth:`PropertyResult.to_json` (the one serialiser of a property)."""
        return io.clean(self.as_result().to_json())

    @classmethod
    def from_json(cls, eq: str, d: Mapping[str, Any]) -> "PropertyRecord":
        rule = d.get("rule") or {}
        return cls(eq=str(eq), name=d.get("name", ""), status=Status(d["status"]), sense=Sense(d.get("sense", "<=")),
                   statistic=d["statistic"], threshold=d["threshold"], method=d["method"], lower=d.get("lower"),
                   upper=d.get("upper"), C=rule.get("C"), p=rule.get("p"), g=rule.get("g"),
                   g_formula=rule.get("g_formula", ""), witness=d.get("witness"), details=d.get("details") or {})


# ---- gradient descent -----------------------------------------------------------------------
GD_KEYS = ("T", "final_error", "kappa_H", "D", "W_distance", "z_distance", "wall_seconds", "seconds_per_step")


@dataclass(frozen=True)
class GDRecord:
    """``gd``: the CONTRACT keys of (12), why it ran (or not), and ``extras`` (the trajectory,
    checkpoints, the activation-change set D of Appendix D, lambda_min's; :meth:`GDResult.to_json`).

    certified : every required property holds (GD ran on a certified draw, not under ``--force``).
    """

    ran: bool
    status: str
    reason: str
    certified: bool
    T: int | None = None
    final_error: float | None = None
    kappa_H: float | None = None
    D: int | None = None
    W_distance: float | None = None
    z_distance: float | None = None
    wall_seconds: float | None = None
    seconds_per_step: float | None = None
    extras: Frozen = field(default_factory=Frozen)

    def __post_init__(self) -> None:
        from ..gd import GDStatus

        object.__setattr__(self, "status", "not_run" if self.status == "not_run" else GDStatus(self.status))
        for k in ("final_error", "kappa_H", "W_distance", "z_distance", "wall_seconds", "seconds_per_step"):
            object.__setattr__(self, k, _num(getattr(self, k)))
        for k in ("T", "D"):
            object.__setattr__(self, k, _int(getattr(self, k)))
        object.__setattr__(self, "extras", freeze(self.extras or {}))

    @property
    def converged(self) -> bool:
        return self.ran and self.status == "converged"

    @classmethod
    def not_run(cls, reason: str, certified: bool) -> "GDRecord":
        """The record of a GD phase that did not run (``--no-gd``, or a required property violated)."""
        return cls(False, "not_run", reason, certified)

    @classmethod
    def from_result(cls, result, reason: str, certified: bool) -> "GDRecord":
        """From a :class:`qrcheck.gd.GDResult`."""
        return cls.from_json({**result.to_json(), "reason": reason, "certified": certified})

    def to_json(self) -> dict:
        d = {"ran": self.ran, "status": str(self.status), **{k: getattr(self, k) for k in GD_KEYS},
             **thaw(self.extras), "reason": self.reason, "certified": self.certified}
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "GDRecord":
        fixed = {"ran", "status", "reason", "certified", *GD_KEYS}
        return cls(bool(d["ran"]), d["status"], d.get("reason", ""), bool(d.get("certified", False)),
                   **{k: d.get(k) for k in GD_KEYS}, extras={k: v for k, v in d.items() if k not in fixed})


# ---- regime, provenance, verdict ------------------------------------------------------------
@dataclass(frozen=True)
class Regime:
    """``regime``: the case (16)/(17)/(18) the run is reported under, whether Theorem 2.3 applies,
    L = ln(nS), and the rest of :meth:`qrcheck.regime.RegimeReport.to_json` under ``extras``."""

    case: str
    theorem_applies: bool
    L: float | None = None
    extras: Frozen = field(default_factory=Frozen)

    def __post_init__(self) -> None:
        object.__setattr__(self, "L", _num(self.L))
        object.__setattr__(self, "extras", freeze(self.extras or {}))

    def to_json(self) -> dict:
        return {"case": self.case, "theorem_applies": self.theorem_applies, "L": self.L, **thaw(self.extras)}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Regime":
        return cls(d["case"], bool(d["theorem_applies"]), d.get("L"),
                   {k: v for k, v in d.items() if k not in ("case", "theorem_applies", "L")})


@dataclass(frozen=True)
class Provenance:
    """``provenance``: versions, BLAS build, platform, the command, the profile's full content,
    the search effort and the random-stream fingerprint (:func:`qrcheck.draw.random_stream_fingerprint`)."""

    qrcheck: str
    python: str
    numpy: str
    scipy: str
    blas: Frozen
    platform: str
    command: tuple[str, ...]
    profile: Frozen
    search_effort: Frozen
    random_stream: str | None = None
    extras: Frozen = field(default_factory=Frozen)

    def __post_init__(self) -> None:
        for k in ("blas", "profile", "search_effort", "extras"):
            object.__setattr__(self, k, freeze(getattr(self, k) or {}))
        object.__setattr__(self, "command", tuple(str(c) for c in self.command))

    _FIXED = ("qrcheck", "python", "numpy", "scipy", "blas", "platform", "command", "profile", "search_effort",
              "random_stream")

    def to_json(self) -> dict:
        d = {k: thaw(getattr(self, k)) for k in self._FIXED}
        if self.random_stream is None:
            del d["random_stream"]
        return {**d, **thaw(self.extras)}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Provenance":
        return cls(**{k: d.get(k) for k in cls._FIXED},
                   extras={k: v for k, v in d.items() if k not in cls._FIXED})


@dataclass(frozen=True)
class Verdict:
    """``verdict``: the outcome in words, starting ``pass:`` or ``fail:``."""

    text: str

    @property
    def passed(self) -> bool:
        return self.text.startswith("pass:")

    def __str__(self) -> str:
        return self.text

    #: the order the verdict counts the required properties' statuses in (CONTRACT)
    COUNTED = ("certified", "passed", "undecided", "vacuous", "not_applicable", "violated")

    @staticmethod
    def counts_text(counts: Mapping[str, int] | None) -> str:
        """" (6 certified, 1 passed, 3 vacuous)": how the required properties hold, zero counts left
        out; "" without counts (``--require none``)."""
        if not counts:
            return ""
        parts = [f"{counts[s]} {s.replace('_', ' ')}" for s in Verdict.COUNTED if counts.get(s)]
        return f" ({', '.join(parts)})" if parts else ""

    @classmethod
    def decide(cls, violated: tuple[str, ...], gd: GDRecord, case,
               counts: Mapping[str, int] | None = None) -> "Verdict":
        """The verdict of a run: ``violated`` the violated required properties, ``gd`` the GD phase,
        ``case`` the :class:`qrcheck.regime.Case` (a note is added when Theorem 2.3 does not apply),
        ``counts`` status -> number among the required properties (CONTRACT: a pass that rests on
        vacuous checks says so), written right after the first clause."""
        plural = "y" if len(violated) == 1 else "ies"
        ct = cls.counts_text(counts)
        if violated:
            text = f"fail: required propert{plural} violated " + ", ".join(f"({e})" for e in violated) + ct
            if gd.ran:
                text += f"; gradient descent (forced) {gd.status}"
        elif gd.ran and not gd.converged:
            text = f"fail: gradient descent {gd.status} after T = {gd.T} steps" + ct
        elif not gd.ran:
            text = f"pass: every required property holds{ct}; gradient descent not run"
        else:
            text = f"pass: every required property holds{ct}; gradient descent converged in T = {gd.T} steps"
            if gd.T == 0:   # --tol at or above the initial error: nothing was descended
                text += ": ||e_0|| < tol"
        if not case.theorem_applies:
            why = [w for w, bad in (("rates outside (15)", not case.rates_ok),
                                    ("m > o~(S)", not case.condition("m_S").holds),
                                    ("no case (16)-(18) holds", not case.applicable)) if bad]
            text += f" (outside Theorem 2.3: {'; '.join(why)}; nearest case ({case.case}))"
        return cls(text)


# ---- the certificate ------------------------------------------------------------------------
def now_utc() -> str:
    """The ``created`` stamp: ISO 8601, seconds, UTC offset."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Certificate(Mapping[str, Any]):
    """One ``qrcheck verify`` result (CONTRACT "Certificate keys"), frozen.

    It is also a read-only mapping over its JSON form (``cert["gd"]["status"]``, ``dict(cert)``),
    so code written for the CONTRACT dict reads it unchanged; the typed view is the attributes
    (``cert.gd.status``, ``cert.properties["29"].status``).

    ``properties`` maps "19".."30" to :class:`PropertyRecord`; ``required`` lists the properties
    whose violation fails the run; ``extras`` keeps any top-level key this release does not type
    (so reading and re-writing a certificate loses nothing). ``arrays`` is set when the arrays were
    embedded. The arrays themselves (X, W0, z0, y) travel in memory only, for :meth:`write` with
    ``embed_arrays=True``; they take no part in equality.
    """

    parameters: Parameters
    inputs: Frozen
    properties: Frozen
    required: tuple[str, ...]
    regime: Regime
    gd: GDRecord
    verdict: Verdict
    provenance: Provenance
    created: str = field(default_factory=now_utc)
    schema: str = io.SCHEMA_ID
    arrays: ArraysRecord | None = None
    extras: Frozen = field(default_factory=Frozen)
    data: Mapping[str, np.ndarray] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", Frozen(self.inputs))
        object.__setattr__(self, "properties", Frozen(self.properties))
        object.__setattr__(self, "required", tuple(self.required))
        object.__setattr__(self, "extras", freeze(self.extras or {}))

    @cached_property
    def _json(self) -> dict:
        return self.to_json()

    def __getitem__(self, key: str) -> Any:
        return self._json[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._json)

    def __len__(self) -> int:
        return len(self._json)

    # display: a readable repr, a notebook table, a rich table (qrcheck.results' one property table)
    def _title(self) -> str:
        p = self.parameters
        src = ", ".join(f"{k} {v.source}" for k, v in self.inputs.items())
        return (f"qrcheck.Certificate(n={p.n}, S={p.S}, m={p.m}, seed={p.seed}, profile={p.profile!r}, "
                f"eta_w={p.eta_w:g}, eta_z={p.eta_z:g}; {src})")

    def _footer(self) -> list[str]:
        from ..results import fmt
        gd = self.gd
        run = (f"gradient descent {gd.status}: T = {fmt(gd.T)}, final error {fmt(gd.final_error)}" if gd.ran
               else f"gradient descent not run ({gd.reason})")
        return ["required: " + ", ".join(f"({e})" for e in self.required), run, f"verdict: {self.verdict}",
                f"exit code {self.exit_code}"]

    def __repr__(self) -> str:
        from ..results import text_table
        return text_table(self._title(), self.properties.values(), self._footer())

    def _repr_html_(self) -> str:
        from ..results import html_table
        return html_table(self._title(), self.properties.values(), self._footer())

    def __rich__(self):
        from ..results import rich_table
        return rich_table(self._title(), self.properties.values(), self._footer())

    # issue 14's sections (kept as extras, read-only JSON values; None when absent): the kernel
    # diagnostics, the random baseline (qrcheck.baseline.Baseline.from_json reads it typed) and the data set
    @property
    def diagnostics(self) -> Frozen | None:
        return self.extras.get("diagnostics")

    @property
    def baseline(self) -> Frozen | None:
        return self.extras.get("baseline")

    @property
    def dataset(self) -> Frozen | None:
        return self.extras.get("dataset")

    @property
    def violated(self) -> tuple[str, ...]:
        """The required properties whose status is ``violated``, in equation order."""
        return tuple(e for e in self.properties if e in self.required
                     and self.properties[e].status is Status.VIOLATED)

    @property
    def exit_code(self) -> int:
        """``verify``'s exit code: 1 when a required property is violated or GD ran and did not
        converge, else 0."""
        return 1 if self.violated or (self.gd.ran and not self.gd.converged) else 0

    @property
    def not_certified(self) -> tuple[str, ...]:
        """The required properties whose status is not ``certified`` (what ``--strict`` refuses)."""
        return tuple(e for e in self.required if self.properties[e].status is not Status.CERTIFIED)

    @property
    def strict_exit_code(self) -> int:
        """``verify --strict``'s exit code: also 1 unless every required property is ``certified``."""
        return 1 if self.exit_code == 0 and self.not_certified else self.exit_code

    _TYPED = ("schema", "created", "parameters", "inputs", "properties", "required", "regime", "gd", "verdict",
              "provenance", "arrays")

    def to_json(self, *, validate: bool = True) -> dict:
        """The CONTRACT dict (JSON types only); schema-checked unless ``validate=False``."""
        d = {"schema": self.schema, "created": self.created, "parameters": self.parameters.to_json(),
             "inputs": {k: v.to_json() for k, v in self.inputs.items()},
             "properties": {k: v.to_json() for k, v in self.properties.items()},
             "required": list(self.required), "regime": self.regime.to_json(), "gd": self.gd.to_json(),
             "verdict": self.verdict.text, "provenance": self.provenance.to_json(), **thaw(self.extras)}
        if self.arrays is not None:
            d["arrays"] = self.arrays.to_json()
        d = io.clean(d)
        if validate:
            self.validate(d)
        return d

    @staticmethod
    def validate(d: Mapping[str, Any]) -> None:
        """Raise :class:`qrcheck.certificate.io.CertificateError` naming the first schema violation."""
        io.validate(d)

    @classmethod
    def from_json(cls, d: Mapping[str, Any], *, validate: bool = True) -> "Certificate":
        """Read the CONTRACT dict (``json.load`` of a certificate, schema /1 or /2) back."""
        if validate:
            cls.validate(d)
        return cls(parameters=Parameters.from_json(d["parameters"]),
                   inputs={k: InputRecord.from_json(v) for k, v in d["inputs"].items()},
                   properties={k: PropertyRecord.from_json(k, v) for k, v in d["properties"].items()},
                   required=tuple(d["required"]), regime=Regime.from_json(d["regime"]),
                   gd=GDRecord.from_json(d["gd"]), verdict=Verdict(d["verdict"]),
                   provenance=Provenance.from_json(d["provenance"]), created=d["created"], schema=d["schema"],
                   arrays=ArraysRecord.from_json(d["arrays"]) if d.get("arrays") is not None else None,
                   extras={k: v for k, v in d.items() if k not in cls._TYPED})

    @classmethod
    def read(cls, path: str | Path) -> "Certificate":
        """Read and schema-check the certificate at ``path`` (:func:`io.read_certificate`)."""
        return cls.from_json(io.read_certificate(path))

    def dumps(self) -> str:
        """Canonical JSON text (:func:`io.dumps`)."""
        return io.dumps(self.to_json())

    def write(self, path: str | Path, embed_arrays: bool | None = None) -> "Certificate":
        """Write atomically in canonical form (nothing half-written on failure). With
        ``embed_arrays``, also write X, W0, z0, y to ``CERT.arrays.npz`` beside it and record its
        name and sha256 under ``arrays``: both files or neither (:func:`io.write_with_arrays`).
        ``None`` (the default) embeds exactly when an input came from memory (``qrcheck.verify``
        on in-memory arrays): no seed or file regenerates those, and the audit needs them.
        Returns the certificate as written."""
        if embed_arrays is None:
            embed_arrays = self.data is not None and any(r.source == "memory" for r in self.inputs.values())
        if embed_arrays and self.data is None:
            raise InputError("embed_arrays: this certificate carries no arrays (read from a file?)")
        written = [self]

        def text_for(record: dict | None) -> str:   # schema-checked before anything is renamed
            cert = replace(self, arrays=ArraysRecord(record["file"], record["sha256"])) if record else self
            try:
                text = io.dumps(cert.to_json())
            except io.CertificateError as exc:
                raise io.CertificateError(f"internal error: {exc}; nothing written") from None
            written[0] = cert
            return text

        io.write_with_arrays(path, text_for, self.data if embed_arrays else None)  # both files or neither
        return written[0]
