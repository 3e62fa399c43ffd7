"""Rolling out safely: health checks with rollback, change windows and freezes, waves.

The loop asks the :class:`Gate` before a run; the run thread applies :func:`guard` after a
converge (under the run lock); :func:`apply_rollout_record` folds a finished run into the state.
``docs/fleet.md`` describes the policy keys (``[deployd]`` in environment.cfg, ``[rollout]`` in
the host's settings).
"""

from typing import TYPE_CHECKING

from daemon import lazy_exports

if TYPE_CHECKING:  # the export table: imported on first use (see lazy_exports)
    from daemon.rollout.check import wave_warnings_of_checkout
    from daemon.rollout.gate import Gate, Verdict, host_schedule
    from daemon.rollout.guard import guard
    from daemon.rollout.marks import apply_rollout_record
    from daemon.rollout.policy import Policy, PolicyProblem, read_policy

__all__ = [
    "apply_rollout_record",
    "Gate",
    "guard",
    "host_schedule",
    "Policy",
    "PolicyProblem",
    "read_policy",
    "Verdict",
    "wave_warnings_of_checkout",
]

__getattr__ = lazy_exports(__name__, __file__)
