"""Signature checks with real keys: ssh-keygen and gpg keys, commits and merges signed by git."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.config import TrustPolicy, parse_trust
from daemon.git import Verifier, check_commits, gnupg_home, read_signatures
from daemon.records import SignatureRefusal
from tests.support.helpers import git, make_repo
from tests.support.signing import (
    GpgKey,
    SshKey,
    allowed_signers,
    gpg_key,
    signed_commit,
    signed_merge,
    ssh_key,
    stop_agents,
)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SshKey]:
    base = tmp_path_factory.mktemp("keys")
    return {name: ssh_key(base, name) for name in ("alice", "bob", "mallory")}


@pytest.fixture(scope="module")
def gpg_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, GpgKey]]:
    base = tmp_path_factory.mktemp("gpg")
    made = {
        "olga": gpg_key(base, "Olga Ops <olga@example.com>"),
        "eve": gpg_key(base, "Eve <eve@example.com>"),
    }
    yield made
    stop_agents(*made.values())


def policy(tmp: Path, keys: dict[str, SshKey], **extra: object) -> TrustPolicy:
    signers = allowed_signers(
        tmp / "allowed", {"alice@example.com": keys["alice"], "bob@example.com": keys["bob"]}
    )
    raw: dict[str, object] = {
        "allowed_signers": str(signers),
        "groups": {"ops": ["alice@example.com"], "app": ["bob@example.com"]},
        "paths": {"environments/production/**": ["ops"], "components/app": ["ops", "app"]},
    }
    return parse_trust({**raw, **extra})


def check(
    repo: Path, tmp: Path, rules: TrustPolicy, base: str | None, head: str = "HEAD"
) -> SignatureRefusal | None:
    sha = git("rev-parse", head, cwd=repo)
    return check_commits(rules, repo / ".git", tmp, base, sha)


@pytest.fixture
def repo(tmp_path: Path, keys: dict[str, SshKey]) -> Path:
    path = make_repo(tmp_path / "repo", {"README": "x\n"})
    signed_commit(path, keys["alice"], {"a": "1\n"}, "signed base")
    return path


def base_of(repo: Path) -> str:
    return git("rev-parse", "HEAD", cwd=repo)


def test_every_signed_commit_and_merge_passes(
    repo: Path, tmp_path: Path, keys: dict[str, SshKey]
) -> None:
    base = base_of(repo)
    git("checkout", "-q", "-b", "side", cwd=repo)
    signed_commit(repo, keys["bob"], {"components/app/x": "1\n"}, "app change")
    git("checkout", "-q", "main", cwd=repo)
    signed_commit(repo, keys["alice"], {"environments/production/env": "1\n"}, "ops change")
    merge = signed_merge(repo, keys["alice"], "side")
    rules = policy(tmp_path, keys)
    verifier = Verifier(repo / ".git", rules.allowed_signers, gnupg_home(tmp_path, None))
    commits = read_signatures(verifier, base, merge, with_paths=True)
    assert [c.status for c in commits] == ["G", "G", "G"]
    assert commits[-1].sha == merge and len(commits[-1].parents) == 2
    assert {c.identity for c in commits} == {"alice@example.com", "bob@example.com"}
    assert check(repo, tmp_path, rules, base) is None


def test_an_unsigned_commit_inside_the_range_is_named(
    repo: Path, tmp_path: Path, keys: dict
) -> None:
    base = base_of(repo)
    unsigned = signed_commit(repo, None, {"a": "2\n"}, "sneaked in")
    head = signed_commit(repo, keys["alice"], {"a": "3\n"}, "signed on top")
    refusal = check(repo, tmp_path, policy(tmp_path, keys), base)
    assert refusal is not None
    assert (refusal.reason, refusal.commit, refusal.head) == ("unsigned", unsigned, head)


def test_unsigned_side_commit_of_a_signed_merge(
    repo: Path, tmp_path: Path, keys: dict[str, SshKey]
) -> None:
    """Every commit: the side branch's unsigned commit is refused, though the merge is signed.
    Head only: the merge's signer vouches for all of it."""
    base = base_of(repo)
    git("checkout", "-q", "-b", "side", cwd=repo)
    side = signed_commit(repo, None, {"b": "1\n"}, "unsigned side")
    git("checkout", "-q", "main", cwd=repo)
    signed_merge(repo, keys["alice"], "side")
    refusal = check(repo, tmp_path, policy(tmp_path, keys), base)
    assert refusal is not None and (refusal.reason, refusal.commit) == ("unsigned", side)
    assert check(repo, tmp_path, policy(tmp_path, keys, verify="head"), base) is None


