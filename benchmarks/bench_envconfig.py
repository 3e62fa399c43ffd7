"""Time to load a large ``environment.cfg`` and select a host.

The generated environment has 1,000 ``[host:NAME]`` sections (10 components and 3 data keys
each), 200 ``[component:X]`` sections of 10 overrides and 500 ``[resolver]`` entries: far more
than real fleets, so that the figure bounds what every worker run pays before configure starts.
Wall time of ``load_environment_config`` + ``validate_component_names`` + ``select_host``,
reported as median and 95th percentile.

    .venv/bin/python benchmarks/bench_envconfig.py [--hosts 1000] [--repeat 20]

Target: at most 150 ms for the whole step on the CI machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from components_runtime.envconfig.load import (  # noqa: E402
    load_environment_config,
    validate_component_names,
)
from components_runtime.envconfig.this_host import select_host  # noqa: E402

TARGET_MS = 150.0
COMPONENTS = [f"component{i}" for i in range(200)]


def environment_text(hosts: int) -> str:
    lines = ["[environment]", "host_domain = example.com", "platform = debian", ""]
    for h in range(hosts):
        names = [COMPONENTS[(h + i * 7) % len(COMPONENTS)] for i in range(10)]
        lines += [f"[host:host{h:04d}]", "components ="]
        lines += [f"    {name}:feature{i}" for i, name in enumerate(names)]
        lines += [f"data-key{k} = value {h} {k}" for k in range(3)] + [""]
    for name in COMPONENTS:
        lines += [f"[component:{name}]"] + [f"attribute{k} = {k} # raw" for k in range(10)]
    lines += ["", "[resolver]"]
    lines += [f"service{i}.internal = 10.0.{i // 250}.{i % 250}" for i in range(500)]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        path = base / "environments" / "big" / "environment.cfg"
        path.parent.mkdir(parents=True)
        path.write_text(environment_text(args.hosts))
        timings = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            config = load_environment_config(base, "big")
            problems = validate_component_names(config, set(COMPONENTS))
            select_host(config, None, f"host{args.hosts - 1:04d}", "x")
            timings.append((time.perf_counter() - started) * 1000)
        assert not config.errors and not problems, (config.errors, problems)
    timings.sort()
    median = statistics.median(timings)
    p95 = timings[int(len(timings) * 0.95) - 1]
    size_kib = len(environment_text(args.hosts)) / 1024
    print(
        f"envconfig: {args.hosts} hosts, {size_kib:.0f} KiB: "
        f"median {median:.1f} ms, p95 {p95:.1f} ms (target {TARGET_MS:.0f} ms)"
    )
    return 0 if median <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
