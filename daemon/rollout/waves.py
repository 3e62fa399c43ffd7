"""Which wave a host is in, and whether its wave may start a commit. Pure functions.

Waves are written in ``[deployd]`` in rollout order (``wave.canary = web01``, ``wave.early =
10%``, ``wave.rest = *``). A host in a later wave starts a new commit only when

1. the commit has been seen (by this host's polls) for at least the wave's ``delay``, and
2. with a Prometheus URL in the host's settings, every host of the earlier waves reports that
   commit as deployed and none of them failed or rolled it back (``daemon.rollout.fleet_view``).

Without Prometheus only (1) holds: the rollout is paced, not gated (docs/fleet.md).
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass

from daemon.rollout.policy import PolicyProblem, Wave

_PERCENT = re.compile(r"^(\d{1,3})%$")


@dataclass(frozen=True)
class Placement:
    """This host's place in the rollout."""

    index: int  # 0: the first wave
    wave: Wave
    earlier_hosts: tuple[str, ...]  # every host of the waves before this one


def assign_waves(waves: tuple[Wave, ...], hosts: tuple[str, ...]) -> dict[str, int]:
    """Each host's wave (its index in ``waves``). Named hosts first; a share ``N%`` takes
    ceil(N% of all hosts) of the hosts not named anywhere, in a fixed pseudo-random order (a
    hash of the name: the same on every host, every run); ``*`` takes all hosts still left.
    Hosts left over join the last wave."""
    if not waves:
        return {}
    assigned = {
        member: index
        for index, wave in enumerate(waves)
        for member in wave.members
        if member in hosts
    }
    left = sorted((host for host in hosts if host not in assigned), key=_stable_order)
    for index, wave in enumerate(waves):
        for member in wave.members:
            share = _PERCENT.match(member)
            if share:
                count = math.ceil(len(hosts) * int(share.group(1)) / 100)
                assigned.update(dict.fromkeys(left[:count], index))
                left = left[count:]
            elif member == "*":
                assigned.update(dict.fromkeys(left, index))
                left = []
    assigned.update(dict.fromkeys(left, len(waves) - 1))
    return assigned


def place(waves: tuple[Wave, ...], hosts: tuple[str, ...], host: str) -> Placement | None:
    """This host's wave and the hosts before it, or None without waves."""
    if not waves:
        return None
    assigned = assign_waves(waves, hosts)
    index = assigned.get(host, len(waves) - 1)
    earlier = tuple(sorted(h for h, i in assigned.items() if i < index))
    return Placement(index, waves[index], earlier)


def unassigned_names(waves: tuple[Wave, ...], hosts: tuple[str, ...]) -> list[str]:
    """Names in the waves that are no host of the environment (a typo, most likely)."""
    return [
        member
        for wave in waves
        for member in wave.members
        if member != "*" and not _PERCENT.match(member) and member not in hosts
    ]


def wave_warnings(waves: tuple[Wave, ...], hosts: tuple[str, ...]) -> list[PolicyProblem]:
    """Names in the waves that are no host of the environment. Not an error (a host may be
    named before it is added), but a typo in the canary's name leaves the canary wave empty,
    and a wave with nobody in it gates nothing: the next wave starts at once."""
    warnings = []
    for wave in waves:
        unknown = unassigned_names((wave,), hosts)
        if not unknown:
            continue
        effect = "the wave goes on without it"
        if len(unknown) == len(wave.members):
            effect = "the wave has no host, so it gates nothing"
        message = f"{', '.join(unknown)}: no host of this environment ({effect})"
        hint = "a typo? name hosts of [hosts] or [host:NAME], a share like 10%, or *"
        warnings.append(PolicyProblem(message, f"wave.{wave.name}", wave.origin, hint))
    return warnings


def _stable_order(host: str) -> bytes:
    return hashlib.sha256(host.encode()).digest()


def poll_phase(host: str, hosts: tuple[str, ...], interval: float) -> float:
    """Seconds into each poll interval at which ``host`` polls: the hosts of the environment
    evenly spaced (in the same pseudo-random order as the waves' shares), so N hosts polling
    every P seconds put one request on the git server every P/N seconds. A host not in the
    list takes a hash-derived place."""
    if host in hosts:
        order = sorted(hosts, key=_stable_order)
        return order.index(host) / len(order) * interval
    return int.from_bytes(_stable_order(host)[:4], "big") / 2**32 * interval
