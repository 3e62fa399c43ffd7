"""The health gate after a converge, and the rollback when it fails (docs/fleet.md).

Runs in the run thread, under the host's run lock, right after a converge succeeded
(``runs.converge_locked``'s ``after``):

1. the health checks the converged commit declares for this host run in its checkout;
2. all pass: the record stays ``succeeded``, with the checks' results;
3. one fails and there is a last good commit: that commit is converged again (its checkout and
   venv were kept for this) and its own checks run. The record becomes ``rolled-back`` (the
   bad commit is marked by the loop and not retried until a newer one arrives) or, when the
   rollback fails too, ``rollback-failed``: the loop then suspends converging. Never a loop of
   rollbacks: a rollback is attempted once per run and never checked again by another rollback;
4. one fails and nothing was ever deployed here: the record is ``failed`` (reason
   ``health-check``).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path

from daemon.git import Mirror
from daemon.records import CheckResult, CommitInfo, ErrorRecord, RunRecord
from daemon.rollout.health import run_checks
from daemon.rollout.marks import HEALTH_REASON
from daemon.rollout.policy import HealthCheck, policy_of_checkout
from daemon.runs import RunPlan, converge

log = logging.getLogger(__name__)


def guard(
    plan: RunPlan,
    mirror: Mirror,
    record: RunRecord,
    on_event: object,
    abort: threading.Event | None = None,
) -> RunRecord:
    """``record`` of a converge of ``plan`` with the health gate applied (see the module)."""
    if record.outcome != "succeeded":
        return record
    keep = (plan.keep_checkout,) if plan.keep_checkout else ()
    checkout = mirror.checkout(plan.commit.sha, plan.checkouts, keep=keep)
    results = _check(plan, checkout, plan.commit.sha, abort)
    if all(result.passed for result in results):
        if results:
            log.info("health: %s passed %d check(s)", plan.commit.sha[:12], len(results))
        return replace(record, health=results)
    failing = results[-1]
    log.error(
        "health: check %s failed on %s: %s",
        failing.name,
        plan.commit.sha[:12],
        _last_line(failing.output),
        extra={"run_id": plan.run_id, "commit": plan.commit.sha},
    )
    target = plan.rollback_to
    if target is None or target.sha == plan.commit.sha:
        error = _failed_error(failing, plan.commit, None)
        return replace(
            record, outcome="failed", reason=HEALTH_REASON, health=results, errors=(error,)
        )
    return _roll_back(plan, mirror, record, results, target, on_event, abort)


def _roll_back(
    plan: RunPlan,
    mirror: Mirror,
    record: RunRecord,
    results: tuple[CheckResult, ...],
    target: CommitInfo,
    on_event: object,
    abort: threading.Event | None,
) -> RunRecord:
    log.warning(
        "health: rolling %s back to %s",
        plan.commit.sha[:12],
        target.sha[:12],
        extra={"run_id": plan.run_id, "commit": plan.commit.sha},
    )
    back = replace(plan, commit=target, keep_checkout=None, rollback_to=None)
    # A newer commit must not cancel the rollback half-way: only the daemon's shutdown may.
    again = converge(back, mirror, on_event, threading.Event(), abort)  # type: ignore[arg-type]
    failing = results[-1]
    errors = [_failed_error(failing, plan.commit, target)]
    health = results
    if again.outcome == "succeeded":
        checkout = mirror.checkout(target.sha, plan.checkouts)
        health += _check(back, checkout, target.sha, abort)
        passed = all(result.passed for result in health[len(results) :])
    else:
        passed = False
        errors += [replace(e, message=f"rollback: {e.message}") for e in again.errors]
    outcome = "rolled-back" if passed else "rollback-failed"
    if not passed:
        errors.append(
            ErrorRecord(
                kind="RollbackFailed",
                message=f"the rollback to {target.sha[:12]} did not pass "
                + ("its health checks" if again.outcome == "succeeded" else "its converge")
                + f" ({again.outcome}): converging is suspended",
                hint="repair the host, then `deployd resume`",
            )
        )
        log.error("health: rollback to %s failed: converging is suspended", target.sha[:12])
    return replace(
        record,
        outcome=outcome,
        reason=HEALTH_REASON,
        health=health,
        rolled_back_to=target,
        errors=tuple(errors),
        finished_at=again.finished_at,
        warnings=record.warnings + again.warnings,
    )


def _check(
    plan: RunPlan, checkout: Path, sha: str, abort: threading.Event | None
) -> tuple[CheckResult, ...]:
    settings = plan.settings
    policy, problems = policy_of_checkout(checkout, settings.environment)
    broken = tuple(
        CheckResult(p.key, False, 0, 0.0, f"{p}: the check cannot run", sha)
        for p in problems
        if p.key.startswith("check.")
    )
    if broken:  # a check declared wrongly is a failed check, never a skipped one
        return broken[:1]
    env = {
        "DEPLOYD_HOST": settings.host_name,
        "DEPLOYD_ENVIRONMENT": settings.environment,
        "DEPLOYD_COMMIT": sha,
        "DEPLOYD_ROOT": str(settings.root),
    }
    checks: tuple[HealthCheck, ...] = policy.checks_for(settings.host_name)
    return run_checks(checks, checkout, sha, env, stop=abort)


def _failed_error(
    failing: CheckResult, commit: CommitInfo, target: CommitInfo | None
) -> ErrorRecord:
    if target is None:
        hint = "nothing was deployed here before, so there is nothing to roll back to"
    else:
        hint = (
            f"{target.sha[:12]} was converged again; {commit.sha[:12]} is not retried until a "
            "newer commit arrives (or `deployd converge --now`)"
        )
    return ErrorRecord(
        kind="HealthCheckFailed",
        message=f"health check {failing.name} failed on {commit.sha[:12]} after "
        f"{failing.attempts} attempt(s): {_last_line(failing.output)}",
        hint=hint,
        details=tuple(failing.output.splitlines()[-20:]),
    )


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"
