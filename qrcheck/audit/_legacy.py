"""``qrcheck audit``: re-derive, claim by claim, everything a certificate says (docs/certificates.md).

What is checked, in order:

1. the file is strict JSON, an object tagged ``"schema": "qrcheck.certificate/1"`` (else exit 2), and it
   matches the JSON Schema (each violation is a mismatch, exit 1);
2. what needs no arrays: input shapes against (n, S, m); the profile (rebuilt from the certificate's own
   copy of its constants, ``provenance.profile``; a built-in name must carry the built-in constants);
   the regime case (16)-(18), the required set, the verdict and the gating of gradient descent; that
   every status follows from its statistic, threshold and bounds as CONTRACT defines the statuses;
   the internal consistency of the GD record;
3. the arrays: loaded from ``--arrays`` or the embedded ``.npz`` (its own sha256 checked first), or
   regenerated from the seed; their sha256 digests are compared with ``inputs``;
4. with the arrays: every property checker is re-run on them under the certificate's profile; exact
   statistics, every threshold, the proved bounds and exact details are compared; each witness's value
   is recomputed from its indices by independent numpy/scipy code; with ``--replay-gd``, (12) is replayed
   and T, D, the distances and kappa_H compared.

Tolerances: a recomputed number ``r`` confirms a claimed ``c`` when
``|c - r| <= RTOL * max(1, |c|, |r|)`` (:data:`RTOL` = 1e-8, far above floating-point noise of the
computations, far below any meaningful change); a replayed GD number needs :data:`RTOL_GD` = 1e-6;
integers, indices, statuses and digests must be equal.

Nothing a certificate names is imported, executed or (apart from an embedded ``.npz`` beside it, read
without pickles) opened; sizes are checked before anything is allocated.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import scipy.linalg

from .. import InputError
from ..certificate import (ARRAY_NAMES, sha256_of, CertificateError, _clean, is_volatile, load_npz, random_stream_fingerprint,
                          read_certificate, schema_issues, sha256_file)
from ..context import Context, Effort
from ..draw import (LABELS, Z_DISTS, Draw, available_bytes, estimated_bytes, labels_from, sample_W0, sample_X,
                   sample_z0, streams)
from ..profiles import BUILTIN, Profile, Rule, TailRule
from ..regime import classify, required_properties
from ..results import Sense, Status, decide

RTOL = 1e-8
RTOL_GD = 1e-6
REPLAY_MAX_STEPS = 1_000_000  # --replay-gd replays at most this many steps of (12)
# the searches are re-run only for their effort-independent outputs (thresholds, proved bounds);
# a claimed effort above these caps is re-run at the cap
EFFORT_CAP = Effort(subset_samples=10_000, restarts=100, iterations=1_000)
SEARCH_PROVED_SIDE = {Sense.LE: "upper", Sense.GE: "lower", Sense.GT: "lower"}
SEARCH_FOUND_SIDE = {Sense.LE: "lower", Sense.GE: "upper", Sense.GT: "upper"}
# details CONTRACT names explicitly: they must be present when the checker reports them
CONTRACT_DETAILS = {"21": ("n_star",), "24": ("zeta0",), "30": ("S_star",)}


class Outcome(Enum):
    """The audit's result; its value is the exit code."""

    CLEAN = 0        # every claim re-verified
    MISMATCH = 1     # some claim does not hold (each mismatch listed)
    UNREADABLE = 2   # the file is unreadable or not a certificate (or --arrays is unreadable)
    INCOMPLETE = 3   # nothing contradicts the certificate, but some claims could not be re-derived here
                     # (arrays not available: random stream changed, arrays given as files, too large)

    @property
    def exit_code(self) -> int:
        return self.value


@dataclass(frozen=True)
class Mismatch:
    """One claim that does not hold: where (``prop``: "19".."30", "inputs", "gd", "schema", ...; ``field``)
    and the claimed and recomputed values as text."""

    prop: str
    field: str
    claimed: str
    recomputed: str


@dataclass(frozen=True)
class AuditReport:
    """Everything an audit found. ``checks`` counts the comparisons made; ``unverified`` lists what could
    not be re-derived (with the remedy); ``notes`` are informational."""

    path: str
    outcome: Outcome
    mismatches: tuple[Mismatch, ...] = ()
    unverified: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    checks: int = 0
    error: str | None = None
    arrays_from: str | None = None
    gd_replayed: bool = False


class _Bad(Exception):
    """A claimed value that cannot even be interpreted (wrong type, index out of range)."""


def _show(v: Any, width: int = 60) -> str:
    if isinstance(v, float):
        s = repr(v)
    elif v is None:
        s = "null"
    elif isinstance(v, Enum):
        s = str(v.value)
    else:
        try:
            s = str(v)
        except Exception:  # noqa: BLE001 - e.g. an int with too many digits
            s = f"<{type(v).__name__}>"
    s = " ".join(s.split())
    return s if len(s) <= width else s[: width - 3] + "..."


