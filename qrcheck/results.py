"""Frozen result objects (scipy-style) for the property checks."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Mapping


class Status(str, Enum):
    """Statuses exactly as ../shared/CONTRACT.md defines them."""

    CERTIFIED = "certified"        # a rigorous enclosure (rounding included) or proven bound holds
    PASSED = "passed"              # holds on the computed value / everything a search examined
    VIOLATED = "violated"          # a rigorous enclosure (of the value or a witness's) fails
    UNDECIDED = "undecided"        # the computed value fails, within the proven rounding error
    VACUOUS = "vacuous"            # threshold outside what the statistic can reach, or empty family
    NOT_APPLICABLE = "not_applicable"  # the property's premise is false

    @property
    def holds(self) -> bool:
        """Everything but ``violated``: nothing proves a vacuous, inapplicable or undecided property
        false."""
        return self is not Status.VIOLATED


class Sense(str, Enum):
    """Which side of the bound a value must be on: the one Sense of qrcheck (property thresholds
    (19)-(30) and the hypotheses (15)-(18) of Theorem 2.3 in :mod:`qrcheck.regime`)."""

    LE = "<="   # statistic <= threshold
    GE = ">="   # statistic >= threshold
    GT = ">"    # statistic > threshold (regularity (25))

    def __str__(self) -> str:
        return self.value

    def holds(self, value: float, threshold: float) -> bool:
        if self is Sense.LE:
            return value <= threshold
        if self is Sense.GE:
            return value >= threshold
        return value > threshold


def fmt(x: Any) -> str:
    """The one number formatter of qrcheck (render, the API's reprs, the assertion messages): a
    number in at most ~10 characters ("-" for null; ints below 1e9 in full, others to 4
    significant digits, scientific outside [1e-3, 1e5)); anything else as short text."""
    if x is None:
        return "-"
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        s = str(x)
        return s if len(s) <= 24 else s[:21] + "..."
    try:
        f = float(x)
    except OverflowError:
        return f"{str(x)[:6]}...({len(str(x))} digits)"
    if isinstance(x, int) and abs(x) < 10**9:
        return str(x)
    if not math.isfinite(f):
        return str(f)
    if f == 0 or 1e-3 <= abs(f) < 1e5:
        return f"{f:.4g}"
    return f"{f:.3e}"


def describe(r: Any) -> str:
    """One readable line for a property result (anything with ``eq``, ``name``, ``status``,
    ``statistic``, ``sense``, ``threshold``, ``lower``, ``upper``, ``witness``):
    ``(29) ntk_second_layer: violated; statistic 2.801 (needs >= 3.317); witness {...}``. Long
    index lists in the witness are abbreviated to their length."""
    status = getattr(r.status, "value", r.status)
    sense = getattr(r.sense, "value", r.sense) or "vs"
    parts = [f"({r.eq}) {r.name}: {status}",
             f"statistic {fmt(r.statistic)} (needs {sense} {fmt(r.threshold)})"]
    if r.lower is not None or r.upper is not None:
        parts.append(f"interval [{fmt(r.lower)}, {fmt(r.upper)}]")
    if r.witness:
        w = {k: (f"{len(v)} indices" if isinstance(v, (list, tuple)) and len(v) > 8 else v)
             for k, v in dict(r.witness).items()}
        parts.append(f"witness {w}")
    return "; ".join(parts)


# ---- display: one text / HTML / rich rendering of a list of results (Report, Certificate) ------
STATUS_STYLE = {"certified": "bold green", "passed": "green", "violated": "bold red", "undecided": "bold yellow",
                "vacuous": "yellow", "not_applicable": "dim"}
STATUS_COLOR = {"certified": "#1a7f37", "passed": "#2da44e", "violated": "#cf222e", "undecided": "#9a6700",
                "vacuous": "#9a6700", "not_applicable": "#6e7781"}
COLUMNS = ("property", "name", "status", "statistic vs threshold", "method")


def result_rows(results: Any) -> list[tuple[str, str, str, str, str]]:
    """``(eq, name, status, "statistic sense threshold", method)`` per result, as text."""
    return [(f"({r.eq})", r.name, getattr(r.status, "value", r.status),
             f"{fmt(r.statistic)} {getattr(r.sense, 'value', r.sense)} {fmt(r.threshold)}", r.method)
            for r in results]


def text_table(title: str, results: Any, footer: Any = ()) -> str:
    """A plain-text table (``repr`` of a Report or Certificate): the title, one aligned row per
    result (without the method), then the footer lines."""
    rows = result_rows(results)
    w = [max((len(r[i]) for r in rows), default=0) for i in range(4)]
    lines = [title] + ["  " + "  ".join(c.ljust(w[i]) for i, c in enumerate(r[:4])).rstrip() for r in rows]
    return "\n".join(lines + [f"  {f}" for f in footer])


def html_table(title: str, results: Any, footer: Any = ()) -> str:
    """The same as an HTML table (notebooks' ``_repr_html_``); every string is escaped."""
    import html

    head = "".join(f"<th>{h}</th>" for h in COLUMNS)
    body = "".join("<tr>" + "".join(
        f'<td style="color:{STATUS_COLOR.get(c, "inherit")};font-weight:bold">{html.escape(c)}</td>' if i == 2
        else f"<td>{html.escape(c)}</td>" for i, c in enumerate(r)) + "</tr>" for r in result_rows(results))
    foot = "".join(f"<div>{html.escape(str(f))}</div>" for f in footer)
    return f"<div><b>{html.escape(title)}</b><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{foot}</div>"


def rich_table(title: str, results: Any, footer: Any = ()):
    """The same as a rich ``Table`` (``__rich__``); no string is parsed as markup."""
    from rich.table import Table
    from rich.text import Text

    t = Table(title=Text(title), title_justify="left", caption=Text("\n".join(map(str, footer))) if footer else None,
              caption_justify="left")
    for h in COLUMNS:
        t.add_column(h)
    for r in result_rows(results):
        t.add_row(*(Text(c, style=STATUS_STYLE.get(c, "")) if i == 2 else Text(c) for i, c in enumerate(r)))
    return t


@dataclass(frozen=True)
class PropertyResult:
    """The outcome of one property check.

    statistic : the CONTRACT statistic (None when the family is empty).
    threshold : C * L^p * g, the explicit bound it is compared with (None when not applicable).
    g : the scale g(n, S, m); empirical_constant = statistic / g.
    lower, upper : a searched / proved interval for the true value, where one is reported.
    witness : indices (0-based) or a direction realising ``statistic``.
    """

    eq: str
    name: str
    status: Status
    sense: Sense
    statistic: float | None
    threshold: float | None
    method: str
    C: float | None = None
    p: float | None = None
    g: float | None = None
    g_formula: str = ""
    lower: float | None = None
    upper: float | None = None
    witness: Mapping[str, Any] | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def empirical_constant(self) -> float | None:
        if self.statistic is None or not self.g:
            return None
        return self.statistic / self.g

    def __repr__(self) -> str:
        return f"{type(self).__name__}({describe(self)}; method {self.method!r})"

    def _repr_html_(self) -> str:
        return html_table(describe(self), [self])

    def __rich__(self):
        return rich_table(describe(self), [self])

    def to_json(self) -> dict:
        d = {"status": self.status.value, "statistic": self.statistic, "threshold": self.threshold,
             "method": self.method, "sense": self.sense.value, "name": self.name,
             "empirical_constant": self.empirical_constant,
             "rule": {"C": self.C, "p": self.p, "g": self.g, "g_formula": self.g_formula},
             "details": dict(self.details)}
        if self.lower is not None or self.upper is not None:
            d["lower"], d["upper"] = self.lower, self.upper
        if self.witness is not None:
            d["witness"] = dict(self.witness)
        return d


def decide(sense: Sense, threshold: float, *, exact: float | None = None, lower: float | None = None,
           upper: float | None = None, value: float | None = None) -> Status:
    """Status (CONTRACT, schema 2) from a value and/or a rigorous interval [lower, upper].

    - ``exact`` alone: a value computed without any rounding (a count, a maximum of given floats):
      ``certified`` if it holds, else ``violated``.
    - ``lower``/``upper``: proved bounds on the true value (an enclosure of an exact statistic, or a
      proved bound and a re-checkable witness's rigorous value for a searched one). ``certified`` when
      the whole interval is on the holding side, ``violated`` when it is on the failing side;
      otherwise the computed ``value`` (or ``exact``) decides between ``passed`` (it holds) and
      ``undecided`` (it fails, within the proven error); ``passed`` when there is no value.
    """
    if exact is not None and lower is None and upper is None:
        return Status.CERTIFIED if sense.holds(exact, threshold) else Status.VIOLATED
    v = exact if exact is not None else value
    if sense is Sense.LE:
        if upper is not None and upper <= threshold:
            return Status.CERTIFIED
        if lower is not None and lower > threshold:
            return Status.VIOLATED
    else:
        if lower is not None and sense.holds(lower, threshold):
            return Status.CERTIFIED
        if upper is not None and not sense.holds(upper, threshold):
            return Status.VIOLATED
    if v is None or sense.holds(v, threshold):
        return Status.PASSED
    return Status.UNDECIDED
