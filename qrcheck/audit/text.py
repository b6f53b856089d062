"""Safe rendering of certificate text: every string a certificate carries is hostile until escaped.

:func:`safe` escapes control characters (C0, DEL, C1: ESC, OSC, CSI, ...), format characters (bidi
overrides and isolates such as U+202E, zero-width joiners), line and paragraph separators and lone
surrogates, so nothing from a certificate can move the cursor, recolour the terminal, reorder the
text a reviewer reads or crash an encoder. :func:`show` renders any JSON value for a mismatch row.
"""

from __future__ import annotations

import math
import unicodedata
from typing import Any

_ESCAPE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def _escape_char(ch: str) -> str:
    o = ord(ch)
    if o < 0x100:
        return f"\\x{o:02x}"
    if o < 0x10000:
        return f"\\u{o:04x}"
    return f"\\U{o:08x}"


def safe(s: Any, width: int | None = None) -> str:
    """``s`` as printable text: characters of Unicode categories Cc, Cf, Cs, Co, Cn, Zl, Zp (plus a
    literal backslash, to keep the escaping unambiguous) written as ``\\xNN`` / ``\\uNNNN`` /
    ``\\UNNNNNNNN``; cut to ``width`` characters (with ``...``) when given. Never raises."""
    try:
        s = s if isinstance(s, str) else str(s)
    except Exception:  # noqa: BLE001 - e.g. an int with too many digits
        s = f"<{type(s).__name__}>"
    out = []
    for ch in s:
        if ch == "\\":
            out.append("\\\\")
        elif ch == " " or (ch.isprintable() and unicodedata.category(ch) not in _ESCAPE_CATEGORIES):
            out.append(ch)
        else:
            out.append(_escape_char(ch))
    text = "".join(out)
    if width is not None and len(text) > width:
        text = text[: max(width - 3, 0)] + "..."
    return text


def show(v: Any, width: int = 60) -> str:
    """A JSON value rendered for a report row: floats in round-trip repr, ``None`` as ``null``,
    containers abbreviated, strings escaped (:func:`safe`) and quoted."""
    if v is None:
        s = "null"
    elif isinstance(v, bool):
        s = "true" if v else "false"
    elif isinstance(v, float):
        s = repr(v) if math.isfinite(v) else str(v)
    elif isinstance(v, int):
        s = str(v) if abs(v) < 10**40 else f"<int of {v.bit_length()} bits>"
    elif isinstance(v, str):
        s = '"' + safe(v) + '"'
    elif isinstance(v, dict):
        s = "{" + ", ".join(f"{safe(k, 20)}: {show(x, 20)}" for k, x in list(v.items())[:6]) + (
            ", ..." if len(v) > 6 else "") + "}"
    elif isinstance(v, (list, tuple)):
        s = "[" + ", ".join(show(x, 20) for x in list(v)[:8]) + (", ..." if len(v) > 8 else "") + "]"
    else:
        s = safe(v)
    s = " ".join(s.split())
    return s if len(s) <= width else s[: max(width - 3, 0)] + "..."
