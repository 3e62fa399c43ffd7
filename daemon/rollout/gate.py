"""The rollout gate: may this host start converging the upstream head now? (docs/fleet.md)

The loop asks :meth:`Gate.judge` before every run. A *new* commit (not the deployed one) passes
when it is not marked rolled back, the change windows are open (the host's settings replace the
repository's), and this host's wave may start it (the wave's delay since the commit was first
seen, and with Prometheus the earlier waves' health). Otherwise it is held: the verdict says
why (status, metrics), when to look again, and whether the deployed commit may be converged
meanwhile (drift correction, for the triggers that always converge).

``deployd converge --now`` (trigger ``override``) passes every gate; the run records it.
The policy is read from the upstream commit itself (``policy_at_commit``), once per commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from daemon.config import Settings, SettingsError
from daemon.git import Mirror
from daemon.records import CommitInfo, HoldInfo, HostState
from daemon.rollout import fleet_view
from daemon.rollout.policy import CommitPolicy, Policy, policy_at_commit
from daemon.rollout.waves import place, poll_phase, wave_warnings
from daemon.rollout.windows import Schedule, WindowError, parse_freeze, parse_window

log = logging.getLogger(__name__)

WINDOW_RECHECK = 60.0  # seconds: a closed window is looked at again at least this often
FLEET_RECHECK = 30.0  # at most, seconds between Prometheus queries for one held commit
# Triggers that only mean "look for a new commit": a held one gives them nothing to do.
LOOK_ONLY = ("poll", "push", "webhook", "inbox")


@dataclass(frozen=True)
class Verdict:
    commit: CommitInfo | None  # what to converge now (None: nothing)
    hold: HoldInfo | None = None  # why the upstream head waits, if it does
    recheck_at: float | None = None  # when to judge again by itself

    @property
    def message(self) -> str:
        return self.hold.message if self.hold else ""


def host_schedule(settings: Settings) -> tuple[Schedule | None, bool | None]:
    """The host's own windows/freezes (None: the repository's) and drift setting; a bad
    entry stops the daemon at start-up, as any bad setting does."""
    rollout, source = settings.rollout, settings.source or Path("deployd.toml")
    if rollout.windows is None and rollout.freezes is None:
        return None, rollout.drift_outside_windows
    try:
        windows = tuple(parse_window(text) for text in rollout.windows or ())
        freezes = tuple(parse_freeze(text) for text in rollout.freezes or ())
    except WindowError as error:
        raise SettingsError(source, str(error), "rollout") from None
    return Schedule(windows, freezes), rollout.drift_outside_windows


class Gate:
    def __init__(self, settings: Settings, mirror: Mirror, scratch: Path) -> None:
        self.settings = settings
        self.mirror = mirror
        self.scratch = scratch
        self.host_schedule, self.host_drift = host_schedule(settings)
        self._policies: dict[str, CommitPolicy] = {}
        self._fleet: tuple[str, float, fleet_view.FleetAnswer] | None = None
        # a held wave asks Prometheus again after a poll interval (1 s to 30 s)
        self.fleet_recheck = min(FLEET_RECHECK, max(1.0, settings.poll_interval))
        self.recheck_at: float | None = None

    def due(self, now: float) -> bool:
        """A hold that may have ended by itself: judge again."""
        return self.recheck_at is not None and now >= self.recheck_at

    def judge(self, trigger: str, upstream: CommitInfo, state: HostState, now: float) -> Verdict:
        verdict = self._judge(trigger, upstream, state, now)
        self.recheck_at = verdict.recheck_at
        if verdict.hold:
            log.info("rollout: %s: %s", upstream.sha[:12], verdict.hold.message)
        return verdict

    def holds(self, upstream: CommitInfo, state: HostState, now: float) -> bool:
        """Whether a new head would wait (then it must not cancel the run in flight)."""
        return self._judge("poll", upstream, state, now).commit is None

    def _judge(self, trigger: str, upstream: CommitInfo, state: HostState, now: float) -> Verdict:
        if trigger == "override":
            return Verdict(upstream)
        deployed = state.last_good
        commit = self.policy(upstream.sha)
        schedule, drift = self._schedule(commit.policy)
        if deployed is not None and deployed.sha == upstream.sha:
            if drift or schedule.allows(_at(now)):
                return Verdict(upstream)
            return self._held(trigger, None, *self._window_hold(schedule, upstream, now))
        hold, recheck = self._new_commit_hold(upstream, state, commit, schedule, now)
        if hold is None:
            return Verdict(upstream)
        drift_ok = deployed is not None and (drift or schedule.allows(_at(now)))
        return self._held(trigger, deployed if drift_ok else None, hold, recheck)

    def _held(
        self, trigger: str, deployed: CommitInfo | None, hold: HoldInfo, recheck: float | None
    ) -> Verdict:
        """A held head: triggers that always converge converge the deployed commit instead
        (drift correction), when that is allowed; a look for new commits does nothing."""
        target = None if trigger in LOOK_ONLY else deployed
        return Verdict(target, hold, recheck)

    def _new_commit_hold(
        self,
        upstream: CommitInfo,
        state: HostState,
        commit: CommitPolicy,
        schedule: Schedule,
        now: float,
    ) -> tuple[HoldInfo | None, float | None]:
        sha = upstream.sha
        if sha == state.rolled_back_commit:
            message = (
                f"{sha[:7]} was rolled back (a health check failed): waiting for a newer commit"
            )
            return HoldInfo("rolled-back", message, sha, now), None
        if commit.problems:
            message = f"the rollout policy of {sha[:7]} has errors ({commit.problems[0]})"
            return HoldInfo("bad-policy", message, sha, now), None
        if not schedule.allows(_at(now)):
            return self._window_hold(schedule, upstream, now)
        return self._wave_hold(upstream, state, commit, now)

    def _window_hold(
        self, schedule: Schedule, upstream: CommitInfo, now: float
    ) -> tuple[HoldInfo, float | None]:
        opens = schedule.next_open(_at(now))
        frozen = schedule.why_closed(_at(now)).startswith("freeze")
        reason = "freeze" if frozen else "window"
        until = opens.timestamp() if opens else None
        what = schedule.why_closed(_at(now)) if frozen else "the window"
        message = f"waiting for {what}" if not frozen else f"waiting: {what}"
        if until is None:
            message += " (no window opens within 400 days)"
        recheck = min(until, now + WINDOW_RECHECK) if until else now + WINDOW_RECHECK
        return HoldInfo(reason, message, upstream.sha, now, until), recheck

    def _wave_hold(
        self, upstream: CommitInfo, state: HostState, commit: CommitPolicy, now: float
    ) -> tuple[HoldInfo | None, float | None]:
        placement = place(commit.policy.waves, commit.hosts, self.settings.host_name)
        if placement is None or placement.index == 0:
            return None, None
        wave, sha = placement.wave, upstream.sha
        seen = state.upstream_seen_at or now
        if now < seen + wave.delay:
            message = f"wave {wave.name}: waiting for its delay after {sha[:7]} was first seen"
            until = seen + wave.delay
            return HoldInfo("wave-delay", message, sha, now, until, wave.name), until
        url = self.settings.rollout.prometheus_url
        if not url or not placement.earlier_hosts:
            return None, None
        answer = self._ask(url, sha, placement.earlier_hosts, now)
        if answer.ready:
            return None, None
        message = f"wave {wave.name}: {answer.why}"
        recheck = None if answer.final else now + self.fleet_recheck
        return HoldInfo("wave-gate", message, sha, now, None, wave.name), recheck

    def _ask(
        self, url: str, sha: str, earlier: tuple[str, ...], now: float
    ) -> fleet_view.FleetAnswer:
        cached = self._fleet
        if cached and cached[0] == sha and now - cached[1] < self.fleet_recheck:
            return cached[2]
        answer = fleet_view.ask(url, self.settings.environment, sha, earlier)
        self._fleet = (sha, now, answer)
        return answer

    def poll_phase(self, sha: str) -> float | None:
        """This host's poll phase (``loop.schedule``), with splay on: evenly spread over the
        poll interval by the host's place among the environment's hosts in commit ``sha``."""
        if self.settings.splay <= 0:
            return None
        hosts = self.policy(sha).hosts
        return poll_phase(self.settings.host_name, hosts, self.settings.poll_interval)

    def policy(self, sha: str) -> CommitPolicy:
        if sha not in self._policies:
            commit = policy_at_commit(self.mirror, sha, self.settings.environment, self.scratch)
            for warning in wave_warnings(commit.policy.waves, commit.hosts):
                log.warning("rollout policy of %s: %s (%s)", sha[:7], warning, warning.hint)
            self._policies = {sha: commit}  # one commit at a time is enough: the head
        return self._policies[sha]

    def _schedule(self, policy: Policy) -> tuple[Schedule, bool]:
        schedule = self.host_schedule or policy.schedule
        drift = policy.drift_outside_windows if self.host_drift is None else self.host_drift
        return schedule, drift


def _at(now: float) -> datetime:
    return datetime.fromtimestamp(now, UTC)
