"""Run the benchmark scripts in this directory (``make bench``).

    python benchmarks/run.py            # every bench_*.py in turn
    python benchmarks/run.py worker     # only the scripts whose name contains "worker"
    python benchmarks/run.py --list     # the scripts, without running them

The exit status is non-zero when any script fails or misses its target.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run deployd's benchmarks (bench_*.py).")
    parser.add_argument("only", nargs="*", help="run only scripts whose name contains one of these")
    parser.add_argument("--list", action="store_true", help="list the scripts and exit")
    args = parser.parse_args(argv)
    scripts = [
        script
        for script in sorted(HERE.glob("bench_*.py"))
        if not args.only or any(word in script.name for word in args.only)
    ]
    if args.list or not scripts:
        print("\n".join(script.name for script in scripts) or "no benchmark matches")
        return 0 if scripts else 2
    failed = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        if subprocess.run([sys.executable, str(script)]).returncode != 0:
            failed.append(script.name)
    if failed:
        print(f"failed or missed a target: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
