"""Deploy: walk each root of this host in dependency order through verify / update.

Within a root (batou's ``Component.deploy``): sub-components first, in ``+=`` order; then the
component's workdir is created, entered, and the component is entered as a context manager
around its own ``verify()`` and, when verify raised any ``AssertionError``, the
``before-update`` event and ``update()``. In predict mode ``update()`` is skipped but
``changed`` is still set, so dependents predict their changes too.

Across roots: the configure pass's topological order (ties in config order); roots marked
``!name`` and roots of an ignored host are skipped; a root that fails does not stop the run:
as in batou, every root that does not depend on it (through provide / require, directly or
through other roots) is still deployed, and the ones that do are reported ``not-attempted``. A
stop request is honoured between roots. Events follow ``components_runtime.protocol``.
"""

from __future__ import annotations

import contextvars
import errno
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from components_runtime.errors import DeploydError, DeploymentError, describe, message_of
from components_runtime.model import Component, trigger_event, working_directory
from components_runtime.protocol import ComponentResult, make_event
from components_runtime.support import (
    call_with_optional_args,
    format_duration,
    output,
    relative,
    user_frame,
    user_traceback_lines,
)

Emit = Callable[[dict[str, Any]], None]


@dataclass
class _RootRun:
    """What one root's deploy reports while it walks its tree."""

    host: str
    root: str
    emit: Emit | None
    changed_paths: list[str] = field(default_factory=list)

    def announce(self, component: Any) -> None:
        """The line naming ``component``: before what it prints, and before its update."""
        if self.emit is not None:
            path = component._breadcrumbs
            self.emit(
                make_event("component-announced", host=self.host, component=self.root, path=path)
            )

    def changed(self, component: Any) -> None:
        path = component._breadcrumbs
        self.changed_paths.append(path)
        if self.emit is not None:
            self.emit(
                make_event("component-changed", host=self.host, component=self.root, path=path)
            )


_CURRENT: contextvars.ContextVar[_RootRun | None] = contextvars.ContextVar(
    "current_root_run", default=None
)


_DEFAULT_VERIFY = Component.verify

# Work directories known to exist in this process (one stat per directory, not per component).
_KNOWN_WORKDIRS: set[str] = set()


def deploy_component(component: Any, predict_only: bool = False) -> None:
    """Deploy ``component`` and its sub-components (batou's ``Component.deploy``).

    The line naming the component is held back while it verifies (batou's output buffer): it
    is printed before the first message the component prints, or before ``update()``, and
    dropped when the component printed nothing and needs no update."""
    component.changed = False
    started = time.perf_counter()
    for sub in component.sub_components:
        sub.deploy(predict_only)
        if sub.changed:
            component.changed = True
    own_started = time.perf_counter()
    timings = {"sub": own_started - started, "verify": 0.0, "update": 0.0}
    workdir = component.workdir
    if workdir not in _KNOWN_WORKDIRS:
        os.makedirs(workdir, exist_ok=True)
        _KNOWN_WORKDIRS.add(workdir)
    run = _CURRENT.get()
    mark = output.hold(partial(run.announce, component)) if run is not None else None
    try:
        with working_directory(workdir), component:
            reason = _verify(component, predict_only)
            timings["verify"] = time.perf_counter() - own_started
            if reason is not None:
                _update(component, predict_only, reason, run, timings)
            unchanged = _why_unchanged(component) if reason is None else None
        if mark is not None:
            output.release(mark)  # a debug line about an unchanged component is no reason
        if unchanged is not None:
            _explain(component, f"unchanged: {unchanged}")
        _report_slow(component, timings)
    except (Exception, SystemExit) as error:
        if mark is not None:
            output.release(mark)
        if getattr(error, "deployd_path", None) is None:
            try:
                error.deployd_path = component._breadcrumbs_safe()  # type: ignore[union-attr]
            except AttributeError:
                pass
            error.deployd_site = _added_at(component)  # type: ignore[union-attr]
        raise


