"""The package's layering (issue 9, docs/architecture.md), read from the source with ``ast``.

- No import cycle among qrcheck's modules (module-level imports: what runs at import time).
- A module imports only from its own layer or lower ones (every import, function-local ones too;
  the package root's lazy public API is the one exception, see the test).
- Every module is placed in ``LAYERS``: a new module must be given a layer here and in
  docs/architecture.md.
- The audit package (the trusted kernel) imports nothing of the verify side.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "qrcheck"

# module (dotted, without the leading "qrcheck.") -> layer; a package's entry covers its submodules
# unless a submodule has its own. Keep in step with docs/architecture.md and .coord's target layout.
LAYERS: dict[str, int] = {
    "": 0,                                   # qrcheck/__init__.py: InputError, lazy public API
    "system": 0,                             # available memory (stdlib only; verify and audit)
    # data; model.py (P, A, F, f, identity (7); numpy only) sits with the data because the labels
    # of draw.py are made from the network at initialisation (y = f0 - e0, e0 from H0)
    "draw": 1, "datasets": 1, "planted": 1, "model": 1,
    "kernels": 2, "enclosures": 2, "spectral": 2, "probability": 2,  # linear algebra
    "quantities": 3, "profiles": 3, "search": 3,                                  # one draw
    "results": 4, "properties": 4,                                                # properties
    "rates": 5, "gd": 5, "gd_report": 5, "gd_kernel": 5, "regime": 5, "diagnostics": 5,  # dynamics
    "certificate": 6,                                                             # certificate
    "verify": 7, "baseline": 7,                                                   # orchestration
    "audit": 8, "sweep": 8, "paper": 8, "render": 8, "plots": 8,                  # outer
    "api": 8, "strategies": 8, "testing": 8, "pytest_plugin": 8,
    "cli": 9, "__main__": 9,                                                      # command line
}

# what the audit package (the independent kernel) must never import, at any level
VERIFY_SIDE = ("properties", "search", "profiles", "probability", "quantities", "gd", "regime",
               "verify", "sweep", "paper")


def module_name(path: Path) -> str:
    """Dotted name without "qrcheck.": qrcheck/properties/p19.py -> "properties.p19"."""
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def layer_of(name: str) -> int | None:
    """The layer of a module: its own entry, else its closest listed package."""
    parts = name.split(".") if name else []
    for k in range(len(parts), -1, -1):
        key = ".".join(parts[:k])
        if key in LAYERS and (k == len(parts) or key):
            return LAYERS[key]
    return None


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or \
           (isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _targets(name: str, node: ast.AST) -> list[str]:
    """The qrcheck modules (names as in MODULES) that an import statement in module ``name`` loads."""
    out = []
    if isinstance(node, ast.Import):
        for a in node.names:
            if a.name == "qrcheck" or a.name.startswith("qrcheck."):
                out.append(a.name[len("qrcheck."):] if a.name != "qrcheck" else "")
        return out
    assert isinstance(node, ast.ImportFrom)
    if node.level == 0:
        if node.module is None or not (node.module == "qrcheck" or node.module.startswith("qrcheck.")):
            return out
        base = node.module[len("qrcheck."):] if node.module != "qrcheck" else ""
    else:
        here = name.split(".") if name else []
        pkg = here if is_package(name) else here[:-1]
        up = pkg[: len(pkg) - (node.level - 1)] if node.level > 1 else pkg
        base = ".".join(up + ([node.module] if node.module else []))
    for a in node.names:
        sub = f"{base}.{a.name}" if base else a.name
        out.append(sub if sub in MODULES else base)
    return out


def imports(name: str) -> tuple[set[str], set[str]]:
    """(module-level imports, all imports) of module ``name``, as qrcheck module names.

    Module level: statements run at import time (also inside module-level if/try and class bodies),
    not inside functions and not under ``if TYPE_CHECKING:``. All: every import statement anywhere."""
    tree = ast.parse(MODULES[name].read_text(), filename=str(MODULES[name]))
    top: set[str] = set()
    every: set[str] = set()

    def walk(node: ast.AST, at_top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                t = [x for x in _targets(name, child) if x != name]
                every.update(t)
                if at_top:
                    top.update(t)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                walk(child, False)
            elif isinstance(child, ast.If) and _is_type_checking(child):
                walk(child, False)
            else:
                walk(child, at_top)

    walk(tree, True)
    return top, every


GRAPH = {name: imports(name) for name in MODULES}


def test_every_module_is_placed_in_a_layer():
    missing = sorted(n or "qrcheck" for n in MODULES if layer_of(n) is None)
    assert not missing, f"modules without a layer (add them to LAYERS and docs/architecture.md): {missing}"


def test_no_import_cycle():
    """Depth-first search over module-level imports; reports one cycle."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(u: str) -> list[str] | None:
        state[u] = 1
        stack.append(u)
        for v in sorted(GRAPH[u][0]):
            if v not in GRAPH:
                continue
            if state.get(v) == 1:
                return stack[stack.index(v):] + [v]
            if v not in state:
                found = visit(v)
                if found:
                    return found
        stack.pop()
        state[u] = 2
        return None

    for u in sorted(GRAPH):
        if u not in state:
            cycle = visit(u)
            assert cycle is None, "import cycle: " + " -> ".join(c or "qrcheck" for c in cycle)