def test_unknown_key_is_not_allowed(repo: Path, tmp_path: Path, keys: dict[str, SshKey]) -> None:
    base = base_of(repo)
    bad = signed_commit(repo, keys["mallory"], {"a": "2\n"}, "by mallory")
    refusal = check(repo, tmp_path, policy(tmp_path, keys), base)
    assert refusal is not None
    assert (refusal.reason, refusal.commit) == ("signer-not-allowed", bad)
    assert refusal.key == keys["mallory"].fingerprint and refusal.signer == ""


def test_a_commit_altered_after_signing(
    repo: Path, tmp_path: Path, keys: dict[str, SshKey]
) -> None:
    base = base_of(repo)
    signed_commit(repo, keys["alice"], {"a": "2\n"}, "honest")
    raw = git("cat-file", "commit", "HEAD", cwd=repo).replace("honest", "altered")
    (tmp_path / "raw").write_text(raw + "\n")
    forged = git("hash-object", "-t", "commit", "-w", str(tmp_path / "raw"), cwd=repo)
    refusal = check(repo, tmp_path, policy(tmp_path, keys), base, forged)
    assert refusal is not None and (refusal.reason, refusal.commit) == ("bad-signature", forged)


def test_path_rules(repo: Path, tmp_path: Path, keys: dict[str, SshKey]) -> None:
    base = base_of(repo)
    app = signed_commit(repo, keys["bob"], {"components/app/c.py": "1\n"}, "app may")
    assert check(repo, tmp_path, policy(tmp_path, keys), base) is None
    prod = signed_commit(repo, keys["bob"], {"environments/production/e": "1\n"}, "app may not")
    refusal = check(repo, tmp_path, policy(tmp_path, keys), app)
    assert refusal is not None
    assert (refusal.reason, refusal.commit, refusal.path) == (
        "path-not-allowed",
        prod,
        "environments/production/e",
    )
    assert refusal.signer == "bob@example.com" and refusal.groups == ("ops",)
    assert refusal.key == keys["bob"].fingerprint


def test_moving_a_file_out_of_a_guarded_path_counts(repo: Path, tmp_path: Path, keys: dict) -> None:
    signed_commit(repo, keys["alice"], {"environments/production/e": "1\n"}, "ops adds")
    base = base_of(repo)
    git("mv", "environments/production/e", "elsewhere", cwd=repo)
    signed_commit(repo, keys["bob"], {}, "moved away")
    refusal = check(repo, tmp_path, policy(tmp_path, keys), base)
    assert refusal is not None and refusal.path == "environments/production/e"


def test_head_only_checks_the_whole_change_against_the_head_signer(
    repo: Path, tmp_path: Path, keys: dict
) -> None:
    base = base_of(repo)
    git("checkout", "-q", "-b", "side", cwd=repo)
    signed_commit(repo, keys["bob"], {"environments/production/e": "1\n"}, "by app")
    git("checkout", "-q", "main", cwd=repo)
    signed_merge(repo, keys["bob"], "side")
    head_only = policy(tmp_path, keys, verify="head")
    refusal = check(repo, tmp_path, head_only, base)
    assert refusal is not None
    assert (refusal.reason, refusal.path) == ("path-not-allowed", "environments/production/e")
    git("reset", "-q", "--hard", "HEAD~1", cwd=repo)
    signed_merge(repo, keys["alice"], "side")  # ops reviewed and merged it
    assert check(repo, tmp_path, head_only, base) is None


def test_openpgp_keyring(
    repo: Path, tmp_path: Path, keys: dict, gpg_keys: dict[str, SshKey]
) -> None:
    base = base_of(repo)
    olga, eve = gpg_keys["olga"], gpg_keys["eve"]
    rules = parse_trust(
        {
            "gpg_keyring": str(olga.public),
            "groups": {"ops": ["olga@example.com"]},
            "paths": {"environments/production/**": ["ops"]},
        }
    )
    signed_commit(repo, olga, {"environments/production/e": "1\n"}, "olga")
    assert check(repo, tmp_path, rules, base) is None
    bad = signed_commit(repo, eve, {"a": "x\n"}, "eve")
    refusal = check(repo, tmp_path, rules, base)
    assert refusal is not None and (refusal.reason, refusal.commit) == ("signer-not-allowed", bad)
    git("reset", "-q", "--hard", "HEAD~1", cwd=repo)
    ssh_signed = signed_commit(repo, keys["alice"], {"a": "y\n"}, "ssh, but no ssh policy")
    refusal = check(repo, tmp_path, rules, base)
    assert refusal is not None
    assert (refusal.reason, refusal.commit) == ("signer-not-allowed", ssh_signed)


