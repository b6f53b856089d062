"""Assertion helpers for tests of the quasirandom properties (19)-(30) and of gradient descent (12).

Each helper takes what :func:`qrcheck.check` returns (a :class:`qrcheck.api.Report`), what
:func:`qrcheck.verify` returns (a :class:`qrcheck.Certificate`) or a certificate's JSON dict. On
failure the message is the property's row (status, statistic against its threshold, witness) and
one ``qrcheck verify ...`` line that reproduces the draw: regenerated from its seed when every array
was sampled, else loaded from ``.npy`` files that the helper writes to a fresh temporary folder.

>>> import qrcheck
>>> from qrcheck.testing import assert_holds
>>> report = qrcheck.check(seed=1, n=20, S=40, m=10)     # doctest: +SKIP
>>> assert_holds(report, 29)                             # doctest: +SKIP

Deterministic hypothesis tests in CI: ``settings(derandomize=True, database=None, deadline=None)``
(the same examples on every run, no example database, no timing flakiness); register them once as
a profile (``settings.register_profile("ci", ...)``; ``pytest --hypothesis-profile ci``). The
pytest plugin (:mod:`qrcheck.pytest_plugin`) registers such a profile as ``qrcheck``.
"""

from __future__ import annotations

import shlex
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping

__all__ = ["assert_holds", "assert_violated", "assert_status", "assert_converged", "property_row",
           "reproduce_command", "save_arrays", "HOLDS"]

from .results import Status

ALL_STATUSES = tuple(s.value for s in Status)
#: every status but ``violated`` (a vacuous, undecided or inapplicable property is not a failure)
HOLDS = tuple(s.value for s in Status if s is not Status.VIOLATED)


def _eq(eq: Any) -> str:
    s = str(eq).strip("() ")
    if s not in {str(e) for e in range(19, 31)}:
        from . import InputError
        raise InputError(f"no property ({eq}); the properties are (19)-(30)")
    return s


def _statuses(status: Any) -> tuple[str, ...]:
    if status is None:
        return HOLDS
    if isinstance(status, (str, bytes)) or hasattr(status, "value"):
        status = [status]
    out = tuple(str(getattr(s, "value", s)) for s in status)
    bad = [s for s in out if s not in ALL_STATUSES]
    if bad:
        from . import InputError
        raise InputError(f"unknown status {bad[0]!r}; expected one of {', '.join(ALL_STATUSES)}")
    return out


def _get(row: Any, key: str, default: Any = None) -> Any:
    if isinstance(row, Mapping):
        return row.get(key, default)
    return getattr(row, key, default)


def _row(obj: Any, eq: str) -> Any:
    props = getattr(obj, "properties", None)
    if props is None and isinstance(obj, Mapping):
        props = obj.get("properties")
    if props is not None:
        return props[eq]
    return obj[eq]  # a Report


def _num(x: Any) -> str:
    from .results import fmt
    return fmt(x)


def property_row(obj: Any, eq: Any) -> str:
    """The property's row as one line: ``(29) ntk_second_layer: violated; statistic 1.2 (needs >=
    3.4); witness {...}`` (``obj``: a Report, a Certificate or a certificate dict;
    :func:`qrcheck.results.describe`), with the reason a check gives in its details."""
    from types import SimpleNamespace

    from .results import describe

    e = _eq(eq)
    r = _row(obj, e)
    fields = ("name", "status", "statistic", "sense", "threshold", "lower", "upper", "witness", "details")
    row = SimpleNamespace(eq=e, **{k: _get(r, k) for k in fields})
    line = describe(row)
    reason = row.details.get("reason") if isinstance(row.details, Mapping) else None
    return f"{line}; ({reason})" if reason else line


REPRO_KEEP = 8


def save_arrays(arrays: Mapping[str, Any], folder: str | Path | None = None) -> Path:
    """Write ``X.npy, W0.npy, z0.npy, y.npy`` (those given) to ``folder`` and return it.

    By default the folder is ``<tmp>/qrcheck-repro-<user>/<digest>`` (named by the arrays'
    sha256): the same arrays reuse one folder, and only the :data:`REPRO_KEEP` most recent folders
    are kept, so hypothesis shrinking (many failing examples, the last one reported) leaves a
    handful of small folders, the last of them the reported one."""
    import hashlib
    import os
    import shutil

    import numpy as np

    given = {k: np.ascontiguousarray(a, dtype="<f8") for k, a in arrays.items() if a is not None}
    if folder is None:
        h = hashlib.sha256()
        for k, a in sorted(given.items()):
            h.update(k.encode() + str(a.shape).encode() + a.tobytes())
        root = Path(tempfile.gettempdir()) / f"qrcheck-repro-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
        d = root / h.hexdigest()[:16]
        root.mkdir(parents=True, exist_ok=True)
        old = sorted((p for p in root.iterdir() if p.is_dir() and p != d), key=lambda p: p.stat().st_mtime)
        for p in old[:max(0, len(old) - (REPRO_KEEP - 1))]:
            shutil.rmtree(p, ignore_errors=True)
    else:
        d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    for k, a in given.items():
        np.save(d / f"{k}.npy", a)
    os.utime(d)
    return d


