"""docs/api.md is executable: its ```python blocks run in order, in one namespace (as a notebook
would), in a temporary folder. A block that fails names its first line in docs/api.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("hypothesis")

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def blocks() -> list[tuple[int, str]]:
    text = DOC.read_text(encoding="utf-8")
    return [(text[:m.start()].count("\n") + 2, m.group(1)) for m in BLOCK.finditer(text)]


def test_docs_api_has_the_promised_examples():
    code = "\n".join(b for _, b in blocks())
    for needle in ("qrcheck.check(", "qrcheck.verify(", "qrcheck.audit(", "Certificate.from_json",
                   ".write(", "@given", "qs.planted(\"cluster\"", "paper_grid", "overparametrized",
                   "qrcheck.InputError"):
        assert needle in code, needle


def test_docs_api_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ns: dict = {"__name__": "docs_api"}
    for line, src in blocks():
        try:
            exec(compile(src, f"{DOC}:{line}", "exec"), ns)  # noqa: S102 - our own documentation
        except Exception as exc:  # noqa: BLE001 - report which block failed
            pytest.fail(f"docs/api.md block at line {line} failed: {exc.__class__.__name__}: {exc}")
    out = capsys.readouterr().out
    # the printed outputs the page shows
    assert "qrcheck.Report(n=20, S=40, m=10, seed=1, profile='paper'" in out
    assert "X columns are not of unit norm (largest deviation 2); pass --normalize to rescale them" in out
    # the falsified (29) claim: a one-line shrunk example and a seed-based reproducing command
    shrunk = re.search(r"d=Drawn\(n=(\d+), S=(\d+), m=(\d+), seed=(\d+)\)", out)
    assert shrunk, out
    n, S, m, seed = shrunk.groups()
    assert f"reproduce: qrcheck verify --n {n} --S {S} --m {m} --seed {seed} --profile paper --no-gd" in out
    assert ns["result"].exit_code == 0, ns["result"].mismatches