def _num(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _Bad(f"not a number: {_show(v, 30)}")
    try:
        f = float(v)
    except OverflowError:
        raise _Bad("number too large") from None
    if not math.isfinite(f):
        raise _Bad("not a finite number")
    return f


def _int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise _Bad(f"not an integer: {_show(v, 30)}")
    return v


def _index(v: Any, bound: int, what: str) -> int:
    i = _int(v)
    if not 0 <= i < bound:
        raise _Bad(f"{what} index {_show(i, 20)} out of range [0, {bound})")
    return i


def _indices(v: Any, bound: int, what: str) -> np.ndarray:
    """Distinct 0-based indices below ``bound``."""
    if not isinstance(v, list) or len(v) > bound:
        raise _Bad(f"{what} is not a list of at most {bound} indices")
    idx = [_index(i, bound, what) for i in v]
    if len(set(idx)) != len(idx):
        raise _Bad(f"{what} repeats an index")
    return np.asarray(idx, dtype=np.intp)


class _Ledger:
    """Collects mismatches, unverifiable claims and notes; counts comparisons."""

    def __init__(self) -> None:
        self.mismatches: list[Mismatch] = []
        self.unverified: list[str] = []
        self.notes: list[str] = []
        self.checks = 0

    def fail(self, prop: str, field: str, claimed: Any, recomputed: Any) -> None:
        self.mismatches.append(Mismatch(prop, field, _show(claimed), _show(recomputed)))

    def equal(self, prop: str, field: str, claimed: Any, recomputed: Any) -> bool:
        self.checks += 1
        ok = type(claimed) is type(recomputed) and claimed == recomputed
        if not ok and isinstance(claimed, (int, float)) and isinstance(recomputed, (int, float)) \
                and not isinstance(claimed, bool) and not isinstance(recomputed, bool):
            ok = claimed == recomputed
        if not ok:
            self.fail(prop, field, claimed, recomputed)
        return ok

    def close(self, prop: str, field: str, claimed: Any, recomputed: Any, rtol: float = RTOL) -> bool:
        """None-aware comparison within ``rtol`` (see module docstring)."""
        self.checks += 1
        if recomputed is not None and not (isinstance(recomputed, (int, float, np.floating, np.integer))
                                           and math.isfinite(float(recomputed))):
            recomputed = None  # a non-finite value is recorded as null
        if claimed is None or recomputed is None:
            ok = claimed is None and recomputed is None
        else:
            try:
                c = _num(claimed)
            except _Bad as exc:
                self.fail(prop, field, claimed, f"{_show(recomputed)} ({exc})")
                return False
            r = float(recomputed)
            ok = abs(c - r) <= rtol * max(1.0, abs(c), abs(r))
        if not ok:
            self.fail(prop, field, claimed, recomputed)
        return ok

    @contextlib.contextmanager
    def guard(self, prop: str, field: str) -> Iterator[None]:
        """Turn anything that goes wrong while re-deriving one claim into a mismatch row."""
        try:
            yield
        except _Bad as exc:
            self.fail(prop, field, "(unusable)", str(exc))
        except Exception as exc:  # noqa: BLE001 - hostile input must never crash the audit
            self.fail(prop, field, "(unusable)", f"cannot re-derive: {exc.__class__.__name__}: {_show(exc, 80)}")


# ---- profile and effort ------------------------------------------------------------------------
def _known_tail_rules() -> dict[str, TailRule]:
    """Tail rules of the built-in profiles, by their formula text."""
    out: dict[str, TailRule] = {}
    for prof in BUILTIN.values():
        for r in (*prof.threshold.values(), prof.n_star, prof.S_star):
            if isinstance(r, TailRule):
                out[r.formula] = r
    return out


def profile_from_dict(d: Any) -> Profile:
    """Rebuild a :class:`Profile` from its ``to_dict()`` content (``provenance.profile``), reading no file
    and importing nothing: every field of :class:`Profile` is taken from ``d`` (a field missing from ``d``
    keeps its default). A rule is ``{"C": number, "p": number}``, or ``{"tail": formula}``: a tail bound
    of a built-in profile, found by its formula text among qrcheck's own (never code the certificate
    names)."""
    if not isinstance(d, dict):
        raise _Bad("provenance.profile is not an object")
    tails = _known_tail_rules()

    def rule(v: Any, where: str) -> Rule | TailRule:
        if isinstance(v, dict) and set(v) == {"tail"}:
            if not isinstance(v["tail"], str) or v["tail"] not in tails:
                raise _Bad(f"profile {where}: no built-in tail bound has formula {_show(v['tail'], 40)!r}")
            return tails[v["tail"]]
        if not isinstance(v, dict) or "C" not in v or "p" not in v:
            raise _Bad(f"profile {where} is not a rule {{C, p}}")
        return Rule(_num(v["C"]), _num(v["p"]))

    kw: dict[str, Any] = {}
    for f in dataclasses.fields(Profile):
        if f.name not in d:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise _Bad(f"profile lacks {f.name!r}")
            continue
        v = d[f.name]
        if f.name == "threshold":
            if not isinstance(v, dict):
                raise _Bad("profile threshold is not an object")
            kw[f.name] = {str(k): rule(r, f"threshold.{k}") for k, r in v.items()}
        elif f.name in ("n_star", "S_star", "premise_30", "zeta0_min") or isinstance(v, dict):
            kw[f.name] = rule(v, f.name)
        elif f.name in ("name", "description", "source"):
            if not isinstance(v, str):
                raise _Bad(f"profile {f.name} is not a string")
            kw[f.name] = v
        elif isinstance(f.default, int) and not isinstance(f.default, bool):
            kw[f.name] = _int(v)
            if kw[f.name] < 1:
                raise _Bad(f"profile {f.name} must be >= 1")
        else:
            kw[f.name] = None if v is None else _num(v)
    return Profile(**kw)


def _effort(d: dict) -> tuple[Effort, Effort]:
    """(claimed effort, effort the audit re-runs the searches with: the claimed one, capped)."""
    claimed = Effort(d["subset_samples"], d["restarts"], d["iterations"], d["time_budget"])
    rerun = Effort(min(claimed.subset_samples, EFFORT_CAP.subset_samples), min(claimed.restarts, EFFORT_CAP.restarts),
                   min(claimed.iterations, EFFORT_CAP.iterations),
                   None if claimed.time_budget is None else min(_num(claimed.time_budget), 600.0))
    return claimed, rerun


def _method_kind(method: str) -> str:
    """The kind of a method text: its first word ("exact", "search", "family", "premise")."""
    return method.split(":")[0].split(" ")[0].strip().lower()


def _sort_key(eq: str) -> tuple:
    return (int(eq) if eq.isdigit() and len(eq) < 6 else math.inf, eq)


def _compare_tree(prop: str, field: str, claimed: Any, recomputed: Any, led: _Ledger) -> None:
    """Recursive comparison of JSON values: numbers within RTOL, everything else equal; keys of
    ``recomputed`` must all be present in ``claimed`` (extra claimed keys are allowed)."""
    if isinstance(recomputed, dict):
        if not isinstance(claimed, dict):
            led.fail(prop, field, claimed, "an object")
            return
        for k, v in recomputed.items():
            if k not in claimed:
                led.fail(prop, f"{field}.{k}", "(missing)", v)
            else:
                _compare_tree(prop, f"{field}.{k}", claimed[k], v, led)
    elif isinstance(recomputed, float) or (isinstance(recomputed, int) and not isinstance(recomputed, bool)
                                          and isinstance(claimed, float)):
        led.close(prop, field, claimed, recomputed)
    else:
        led.equal(prop, field, claimed, recomputed)


# ---- checks that need no arrays ------------------------------------------------------------------
def _check_shapes(cert: dict, led: _Ledger) -> bool:
    p, inputs = cert["parameters"], cert["inputs"]
    n, S, m = p["n"], p["S"], p["m"]
    expect = {"X": [n, m], "W0": [S, n], "z0": [S], "y": [m]}
    ok = True
    for k in ARRAY_NAMES:
        ok &= led.equal("inputs", f"{k}.shape", inputs[k]["shape"], expect[k])
    y_file = inputs["y"]["source"] == "file"
    ok &= led.equal("parameters", "labels", p["labels"],
                    "file" if y_file else (p["labels"] if p["labels"] in LABELS else f"one of {', '.join(LABELS)}"))
    if inputs["z0"]["source"] == "sampled":
        ok &= led.equal("parameters", "z_dist", p["z_dist"],
                        p["z_dist"] if p["z_dist"] in Z_DISTS else f"one of {', '.join(Z_DISTS)}")
    return ok


def _check_profile(cert: dict, led: _Ledger) -> Profile | None:
    pd = cert["provenance"]["profile"]
    led.equal("parameters", "profile", cert["parameters"]["profile"], pd["name"])
    try:
        profile = profile_from_dict(pd)
    except (_Bad, TypeError, ValueError) as exc:
        led.fail("provenance", "profile", "(unusable)", f"cannot rebuild the profile: {exc}")
        return None
    if pd.get("source", "built-in") == "built-in":
        builtin = BUILTIN.get(pd["name"])
        if builtin is None:
            led.notes.append(f"built-in profile {pd['name']!r} is unknown to this qrcheck; audited with the "
                             "certificate's own copy of its constants")
        else:
            for key, value in _clean(builtin.to_dict()).items():
                led.equal("provenance", f"profile.{key} (built-in {pd['name']!r})", pd.get(key, "(missing)"), value)
    return profile


def _check_regime(cert: dict, led: _Ledger) -> None:
    p, reg = cert["parameters"], cert["regime"]
    case = classify(p["n"], p["S"], p["m"], _num(p["eta_w"]), _num(p["eta_z"]))
    led.equal("regime", "case", reg["case"], case.case)
    led.equal("regime", "theorem_applies", reg["theorem_applies"], case.theorem_applies)
    if "conditions" in reg:
        _compare_tree("regime", "conditions", reg["conditions"], _clean(case.conditions), led)
    if "L" in reg:
        led.close("regime", "L", reg["L"], math.log(p["n"] * p["S"]))
    if "require" in p:
        eqs = sorted(cert["properties"], key=_sort_key)
        violated = {eq for eq, r in cert["properties"].items() if r["status"] == Status.VIOLATED.value}
        expect = sorted(required_properties(p["require"], case, eqs, violated), key=_sort_key)
        led.equal("required", "required", sorted(cert["required"], key=_sort_key), expect)


def _implied_status(eq: str, c: dict, sense: Sense) -> Status:
    """The status CONTRACT implies for the claimed numbers (a certified / passed / violated claim)."""
    stat, thr = c["statistic"], c["threshold"]
    if stat is None or thr is None:
        raise _Bad("a certified, passed or violated property needs a statistic and a threshold")
    if "lower" in c or "upper" in c:
        lo = None if c.get("lower") is None else _num(c["lower"])
        hi = None if c.get("upper") is None else _num(c["upper"])
        implied = decide(sense, _num(thr), lower=lo, upper=hi)
    else:
        implied = decide(sense, _num(thr), exact=_num(stat))
    d = c.get("details") or {}
    if eq == "24" and isinstance(d.get("zeta0"), (int, float)) and isinstance(d.get("zeta0_min"), (int, float)) \
            and _num(d["zeta0"]) < _num(d["zeta0_min"]):
        implied = Status.VIOLATED  # (24) also fails when zeta_0 is below its Omega~(1) floor
    return implied


def _check_status_follows(eq: str, c: dict, sense: Sense, led: _Ledger) -> None:
    if _method_kind(c["method"]) == "search":
        side = SEARCH_FOUND_SIDE[sense]
        with led.guard(eq, side):
            led.close(eq, f"{side} (= statistic, the best found)", c.get(side), c["statistic"])
    if c["status"] in (Status.VACUOUS.value, Status.NOT_APPLICABLE.value):
        return  # depends on the reachable range / the premise: checked against the re-run checker
    with led.guard(eq, "status"):
        implied = _implied_status(eq, c, sense)
        led.equal(eq, "status (follows from statistic, threshold, bounds)", c["status"], implied.value)


def _check_trajectory(gd: dict, e: list[float], T: int, tol: float, status: str, led: _Ledger) -> None:
    """``error_trajectory`` lists ||e_t|| for t = 0, s, 2s, ... (stride s = ``error_trajectory_stride``,
    default 1) and then t = T: it must end at ``final_error``, start at ``initial_error``, never rise
    before the last step, stay >= tol before it, and (stride 1) stop as (12)'s rules say."""
    stride = gd.get("error_trajectory_stride", 1)
    stride = _int(stride)
    if stride < 1:
        raise _Bad("error_trajectory_stride must be >= 1")
    expect_len = len(range(0, T + 1, stride)) + (1 if T % stride else 0)
    if not led.equal("gd", f"len(error_trajectory) (T = {T}, stride {stride})", len(e), expect_len):
        return
    led.close("gd", "final_error (= last of error_trajectory)", gd["final_error"], e[-1])
    if "initial_error" in gd:
        led.close("gd", "initial_error (= first of error_trajectory)", gd["initial_error"], e[0])
    body = e[:-1]
    body_ok = all(v >= tol for v in body) and all(b <= a for a, b in zip(body, body[1:]))
    if stride == 1:
        last_ok = {"converged": e[-1] < tol, "diverged": T >= 1 and e[-1] > e[-2],
                   "max_steps": e[-1] >= tol and (T == 0 or e[-1] <= e[-2])}[status]
    else:
        last_ok = (e[-1] < tol) == (status == "converged")
    led.checks += 1
    if not (body_ok and last_ok):
        led.fail("gd", "status (from error_trajectory)", status, "the trajectory does not stop as (12)'s rules say")


def _check_gd_record(cert: dict, led: _Ledger) -> None:
    p, gd, props = cert["parameters"], cert["gd"], cert["properties"]
    required = cert["required"]
    missing = [eq for eq in required if eq not in props]
    for eq in missing:
        led.fail("required", eq, "required", "no such property in the certificate")
    violated = [eq for eq in required if eq in props and props[eq]["status"] == Status.VIOLATED.value]
    ran = gd["ran"]
    if p.get("no_gd") is True:
        led.equal("gd", "ran (--no-gd)", ran, False)
    elif violated and p.get("force") is False:
        led.equal("gd", f"ran (required {', '.join(violated)} violated, no --force)", ran, False)
    elif not violated and p.get("no_gd") is False:
        led.equal("gd", "ran (every required property holds)", ran, True)
    if "certified" in gd:
        led.equal("gd", "certified", gd["certified"], not violated)
    ok = not violated and (not ran or gd["status"] == "converged")
    word = "pass" if ok else "fail"
    led.checks += 1
    if not cert["verdict"].startswith(word + ":"):
        led.fail("verdict", "verdict", cert["verdict"], f"'{word}: ...'")
    if not ran:
        return
    T, fe, tol = gd["T"], _num(gd["final_error"]), _num(p["tol"])
    max_steps = p.get("max_steps")
    if isinstance(max_steps, int) and T > max_steps:
        led.fail("gd", "T", T, f"<= max_steps = {max_steps}")
    status = gd["status"]
    led.checks += 1
    if status == "converged" and not fe < tol:
        led.fail("gd", "status", status, f"not converged: final_error {fe!r} >= tol {tol!r}")
    if status == "max_steps" and (fe < tol or (isinstance(max_steps, int) and T != max_steps)):
        led.fail("gd", "status", status, f"max_steps needs T = max_steps and final_error >= tol")
    if status == "diverged" and T < 1:
        led.fail("gd", "status", status, "diverged needs T >= 1")
    traj = gd.get("error_trajectory")
    if isinstance(traj, list):
        with led.guard("gd", "error_trajectory"):
            _check_trajectory(gd, [_num(v) for v in traj], T, tol, status, led)
    h0, hT = gd.get("lambda_min_H0"), gd.get("lambda_min_HT")
    if isinstance(h0, (int, float)) and isinstance(hT, (int, float)) and not isinstance(h0, bool) and h0 > 0:
        with led.guard("gd", "kappa_H"):
            led.close("gd", "kappa_H (= lambda_min_HT / lambda_min_H0)", gd["kappa_H"], _num(hT) / _num(h0))


# ---- arrays -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Arrays:
    arrays: dict[str, np.ndarray]
    source: str
    y_verified: bool


def _get_arrays(cert: dict, path: Path, arrays_file: Path | None, led: _Ledger) -> _Arrays | None:
    """The certificate's X, W0, z0, y, or None (reason recorded). Raises InputError for an unreadable
    ``--arrays`` file."""
    p, inputs = cert["parameters"], cert["inputs"]
    n, S, m, seed = p["n"], p["S"], p["m"], p["seed"]
    shapes = {k: tuple(inputs[k]["shape"]) for k in ARRAY_NAMES}
    need, have = estimated_bytes(n, S, m), available_bytes()
    if need > have:
        led.unverified.append(f"n={n}, S={S}, m={m} needs about {need / 2**30:.1f} GiB to re-derive, only "
                              f"{have / 2**30:.1f} GiB available: arrays not regenerated or loaded")
        return None
    given: dict[str, np.ndarray] = {}
    source = "regenerated from the seed"
    if arrays_file is not None:
        given = load_npz(arrays_file, shapes)
        source = f"--arrays {arrays_file}"
    elif "arrays" in cert:
        name = cert["arrays"]["file"]
        npz = path.parent / Path(name).name
        if npz.is_file():
            if led.equal("inputs", f"arrays.sha256 ({npz.name})", cert["arrays"]["sha256"], sha256_file(npz)):
                try:
                    given = load_npz(npz, shapes)
                    source = f"embedded {npz.name}"
                except InputError as exc:
                    led.fail("inputs", "arrays", npz.name, str(exc))
        else:
            led.notes.append(f"embedded arrays {name!r} not found beside the certificate")
    from_files = [k for k in ARRAY_NAMES if inputs[k]["source"] == "file" and k not in given]
    if from_files:
        led.unverified.append(f"{', '.join(from_files)} came from files, which cannot be regenerated from a seed; "
                              "rerun with --arrays FILE.npz (verify --embed-arrays writes one)")
        return None
    regen = [k for k in ARRAY_NAMES if k not in given]
    if regen and "y" in regen and p["labels"] not in LABELS:
        return None  # reported by _check_shapes
    if "z0" in regen and p["z_dist"] not in Z_DISTS:
        return None
    rng = streams(seed)
    a = dict(given)
    if "X" not in a:
        a["X"] = sample_X(rng["X"], n, m)
    if "W0" not in a:
        a["W0"] = sample_W0(rng["W0"], S, n)
    if "z0" not in a:
        a["z0"] = sample_z0(rng["z0"], S, p["z_dist"])
    if "y" not in a:
        a["y"] = labels_from(p["labels"], rng["y"], a["X"], a["W0"], a["z0"])
    digests = {k: sha256_of(a[k]) for k in ARRAY_NAMES}
    wrong = [k for k in ARRAY_NAMES if digests[k] != inputs[k]["sha256"]]
    led.checks += len(ARRAY_NAMES)
    for k in wrong:
        if k in given:
            led.fail("inputs", f"{k}.sha256 ({source})", inputs[k]["sha256"], digests[k])
    wrong_regen = [k for k in wrong if k not in given]
    y_verified = "y" not in wrong
    if wrong_regen:
        here, there = random_stream_fingerprint(), cert["provenance"].get("random_stream")
        stream_changed = (there != here) if there is not None else set(wrong_regen) == set(regen)
        if stream_changed:
            led.unverified.append(
                "cannot regenerate arrays (random stream changed?): numpy here samples differently from the "
                f"machine that wrote the certificate ({', '.join(wrong_regen)} differ); rerun with --arrays FILE.npz")
            return None
        if wrong_regen == ["y"] and p["labels"] in ("low", "high", "local"):
            led.unverified.append(
                f"y (labels={p['labels']}) is computed with BLAS from X, W0, z0 and its bits were not reproduced "
                "here; the properties do not use y, GD cannot be replayed: rerun with --arrays FILE.npz")
        else:
            for k in wrong_regen:
                led.fail("inputs", f"{k}.sha256 (regenerated)", inputs[k]["sha256"], digests[k])
    if set(wrong) == set(ARRAY_NAMES):
        led.notes.append("no array matches its digest: statistics not recomputed")
        return None
    return _Arrays(a, source, y_verified)


# ---- independent recomputation of witnesses -----------------------------------------------------
def _statistic_at(eq: str, what: str, c: dict, value: float, led: _Ledger) -> None:
    led.close(eq, f"statistic at witness {what}", c["statistic"], value)


def _w19(ctx: Context, c: dict, led: _Ledger) -> None:
    """(19): |<X^j, X^j'>| at the pair."""
    pair = _indices(c["witness"].get("pair"), ctx.m, "witness.pair")
    if len(pair) != 2:
        raise _Bad("witness.pair must hold two distinct columns")
    j, jp = (int(i) for i in pair)
    _statistic_at("19", f"pair={[j, jp]}", c, abs(float(ctx.X[:, j] @ ctx.X[:, jp])), led)


def _norm_ratio(X: np.ndarray, J: np.ndarray) -> float:
    """(20): ||X^J|| / (1 + sqrt(k/n)), k = |J|."""
    k, n = len(J), X.shape[0]
    return float(np.linalg.norm(X[:, J], 2)) / (1.0 + math.sqrt(k / n))


def _w20(ctx: Context, c: dict, led: _Ledger, r) -> None:
    """(20): the witness J (and every per-k row's J) realises its claimed lower end; per-k proved
    upper ends equal the re-run's."""
    w = c["witness"]
    J = _indices(w.get("J"), ctx.m, "witness.J")
    if len(J) == 0:
        raise _Bad("witness.J is empty")
    if "k" in w:
        led.equal("20", "witness.k (= |J|)", w["k"], len(J))
    _statistic_at("20", f"J (k={len(J)})", c, _norm_ratio(ctx.X, J), led)
    rows = (c.get("details") or {}).get("per_k")
    rerun = {row["k"]: row for row in (r.details.get("per_k") or []) if isinstance(row, dict) and "k" in row}
    if not isinstance(rows, list):
        if rerun:
            led.fail("20", "details.per_k", rows, f"rows for k = {sorted(rerun)}")
        return
    led.equal("20", "details.per_k (examined k)", [row.get("k") if isinstance(row, dict) else row for row in rows],
              sorted(rerun))
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            continue
        with led.guard("20", f"details.per_k[{i}]"):
            k = _int(row.get("k"))
            if "J" in row and "lower" in row:
                Jk = _indices(row["J"], ctx.m, f"per_k[{i}].J")
                led.equal("20", f"details.per_k[k={k}] |J|", len(Jk), k)
                led.close("20", f"details.per_k[k={k}].lower at J", row["lower"], _norm_ratio(ctx.X, Jk))
            if "upper" in row and k in rerun and "upper" in rerun[k]:
                led.close("20", f"details.per_k[k={k}].upper (proved)", row["upper"], rerun[k]["upper"])


def _sigma_min_T(X: np.ndarray, J: np.ndarray) -> float:
    """(21): sigma_min((X^J)^T) = sqrt(lambda_min(X^J X^J^T)), 0 when |J| < n."""
    n = X.shape[0]
    if len(J) < n:
        return 0.0
    XJ = X[:, J]
    return math.sqrt(max(0.0, float(np.linalg.eigvalsh(XJ @ XJ.T)[0])))


def _w21(ctx: Context, c: dict, led: _Ledger, r) -> None:
    """(21): |J| = n*, sigma_min((X^J)^T) = statistic, and xi realises it: ||(X^J)^T xi|| / ||xi||."""
    w = c["witness"]
    J = _indices(w.get("J"), ctx.m, "witness.J")
    led.equal("21", "|witness.J| (= n*)", len(J), ctx.profile.n_star_for(ctx))
    _statistic_at("21", f"J (|J|={len(J)})", c, _sigma_min_T(ctx.X, J), led)
    xi = w.get("xi")
    if xi is not None:
        if not isinstance(xi, list) or len(xi) != ctx.n:
            raise _Bad(f"witness.xi is not a list of n = {ctx.n} numbers")
        v = np.array([_num(t) for t in xi])
        nv = float(np.linalg.norm(v))
        if nv == 0:
            raise _Bad("witness.xi is zero")
        _statistic_at("21", "xi: ||(X^J)^T xi|| / ||xi||", c, float(np.linalg.norm(ctx.X[:, J].T @ v)) / nv, led)


def _w22(ctx: Context, c: dict, led: _Ledger, r) -> None:
    nu = _index(c["witness"].get("nu"), ctx.S, "witness.nu")
    _statistic_at("22", f"nu={nu}: ||(W0)_nu||", c, float(np.linalg.norm(ctx.W0[nu])), led)


def _w23(ctx: Context, c: dict, led: _Ledger, r) -> None:
    w = c["witness"]
    name = w.get("array")
    if name == "W0":
        if not isinstance(w.get("index"), list) or len(w["index"]) != 2:
            raise _Bad("witness.index must be [nu, i] for W0")
        i, j = _index(w["index"][0], ctx.S, "W0 row"), _index(w["index"][1], ctx.n, "W0 column")
        value = abs(float(ctx.W0[i, j]))
    elif name == "z0":
        if not isinstance(w.get("index"), list) or len(w["index"]) != 1:
            raise _Bad("witness.index must be [nu] for z0")
        value = abs(float(ctx.z0[_index(w["index"][0], ctx.S, "z0")]))
    else:
        raise _Bad("witness.array must be W0 or z0")
    _statistic_at("23", f"{name}{w['index']}", c, value, led)


def _d24(ctx: Context, c: dict, led: _Ledger, r) -> None:
    """(24): Gamma_0 = {nu : |z0_nu| >= zeta_0} for the claimed zeta_0, and the statistic is its size."""
    d = c.get("details") or {}
    if "zeta0" not in d:
        return
    Gamma0 = np.flatnonzero(np.abs(ctx.z0) >= _num(d["zeta0"]))
    if c["statistic"] is not None:
        led.close("24", "statistic (= |Gamma_0| at details.zeta0)", c["statistic"], int(Gamma0.size))
    if "Gamma0" in d:
        led.equal("24", "details.Gamma0 (= {nu : |z0_nu| >= zeta0})", d["Gamma0"], [int(i) for i in Gamma0])


def _P_entry(ctx: Context, nu: int, j: int) -> float:
    return float(ctx.W0[nu] @ ctx.X[:, j])


def _w25(ctx: Context, c: dict, led: _Ledger, r) -> None:
    nu, j = _index(c["witness"].get("nu"), ctx.S, "witness.nu"), _index(c["witness"].get("j"), ctx.m, "witness.j")
    _statistic_at("25", f"(nu, j)=({nu}, {j}): |(W0 X)_nu,j|", c, abs(_P_entry(ctx, nu, j)), led)


def _w26(ctx: Context, c: dict, led: _Ledger, r) -> None:
    nu, j = _index(c["witness"].get("nu"), ctx.S, "witness.nu"), _index(c["witness"].get("j"), ctx.m, "witness.j")
    _statistic_at("26", f"(nu, j)=({nu}, {j}): |(W0 X)_nu,j|", c, abs(_P_entry(ctx, nu, j)), led)


def _w27(ctx: Context, c: dict, led: _Ledger, r) -> None:
    j = _index(c["witness"].get("j"), ctx.m, "witness.j")
    f0j = float(np.maximum(ctx.W0 @ ctx.X[:, j], 0.0) @ ctx.z0)
    _statistic_at("27", f"j={j}: |f0_j|", c, abs(f0j), led)


def _w28(ctx: Context, c: dict, led: _Ledger, r) -> None:
    """(28): R is the k-th smallest |(W0 X)_nu,j| over nu and the statistic is k / (S R + 1)."""
    w = c["witness"]
    j, k = _index(w.get("j"), ctx.m, "witness.j"), _int(w.get("k"))
    if not 1 <= k <= ctx.S:
        raise _Bad(f"witness.k = {k} not in [1, S]")
    a = np.sort(np.abs(ctx.W0 @ ctx.X[:, j]))
    led.close("28", f"witness.R (= {k}-th smallest |(W0 X)_nu,{j}|)", w.get("R"), float(a[k - 1]))
    _statistic_at("28", f"(j, k)=({j}, {k}): k / (S a_(k),j + 1)", c, k / (ctx.S * float(a[k - 1]) + 1.0), led)


def _d29(ctx: Context, c: dict, led: _Ledger, r) -> None:
    F0 = np.maximum(ctx.W0 @ ctx.X, 0.0)
    led.close("29", "statistic (= lambda_min(F0^T F0), recomputed)", c["statistic"],
              float(scipy.linalg.eigvalsh(F0.T @ F0, subset_by_index=[0, 0])[0]))


def _w30(ctx: Context, c: dict, led: _Ledger, r) -> None:
    """(30): removed is an S*-subset of Gamma_0; lambda_min((X^T X) o (A_G^T A_G)) over the rest = statistic."""
    removed = _indices(c["witness"].get("removed"), ctx.S, "witness.removed")
    S_star = ctx.profile.S_star_for(ctx)
    led.equal("30", "|witness.removed| (= S*)", len(removed), max(S_star, 0))
    Gamma0 = np.flatnonzero(np.abs(ctx.z0) >= ctx.zeta0)
    outside = np.setdiff1d(removed, Gamma0)
    if outside.size:
        raise _Bad(f"witness.removed holds {outside.size} neuron(s) outside Gamma_0")
    keep = np.setdiff1d(Gamma0, removed)
    A = (ctx.W0[keep] @ ctx.X > 0).astype(np.float64)
    H = (ctx.X.T @ ctx.X) * (A.T @ A)
    _statistic_at("30", f"removed ({len(removed)} neurons)", c,
                  float(scipy.linalg.eigvalsh(H, subset_by_index=[0, 0])[0]), led)


RECOMPUTE: dict[str, Callable] = {"19": lambda ctx, c, led, r: _w19(ctx, c, led), "20": _w20, "21": _w21,
                                  "22": _w22, "23": _w23, "24": _d24, "25": _w25, "26": _w26, "27": _w27,
                                  "28": _w28, "29": _d29, "30": _w30}
NEEDS_WITNESS = {"19", "20", "21", "22", "23", "25", "26", "27", "28", "30"}


# ---- comparison with a re-run checker -----------------------------------------------------------
def _compare_details(eq: str, cd: dict, rd: dict, search: bool, led: _Ledger,
                     claimed_effort: dict | None = None) -> None:
    """Numbers, booleans and number lists present in both the claimed and the re-run details (nested
    objects, strings and timings skipped; for searches only top-level scalars)."""
    for key in CONTRACT_DETAILS.get(eq, ()):
        if key in rd and key not in cd:
            led.fail(eq, f"details.{key}", "(missing)", rd[key])
    for key in sorted(set(cd) & set(rd)):
        if is_volatile(key):
            continue
        if key == "effort":  # the search effort a property reports is the run's
            if claimed_effort is not None:
                led.equal(eq, "details.effort (= provenance.search_effort)", cd[key], claimed_effort)
            continue
        cv, rv = cd[key], rd[key]
        field = f"details.{key}"
        if isinstance(rv, bool):
            if search and claimed_effort is not None and claimed_effort.get("time_budget") is not None:
                continue  # flags such as budget_cut depend on the machine's speed under a time budget
            led.equal(eq, field, cv, rv)
        elif isinstance(rv, (int, np.integer)):
            led.close(eq, field, cv, int(rv)) if not isinstance(cv, int) or isinstance(cv, bool) \
                else led.equal(eq, field, cv, int(rv))
        elif isinstance(rv, (float, np.floating)) or rv is None:
            led.close(eq, field, cv, rv)
        elif not search and isinstance(rv, (list, tuple)) and all(
                isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in rv):
            if not isinstance(cv, list) or len(cv) != len(rv):
                led.fail(eq, field, cv, list(rv))
            else:
                bad = [i for i, (a, b) in enumerate(zip(cv, rv)) if isinstance(a, bool) or not isinstance(a, (int, float))
                       or not abs(_num(a) - float(b)) <= RTOL * max(1.0, abs(_num(a)), abs(float(b)))]
                led.checks += 1
                if bad:
                    led.fail(eq, f"{field}[{bad[0]}]", cv[bad[0]], rv[bad[0]])


def _compare(eq: str, c: dict, checker, r, ctx: Context, led: _Ledger, effort: dict) -> None:
    search = _method_kind(r.method) == "search"
    led.equal(eq, "method (kind)", _method_kind(c["method"]), _method_kind(r.method))
    if "name" in c:
        led.equal(eq, "name", c["name"], checker.name)
    if "sense" in c:
        led.equal(eq, "sense", c["sense"], checker.sense.value)
    led.close(eq, "threshold", c["threshold"], r.threshold)
    special = {Status.VACUOUS, Status.NOT_APPLICABLE}
    if r.status in special or c["status"] in {s.value for s in special} or not search:
        led.equal(eq, "status (re-derived)", c["status"], r.status.value)
    if not search:
        led.close(eq, "statistic", c["statistic"], r.statistic)
        for side in ("lower", "upper"):
            if side in c or getattr(r, side) is not None:
                led.close(eq, side, c.get(side), getattr(r, side))
    else:
        side = SEARCH_PROVED_SIDE[checker.sense]
        led.close(eq, f"{side} (proved bound)", c.get(side), getattr(r, side))
    rule = c.get("rule")
    if isinstance(rule, dict):
        for k in ("C", "p", "g"):
            if k in rule:
                led.close(eq, f"rule.{k}", rule[k], getattr(r, k))
    if "empirical_constant" in c:
        g = r.g
        expect = None if c["statistic"] is None or not g else _num(c["statistic"]) / g
        led.close(eq, "empirical_constant (= statistic / g)", c["empirical_constant"], expect)
    cd = c.get("details")
    if isinstance(cd, dict):
        _compare_details(eq, cd, dict(r.details), search, led, effort)
    if r.witness is not None and eq in NEEDS_WITNESS:
        led.checks += 1
        if "witness" not in c:
            led.fail(eq, "witness", "(missing)", _show(dict(r.witness), 40))
            return
    if eq in RECOMPUTE and ("witness" in c or eq not in NEEDS_WITNESS):
        with led.guard(eq, "witness"):
            RECOMPUTE[eq](ctx, c, led, r)


def _check_gd_arrays(cert: dict, ctx: Context, led: _Ledger, y_verified: bool) -> None:
    """GD numbers that the arrays determine without a replay: lambda_min(H0) and (when y is the
    certificate's) ||e_0|| = ||f0 - y||."""
    gd = cert["gd"]
    if not gd["ran"]:
        return
    if "lambda_min_H0" in gd:
        B = ctx.A0 * ctx.z0[:, None]
        H0 = (ctx.X.T @ ctx.X) * (B.T @ B)
        led.close("gd", "lambda_min_H0", gd["lambda_min_H0"],
                  float(scipy.linalg.eigvalsh(H0, subset_by_index=[0, 0])[0]))
    if not y_verified:
        return
    e0 = float(np.linalg.norm(np.maximum(ctx.W0 @ ctx.X, 0.0).T @ ctx.z0 - ctx.y))
    traj = gd.get("error_trajectory")
    if isinstance(traj, list) and traj:
        led.close("gd", "error_trajectory[0] (= ||f0 - y||)", traj[0], e0)
    if "initial_error" in gd:
        led.close("gd", "initial_error (= ||f0 - y||)", gd["initial_error"], e0)


def _replay_gd(cert: dict, draw: Draw, led: _Ledger, progress: Callable[[int, float], None] | None) -> bool:
    from ..gd import GDConfig, run_gd

    p, gd = cert["parameters"], cert["gd"]
    if not gd["ran"]:
        led.notes.append("gradient descent did not run: nothing to replay")
        return False
    if gd["T"] > REPLAY_MAX_STEPS:
        led.unverified.append(f"gradient descent not replayed: T = {gd['T']} exceeds {REPLAY_MAX_STEPS} steps")
        return False
    max_steps = p.get("max_steps") if isinstance(p.get("max_steps"), int) else gd["T"]
    cap = min(max_steps, gd["T"] + 1)  # a false T cannot make the replay run longer than T + 1 steps
    res = run_gd(draw.X, draw.W0, draw.z0, draw.y, GDConfig(_num(p["eta_w"]), _num(p["eta_z"]), _num(p["tol"]), cap),
                 progress=progress)
    led.equal("gd", "status (replayed)", gd["status"], res.status)
    led.equal("gd", "T (replayed)", gd["T"], res.T)
    led.equal("gd", "D (replayed)", gd["D"], res.D)
    for key in ("final_error", "W_distance", "z_distance", "kappa_H", "lambda_min_H0", "lambda_min_HT",
                "kappa_G", "lambda_min_G0", "lambda_min_GT", "initial_error"):
        value = float(res.errors[0]) if key == "initial_error" else getattr(res, key, None)
        if key in gd and (value is not None or key in ("final_error", "W_distance", "z_distance", "kappa_H")):
            led.close("gd", f"{key} (replayed)", gd[key], value, rtol=RTOL_GD)
    return True


# ---- the audit ------------------------------------------------------------------------------------
def audit(path: str | Path, *, arrays: str | Path | None = None, replay_gd: bool = False,
          on_stage: Callable[[str], None] | None = None,
          on_gd: Callable[[int, float], None] | None = None) -> AuditReport:
    """Audit the certificate at ``path`` (module docstring). Never raises on a hostile certificate:
    every problem is a row of the report or, for an unreadable file, ``Outcome.UNREADABLE``."""
    path = Path(path)
    stage = on_stage or (lambda s: None)
    try:
        cert = read_certificate(path)
    except CertificateError as exc:
        return AuditReport(str(path), Outcome.UNREADABLE, error=str(exc))
    led = _Ledger()
    stage("validating the schema")
    issues = schema_issues(cert)
    led.checks += 1
    if issues:
        for i in issues:
            led.fail("schema", i.path, i.value, i.message)
        return AuditReport(str(path), Outcome.MISMATCH, tuple(led.mismatches), checks=led.checks)

    stage("checking what needs no arrays")
    props = cert["properties"]
    from ..properties import registry

    checkers = {c.eq: c for c in registry()}
    with led.guard("inputs", "shape"):
        shapes_ok = _check_shapes(cert, led)
    profile = None
    with led.guard("provenance", "profile"):
        profile = _check_profile(cert, led)
    with led.guard("regime", "case"):
        _check_regime(cert, led)
    with led.guard("gd", "record"):
        _check_gd_record(cert, led)
    for eq in sorted(props, key=_sort_key):
        if eq in checkers:
            _check_status_follows(eq, props[eq], checkers[eq].sense, led)
        else:
            led.unverified.append(f"({_show(eq, 20)}): no checker for this property is installed here")
    claimed_effort, effort = _effort(cert["provenance"]["search_effort"])
    if claimed_effort.time_budget is not None:
        led.notes.append("the searches ran under a time budget: their witnesses are re-checked, not reproduced")

    arrays_from, replayed = None, False
    got = None
    if shapes_ok:
        stage("loading or regenerating the arrays")
        try:
            got = _get_arrays(cert, path, None if arrays is None else Path(arrays), led)
        except InputError as exc:
            return AuditReport(str(path), Outcome.UNREADABLE, error=f"--arrays: {exc}")
        except Exception as exc:  # noqa: BLE001 - e.g. parameters that cannot be sampled
            led.fail("inputs", "arrays", "(regeneration)", f"cannot regenerate: {exc.__class__.__name__}: {_show(exc, 80)}")
    if got is not None and profile is not None:
        arrays_from = got.source
        a = got.arrays
        p = cert["parameters"]
        draw = Draw(X=a["X"], W0=a["W0"], z0=a["z0"], y=a["y"], seed=p["seed"], z_dist=p["z_dist"],
                    labels=p["labels"], sources={k: cert["inputs"][k]["source"] for k in ARRAY_NAMES},
                    normalized=bool(p.get("normalized", False)))
        ctx = Context(draw, profile, effort)
        for eq in sorted(props, key=_sort_key):
            if eq not in checkers:
                continue
            stage(f"re-deriving ({eq}) {checkers[eq].name}")
            with led.guard(eq, "re-run"):
                r = checkers[eq].check(ctx)
                _compare(eq, props[eq], checkers[eq], r, ctx, led, cert["provenance"]["search_effort"])
        with led.guard("gd", "initial values"):
            _check_gd_arrays(cert, ctx, led, got.y_verified)
        if replay_gd and got.y_verified:  # (an unreproduced y is already recorded as unverified)
            stage("replaying gradient descent")
            with led.guard("gd", "replay"):
                replayed = _replay_gd(cert, draw, led, on_gd)
    elif replay_gd and not led.unverified:
        led.notes.append("gradient descent not replayed: no arrays")
    if led.mismatches:
        outcome = Outcome.MISMATCH
    elif led.unverified:
        outcome = Outcome.INCOMPLETE
    else:
        outcome = Outcome.CLEAN
    return AuditReport(str(path), outcome, tuple(led.mismatches), tuple(led.unverified), tuple(led.notes),
                       led.checks, arrays_from=arrays_from, gd_replayed=replayed)
