"""May the branch head converge here? The ratchet first, then the signature policy.

:meth:`Admission.admit` answers for the loop before a run starts: the head must fast-forward
the ratchet (``git.decide``), and with a ``[trust]`` policy every commit that would reach the
host must be signed by an allowed signer who may change the paths it touches
(``git.check_commits``). A
refusal is a run record (outcome ``refused``) and nothing of the commit runs; a verification
that cannot run at all (gpg missing, the keyring unreadable) is a ``failed`` record, and the
host stays where it is too.

Verification costs a process per signature, so it runs only when the head moved past the
ratchet, and a verdict on the same range is remembered while the policy files stay the same.

:func:`adopt_root_ratchet` gives a daemon that starts without a ratchet the copy kept in the
deployment root (``state.root_ratchet``).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from daemon.config import Settings
from daemon.git import KeyringError, Mirror, SignatureError, check_commits, decide, redact
from daemon.records import CommitInfo, ErrorRecord, HostState, RunRecord, SignatureRefusal
from daemon.state import read_root_ratchet, root_ratchet_path, write_root_ratchet

log = logging.getLogger(__name__)

_HINTS = {
    "unsigned": "sign the commits after the deployed one with an allowed key and push them "
    "(`git rebase --exec 'git commit --amend --no-edit -S' DEPLOYED`), or review them and run "
    "`deployd trust SHA`",
    "bad-signature": "the commit was changed after it was signed: treat the repository as "
    "tampered with, find out who pushed it, and push a correctly signed history",
    "signer-not-allowed": "re-sign the commit with an allowed key, or add the signer's key to "
    "the allowed signers if it belongs there (docs/trust.md), or `deployd trust SHA`",
    "path-not-allowed": "have a member of the named group sign that change, or review it and "
    "run `deployd trust SHA`",
}


@dataclass(frozen=True)
class Admitted:
    """Converge ``commit`` (``advanced``: it moves the ratchet), or store ``record`` instead."""

    commit: CommitInfo | None
    advanced: bool = False
    record: RunRecord | None = None

    def refused(self, state: HostState, upstream: CommitInfo) -> HostState:
        """The state after the refusal: a ``refused`` head stays refused until the branch
        moves (``loop.polling``); a verification that could not run marks nothing."""
        if self.record is None or self.record.outcome != "refused":
            return state
        return replace(state, refused_commit=upstream.sha, refusal=self.record.refusal)


class Admission:
    def __init__(self, settings: Settings, mirror: Mirror, state_dir: Path) -> None:
        self.settings = settings
        self.mirror = mirror
        self.state_dir = state_dir
        self._verdict: tuple[tuple[object, ...], SignatureRefusal | None] | None = None
        self._copied: str | None = None  # what the copy in the deployment root says

    def adopt_copy(self, state: HostState) -> HostState:
        """At start-up: a state without a ratchet takes the deployment root's copy; then the
        copy is brought up to date (a host upgraded to this version gets one now)."""
        settings = self.settings
        state = adopt_root_ratchet(state, settings.root, self.mirror.url, settings.branch)
        self.keep_copy(state.ratchet)
        return state

    def advance(self, state: HostState, sha: str) -> HostState:
        """Move the ratchet to ``sha``: in the mirror, beside the deployment root, and in the
        returned state (which the caller saves)."""
        self.mirror.set_ratchet(sha)
        self.keep_copy(sha)
        return replace(state, ratchet=sha, refused_commit=None, refusal=None)

    def keep_copy(self, ratchet: str | None) -> None:
        """Write the ratchet beside the deployment root when it moved."""
        if ratchet and ratchet != self._copied:
            url = redact(self.mirror.url)
            write_root_ratchet(self.settings.root, ratchet, url, self.settings.branch)
            self._copied = ratchet

    def admit(self, state: HostState, upstream: CommitInfo, run_id: str, trigger: str) -> Admitted:
        decision = decide(self.mirror, state.ratchet, upstream.sha)
        settings = self.settings
        if decision.target is None:
            return Admitted(
                None, record=not_fast_forward(run_id, trigger, upstream, state, settings)
            )
        commit = upstream
        if decision.target != upstream.sha:
            commit = self.mirror.commit_info(decision.target)
        if not decision.advanced or not settings.trust.enabled:
            return Admitted(commit, decision.advanced)
        try:
            refusal = self._verify(state.ratchet, commit.sha)
        except (SignatureError, KeyringError) as error:
            message = f"the signatures of {commit.sha[:12]} could not be checked: {error}"
            hint = "fix the [trust] files (docs/trust.md); nothing converges meanwhile"
            errors = (ErrorRecord(kind="VerificationError", message=message, hint=hint),)
            failed = _record(run_id, trigger, upstream, settings, "failed", None, errors)
            return Admitted(None, record=failed)
        if refusal is not None:
            record = signature_refused(run_id, trigger, upstream, refusal, settings)
            return Admitted(None, record=record)
        return Admitted(commit, True)

    def _verify(self, base: str | None, head: str) -> SignatureRefusal | None:
        policy = self.settings.trust
        key = (base, head, *(_stamp(p) for p in (policy.allowed_signers, policy.gpg_keyring)))
        if self._verdict is not None and self._verdict[0] == key:
            return self._verdict[1]
        started = time.monotonic()
        refusal = check_commits(
            policy, self.mirror.path, self.state_dir, base, head, self.settings.limits.fetch
        )
        log.info(
            "trust: %s..%s %s (%.0f ms)",
            (base or "")[:12],
            head[:12],
            f"refused: {refusal.reason}" if refusal else "verified",
            (time.monotonic() - started) * 1000,
        )
        self._verdict = (key, refusal)
        return refusal


def _stamp(path: Path | None) -> tuple[int, int] | None:
    try:
        info = os.stat(path) if path else None
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size) if info else None


def not_fast_forward(
    run_id: str, trigger: str, upstream: CommitInfo, state: HostState, settings: Settings
) -> RunRecord:
    """The record of a rewritten branch (not a fast-forward of the ratchet)."""
    log.error(
        "fetch: %s is not a fast-forward of the deployed %s: refused; run `deployd trust SHA` "
        "to accept it",
        upstream.sha[:12],
        (state.ratchet or "")[:12],
    )
    error = ErrorRecord(
        kind="NotFastForward",
        message=f"{upstream.sha[:12]} does not descend from the deployed commit "
        f"{(state.ratchet or '')[:12]}: the branch history was rewritten, or the git server "
        "was reset to an older commit",
        hint="push a commit on top of the deployed one, or run `deployd trust SHA`",
    )
    return _record(run_id, trigger, upstream, settings, "refused", "not-fast-forward", (error,))


def signature_refused(
    run_id: str, trigger: str, upstream: CommitInfo, refusal: SignatureRefusal, settings: Settings
) -> RunRecord:
    error = ErrorRecord(
        kind="SignatureRefused",
        message=f"{refusal.reason}: {refusal.describe()}",
        hint=_HINTS.get(refusal.reason),
    )
    record = _record(run_id, trigger, upstream, settings, "refused", refusal.reason, (error,))
    return replace(record, refusal=refusal)


def _record(
    run_id: str,
    trigger: str,
    upstream: CommitInfo,
    settings: Settings,
    outcome: str,
    reason: str | None,
    errors: tuple[ErrorRecord, ...],
) -> RunRecord:
    now = time.time()
    return RunRecord(
        id=run_id,
        trigger=trigger,
        outcome=outcome,
        started_at=now,
        finished_at=now,
        commit=upstream,
        environment=settings.environment,
        host=settings.host_name,
        reason=reason,
        errors=errors,
    )


def adopt_root_ratchet(state: HostState, root: Path, repository: str, branch: str) -> HostState:
    """A state without a ratchet takes the copy kept in the deployment root, when that copy is
    of this repository and branch: a lost state dir then does not let any commit in."""
    if state.ratchet is not None:
        return state
    copy = read_root_ratchet(root)
    if copy is None:
        return state
    if (copy.repository, copy.branch) != (redact(repository), branch):
        log.warning(
            "ratchet: %s is of %s branch %s, not of this repository: ignored",
            root_ratchet_path(root),
            copy.repository,
            copy.branch,
        )
        return state
    log.warning(
        "ratchet: the state has none; using the deployed commit %s kept in %s: only its "
        "descendants converge (or `deployd trust SHA`)",
        copy.commit[:12],
        root_ratchet_path(root),
    )
    return replace(state, ratchet=copy.commit)
