"""One converge run, top to bottom: checkout → venv → worker → :class:`RunRecord`.

The loop has already fetched and applied the ratchet (``daemon.git.mirror``); it hands a frozen
:class:`RunPlan` to :func:`converge`, which runs in the loop's run thread and returns a record.
Nothing here touches the daemon state: the loop applies the record. Failures are values: every
path, including an unexpected exception, ends in a RunRecord.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components_runtime.protocol import SecretsPayload, WorkerRequest
from components_runtime.secrets import SecretGuard, find_secrets, guard_for_texts
from daemon.config import Limits, LimitsError, Settings
from daemon.git import FetchError, Mirror
from daemon.observe import log_worker_stderr
from daemon.records import CommitInfo, ErrorRecord, RunRecord, TrustOverride
from daemon.runs.environment_limits import environment_section
from daemon.secrets import Decryption, SecretsOptions, decrypt_secrets, run_host
from daemon.state import LockBusy, host_lock
from daemon.venvs import ensure_venv
from daemon.worker import WorkerRun, run_worker

log = logging.getLogger(__name__)

OnEvent = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class RunPlan:
    run_id: str
    trigger: str
    commit: CommitInfo
    settings: Settings
    checkouts: Path
    venvs: Path
    keep_checkout: str | None = None  # the last good commit: its checkout stays
    keep_venv: str | None = None  # the last good run's venv: never garbage-collected
    rollback_to: CommitInfo | None = None  # the last good commit, when a health check fails
    trusted: TrustOverride | None = None  # the commit was admitted by `deployd trust`


@dataclass(frozen=True)
class VenvStep:
    python: str
    venv: str | None = None
    outcome: str | None = None  # reused / built / failed (records.VENV_OUTCOMES)
    duration: float | None = None
    error: ErrorRecord | None = None
    notices: tuple[str, ...] = ()


def converge_locked(
    plan: RunPlan,
    mirror: Mirror,
    state_dir: Path,
    on_event: OnEvent,
    cancel: threading.Event,
    abort: threading.Event | None = None,
    after: Callable[[RunRecord], RunRecord] | None = None,
) -> RunRecord:
    """:func:`converge` under the host's run lock; a busy lock gives a ``skipped`` record.
    ``after`` (the health gate, ``daemon.rollout``) runs on the record under the same lock."""
    try:
        with host_lock(state_dir, who=f"deployd daemon (run {plan.run_id})"):
            record = converge(plan, mirror, on_event, cancel, abort)
            return after(record) if after else record
    except LockBusy as busy:
        errors = (_error("LockBusy", str(busy)),)
        return _record(plan, time.time(), "skipped", reason="locked", errors=errors)


def crashed_record(plan: RunPlan, error: Exception) -> RunRecord:
    """The record of a run that could not even start (e.g. the run lock cannot be opened)."""
    hint = "check the state directory (space, permissions) and the daemon log"
    return _record(
        plan, time.time(), "crashed", errors=(_error(type(error).__name__, str(error), hint),)
    )


def converge(
    plan: RunPlan,
    mirror: Mirror,
    on_event: OnEvent,
    cancel: threading.Event,
    abort: threading.Event | None = None,
) -> RunRecord:
    """Checkout, venv, worker. ``cancel`` stops between root components; ``abort`` (a daemon
    whose shutdown grace is over) stops the worker now."""
    started = time.time()
    try:
        keep = (plan.keep_checkout,) if plan.keep_checkout else ()
        checkout = mirror.checkout(plan.commit.sha, plan.checkouts, keep=keep)
        try:
            limits = environment_limits(checkout, plan.settings)
        except LimitsError as error:
            hint = "fix the value in the repository; this commit is not converged"
            errors = (_error("LimitsError", str(error), hint=hint),)
            return _record(plan, started, "refused", reason="bad-configuration", errors=errors)
        settings = plan.settings
        decryption = decrypt_for(checkout, settings)
        if not decryption.ok:  # never converge without values the repository holds
            refusal = decryption.errors()
            return _record(plan, started, "refused", reason="secrets", errors=refusal)
        guard = guard_for(decryption.payload)
        venv = prepare_venv(checkout, plan, limits)
        if venv.error:
            return _record(plan, started, "failed", errors=(venv.error,), venv=venv)
        request = WorkerRequest(
            repository=str(checkout),
            environment=settings.environment,
            host=settings.host or None,
            root=str(settings.root),
            debug=settings.debug,
            debug_host=settings.debug_host,
            debug_port=settings.debug_port,
            debug_allow_remote=settings.debug_allow_remote,
            secrets=decryption.payload,
        )
        run = run_worker(
            request,
            lambda event: on_event(guard.redact_data(event)),
            python=venv.python,
            limits=limits,
            cancel=cancel,
            abort=abort,
            on_stderr=lambda line: log_worker_stderr(
                plan.run_id, plan.commit.sha, guard.redact(line)
            ),
        )
    except FetchError as error:
        return _record(plan, started, "failed", errors=(_error("CheckoutError", str(error)),))
    except Exception as error:  # a bug of ours must still end as a record, never kill the loop
        log.exception("run %s: unexpected error", plan.run_id)
        return _record(plan, started, "crashed", errors=(_error(type(error).__name__, str(error)),))
    record = _from_worker(plan, started, run, venv)
    return RunRecord.from_dict(guard.redact_data(record.to_dict())) if guard else record


def decrypt_for(checkout: Path, settings: Settings) -> Decryption:
    """The secrets this host needs, decrypted with its keys (``secrets_identities``,
    ``gnupg_home``); a failure refuses the run."""
    layout = find_secrets(checkout, settings.environment)
    host = None
    if layout.host_files:  # only then does it matter which host this is
        host, _hosts = run_host(checkout, settings.environment, settings.host or None)
    options = SecretsOptions(settings.secrets_identities, settings.gnupg_home)
    decryption = decrypt_secrets(checkout, settings.environment, host, options, layout)
    if decryption.ok or host is not None:
        return decryption
    return decryption.naming(run_host(checkout, settings.environment, settings.host or None)[0])


def guard_for(payload: SecretsPayload | None) -> SecretGuard:
    """What the daemon cuts out of the worker's events, stderr and record (the worker redacts
    its own events too; stderr and a crashed worker's tail only the daemon can)."""
    return guard_for_texts(payload.as_dict()) if payload is not None else SecretGuard()


