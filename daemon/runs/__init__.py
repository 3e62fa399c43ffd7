"""One run: checkout, venv, worker, record; ``apply`` and ``check`` in one call."""

from typing import TYPE_CHECKING

from daemon import lazy_exports

if TYPE_CHECKING:  # the export table: imported on first use (see lazy_exports)
    from daemon.runs.environment_limits import environment_section
    from daemon.runs.one_shot import attach_instructions, run_isolated
    from daemon.runs.pipeline import RunPlan, converge, converge_locked, crashed_record

__all__ = [
    "attach_instructions",
    "converge",
    "converge_locked",
    "crashed_record",
    "environment_section",
    "run_isolated",
    "RunPlan",
]

__getattr__ = lazy_exports(__name__, __file__)