def test_lower_layers_never_import_upper_ones():
    """Every import counts, but the package root's lazy public API: ``qrcheck/__init__.py`` loads
    the upper layers' names on first use (``__getattr__``; names for type checkers only), so there
    only its module-level imports count, and they must be L0."""
    bad = []
    for u, (top, every) in GRAPH.items():
        if u == "":
            every = top
        lu = layer_of(u)
        for v in every:
            lv = layer_of(v)
            if lu is not None and lv is not None and lv > lu:
                bad.append(f"{u or 'qrcheck'} (L{lu}) imports {v or 'qrcheck'} (L{lv})")
    assert not bad, "layering violations:\n" + "\n".join(sorted(bad))


def test_audit_imports_nothing_of_the_verify_side():
    audit = [u for u in GRAPH if u == "audit" or u.startswith("audit.")]
    bad = sorted(f"{u} imports {v}" for u in audit for v in GRAPH[u][1]
                 if any(v == s or v.startswith(s + ".") for s in VERIFY_SIDE))
    assert not bad, "the audit kernel must stay independent of verify:\n" + "\n".join(bad)


@pytest.mark.parametrize("argv", [["--help"], ["verify", "--n", "0"]])
def test_help_and_a_usage_error_load_nothing_heavy(argv):
    """``qrcheck --help`` and a usage error never import scipy.stats / scipy.optimize (issue 9)."""
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-X", "importtime", "-m", "qrcheck", *argv],
                         capture_output=True, text=True, timeout=120)
    heavy = sorted({line.rsplit("|", 1)[-1].strip() for line in res.stderr.splitlines()
                    if "import time:" in line and any(h in line for h in ("scipy.stats", "scipy.optimize"))})
    assert not heavy, f"qrcheck {' '.join(argv)} imported {heavy}"


@pytest.mark.parametrize("name, source, expect", [
    ("properties.p30", "from .p24 import Gamma0\nfrom .. import model\nfrom . import Checker\n",
     {"properties.p24", "model", "properties"}),
    ("verify", "def f():\n    from .properties import p21\n", set()),
    ("regime", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .gd import GDResult\n", set()),
    ("cli", "import qrcheck.verify\nfrom qrcheck import InputError\n", {"verify", ""}),
])
def test_the_import_reader_itself(tmp_path, monkeypatch, name, source, expect):
    f = tmp_path / "m.py"
    f.write_text(source)
    monkeypatch.setitem(MODULES, name, f)
    monkeypatch.setattr(f"{__name__}.is_package", lambda n: n in ("", "properties", "certificate", "audit"))
    top, every = imports(name)
    assert top == expect
    assert every >= top
