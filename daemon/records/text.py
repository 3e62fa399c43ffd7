"""Text renderings of the status snapshot and run records for ``deployd status`` / ``history``.

Works on the plain JSON dictionaries the API returns (the same shape ``--json`` prints), so
the client needs no daemon modules.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # status and history print plain dicts: no need to load the record classes
    from daemon.records.model import StatusSnapshot


def age(seconds_ago: float) -> str:
    seconds = max(0, int(seconds_ago))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def format_wait(seconds: float) -> str:
    """``3h 12m``, ``2d 4h``, ``45s``: how long until a window opens."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def hold_text(hold: dict[str, Any], now: float) -> str:
    """Why the upstream head waits, with the time left when it is known:
    "waiting for the window (opens in 3h 12m)"."""
    text = str(hold["message"])
    until = hold.get("until")
    if until and hold.get("reason") in ("window", "freeze"):
        text += f" (opens in {format_wait(until - now)})"
    elif until:
        text += f" ({format_wait(until - now)} left)"
    return text


def _when(stamp: float | None, now: float) -> str:
    if not stamp:
        return "-"
    delta = stamp - now
    return f"in {age(delta)}" if delta >= 0 else f"{age(-delta)} ago"


def _commit(commit: dict[str, Any] | None, now: float) -> str:
    if not commit:
        return "-"
    text: str = commit["sha"][:10]
    if commit.get("subject"):
        text += f' "{commit["subject"]}"'
    if commit.get("timestamp"):
        text += f" (committed {_when(commit['timestamp'], now)})"
    return text


def render_status(status: dict[str, Any], now: float | None = None) -> str:
    now = time.time() if now is None else now
    state, live, last = status["state"], status["live"], status.get("last_run")
    upstream, good = state.get("upstream"), state.get("last_good")
    behind = bool(upstream and (not good or upstream["sha"] != good["sha"]))
    rows = [
        (
            "host",
            f"{status['host']} (environment {status['environment']}, "
            f"platform {status.get('platform') or '-'})",
        ),
        ("repository", f"{status['repository']} branch {status['branch']}"),
        (
            "deployed",
            _commit(good, now)
            + (
                f", deployed {_when(state.get('last_good_at'), now)}"
                if good and state.get("last_good_at")
                else ""
            ),
        ),
        (
            "last run",
            f"{last['outcome']} {last['id']} ({_when(last['finished_at'], now)}, "
            f"{last['duration']:.1f}s, trigger {last['trigger']})"
            if last
            else "none yet",
        ),
        (
            "upstream",
            _commit(upstream, now)
            + ("  BEHIND" if behind else "  (up to date)" if upstream else ""),
        ),
        ("next poll", _when(live.get("next_poll_at"), now)),
        (
            "next converge",
            "- (suspended)"
            if state.get("suspended_reason")
            else _when(live.get("next_converge_at"), now),
        ),
        (
            "suspended",
            f"yes: {state['suspended_reason']} (since {_when(state.get('suspended_at'), now)})"
            if state.get("suspended_reason")
            else "no",
        ),
    ]
    if live.get("running_run_id"):
        component = live.get("running_component")
        rows.append(
            (
                "running",
                f"{live['running_run_id']} on {live['running_commit'][:10]}"
                + (f", component {component}" if component else ""),
            )
        )
    if live.get("pending_trigger"):
        rows.append(("pending", live["pending_trigger"]))
    if live.get("hold"):
        rows.append(("rollout", hold_text(live["hold"], now)))
    if state.get("rolled_back_commit"):
        rows.append(
            (
                "rolled back",
                f"{state['rolled_back_commit'][:10]} failed a health check; not retried until "
                "a newer commit arrives (`deployd converge --now` forces it)",
            )
        )
    if state.get("refused_commit"):
        rows.extend(_refused_rows(state))
    trusted = state.get("trusted")
    if trusted and trusted.get("commit") == state.get("ratchet"):
        rows.append(("trusted", _trusted(trusted, now)))
    if state.get("last_fetch_error"):
        rows.append(("fetch error", state["last_fetch_error"]))
    if live.get("loop_error"):
        since = _when(live.get("loop_failing_since"), now)
        rows.insert(0, ("DAEMON FAILING", f"since {since}: {live['loop_error']}"))
    if state.get("rebuilt_note"):
        rows.append(("REBUILT", f"{state['rebuilt_note']} ({_when(state.get('rebuilt_at'), now)})"))
    if last and last.get("errors"):
        rows.extend(("error", _error(e)) for e in last["errors"][:3])
    debugger = live.get("debugger")
    if debugger:
        rows.append(("DEBUGGER", f"waiting at {debugger.get('file')}:{debugger.get('line')}"))
        where = f"{debugger['host']} {debugger['port']}"  # nc -C: CRLF, as `apply --debug` says
        rows.append(("  attach", f"nc -C {where}"))
        rows.append(("  remotely", f"ssh -t {status['host']} nc -C {where}"))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def _refused_rows(state: dict[str, Any]) -> list[tuple[str, str]]:
    refused, ratchet = state["refused_commit"][:10], (state.get("ratchet") or "")[:10]
    refusal = state.get("refusal")
    if not refusal:
        why = f"{refused} is not a fast-forward of {ratchet}: history was rewritten"
        return [("REFUSED", f"{why}; `deployd trust SHA` accepts it")]
    rows = [("REFUSED", f"{refused}: {refusal['reason']} (commit {refusal['commit'][:10]})")]
    signer = refusal.get("signer") or "unknown"
    rows.append(("  signer", f"{signer} (key {refusal.get('key') or '-'})"))
    if refusal.get("path"):
        groups = ", ".join(refusal.get("groups") or ())
        rows.append(("  path", f"{refusal['path']} (only group {groups} may change it)"))
    rows.append(("  what now", "see docs/trust.md; after review `deployd trust SHA`"))
    return rows


