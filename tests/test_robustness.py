"""Nothing lost, nothing clobbered (issue 12): output paths, special files, signals, pipes,
encodings, numeric extremes and sweeps, each checked as a user would meet it, through
``python -m qrcheck`` in a subprocess (docs/robustness.md states what is promised).

CONTRACT: bad input exits 2 with ONE line on stderr, no traceback and nothing written; a violation
or a run that did not converge is a result (exit 1, the certificate written in full).

Special files (FIFOs, device nodes) are made only inside each test's ``tmp_path``; every
subprocess has a timeout (a FIFO read would otherwise hang) and runs in its own session so that a
stuck one can be killed with all its children.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

SMALL = ["--n", "10", "--S", "30", "--m", "10"]
# a GD run that takes hours: tiny steps, no early stop
LONG_GD = ["--require", "none", "--eta-w", "1e-9", "--tol", "1e-12", "--max-steps", "100000000"]
ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="device nodes and chown need root")


def _env(**extra: str) -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", COLUMNS="100")
    env.pop("QRCHECK_DEBUG", None)
    env.update(extra)
    return env


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    """3 GiB of address space: a defect that reads /dev/zero must fail, not eat the machine."""
    resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))


def qr(*args, timeout: float = 90, env: dict | None = None, cwd: Path | None = None,
       limit_memory: bool = False) -> subprocess.CompletedProcess:
    """``python -m qrcheck ARGS`` with a timeout; a hung run is killed with its process group."""
    proc = subprocess.Popen([sys.executable, "-m", "qrcheck", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env or _env(), cwd=cwd,
                            start_new_session=True, preexec_fn=_limit_memory if limit_memory else None)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"qrcheck {' '.join(map(str, args))} did not return within {timeout} s; stderr: {err[-500:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def cli(*args) -> subprocess.CompletedProcess:
    """``qrcheck ARGS`` in this process (typer's CliRunner; stderr kept apart): for the checks that
    need no real process (no signals, pipes, encodings or numpy warnings), at a fraction of the
    start-up cost."""
    from typer.testing import CliRunner

    from qrcheck.cli import app

    r = CliRunner().invoke(app, [str(a) for a in args])
    return subprocess.CompletedProcess(args, r.exit_code, r.stdout, r.stderr)


def error_line(proc: subprocess.CompletedProcess, code: int = 2) -> str:
    """Assert the CONTRACT's bad-input outcome: exit ``code``, exactly one line on stderr that starts
    with ``error:``, no traceback, no internal error. Returns the line."""
    lines = proc.stderr.splitlines()
    assert proc.returncode == code, f"exit {proc.returncode}, stderr: {proc.stderr[-800:]}"
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}: {proc.stderr[-800:]!r}"
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in proc.stderr and "internal error" not in lines[0], lines[0]
    return lines[0]


def no_warnings(proc: subprocess.CompletedProcess) -> None:
    assert "Warning" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-800:]


def leftovers(folder: Path) -> list[str]:
    """Temporary files a writer left behind (``.NAME.*.tmp``)."""
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".tmp"))


def schema_valid(cert: dict) -> None:
    from qrcheck.certificate import schema_issues

    assert schema_issues(cert) == [], schema_issues(cert)[:3]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """One small certificate (no GD) with its arrays embedded: for audit, show and the writer."""
    d = tmp_path_factory.mktemp("made")
    r = cli("verify", *SMALL, "--no-gd", "--out", d / "c.json", "--embed-arrays")
    assert r.returncode in (0, 1), r.stderr
    return d / "c.json"


def special(tmp_path: Path, kind: str) -> Path:
    """A special file inside tmp_path: a FIFO, a character device with /dev/null's numbers, a
    symbolic link to such a device, or a folder."""
    p = tmp_path / f"special-{kind}"
    if kind == "fifo":
        os.mkfifo(p)
    elif kind == "chardev":
        os.mknod(p, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    elif kind == "zerodev":
        os.mknod(p, 0o666 | stat.S_IFCHR, os.makedev(1, 5))
    elif kind == "link-to-chardev":
        dev = special(tmp_path, "chardev")
        p.symlink_to(dev)
    elif kind == "folder":
        p.mkdir()
    return p


def still_special(p: Path, kind: str) -> bool:
    mode = os.lstat(p).st_mode
    return {"fifo": stat.S_ISFIFO, "chardev": stat.S_ISCHR, "zerodev": stat.S_ISCHR,
            "link-to-chardev": stat.S_ISLNK, "folder": stat.S_ISDIR}[kind](mode)


# ---- (1) --out and --export-graph never replace a special file ---------------------------------
SPECIAL_KINDS = [pytest.param(k, marks=needs_root) if "dev" in k else k
                 for k in ("fifo", "chardev", "link-to-chardev")]


@pytest.mark.parametrize("kind", SPECIAL_KINDS)
@pytest.mark.parametrize("flag", ["--out", "--export-graph"])
def test_output_flag_refuses_special_file(tmp_path, flag, kind):
    target = special(tmp_path, kind)
    args = ["verify", *SMALL, "--no-gd", flag, target]
    if flag == "--export-graph":
        args += ["--out", tmp_path / "c.json"]
    line = error_line(qr(*args, timeout=60) if kind == "fifo" else cli(*args))  # a FIFO could hang: subprocess
    assert flag in line
    assert still_special(target, kind), f"{target} was replaced"
    if kind == "link-to-chardev":
        assert still_special(tmp_path / "special-chardev", "chardev")
    assert not (tmp_path / "c.json").exists() and leftovers(tmp_path) == []


def test_out_through_a_symbolic_link_replaces_the_target_and_keeps_the_link(tmp_path):
    target, link = tmp_path / "target.json", tmp_path / "link.json"
    target.write_text("old\n")
    link.symlink_to(target)
    r = cli("verify", *SMALL, "--no-gd", "--out", link)
    assert r.returncode in (0, 1), r.stderr
    assert link.is_symlink() and json.loads(target.read_text())["schema"].startswith("qrcheck.certificate/")


@needs_root
def test_read_only_out_of_another_user_is_not_replaced(tmp_path):
    out = tmp_path / "theirs.json"
    out.write_text("their file\n")
    os.chown(out, 65534, 65534)
    out.chmod(0o444)
    line = error_line(cli("verify", *SMALL, "--no-gd", "--out", out))
    assert "--out" in line and "read-only" in line
    assert out.read_text() == "their file\n" and os.stat(out).st_uid == 65534


# ---- (2) colliding outputs ------------------------------------------------------------------------
def test_out_equal_to_export_graph_is_refused(tmp_path):
    g = tmp_path / "g.json"
    line = error_line(cli("verify", *SMALL, "--no-gd", "--out", g, "--export-graph", g))
    assert "--export-graph" in line and "--out" in line
    assert not g.exists()


def test_export_graph_onto_the_embedded_arrays_is_refused(tmp_path):
    line = error_line(cli("verify", *SMALL, "--no-gd", "--out", tmp_path / "c.json", "--embed-arrays",
                          "--export-graph", tmp_path / "c.arrays.npz"))
    assert "--export-graph" in line and "--embed-arrays" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("alias", ["same", "hardlink", "symlink"])
def test_out_equal_to_an_input_array_is_refused(tmp_path, foreign_arrays, alias):
    _, paths = foreign_arrays(7, 10, 30, 10)
    before = sha(paths["X"])
    out = {"same": paths["X"], "hardlink": tmp_path / "alias.npy", "symlink": tmp_path / "link.npy"}[alias]
    if alias == "hardlink":
        os.link(paths["X"], out)
    elif alias == "symlink":
        out.symlink_to(paths["X"])
    line = error_line(cli("verify", "--X", paths["X"], "--W0", paths["W0"], "--z0", paths["z0"], "--no-gd",
                         "--out", out))
    assert "--X" in line and "--out" in line
    assert sha(paths["X"]) == before


def test_embed_arrays_refuses_an_unrelated_npz(tmp_path):
    npz = tmp_path / "c.arrays.npz"
    npz.write_bytes(b"somebody else's arrays")
    line = error_line(cli("verify", *SMALL, "--no-gd", "--out", tmp_path / "c.json", "--embed-arrays"))
    assert "c.arrays.npz" in line
    assert npz.read_bytes() == b"somebody else's arrays"
    assert not (tmp_path / "c.json").exists() and leftovers(tmp_path) == []


def test_embed_arrays_replaces_its_own_npz_together_with_the_certificate(tmp_path):
    out = tmp_path / "c.json"
    for seed in (1, 2):
        r = cli("verify", *SMALL, "--seed", seed, "--no-gd", "--out", out, "--embed-arrays")
        assert r.returncode in (0, 1), r.stderr
    cert = json.loads(out.read_text())
    assert cert["parameters"]["seed"] == 2
    assert cert["arrays"]["sha256"] == sha(tmp_path / cert["arrays"]["file"])
    with np.load(tmp_path / "c.arrays.npz") as z:
        from qrcheck.certificate import sha256_of

        assert sha256_of(z["X"]) == cert["inputs"]["X"]["sha256"]


# ---- (3) both files or neither -------------------------------------------------------------------
def test_embed_arrays_writes_nothing_when_the_certificate_cannot_be_written(tmp_path):
    r = cli("verify", *SMALL, "--no-gd", "--out", tmp_path / "a\\b.json", "--embed-arrays")
    error_line(r)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_failure_between_the_two_writes_rolls_back(made, tmp_path, monkeypatch):
    """The certificate's rename fails after the npz was written: the old pair is left as it was."""
    from qrcheck.certificate import write_certificate

    cert = json.loads(made.read_text())
    out = tmp_path / "c.json"
    old = {"X": np.ones((2, 3)), "W0": np.ones((4, 2)), "z0": np.ones(4), "y": np.ones(3)}
    write_certificate(out, cert, old)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert set(before) == {"c.json", "c.arrays.npz"}
    real = os.replace

    def failing(src, dst, *a, **k):
        if str(dst).endswith(".json"):
            raise OSError(28, "No space left on device")
        return real(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(Exception):
        write_certificate(out, cert, {k: 2 * v for k, v in old.items()})
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


# ---- (4) a diverged or overflowing run is a result -----------------------------------------------
@pytest.mark.parametrize("how", ["eta_w", "eta_z", "W0", "z0", "y"])
def test_overflowing_run_is_a_result(tmp_path, foreign_arrays, how):
    out = tmp_path / "c.json"
    if how == "eta_w":
        args = [*SMALL, "--eta-w", "1e160"]
    elif how == "eta_z":
        args = [*SMALL, "--eta-z", "1e300"]
    else:
        arr, paths = foreign_arrays(5, 10, 30, 10, z0="rademacher", y=True)
        np.save(paths[how], arr[how] * 1e200)
        args = [a for k in ("X", "W0", "z0", "y") for a in (f"--{k}", paths[k])]
    r = qr("verify", *args, "--require", "none", "--max-steps", "500", "--out", out)
    no_warnings(r)
    assert r.returncode == 1, r.stderr[-800:]
    cert = json.loads(out.read_text())
    schema_valid(cert)
    assert cert["verdict"].startswith("fail:")
    assert cert["gd"]["status"] in ("diverged", "max_steps")


# ---- (5) encodings and closed pipes --------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_verify_and_show_in_any_output_encoding(tmp_path, encoding):
    out = tmp_path / "c.json"
    env = _env(PYTHONIOENCODING=encoding, COLUMNS="60")  # narrow: rich truncates with an ellipsis
    r = qr("verify", *SMALL, "--no-gd", "--out", out, env=env)
    no_warnings(r)
    cert = json.loads(out.read_text())
    assert r.returncode == (0 if cert["verdict"].startswith("pass") else 1), r.stderr[-800:]
    assert "certificate written" in r.stdout
    s = qr("show", out, env=env)
    no_warnings(s)
    assert s.returncode == 0 and "29" in s.stdout, s.stderr[-800:]
    s.stdout.encode(encoding)


def test_closed_stdout_keeps_the_exit_code_and_writes_the_certificate(tmp_path):
    out = tmp_path / "c.json"
    proc = subprocess.Popen([sys.executable, "-m", "qrcheck", "verify", *SMALL, "--require", "none",
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=_env(), start_new_session=True)
    proc.stdout.close()  # nobody reads: every write to stdout fails with EPIPE
    try:
        _, err = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    err = err.decode()
    assert "Traceback" not in err, err
    cert = json.loads(out.read_text())
    schema_valid(cert)
    assert proc.returncode == (0 if cert["verdict"].startswith("pass") else 1), err


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_show_to_a_closed_stdout_exits_0(made, fmt):
    proc = subprocess.Popen([sys.executable, "-m", "qrcheck", "show", str(made), "--format", fmt],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), start_new_session=True)
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and err == b"", err[-500:]


# ---- (6) one-line input errors, never an internal error -----------------------------------------
PROFILES = {
    "p_overflow": '[threshold."19"]\nC = 1.0\np = 1e308\n',
    "threshold_not_a_table": "threshold = 5\n",
    "sharp_tiny_delta": 'base = "sharp"\ndelta = 1e-300\n',
    "gamma0_fraction_bool": "gamma0_fraction = true\n",
}


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_bad_profile_is_a_one_line_input_error(tmp_path, name):
    p = tmp_path / f"{name}.toml"
    p.write_text(PROFILES[name])
    error_line(cli("verify", *SMALL, "--no-gd", "--profile", p, "--out", tmp_path / "c.json"))
    assert not (tmp_path / "c.json").exists()


def test_n_S_m_one_is_a_one_line_input_error(tmp_path):
    error_line(cli("verify", "--n", 1, "--S", 1, "--m", 1, "--out", tmp_path / "c.json"))
    assert not (tmp_path / "c.json").exists()


# ---- (7) audit --arrays on special files ----------------------------------------------------------
@pytest.mark.parametrize("kind", ["fifo", pytest.param("zerodev", marks=needs_root), "folder"])
def test_audit_arrays_refuses_special_files(made, tmp_path, kind):
    p = special(tmp_path, kind)
    line = error_line(qr("audit", made, "--arrays", p, timeout=60, limit_memory=True))
    assert "--arrays" in line or str(p) in line
    assert still_special(p, kind)


# ---- (10) smaller ones ------------------------------------------------------------------------------
def test_explicit_n_conflicting_with_a_file_is_refused(tmp_path, foreign_arrays):
    _, paths = foreign_arrays(3, 10, 30, 10)
    line = error_line(cli("verify", "--n", 11, "--S", 30, "--X", paths["X"], "--no-gd", "--out", tmp_path / "c.json"))
    assert "--n" in line and "11" in line and "10" in line
    assert not (tmp_path / "c.json").exists()


@pytest.mark.parametrize("kind", ["folder", pytest.param("chardev", marks=needs_root)])
def test_input_flag_names_what_it_got(tmp_path, kind):
    p = special(tmp_path, kind)
    line = error_line(cli("verify", "--X", p, "--no-gd"))
    assert "no such file" not in line
    assert ("folder" in line) if kind == "folder" else ("not a regular file" in line)


def test_tol_above_the_initial_error_says_so(tmp_path):
    out = tmp_path / "c.json"
    r = cli("verify", *SMALL, "--require", "none", "--tol", "1e9", "--out", out)
    cert = json.loads(out.read_text())
    assert r.returncode == 0 and cert["gd"]["T"] == 0
    assert "||e_0|| < tol" in cert["verdict"] + cert["gd"]["reason"]


# ---- (9) signals -------------------------------------------------------------------------------------
@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_during_gd_writes_nothing_and_says_one_line(tmp_path, sig, code):
    out = tmp_path / "c.json"
    proc = subprocess.Popen([sys.executable, "-m", "qrcheck", "verify", *SMALL, *LONG_GD, "--out", str(out),
                             "--embed-arrays"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(), start_new_session=True)
    try:
        time.sleep(4)  # past the property checks, into gradient descent (either way nothing may be written)
        assert proc.poll() is None, proc.communicate()[1]
        proc.send_signal(sig)
        out_text, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # progress lines of the run (plain lines when stderr is not a terminal) may precede it; the
    # interruption itself is one line, the last, and the only error
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == code, err[-800:]
    assert lines and lines[-1] == "error: interrupted", err[-800:]
    assert sum(line.startswith("error") for line in lines) == 1 and "Traceback" not in err, err[-800:]
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# ---- (8) sweeps ----------------------------------------------------------------------------------------
SWEEP = ["sweep", "--n", "10", "--no-figures", "--workers", "1"]


def test_sweep_grid_is_bounded_before_it_is_planned(tmp_path):
    d = tmp_path / "sweep"
    line = error_line(qr("sweep", "--S", "1:1000000000:1", "--m", "5", "--out", d, limit_memory=True))
    assert "1000000000" in line.replace(",", "").replace("_", "")
    assert not d.exists()


@pytest.mark.parametrize("bad", ["profile", "memory"])
def test_sweep_validates_everything_up_front(tmp_path, bad):
    d = tmp_path / "sweep"
    args = (["--S", "30", "--m", "10", "--profile", tmp_path / "missing.toml"] if bad == "profile"
            else ["--S", "30,100000000", "--m", "10,100000000"])
    error_line(cli(*SWEEP, *args, "--no-gd", "--out", d))
    assert not d.exists()


def test_sweep_never_replaces_a_special_file_in_its_folder(tmp_path):
    d = tmp_path / "sweep"
    d.mkdir()
    os.mkfifo(d / "summary.csv")
    line = error_line(qr(*SWEEP, "--S", "30", "--m", "10", "--no-gd", "--out", d, timeout=60))
    assert "summary.csv" in line and stat.S_ISFIFO(os.lstat(d / "summary.csv").st_mode)
    assert not (d / "runs").exists()


def _proc_table() -> dict[int, tuple[int, str]]:
    """pid -> (ppid, state) of every process."""
    table = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            table[int(name)] = (int(fields[1]), fields[0])
    return table


def descendants(pid: int) -> set[int]:
    table = _proc_table()
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for c, (ppid, _) in table.items():
            if ppid == p and c not in found:
                found.add(c)
                todo.append(c)
    return found


def alive(pids: set[int]) -> set[int]:
    table = _proc_table()
    return {p for p in pids if p in table and table[p][1] not in "ZX"}


def _wait(predicate, timeout: float, step: float = 0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


@contextlib.contextmanager
def _sweep_process(args, tmp_path):
    """``qrcheck ARGS`` in its own session, yielding (process, kids): the test adds the descendants it
    sees to ``kids``; on leaving, every one still alive and the process group are killed."""
    proc = subprocess.Popen([sys.executable, "-m", "qrcheck", *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=_env(), start_new_session=True, cwd=tmp_path)
    kids: set[int] = set()
    try:
        yield proc, kids
    finally:
        for p in alive(kids):
            os.kill(p, signal.SIGKILL)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _children(proc: subprocess.Popen, at_least: int, timeout: float) -> set[int]:
    """The descendants of ``proc`` once there are ``at_least`` of them (within ``timeout`` s)."""
    return _wait(lambda: (lambda k: k if len(k) >= at_least else None)(descendants(proc.pid)), timeout) or set()


def test_pool_workers_exit_when_the_sweep_parent_is_killed(tmp_path):
    d = tmp_path / "sweep"
    with _sweep_process(["sweep", "--n", "10", "--S", "30", "--m", "10,12", "--no-figures", "--workers", "2",
                         *LONG_GD, "--out", d], tmp_path) as (proc, kids):
        # the two workers (and the resource tracker) are up and inside gradient descent
        kids |= _children(proc, 3, 60)
        assert len(kids) >= 2, f"the sweep started {len(kids)} children"
        time.sleep(2)
        kids |= descendants(proc.pid)
        proc.kill()
        proc.wait(timeout=30)
        left = _wait(lambda: not alive(kids), 30) or alive(kids)
        assert left is True, f"processes {sorted(alive(kids))} outlived their sweep"
    assert list((d / "runs").glob("*.json")) == []


def test_sigterm_stops_a_sweep_and_its_workers_with_one_line(tmp_path):
    d = tmp_path / "sweep"
    with _sweep_process(["sweep", "--n", "10", "--S", "30", "--m", "10", "--no-figures", "--workers", "1",
                         *LONG_GD, "--out", d], tmp_path) as (proc, kids):
        kids |= _children(proc, 2, 60)
        time.sleep(2)
        kids |= descendants(proc.pid)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert _wait(lambda: not alive(kids), 30), f"processes {sorted(alive(kids))} outlived their sweep"
    lines = [line for line in err.splitlines() if line.strip()]   # progress lines may precede it
    assert proc.returncode == 143 and lines[-1] == "error: interrupted", err[-800:]
    assert sum(line.startswith("error") for line in lines) == 1 and "Traceback" not in err, err[-800:]
    assert leftovers(d) == [] and list((d / "runs").glob("*.json")) == []


def test_killed_sweep_with_planted_corrupt_files_resumes_to_exactly_its_grid(tmp_path):
    d = tmp_path / "sweep"
    grid = [f"S30_m{m}_rep0" for m in range(10, 16)]
    args = [*SWEEP, "--S", "30", "--m", "10:15:1", "--no-gd", "--out", d]
    first = d / "runs" / f"{grid[0]}.json"
    with _sweep_process(args, tmp_path) as (proc, kids):
        assert _wait(lambda: first.exists(), 120, 0.02), "no run finished"
        kids |= descendants(proc.pid)
        proc.kill()
        proc.wait(timeout=30)
        _wait(lambda: not alive(kids), 30)
    runs = d / "runs"
    kept = first.read_bytes()
    good = json.loads(kept)
    # planted: unparsable; parseable but schema-invalid (twice); valid but another run's; a folder
    (runs / f"{grid[1]}.json").write_text('{"schema": "qrcheck.certificate/1", "paramet')
    (runs / f"{grid[2]}.json").write_text(json.dumps({"schema": "qrcheck.certificate/1", "parameters": {},
                                                      "gd": {}}))
    (runs / f"{grid[3]}.json").write_text(json.dumps(dict(good, properties="x")))
    (runs / f"{grid[4]}.json").write_bytes(kept)
    target = runs / f"{grid[5]}.json"
    if target.exists():
        target.unlink()
    target.mkdir()
    (target / "inside").write_text("keep me")

    r = qr(*args, cwd=tmp_path, timeout=180)
    assert r.returncode == 0, r.stderr[-1500:]
    assert "Traceback" not in r.stderr
    for run_id in grid[1:]:
        assert run_id in r.stderr + r.stdout, f"moving {run_id} aside was not reported"
    assert first.read_bytes() == kept, "a finished run was redone"
    import csv

    with open(d / "summary.csv", newline="") as fh:
        ids = [row["run_id"] for row in csv.DictReader(fh)]
    assert sorted(ids) == grid
    assert sorted(p.name for p in runs.iterdir()) == sorted(f"{g}.json" for g in grid)
    seeds = set()
    for g in grid:
        cert = json.loads((runs / f"{g}.json").read_text())
        schema_valid(cert)
        assert f"S{cert['parameters']['S']}_m{cert['parameters']['m']}_rep0" == g
        seeds.add(cert["parameters"]["seed"])
    assert len(seeds) == len(grid)
    aside = d / "quarantine"
    assert sorted(p.name.split(".json")[0] for p in aside.iterdir()) == grid[1:]
    assert (aside / f"{grid[5]}.json" / "inside").read_text() == "keep me"
    assert leftovers(d) == []
