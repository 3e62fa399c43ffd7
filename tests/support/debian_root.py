"""A fresh Debian 12 root for the package tests, and the packages to install in it.

``base_root(packages)`` runs ``debootstrap --variant=minbase --include=PACKAGES`` once per
machine (about a minute; a directory under ``~/.cache/deployd-tests/debian``, or
``$DEPLOYD_TEST_DEBIAN_ROOTS``, keyed by the package list, made under a lock so that parallel
test runs build it once). ``overlay_root`` then mounts a throw-away overlay of it for one
test: whatever the test installs lands in its own temporary upper directory and goes away
with it, so the cached root stays pristine and nothing reaches this machine's file system.

``build_packages`` builds the .deb twice from one staged venv (``packaging/build-deb`` with
``DEB_STAGE``): as ``VERSION~previous`` and as ``VERSION``, for the upgrade test.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.support.made_once import filled_once
from tests.support.paths import REPO_ROOT

SUITE = "bookworm"


def _apt_mirror() -> str:
    """The Debian archive this machine's apt uses (deb822 ``.sources`` or one-line ``deb``
    entries): debootstrap fetches from the same place apt does, nothing else is assumed."""
    sources = Path("/etc/apt")
    for path in [*sorted(sources.glob("sources.list.d/*.sources")), sources / "sources.list"]:
        try:
            text = path.read_text()
        except OSError:
            continue
        for stanza in text.split("\n\n"):
            fields = dict(
                line.split(":", 1) for line in stanza.splitlines() if ":" in line and line[0] != "#"
            )
            if SUITE in fields.get("Suites", "") and "security" not in fields.get("URIs", ""):
                return fields["URIs"].split()[0].strip()
        for line in text.splitlines():
            words = line.split()
            if len(words) >= 3 and words[0] == "deb" and words[2] == SUITE:
                return words[1]
    raise AssertionError(
        "no Debian archive for bookworm in /etc/apt: set DEPLOYD_TEST_DEBIAN_MIRROR"
    )


MIRROR = os.environ.get("DEPLOYD_TEST_DEBIAN_MIRROR") or _apt_mirror()
CACHE = Path(
    os.environ.get("DEPLOYD_TEST_DEBIAN_ROOTS")
    or Path.home() / ".cache" / "deployd-tests" / "debian"
)
CHROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Maintainer scripts call systemctl (through deb-systemd-invoke) only when systemd runs
# (/run/systemd/system exists). systemd cannot be PID 1 here: this stand-in records the calls,
# answers as for an enabled, running service, and for a start of deployd (`systemctl start`,
# `enable --now`) does what the unit says: ExecCondition, then ExecStart in the background,
# returning once the daemon answers on its socket (as Type=notify waits for READY=1).
FAKE_SYSTEMCTL = """#!/bin/sh
echo "$*" >> /var/log/systemctl-calls
case "$*" in
*is-enabled*) echo enabled ;;
*" start deployd"*|*"--now deployd"*)
    deployd configured --config /etc/deployd/deployd.toml 2>>/var/log/systemctl-calls || exit 0
    setsid deployd run --config /etc/deployd/deployd.toml >/var/log/deployd.log 2>&1 </dev/null &
    echo $! > /run/deployd-test.pid
    for i in $(seq 600); do [ -S /run/deployd/deployd.sock ] && exit 0; sleep 0.1; done
    echo "deployd did not open its socket: see /var/log/deployd.log" >&2; exit 1 ;;
