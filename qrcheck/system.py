"""Facts about the machine that both sides need, stdlib only (layer 0): the memory available for a
run (verify refuses sizes that cannot fit before allocating; the audit bounds its own dense work)."""

from __future__ import annotations

import os

# verify side: above this m no m x m array is formed anywhere (checks, GD, diagnostics; memory
# O(Sm + Sn + nm)); re-exported as qrcheck.spectral.DENSE_M_LIMIT. The audit keeps its own constant.
DENSE_M_LIMIT = 6000
# verify side: row blocks of X^T X read above DENSE_M_LIMIT hold at most this many bytes
GRAM_BLOCK_BYTES = 32 * 2**20


def available_bytes() -> int:
    """MemAvailable from /proc/meminfo (Linux), else physical memory, else 4 GiB."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 4 * 2**30