def _trusted(trusted: dict[str, Any], now: float) -> str:
    return f"{trusted['commit'][:10]} by hand, by {trusted['by']}, {_when(trusted['at'], now)}"


def _error(error: dict[str, Any]) -> str:
    where = ":".join(str(x) for x in (error.get("file"), error.get("line")) if x)
    parts = [f"{error['kind']}: {error['message']}"]
    if where:
        parts.append(f"at {where}")
    if error.get("component"):
        parts.append(f"component {error['component']}")
    text = " ".join(parts)
    return f"{text} (hint: {error['hint']})" if error.get("hint") else text


def render_oneline(status: dict[str, Any]) -> str:
    state, last = status["state"], status.get("last_run")
    good = state.get("last_good")
    parts = [status["host"], f"deployed={good['sha'][:7] if good else '-'}"]
    parts.append(f"last={last['outcome'] if last else '-'}")
    upstream = state.get("upstream")
    if upstream and (not good or upstream["sha"] != good["sha"]):
        parts.append(f"behind={upstream['sha'][:7]}")
    if status["live"].get("running_run_id"):
        parts.append("running")
    if state.get("suspended_reason"):
        parts.append("suspended")
    if state.get("refused_commit"):
        parts.append(f"refusing={state['refused_commit'][:7]}")
    if status["live"].get("debugger"):
        parts.append("debugger-waiting")
    if status["live"].get("loop_error"):
        parts.append("daemon-failing")
    if status["live"].get("hold"):
        parts.append(f"held={status['live']['hold']['reason']}")
    return " ".join(parts)


def render_runs(runs: list[dict[str, Any]], now: float | None = None) -> str:
    now = time.time() if now is None else now
    outcomes = [r["outcome"] + (f" ({r['reason']})" if r.get("reason") else "") for r in runs]
    width = max([10, *map(len, outcomes)])  # "refused (not-fast-forward)" keeps the columns
    header = f"{'ID':<22} {'OUTCOME':<{width}} {'TRIGGER':<9} {'COMMIT':<8} {'DURATION':>8}  WHEN"
    lines = [header]
    for run, outcome in zip(runs, outcomes, strict=True):
        sha = (run.get("commit") or {}).get("sha", "")[:7] or "-"
        lines.append(
            f"{run['id']:<22} {outcome:<{width}} {run['trigger']:<9} {sha:<8} "
            f"{run['duration']:>7.1f}s  {_when(run['started_at'], now)}"
        )
    return "\n".join(lines)


