"""What the signature policy costs: verifying a range of signed commits, and a no-change poll.

1. A repository gets 100 commits signed with a real ``ssh-keygen`` key (and, separately, 100
   signed with a real gpg key) on top of a deployed commit; ``check_commits`` verifies the range
   as the daemon does before a run (one ``git log`` with ``%G?``; git runs ``ssh-keygen`` twice
   per SSH signature and ``gpg`` once per OpenPGP one). Reported: the median wall time of
   several verifications, with and without path rules, and what the same number of bare
   ``ssh-keygen`` starts costs on this machine (the floor any git-based verification pays).
2. A no-change poll as the loop does it (``ls-remote``, nothing fetched, the trigger finds
   nothing new), with and without a ``[trust]`` policy: verification runs only when the head
   moves past the deployed commit, so both must cost the same.

    .venv/bin/python benchmarks/bench_trust.py [--commits 100] [--repeat 5] [--polls 40]

Targets (issue 12): verifying 100 signed commits adds at most 300 ms to a run; a no-change
poll costs the same as without a policy (within 10 % or 2 ms, whichever is larger).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from daemon.config import Settings, parse_trust  # noqa: E402
from daemon.git import check_commits  # noqa: E402
from daemon.loop import Loop  # noqa: E402
from daemon.state import StateStore  # noqa: E402
from tests.support.helpers import git, make_repo  # noqa: E402
from tests.support.signing import (  # noqa: E402
    GpgKey,
    SshKey,
    allowed_signers,
    gpg_key,
    signed_commit,
    ssh_key,
    stop_agents,
)

TARGET_MS = 300.0


def signed_range(base: Path, key: SshKey | GpgKey, count: int) -> tuple[Path, str, str]:
    repo = make_repo(base, {"README": "deployed\n"})
    first = git("rev-parse", "HEAD", cwd=repo)
    for i in range(count):
        signed_commit(repo, key, {f"environments/production/f{i % 10}": f"{i}\n"}, f"c{i}")
    return repo, first, git("rev-parse", "HEAD", cwd=repo)


def verify_ms(raw: dict[str, object], repo: Path, base: str, head: str, repeat: int) -> float:
    policy = parse_trust(raw)
    times = []
    with tempfile.TemporaryDirectory() as state:
        check_commits(policy, repo / ".git", Path(state), base, head)  # builds the gnupg home
        for _ in range(repeat):
            started = time.perf_counter()
            assert check_commits(policy, repo / ".git", Path(state), base, head) is None
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def spawn_floor_ms(command: list[str], count: int) -> float:
    """``count`` starts of ``command``, one after the other."""
    started = time.perf_counter()
    for _ in range(count):
        subprocess.run(command, capture_output=True)
    return (time.perf_counter() - started) * 1000


def poll_loop(tmp: Path, repo: Path, trust: dict[str, object] | None) -> Loop:
    """A loop that has converged the head (its ratchet), ready for no-change polls."""
    state_dir = tmp / f"state-{'trust' if trust else 'plain'}"
    settings = Settings(repository=str(repo), environment="e", state_dir=state_dir, root=tmp)
    if trust:
        settings = replace(settings, trust=parse_trust(trust))
    store = StateStore(state_dir)
    store.ensure()
    loop = Loop(settings, store)
    loop._poll(time.time(), "poll")  # the first poll fetches
    head = loop.state.upstream.sha if loop.state.upstream else None
    loop.state = replace(loop.state, ratchet=head)  # as after a converge of the head
    return loop


def one_poll_ms(loop: Loop) -> float:
    """One no-change poll plus the "poll" trigger's look at the head (it finds nothing new)."""
    started = time.perf_counter()
    loop._polls.new_tick()
    loop._poll(time.time(), "poll")
    loop._start("poll")
    assert loop._running is None
    return (time.perf_counter() - started) * 1000


def poll_ms(tmp: Path, repo: Path, trust: dict[str, object], polls: int) -> tuple[float, float]:
    """Medians without and with the policy, the two polled in turn (load drifts alike)."""
    plain, with_trust = poll_loop(tmp, repo, None), poll_loop(tmp, repo, trust)
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(polls):
        times[0].append(one_poll_ms(plain))
        times[1].append(one_poll_ms(with_trust))
    return statistics.median(times[0]), statistics.median(times[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--polls", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        key = ssh_key(tmp / "keys", "olga")
        signers = allowed_signers(tmp / "allowed", {"olga@example.com": key})
        repo, base, head = signed_range(tmp / "ssh", key, args.commits)
        ssh = {"allowed_signers": str(signers)}
        rules = {
            **ssh,
            "groups": {"ops": ["olga@example.com"]},
            "paths": {"environments/**": ["ops"]},
        }
        ssh_ms = verify_ms(ssh, repo, base, head, args.repeat)
        rules_ms = verify_ms(rules, repo, base, head, args.repeat)
        find = ["ssh-keygen", "-Y", "find-principals", "-f", str(signers), "-s", os.devnull]
        floor = spawn_floor_ms(find, 2 * args.commits)
        true_floor = spawn_floor_ms(["/bin/true"], 2 * args.commits)
        gpg = gpg_key(tmp / "gpg", "Olga Ops <olga@example.com>")
        gpg_repo, gpg_base, gpg_head = signed_range(tmp / "gpg-repo", gpg, args.commits)
        gpg_ms = verify_ms({"gpg_keyring": str(gpg.public)}, gpg_repo, gpg_base, gpg_head, 3)
        stop_agents(gpg)
        plain, with_trust = poll_ms(tmp, repo, rules, args.polls)
    print(f"verify {args.commits} ssh-signed commits:             {ssh_ms:7.1f} ms (median)")
    print(f"  ... with path rules (names of changed files): {rules_ms:7.1f} ms")
    print(f"  ... {2 * args.commits} bare ssh-keygen starts (the floor):  {floor:7.1f} ms")
    print(f"  ... {2 * args.commits} starts of /bin/true:                {true_floor:7.1f} ms")
    print(f"verify {args.commits} gpg-signed commits:             {gpg_ms:7.1f} ms")
    print(f"no-change poll, no policy:   {plain:6.2f} ms (median of {args.polls})")
    print(f"no-change poll, with policy: {with_trust:6.2f} ms")
    poll_ok = with_trust <= max(plain * 1.10, plain + 2.0)
    verify_ok = ssh_ms <= TARGET_MS
    print(f"target verify <= {TARGET_MS:.0f} ms: {'ok' if verify_ok else 'MISSED'}")
    print(f"target poll unchanged: {'ok' if poll_ok else 'MISSED'}")
    return 0 if verify_ok and poll_ok else 1


if __name__ == "__main__":
    sys.exit(main())