esac
exit 0
"""


def build_packages(out: Path) -> tuple[Path, Path]:
    """(previous, current): the same build packed as VERSION~previous and as VERSION."""
    stage = out / "stage"
    version = _project_version()
    built = []
    for deb_version in (f"{version}~previous", version):
        env = {**os.environ, "DEB_STAGE": str(stage), "DEB_VERSION": deb_version}
        # xz takes seconds and changes nothing that is installed
        env["DEB_COMPRESSION"], env["DEB_COMPRESSION_LEVEL"] = "gzip", "1"
        done = subprocess.run(
            ["bash", str(REPO_ROOT / "packaging" / "build-deb"), str(out)],
            env=env, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        built.append(Path(done.stdout.strip().splitlines()[-1]))
    return built[0], built[1]


def _project_version() -> str:
    import tomllib

    data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    return str(data["project"]["version"])


def depends(deb: Path, *fields: str) -> list[str]:
    """The package names the .deb names in ``fields`` (default Depends and Recommends, as apt
    installs both): the first of each alternative, without versions."""
    names: set[str] = set()
    for field in fields or ("Depends", "Recommends"):
        text = subprocess.run(
            ["dpkg-deb", "--field", str(deb), field], capture_output=True, text=True, check=True
        ).stdout
        names |= {part.split("|")[0].split("(")[0].strip() for part in text.split(",")}
    return sorted(name for name in names if name)


def base_root(packages: list[str]) -> Path:
    """A minimal Debian root with ``packages``, made once and then reused."""
    key = hashlib.sha256(f"{SUITE} {MIRROR} {' '.join(sorted(packages))}".encode()).hexdigest()

    def debootstrap(target: Path) -> None:
        command = ["debootstrap", "--variant=minbase", f"--include={','.join(packages)}"]
        done = subprocess.run(
            [*command, SUITE, str(target), MIRROR], capture_output=True, text=True, timeout=1200
        )
        if done.returncode != 0:
            raise AssertionError(f"debootstrap from {MIRROR} failed:\n{done.stdout[-3000:]}")
        (target / "var" / "cache" / "apt" / "archives").mkdir(parents=True, exist_ok=True)
        for deb in (target / "var" / "cache" / "apt" / "archives").glob("*.deb"):
            deb.unlink()  # downloaded packages: not needed any more

    return filled_once(CACHE / f"debian-{SUITE}-{key[:12]}", debootstrap)


@contextlib.contextmanager
def overlay_root(base: Path, scratch: Path) -> Iterator[Path]:
    """``base`` as a writable root for one test (an overlay mount), with /proc and the
    systemctl stand-in; unmounted and gone afterwards."""
    upper, work, root = scratch / "upper", scratch / "work", scratch / "root"
    for folder in (upper, work, root):
        folder.mkdir(parents=True)
    options = f"lowerdir={base},upperdir={upper},workdir={work}"
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(root)], check=True)
    mounted = [root]
    try:
        subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True)
        mounted.append(root / "proc")
        (root / "run" / "systemd" / "system").mkdir(parents=True, exist_ok=True)
        fake = root / "usr" / "local" / "bin" / "systemctl"
        fake.write_text(FAKE_SYSTEMCTL)
        fake.chmod(0o755)
        yield root
    finally:
        for mount in reversed(mounted):
            subprocess.run(["umount", "--lazy", str(mount)], check=False)
        shutil.rmtree(scratch, ignore_errors=True)


def in_root(root: Path, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``command`` chrooted into ``root`` with a clean environment."""
    env = {
        "PATH": CHROOT_PATH,
        "LANG": "C.UTF-8",
        "HOME": "/root",
        "DEBIAN_FRONTEND": "noninteractive",
    }
    done = subprocess.run(
        ["chroot", str(root), *command], capture_output=True, text=True, env=env, timeout=300
    )
    if check:
        assert done.returncode == 0, (
            f"{' '.join(command)}: {done.returncode}\n{done.stdout}\n{done.stderr}"
        )
    return done


def systemctl_calls(root: Path) -> list[str]:
    log = root / "var" / "log" / "systemctl-calls"
    return log.read_text().splitlines() if log.exists() else []


def file_tree(root: Path, skip: tuple[str, ...]) -> set[str]:
    """Every path under ``root`` (relative, with a / for directories), but those under the
    ``skip`` prefixes: what a purge must leave exactly as it found it."""
    found: set[str] = set()
    for folder, dirs, files in os.walk(root):
        relative = os.path.relpath(folder, root)
        dirs[:] = [d for d in dirs if not _skipped(os.path.join(relative, d), skip)]
        for name in dirs:
            found.add(os.path.normpath(os.path.join(relative, name)) + "/")
        for name in files:
            path = os.path.normpath(os.path.join(relative, name))
            if not _skipped(path, skip):
                found.add(path)
    return found


def _skipped(path: str, skip: tuple[str, ...]) -> bool:
    path = os.path.normpath(path)
    return any(path == prefix or path.startswith(prefix + "/") for prefix in skip)
