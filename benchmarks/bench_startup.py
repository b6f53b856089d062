"""Start-up cost of the command line: ``qrcheck verify --n 0`` (a usage error) and ``qrcheck --help``
against ``python -c "import numpy"``, as ratios and differences of medians over fresh processes.

    python benchmarks/bench_startup.py [--repeats 7]

Issue 9's bar: the usage error prints in well under a second more than importing numpy takes;
neither command imports scipy (tests/test_cli.py checks that).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c 'import numpy'": [sys.executable, "-c", "import numpy"],
    "qrcheck verify --n 0": [sys.executable, "-m", "qrcheck", "verify", "--n", "0"],
    "qrcheck --help": [sys.executable, "-m", "qrcheck", "--help"],
}


def wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    times = {k: [] for k in COMMANDS}
    for _ in range(args.repeats):  # interleaved, so a change of load hits every command alike
        for k, cmd in COMMANDS.items():
            times[k].append(wall(cmd))
    base = statistics.median(times["python -c 'import numpy'"])
    for k, ts in times.items():
        med = statistics.median(ts)
        print(f"{k:28s} median {med:6.3f} s  (min {min(ts):.3f})  ratio {med / base:5.2f}  +{med - base:6.3f} s")


if __name__ == "__main__":
    main()
