"""What loading every ``batou.lib`` module adds to a no-op ``deployd apply`` (issue 9).

Two repositories, both pinning ``batou==2.7.1`` (so both use the same venv): one whose
component imports only ``batou.lib.file``, one whose component also imports every other module
of batou 2.7.1's ``batou.lib`` (served from the pinned distribution). Each is converged once,
then its no-op ``deployd apply`` is timed, the two alternating, and the medians compared.

    .venv/bin/python benchmarks/bench_batou_lib.py [--repeat 15]

The venv is installed from the parity tests' local wheelhouse (downloaded once from PyPI into
``~/.cache/deployd-tests``). Target: the difference is at most 30 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.support.batou_lib_parity import offline_environment  # noqa: E402
from tests.support.parity_helpers import deployd_command, write_repo  # noqa: E402

TARGET_MS = 30.0
MODULES = (
    "appenv", "archive", "buildout", "cmmi", "cron", "debian", "download", "git", "goceptnet",
    "logrotate", "mercurial", "mysql", "nagios", "package", "python", "service", "supervisor",
    "svn",
)  # fmt: skip

COMPONENT = """\
from batou.component import Component
from batou.lib.file import File
{imports}

class App(Component):
    def configure(self):
        self += File("hello.txt", content="hello\\n")
"""


def repository(path: Path, imports: str) -> Path:
    return write_repo(
        path,
        {
            "requirements.txt": "batou==2.7.1\n",
            "components/app/component.py": COMPONENT.format(imports=imports),
            "environments/bench/environment.cfg": (
                "[environment]\nconnect_method = local\n\n[hosts]\nlocalhost = app\n"
            ),
        },
    )


def apply(repo: Path, root: Path, state: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        deployd_command(repo, "bench", root, state),
        cwd=HERE.parent,
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"deployd apply failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    env = offline_environment()
    with tempfile.TemporaryDirectory(prefix="deployd-bench-lib-") as scratch:
        base, state = Path(scratch), Path(scratch, "state")
        every = "\n".join(f"import batou.lib.{name}" for name in MODULES)
        repos = {
            "batou.lib.file only": repository(base / "file-only", ""),
            "every batou.lib module": repository(base / "every-module", every),
        }
        roots = {name: base / f"root-{number}" for number, name in enumerate(repos)}
        samples: dict[str, list[float]] = {name: [] for name in repos}
        for name, repo in repos.items():
            apply(repo, roots[name], state, env)  # builds the venv, converges the tree
        for _ in range(args.repeat):
            for name, repo in repos.items():
                samples[name].append(apply(repo, roots[name], state, env))
    medians = {name: statistics.median(values) * 1000 for name, values in samples.items()}
    added = medians["every batou.lib module"] - medians["batou.lib.file only"]
    verdict = "ok" if added <= TARGET_MS else "MISSED"
    print(f"median of {args.repeat} no-op runs each; load average {os.getloadavg()}")
    for name, value in medians.items():
        print(f"  {name}: {value:.1f} ms")
    print(f"every batou.lib module adds {added:.1f} ms (target ≤ {TARGET_MS:.0f} ms): {verdict}")
    return 0 if added <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
