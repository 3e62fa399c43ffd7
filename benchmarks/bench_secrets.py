"""What batou's encrypted secrets add to a run: 200 values, encrypted to 50 host keys.

Two repositories converge the same 20 components (10 attributes each, one file each); in one the
200 values are overrides in ``environment.cfg``, in the other they sit in ``secrets.cfg.age``
encrypted to 50 ssh-ed25519 host keys (the host's own key among them). ``deployd apply`` runs on
both in pairs (ABBA order), after a first run of each that builds the venv and the work tree, so
every timed run is a no-op converge. Two figures, each the median of the pairwise differences:
the CPU time of the command and its worker (user + system, from ``getrusage``), which a busy
shared machine hardly disturbs, and the wall time, which it does. The secrets' own steps are also
timed in-process: the decryption with the host key, the worker's parsing and merging, the guard.

    .venv/bin/python benchmarks/bench_secrets.py [--values 200] [--recipients 50] [--repeat 15]

Target: at most 50 ms added to a run (CPU time; the wall time is reported beside it).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import pyrage  # noqa: E402
from pyrage import ssh  # noqa: E402

from components_runtime.secrets import (  # noqa: E402
    find_secrets,
    guard_for_texts,
    read_secrets,
)
from daemon.secrets import SecretsOptions, decrypt_secrets  # noqa: E402

TARGET_MS = 50.0
PER_COMPONENT = 10
COMPONENT = """\
from batou.component import Attribute, Component
from batou.lib.file import File


class {cls}(Component):
{attributes}

    def configure(self):
        self += File("values.txt", content=" ".join(
            str(getattr(self, "key%d" % i)) for i in range({count})) + "\\n")
"""


def _keys(folder: Path, count: int) -> list[str]:
    folder.mkdir(parents=True)
    publics = []
    for index in range(count):
        key = folder / f"host{index}"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"host{index}", "-f", str(key)],
            check=True,
        )
        publics.append(key.with_suffix(".pub").read_text().strip())
    return publics


def _repository(path: Path, values: int, secret: bool, recipients: list[str]) -> None:
    components = values // PER_COMPONENT
    sections = []
    for c in range(components):
        name = f"c{c:02d}"
        attributes = "\n".join(f"    key{i} = Attribute(str, None)" for i in range(PER_COMPONENT))
        folder = path / "components" / name
        folder.mkdir(parents=True)
        text = COMPONENT.format(cls=name.title(), attributes=attributes, count=PER_COMPONENT)
        (folder / "component.py").write_text(text)
        lines = [f"key{i} = secret-{c}-{i}-Zk8Qw3Xp4Lm" for i in range(PER_COMPONENT)]
        sections.append(f"[component:{name}]\n" + "\n".join(lines) + "\n")
    names = ", ".join(f"c{c:02d}" for c in range(components))
    env = path / "environments" / "bench"
    env.mkdir(parents=True)
    environment = f"[hosts]\nlocalhost = {names}\n\n"
    if not secret:
        (env / "environment.cfg").write_text(environment + "\n".join(sections))
        return
    (env / "environment.cfg").write_text(environment)
    members = ",\n  ".join(recipients)
    text = f"[batou]\nsecret_provider = age\nmembers = {members}\n\n" + "\n".join(sections)
    keys = [ssh.Recipient.from_str(public) for public in recipients]
    (env / "secrets.cfg.age").write_bytes(bytes(pyrage.encrypt(text.encode(), keys)))


def _apply(repo: Path, root: Path, state: Path, identity: Path) -> tuple[float, float]:
    """(wall, CPU) milliseconds of one ``deployd apply`` (CPU: the command and its worker)."""
    command = [
        sys.executable, "-m", "daemon.cli", "apply", str(repo), "-e", "bench",
        "--host", "localhost", "--root", str(root), "--state-dir", str(state),
        "--identity", str(identity),
    ]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=HERE.parent)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"deployd apply failed:\n{done.stdout}\n{done.stderr}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return elapsed * 1000, cpu * 1000


def _in_process(repo: Path, identity: Path, repeat: int) -> dict[str, float]:
    steps: dict[str, list[float]] = {"decrypt": [], "worker": [], "guard": []}
    options = SecretsOptions(identities=(identity,))
    for _ in range(repeat):
        started = time.perf_counter()
        decryption = decrypt_secrets(repo, "bench", "localhost", options)
        decrypted = time.perf_counter()
        assert decryption.ok and decryption.payload is not None, decryption.failures
        texts = decryption.payload.as_dict()
        secrets = read_secrets(find_secrets(repo, "bench"), texts, "localhost")
        assert not secrets.errors
        parsed = time.perf_counter()
        guard_for_texts(texts)
        guarded = time.perf_counter()
        steps["decrypt"].append((decrypted - started) * 1000)
        steps["worker"].append((parsed - decrypted) * 1000)
        steps["guard"].append((guarded - parsed) * 1000)
    return {name: statistics.median(times) for name, times in steps.items()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--values", type=int, default=200)
    parser.add_argument("--recipients", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        recipients = _keys(base / "keys", args.recipients)
        identity = base / "keys" / f"host{args.recipients - 1}"
        plain, secret = base / "plain", base / "secret"
        _repository(plain, args.values, False, recipients)
        _repository(secret, args.values, True, recipients)
        runs: dict[Path, list[tuple[float, float]]] = {plain: [], secret: []}
        for repo in runs:  # the first run builds the venv and the work tree
            _apply(repo, base / f"{repo.name}-root", base / "state", identity)
        for index in range(args.repeat):  # ABBA: neither goes first every time
            for repo in (plain, secret) if index % 2 == 0 else (secret, plain):
                root = base / f"{repo.name}-root"
                runs[repo].append(_apply(repo, root, base / "state", identity))
        steps = _in_process(secret, identity, args.repeat)
    pairs = list(zip(runs[plain], runs[secret], strict=True))
    wall = statistics.median(s[0] - p[0] for p, s in pairs)
    added = statistics.median(s[1] - p[1] for p, s in pairs)
    plain_cpu = statistics.median(p[1] for p, _ in pairs)
    plain_wall = statistics.median(p[0] for p, _ in pairs)
    print(
        f"secrets: {args.values} values, {args.recipients} recipients: added {added:+.1f} ms CPU "
        f"(of {plain_cpu:.0f} ms without), {wall:+.1f} ms wall (of {plain_wall:.0f} ms); "
        f"target {TARGET_MS:.0f} ms"
    )
    print("  in-process: " + ", ".join(f"{name} {ms:.1f} ms" for name, ms in steps.items()))
    return 0 if added <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