def environment_limits(checkout: Path, settings: Settings) -> Limits:
    """The daemon's ``[limits]`` with the environment's own ``[deployd]`` section on top
    (docs/timeouts.md); LimitsError names the file and line of a bad value."""
    return settings.limits.overlay_environment(environment_section(checkout, settings.environment))


def _log_venv_progress(line: str) -> None:
    """A venv build may take minutes (the first converge of a host): the journal shows pip's
    progress, one line per requirement."""
    log.info("venv: %s", line)


def prepare_venv(checkout: Path, plan: RunPlan, limits: Limits | None = None) -> VenvStep:
    """The repository's venv: reused or built (content-addressed), or a failure as data."""
    keep = (plan.keep_venv,) if plan.keep_venv else None
    settings = plan.settings
    venv = ensure_venv(
        checkout,
        plan.venvs,
        wheelhouse=settings.wheelhouse,
        no_index=settings.no_index,
        timeout=(limits or settings.limits).venv_build,
        keep=keep,
        on_progress=_log_venv_progress,
    )
    return VenvStep(
        python=str(venv.python or sys.executable),
        venv=venv.key or None,
        outcome=venv.outcome,
        duration=venv.duration,
        error=_as_error_record(venv.error) if venv.error or not venv.python else None,
        notices=venv.notices,
    )


def _from_worker(plan: RunPlan, started: float, run: WorkerRun, venv: VenvStep) -> RunRecord:
    result = run.result
    outcome: str = run.outcome
    errors = tuple(_as_error_record(e) for e in run.errors)
    reason = None
    host_errors = [e for e in errors if e.kind == "HostSelectionError"]
    if host_errors and outcome == "failed":
        outcome, reason = "refused", _host_reason(host_errors[0])
    return _record(
        plan,
        started,
        outcome,
        reason=reason,
        errors=errors,
        venv=venv,
        platform=result.platform if result else None,
        components=run.components,
        warnings=venv.notices + (result.warnings if result else ()) + run.leftovers,
        stderr_tail=run.stderr_tail if outcome in ("crashed", "timeout") else "",
        timed_out_component=run.timed_out_component,
    )


def _host_reason(error: ErrorRecord) -> str:
    text = f"{error.message} {error.hint or ''}".lower()
    empty = any(word in text for word in ("no components", "empty", "nothing to"))
    return "host-empty" if empty else "host-missing"


def _record(
    plan: RunPlan, started: float, outcome: str, venv: VenvStep | None = None, **fields: Any
) -> RunRecord:
    return RunRecord(
        id=plan.run_id,
        trigger=plan.trigger,
        outcome=outcome,
        started_at=started,
        finished_at=time.time(),
        commit=plan.commit,
        environment=plan.settings.environment,
        host=plan.settings.host_name,
        venv=venv.venv if venv else None,
        venv_outcome=venv.outcome if venv else None,
        venv_duration=venv.duration if venv else None,
        trusted=plan.trusted,
        **fields,
    )


def _error(kind: str, message: str, hint: str | None = None) -> ErrorRecord:
    return ErrorRecord(kind=kind, message=message, hint=hint)


def _as_error_record(error: Any) -> ErrorRecord:
    """An ErrorInfo (or anything with its fields) as the record's ErrorRecord."""
    if isinstance(error, ErrorRecord):
        return error
    if error is None:
        return _error("VenvError", "the venv could not be prepared")
    if isinstance(error, str):
        return _error("VenvError", error)
    return ErrorRecord(
        kind=getattr(error, "kind", None) or type(error).__name__,
        message=getattr(error, "message", None) or str(error),
        file=getattr(error, "file", None),
        line=getattr(error, "line", None),
        section=getattr(error, "section", None),
        component=getattr(error, "component", None),
        host=getattr(error, "host", None),
        hint=getattr(error, "hint", None),
        details=tuple(getattr(error, "details", None) or ()),
    )