def _added_at(component: Any) -> tuple[str, int] | None:
    """The ``self += ...`` line that added ``component`` (or its nearest parent)."""
    while component is not None:
        site = getattr(component, "_added_at", None)
        if site is not None:
            return site  # type: ignore[no-any-return]
        component = getattr(component, "parent", None)
    return None


def _verify(component: Any, predict_only: bool) -> AssertionError | None:
    """Why ``component`` needs an update (what its ``verify()`` raised), or None."""
    try:
        if type(component).verify is not _DEFAULT_VERIFY:  # the default does nothing
            call_with_optional_args(component.verify, predicting=predict_only)
    except AssertionError as reason:
        return reason
    return None


def _why_unchanged(component: Any) -> str | None:
    """In --debug runs: why verify() passed, if the component can say."""
    why = getattr(component, "why_unchanged", None) if output.enable_debug else None
    return why() if why is not None else None


def _update(
    component: Any,
    predict_only: bool,
    reason: AssertionError,
    run: _RootRun | None,
    timings: dict[str, float],
) -> None:
    """Name the component, then run ``before-update`` and ``update()`` (not when predicting)."""
    output.announce_held()
    if output.enable_debug:
        # A bare ``assert`` or ``raise AssertionError()`` says nothing: name what was raised.
        _explain(
            component, f"needs update: {str(reason) or 'verify() raised ' + type(reason).__name__}"
        )
    trigger_event(component, "before-update", predict_only, output.annotate)
    if not predict_only:
        update_started = time.perf_counter()
        component.update()
        timings["update"] = time.perf_counter() - update_started
    component.changed = True
    if run is not None:
        run.changed(component)


def _explain(component: Any, text: str) -> None:
    """A --debug line saying why a component did (not) need an update."""
    output.annotate(f"{component._breadcrumbs}: {text}", debug=True)


def _report_slow(component: Any, timings: dict[str, float]) -> None:
    """batou's sleepy line: verify or update over 1 s, or over 10 s in total."""
    total = sum(timings.values())
    if timings["verify"] > 1 or timings["update"] > 1 or total > 10:
        spent = ", ".join(
            f"{step}={format_duration(timings.get(step, total))}"
            for step in ("total", "verify", "update", "sub")
        )
        output.annotate(f"{component._breadcrumbs} [{spent}]")


def _failure(error: Exception | SystemExit, root: Any, base_dir: Path | None) -> DeploydError:
    path = getattr(error, "deployd_path", None) or root.name
    file, line = user_frame(error.__traceback__, base_dir)
    if isinstance(error, DeploydError):
        failure = error
        failure.message = failure.message or message_of(error)
    elif isinstance(error, SystemExit):
        failure = DeploymentError(
            f"component code called sys.exit({error.code!r})",
            hint="raise an exception instead: it fails the component the same way and says why",
        )
    else:
        hint = getattr(error, "deployd_hint", None) or _os_hint(error)
        failure = DeploymentError(describe(error), hint=hint)
        failure.__cause__ = error
    site = getattr(error, "deployd_site", None)
    if failure.file is None and file is None and site is not None:
        # Raised inside the library (e.g. File's verify): point at the user's `self += File(...)`.
        file, line = relative(site[0], base_dir), site[1]
    if failure.file is None and file is None and root.filename:
        file = relative(root.filename, base_dir)
    failure.file = failure.file or file
    if failure.file and base_dir is not None and os.path.isabs(failure.file):
        failure.file = relative(failure.file, base_dir)  # e.g. a template's own path
    failure.line = failure.line or line
    failure.component = root.name
    failure.host = root.host.name
    failure.details = (
        f"in: {root.host.name} > {path}",
        *user_traceback_lines(error.__traceback__, base_dir),
        *failure.details,
    )
    return failure