def reproduce_command(obj: Any, *, folder: str | Path | None = None) -> str:
    """One ``qrcheck verify ...`` line that reproduces the draw of ``obj`` (a Report, Certificate,
    certificate dict or :class:`qrcheck.strategies.Drawn`). Arrays that no seed regenerates (file
    or memory sources) are written to ``folder`` (default a fresh temporary folder) and loaded
    with ``--X`` etc.; without them (a certificate dict read back) the command says so."""
    if hasattr(obj, "command") and callable(obj.command) and not isinstance(obj, Mapping):
        try:
            return obj.command(folder=folder)
        except TypeError:
            pass
    cert = obj
    p = _get(cert, "parameters")
    p = p.to_json() if hasattr(p, "to_json") else dict(p)
    inputs = _get(cert, "inputs")
    sources = {k: _get(v, "source") for k, v in dict(inputs).items()}
    profile = p.get("profile", "paper")
    cmd = ["qrcheck", "verify"]
    data = getattr(cert, "data", None)
    not_sampled = [k for k, s in sources.items() if s != "sampled"]
    known = _known(data, sources) if not_sampled and data is not None else None
    if known is not None:
        cmd.append(known.seed_flags())
        not_sampled, sources = [], {k: "sampled" for k in sources}
        p = {**p, "seed": known.seed}
    elif not_sampled:
        if data is None:
            cmd += [f"--{k} {k}.npy" for k in not_sampled]
        else:
            d = save_arrays({k: data[k] for k in not_sampled}, folder)
            cmd += [f"--{k} {shlex.quote(str(d / (k + '.npy')))}" for k in not_sampled]
    dims = {"n": ("X", "W0"), "S": ("W0", "z0"), "m": ("X", "y")}
    for dim, fixers in dims.items():
        if known is None and not any(f in not_sampled for f in fixers):
            cmd.append(f"--{dim} {p[dim]}")
    if known is None and any(s == "sampled" for s in sources.values()):
        cmd.append(f"--seed {p.get('seed', 0)}")
        if sources.get("z0") == "sampled" and p.get("z_dist", "rademacher") != "rademacher":
            cmd.append(f"--z-dist {p['z_dist']}")
        if sources.get("y") == "sampled" and p.get("labels", "gaussian") != "gaussian":
            cmd.append(f"--labels {p['labels']}")
    cmd.append(f"--profile {profile}")
    for k, dflt in (("eta_w", 1e-3), ("eta_z", 0.0)):
        if p.get(k, dflt) != dflt:
            cmd.append(f"--{k.replace('_', '-')} {p[k]!r}")
    if p.get("no_gd"):
        cmd.append("--no-gd")
    return " ".join(cmd)


def _known(arrays: Mapping[str, Any], sources: Mapping[str, str]) -> Any:
    """The unplanted :class:`qrcheck.strategies.Drawn` whose arrays these are (only when the
    strategies module is in use), so that its seed reproduces them."""
    import sys

    strategies = sys.modules.get("qrcheck.strategies")
    if strategies is None or any(arrays.get(k) is None for k in ("X", "W0", "z0")):
        return None
    y = arrays.get("y") if sources.get("y") != "sampled" else None
    return strategies.known_draw(arrays["X"], arrays["W0"], arrays["z0"], y)


def _fail(obj: Any, lines: Iterable[str]) -> None:
    msg = "\n".join(lines)
    try:
        cmd = reproduce_command(obj)
    except Exception as exc:  # noqa: BLE001 - the message must not hide the failure itself
        cmd = f"(no command: {exc.__class__.__name__}: {exc})"
    raise AssertionError(f"{msg}\nreproduce: {cmd}")


def assert_status(obj: Any, eq: Any, status: Any) -> None:
    """Assert that property ``eq`` (19..30, int or str; or a list of them) has one of ``status``
    (a status string or :class:`qrcheck.Status`, or several)."""
    eqs = [eq] if isinstance(eq, (int, str)) else list(eq)
    want = _statuses(status)
    bad = []
    for e in eqs:
        s = _get(_row(obj, _eq(e)), "status")
        if str(getattr(s, "value", s)) not in want:
            bad.append(e)
    if bad:
        expected = ("to hold (any status but violated)" if set(want) == set(HOLDS)
                    else f"status {' or '.join(want)}")
        _fail(obj, [f"expected {', '.join(f'({_eq(e)})' for e in bad)} {expected}, got:"]
              + [property_row(obj, e) for e in bad])


def assert_holds(obj: Any, eq: Any, status: Any = None) -> None:
    """Assert that property ``eq`` holds: any status but ``violated`` by default, else one of
    ``status`` (e.g. ``status="certified"``). ``eq`` may be a list of properties."""
    assert_status(obj, eq, HOLDS if status is None else status)


def assert_violated(obj: Any, eq: Any) -> None:
    """Assert that property ``eq`` (or each of a list) is ``violated`` (a planted defect caught)."""
    assert_status(obj, eq, "violated")


def assert_converged(cert: Any) -> None:
    """Assert that gradient descent (12) ran and converged (``gd.status == "converged"``); the
    message gives the GD row (status, T, final error, reason), the verdict and the command."""
    gd = _get(cert, "gd")
    status = _get(gd, "status")
    status = str(getattr(status, "value", status))
    if status != "converged":
        _fail(cert, [f"gradient descent {status}: T = {_get(gd, 'T')}, final error "
                     f"{_num(_get(gd, 'final_error'))}; {_get(gd, 'reason')}",
                     f"verdict: {_get(cert, 'verdict')}"])