def render_run(run: dict[str, Any], now: float | None = None) -> str:
    now = time.time() if now is None else now
    lines = [
        f"run {run['id']}: {run['outcome']}" + (f" ({run['reason']})" if run.get("reason") else ""),
        f"  trigger   {run['trigger']}",
        f"  commit    {_commit(run.get('commit'), now)}",
        f"  started   {_when(run['started_at'], now)}, took {run['duration']:.1f}s",
        f"  host      {run.get('host') or '-'} (environment {run.get('environment') or '-'})",
    ]
    if run.get("venv"):
        lines.append(f"  venv      {run['venv']} ({run.get('venv_outcome') or '-'})")
    for component in run.get("components") or ():
        lines.append(
            f"  {component['outcome']:<9} {component['component']} ({component['duration']:.2f}s)"
        )
    if run.get("rolled_back_to"):
        lines.append(f"  rolled back to {_commit(run['rolled_back_to'], now)}")
    for check in run.get("health") or ():
        verdict = "passed" if check["passed"] else "FAILED"
        lines.append(
            f"  health    {check['name']} {verdict} on {check.get('commit', '')[:7]} "
            f"({check['attempts']} attempt(s), {check['duration']:.1f}s)"
        )
        if not check["passed"]:
            lines.extend(f"    {line}" for line in check["output"].splitlines()[-10:])
    refusal = run.get("refusal")
    if refusal:
        lines.append(f"  refused   commit {refusal['commit']}")
        signer = refusal.get("signer") or "unknown"
        lines.append(f"  signer    {signer} (key {refusal.get('key') or '-'})")
        if refusal.get("path"):
            lines.append(f"  path      {refusal['path']} (group {', '.join(refusal['groups'])})")
    if run.get("trusted"):
        lines.append(f"  trusted   {_trusted(run['trusted'], now)}")
    lines.extend(f"  error     {_error(e)}" for e in run.get("errors") or ())
    lines.extend(f"  warning   {w}" for w in run.get("warnings") or ())
    if run.get("stderr_tail"):
        lines.append("  worker stderr (tail):")
        lines.extend(f"    {line}" for line in run["stderr_tail"].splitlines()[-15:])
    return "\n".join(lines)


def status_line(snapshot: StatusSnapshot) -> str:
    """The one-line summary for systemd's STATUS= and ``deployd status --oneline``."""
    state, live = snapshot.state, snapshot.live
    deployed = state.last_good.sha[:7] if state.last_good else "nothing"
    parts = [f"{snapshot.host}: deployed {deployed}"]
    if snapshot.last_run:
        parts.append(f"last run {snapshot.last_run.outcome}")
    if live.running_run_id:
        commit = (live.running_commit or "")[:7]
        parts.append(
            f"converging {commit}"
            + (f" ({live.running_component})" if live.running_component else "")
        )
    if state.upstream and state.last_good and state.upstream.sha != state.last_good.sha:
        parts.append(f"behind ({state.upstream.sha[:7]} upstream)")
    if state.refused_commit:
        why = state.refusal.reason if state.refusal else "rewritten"
        parts.append(f"REFUSING {why} {state.refused_commit[:7]}")
    if state.suspended_reason:
        parts.append(f"SUSPENDED: {state.suspended_reason}")
    if state.last_fetch_error:
        parts.append("fetch failing")
    if live.debugger:
        parts.append(f"debugger waiting on port {live.debugger.port}")
    if live.loop_error:
        parts.append(f"DAEMON FAILING: {live.loop_error}")
    if live.hold:
        parts.append(hold_text(asdict(live.hold), time.time()))
    return "; ".join(parts)
