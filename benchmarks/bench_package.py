"""The Debian package and the zipapp: install time, start-up of the installed command, and the
zipapp's first (unpacking) and later starts.

The .deb is built as ``make package`` builds it (xz), then installed with ``dpkg -i`` on a fresh
Debian 12 root (the package tests' cached debootstrap, mounted as a throw-away overlay; needs
root). ``deployd --version`` is timed there, and so is the zipapp (``make zipapp``) under the
same root's python3 with an empty ``SHIV_ROOT``: its first start unpacks it, the later ones
reuse the unpacked files.

    .venv/bin/python benchmarks/bench_package.py [--repeat 20]

Targets: the .deb installs, and ``deployd --version`` answers, in under 5 s; the zipapp's second
start is within 100 ms of the installed command's (medians).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.support.debian_root import CHROOT_PATH, base_root, depends, overlay_root  # noqa: E402

INSTALL_TARGET_S = 5.0
VERSION_TARGET_S = 5.0
ZIPAPP_MARGIN_MS = 100.0


CPU: list[float] = []  # user + system seconds of each timed command


def timed(root: Path, *command: str, env: dict[str, str] | None = None) -> float:
    full = {"PATH": CHROOT_PATH, "LANG": "C.UTF-8", "HOME": "/root", **(env or {})}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(["chroot", str(root), *command], capture_output=True, env=full)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout.decode()}{done.stderr.decode()}")
    return elapsed


def build(out: Path) -> tuple[Path, Path]:
    deb = subprocess.run(
        ["bash", str(HERE.parent / "packaging" / "build-deb"), str(out)],
        capture_output=True, text=True, check=True,
    ).stdout.strip().splitlines()[-1]  # fmt: skip
    pyz = out / "deployd.pyz"
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run(
        ["bash", str(HERE.parent / "packaging" / "build-zipapp"), str(pyz)],
        capture_output=True, env=env, check=True,
    )  # fmt: skip
    return Path(deb), pyz


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_package: needs root (an overlay mount and chroot)")
    with tempfile.TemporaryDirectory(prefix="bench-package-") as scratch:
        deb, pyz = build(Path(scratch) / "out")
        size = deb.stat().st_size / 1e6
        base = base_root([*depends(deb), "systemd"])
        with overlay_root(base, Path(scratch) / "overlay") as root:
            (root / "tmp" / deb.name).write_bytes(deb.read_bytes())
            (root / "tmp" / "deployd.pyz").write_bytes(pyz.read_bytes())
            install = timed(root, "dpkg", "-i", f"/tmp/{deb.name}")
            install_cpu = CPU[-1]
            first_version = timed(root, "deployd", "--version")
            shiv = {"SHIV_ROOT": "/tmp/shiv"}
            command = ("python3", "/tmp/deployd.pyz", "--version")
            unpacking = timed(root, *command, env=shiv)
            installed, zipapp, installed_cpu, zipapp_cpu = [], [], [], []
            for _ in range(args.repeat):  # interleaved: a load change hits both alike
                installed.append(timed(root, "deployd", "--version"))
                installed_cpu.append(CPU[-1])
                zipapp.append(timed(root, *command, env=shiv))
                zipapp_cpu.append(CPU[-1])
    installed_ms, zipapp_ms = statistics.median(installed) * 1000, statistics.median(zipapp) * 1000
    cpu_gap = (statistics.median(zipapp_cpu) - statistics.median(installed_cpu)) * 1000
    results = [
        (f"dpkg -i (xz, {size:.1f} MB)", install * 1000, INSTALL_TARGET_S * 1000),
        ("deployd --version, first", first_version * 1000, VERSION_TARGET_S * 1000),
        ("deployd --version, median", installed_ms, VERSION_TARGET_S * 1000),
        ("zipapp first start (unpacks)", unpacking * 1000, None),
        ("zipapp later start, median", zipapp_ms, installed_ms + ZIPAPP_MARGIN_MS),
    ]
    missed = False
    for name, value, target in results:
        verdict = "" if target is None else ("met" if value <= target else "MISSED")
        missed |= verdict == "MISSED"
        limit = "" if target is None else f"(target <= {target:.0f} ms)"
        print(f"{name:34} {value:8.0f} ms  {limit} {verdict}")
    print(f"dpkg -i CPU time (user + system): {install_cpu * 1000:.0f} ms")
    print(f"zipapp later start - installed: {zipapp_ms - installed_ms:+.0f} ms wall, "
          f"{cpu_gap:+.0f} ms CPU (medians)")  # fmt: skip
    print(f"load average: {os.getloadavg()[0]:.1f}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
