"""Regenerate the committed example certificates, deliberately, after a change that alters results.

    python certificates/regenerate.py            # from the repository root, with qrcheck installed

Runs ``qrcheck verify`` for every example in :data:`EXAMPLES` (writing ``certificates/NAME.json``), then
``qrcheck audit`` on each (with ``--replay-gd``), and stops with exit 1 if any audit is not clean. Review
the diff (``git diff certificates/``) before committing: only ``created``, timings and provenance should
change unless the change was meant to alter results. See docs/certificates.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

EXAMPLES = {
    # the design card: CONTRACT defaults, n = 100, S = 500, m = 300, seed 0, paper profile
    "design-card": ["--n", "100", "--S", "500", "--m", "300"],
    # small and quick: GD converges in under a thousand steps, (30) is certified by a searched bound
    "small": ["--n", "30", "--S", "40", "--m", "10"],
}


def main() -> int:
    failed = []
    for name, args in EXAMPLES.items():
        out = (HERE / f"{name}.json").relative_to(ROOT)
        cmd = [sys.executable, "-m", "qrcheck", "verify", *args, "--out", str(out)]
        print("$", " ".join(cmd[2:]), flush=True)
        rc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL).returncode
        if rc not in (0, 1):  # 1 is a result (a violated property), not an error
            failed.append(f"{name}: verify exited {rc}")
            continue
        audit = subprocess.run([sys.executable, "-m", "qrcheck", "audit", str(out), "--replay-gd"], cwd=ROOT,
                               capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
        print(audit.stdout.strip().splitlines()[-1] if audit.stdout.strip() else audit.stderr.strip(), flush=True)
        if audit.returncode != 0:
            failed.append(f"{name}: audit exited {audit.returncode}")
    for f in failed:
        print("FAILED", f, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