def _os_hint(error: Exception) -> str | None:
    """What to do about the file-system errors every deployment meets sooner or later."""
    if isinstance(error, FileNotFoundError) and error.filename:
        parent = os.path.dirname(str(error.filename))
        if parent and not os.path.isdir(parent):
            return (
                f"the directory {parent} does not exist: create it first (a Directory "
                "component, or File(..., leading=True))"
            )
    if isinstance(error, NotADirectoryError):
        return "a part of that path is a file, not a directory"
    if isinstance(error, PermissionError):
        return f"the worker runs as uid {os.getuid()}: give it access, or manage another path"
    if isinstance(error, OSError) and error.errno == errno.EROFS:
        return "that file system is mounted read-only"
    return None


@dataclass
class ConvergeOutcome:
    components: list[ComponentResult] = field(default_factory=list)
    errors: list[DeploydError] = field(default_factory=list)
    cancelled: bool = False


def converge_host(
    host: Any,
    order: list[Any],
    emit: Emit,
    *,
    predict: bool = False,
    should_stop: Callable[[], bool] = lambda: False,
    base_dir: Path | None = None,
    graph: Mapping[Any, Iterable[Any]] | None = None,
) -> ConvergeOutcome:
    """Deploy the roots of ``host`` in ``order``; failures and cancellation become data.

    ``graph`` maps a root to the roots it depends on (the configure pass's graph; by default
    the environment's resources are asked)."""
    outcome = ConvergeOutcome()
    _KNOWN_WORKDIRS.clear()  # a directory may have been removed since the last converge
    if graph is None:
        graph = host.environment.resources.dependency_graph()
    blocked: dict[Any, str] = {}  # root -> the failed root it waits for
    roots = [r for r in order if r.host is host]
    for index, root in enumerate(roots):
        if should_stop():  # the rest is listed as skipped: the record shows the whole host
            outcome.cancelled = True
            outcome.components.extend(
                ComponentResult(r.name, "skipped", 0.0) for r in roots[index:]
            )
            break
        timeout = _declared_timeout(root)
        emit(make_event("component-started", host=host.name, component=root.name, timeout=timeout))
        started = time.monotonic()
        if root.ignore or host.ignore:
            why = "Host ignored" if host.ignore else "Component ignored"
            output.log(f"Skipping component {root.name} ({why})", host=host.name, root=root.name)
            outcome.components.append(_finish(emit, root, "skipped", started))
            continue
        failed_dependency = next((blocked[d] for d in graph.get(root, ()) if d in blocked), None)
        if failed_dependency is not None:
            blocked[root] = failed_dependency
            output.log(
                f"Not attempting component {root.name}: it depends on {failed_dependency}, "
                "which failed",
                host=host.name,
                root=root.name,
            )
            outcome.components.append(_finish(emit, root, "not-attempted", started))
            continue
        run = _RootRun(host.name, root.name, emit)
        token = _CURRENT.set(run)
        try:
            with output.context(host.name, root.name):
                root.component.deploy(predict)
        except (Exception, SystemExit) as error:  # sys.exit() in verify/update: this root failed
            outcome.errors.append(_failure(error, root, base_dir))
            outcome.components.append(_finish(emit, root, "failed", started, run))
            blocked[root] = root.name
            continue
        finally:
            _CURRENT.reset(token)
        state = "changed" if root.component.changed else "unchanged"
        outcome.components.append(_finish(emit, root, state, started, run))
    return outcome


def _declared_timeout(root: Any) -> float | None:
    """The root class's own time limit (``deployd_timeout``, seconds), if it is a sane one."""
    cls = type(root.component)
    value = getattr(cls, "deployd_timeout", None)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        output.warn(
            f"{cls.__qualname__}.deployd_timeout = {value!r} is not a number of seconds > 0; "
            "the run's default component limit applies"
        )
        return None
    return float(value)


def _finish(
    emit: Emit, root: Any, state: Any, started: float, run: _RootRun | None = None
) -> ComponentResult:
    duration = time.monotonic() - started
    emit(
        make_event(
            "component-finished",
            host=root.host.name,
            component=root.name,
            outcome=state,
            duration=duration,
        )
    )
    return ComponentResult(root.name, state, duration, tuple(run.changed_paths if run else ()))


__all__ = ["ConvergeOutcome", "converge_host", "deploy_component"]