def test_a_key_taken_out_of_the_keyring_is_no_longer_allowed(
    repo: Path, tmp_path: Path, gpg_keys: dict[str, GpgKey]
) -> None:
    base = base_of(repo)
    keyring = tmp_path / "keys.asc"
    keyring.write_bytes(gpg_keys["olga"].public.read_bytes() + gpg_keys["eve"].public.read_bytes())
    rules = parse_trust({"gpg_keyring": str(keyring)})
    signed_commit(repo, gpg_keys["olga"], {"a": "olga\n"}, "olga")
    assert check(repo, tmp_path, rules, base) is None
    keyring.write_bytes(gpg_keys["eve"].public.read_bytes())  # olga's key rotated out
    refusal = check(repo, tmp_path, rules, base)
    assert refusal is not None and refusal.reason == "signer-not-allowed"
    assert gpg_keys["olga"].fingerprint.endswith(refusal.key)  # an unknown key: its id


def test_a_state_dir_too_deep_for_gpgs_sockets_still_verifies(
    repo: Path, tmp_path: Path, gpg_keys: dict[str, GpgKey]
) -> None:
    """gpg wants its agent's sockets in its home when /run/user/UID is missing, and a socket
    path has room for 107 bytes: a deep state dir must not break importing or verifying."""
    base = base_of(repo)
    deep = tmp_path / ("state-" + "d" * 60) / ("x" * 40)
    rules = parse_trust({"gpg_keyring": str(gpg_keys["olga"].public)})
    signed_commit(repo, gpg_keys["olga"], {"a": "olga\n"}, "olga")
    assert check(repo, deep, rules, base) is None
    bad = signed_commit(repo, gpg_keys["eve"], {"a": "eve\n"}, "eve")
    refusal = check(repo, deep, rules, base)
    assert refusal is not None and (refusal.reason, refusal.commit) == ("signer-not-allowed", bad)


def test_fresh_host_checks_the_head_alone(tmp_path: Path, keys: dict[str, SshKey]) -> None:
    repo = make_repo(tmp_path / "fresh", {"README": "unsigned history\n"})
    signed_commit(repo, keys["alice"], {"a": "1\n"}, "signed head")
    assert check(repo, tmp_path, policy(tmp_path, keys), None) is None
    signed_commit(repo, None, {"a": "2\n"}, "unsigned head")
    refusal = check(repo, tmp_path, policy(tmp_path, keys), None)
    assert refusal is not None and refusal.reason == "unsigned"


def test_a_range_split_over_several_processes_reads_the_same(
    repo: Path, tmp_path: Path, keys: dict[str, SshKey]
) -> None:
    """The parallel read (one git per chunk of commits) gives what one git gives: every commit,
    merges with their own paths, in the same order; an unsigned one among them still shows."""
    base = base_of(repo)
    for i in range(3):
        git("checkout", "-q", "-b", f"side{i}", "main", cwd=repo)
        signed_commit(repo, keys["bob"], {f"components/app/s{i}": "1\n"}, f"side {i}")
        signed_commit(repo, None if i == 1 else keys["bob"], {f"b{i}": "1\n"}, f"more {i}")
        git("checkout", "-q", "main", cwd=repo)
        signed_commit(repo, keys["alice"], {f"environments/production/m{i}": "1\n"}, f"m {i}")
        signed_merge(repo, keys["alice"], f"side{i}")
    head = git("rev-parse", "HEAD", cwd=repo)
    rules = policy(tmp_path, keys)
    verifier = Verifier(repo / ".git", rules.allowed_signers, gnupg_home(tmp_path, None))
    one = read_signatures(verifier, base, head, with_paths=True, workers=1)
    for workers in (2, 5):
        assert read_signatures(verifier, base, head, with_paths=True, workers=workers) == one
    assert len(one) == 12 and sum(len(c.parents) == 2 for c in one) == 3
    assert [c.status for c in one].count("N") == 1
    assert {p for c in one for p in c.paths} >= {"components/app/s0", "environments/production/m2"}
