"""The configure fix point over every root of every host (batou's ``Environment.configure``).

Each round configures the roots of the working set from fresh instances; a root is retried
when it failed, when a key it subscribed to gained or lost values (unless ``dirty=True``), or
while one of its strict requirements is unsatisfied. The loop ends when nothing needs a retry,
or when a working set repeats (not converging).

**Iteration order (deployd's decision).** batou iterates a ``set`` of roots, so its order, and
with it the order of ``require()`` results and the number of rounds, varies between runs. We
iterate in *config order*: hosts in file order, each host's components in list order; a retry
set is iterated in the same order. ``require()`` results therefore come in config order of the
providing roots, every run, on every host.

Every error of every round's last attempt is collected; nothing stops at the first one.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components_runtime.engine.ordering import stable_topological_sort
from components_runtime.errors import (
    ConfigurationError,
    CycleError,
    DeploydError,
    NonConvergingError,
    OverrideError,
    ResourceError,
    SilentConfigurationError,
    UnknownConfigureError,
    describe,
)
from components_runtime.model import TRACKED_INSTANCES, Component, Link, Resources
from components_runtime.support import relative, user_frame, user_traceback_lines

# The host of the root being configured when it is not the host this run converges (None
# otherwise): configure runs every host's roots, and a breakpoint() in another host's
# component must not stop this host's run (worker.debugging reads it).
FOREIGN_HOST: ContextVar[str | None] = ContextVar("foreign_host", default=None)


@dataclass
class ConfigureResult:
    errors: list[DeploydError] = field(default_factory=list)
    order: list[Any] = field(default_factory=list)  # roots, dependencies first
    graph: dict[Any, dict[Any, None]] = field(default_factory=dict)
    logs: list[tuple[Any, str]] = field(default_factory=list)  # (root, message), final pass
    warnings: list[str] = field(default_factory=list)


def label(root: Any) -> str:
    return f"{root.name} ({root.host.name})"


def _locate(error: DeploydError, root: Any, base_dir: Path | None) -> DeploydError:
    if error.file is None:
        error.file, error.line = user_frame(error.__traceback__, base_dir)
    elif base_dir is not None and os.path.isabs(error.file):  # e.g. a template's own path
        error.file = relative(error.file, base_dir)
    if error.file is None:
        error.file = _file_of(root, base_dir)
    if error.component not in (None, root.name):
        # A library names the sub-component (e.g. "Mode"); the report names the root.
        error.details = (*error.details, f"in: {error.component}")
    error.component = root.name
    from_config = isinstance(error, OverrideError) and (error.section or "").startswith(
        "component:"
    )
    if not from_config:
        # An override fails the same way on every host: without a host it is reported once.
        error.host = error.host or root.host.name
    return error


def _unknown(error: Exception, root: Any, base_dir: Path | None) -> UnknownConfigureError:
    import traceback

    file, line = user_frame(error.__traceback__, base_dir)
    if file is None:  # raised by the runtime (a root declaring a namevar)
        file = _file_of(root, base_dir)
    wrapped = UnknownConfigureError(
        describe(error),
        file=file,
        line=line,
        component=root.name,
        host=root.host.name,
        hint=getattr(error, "deployd_hint", None)
        or "an unexpected exception in configure(); see the file and line",
        details=tuple(
            user_traceback_lines(error.__traceback__, base_dir)
            or [traceback.format_exception_only(type(error), error)[-1].rstrip()]
        ),
    )
    wrapped.__cause__ = error
    return wrapped


def _configure_root(
    root: Any,
    env: Any,
    base_dir: Path | None,
    result: ConfigureResult,
    errors: list[DeploydError],
    this_host: str | None = None,
) -> bool:
    """Configure one root from a fresh instance; True when it succeeded."""
    tracked: list[Component] = []
    token = TRACKED_INSTANCES.set(tracked)
    host = root.host.name
    foreign = FOREIGN_HOST.set(host if this_host is not None and host != this_host else None)
    try:
        env.resources.reset_component_resources(root)
        # the environment's overrides of this component, then this host's own secrets' ones
        root.overrides = {**env.overrides.get(root.name, {}), **root.host_overrides}
        root.prepare()
    except ConfigurationError as error:
        for each in [error, *getattr(error, "also", ())]:
            errors.append(_locate(each, root, base_dir))
    except SilentConfigurationError:
        pass
    except Exception as error:
        errors.append(_unknown(error, root, base_dir))
    else:
        _warn_about(tracked, root, result)
        return True
    finally:
        FOREIGN_HOST.reset(foreign)
        TRACKED_INSTANCES.reset(token)
    return False


def _warn_about(instances: list[Component], root: Any, result: ConfigureResult) -> None:
    for component in instances:
        cls = type(component)
        if not component._prepared:
            message = (
                f"{label(root)}: {cls.__name__} was created in configure() but never added "
                "with += or |= (it will not be deployed)"
            )
        elif cls.update is not Component.update and cls.verify is Component.verify:
            # batou 2.5.1+ crashes here (ComponentWithUpdateWithoutVerify); we only warn.
            message = (
                f"{cls.__module__}.{cls.__qualname__} has update() but no verify(): "
                "it never updates (verify() always says converged)"
            )
        else:
            continue
        if message not in result.warnings:
            result.warnings.append(message)


def configure_environment(
    env: Any, base_dir: Path | None = None, this_host: str | None = None
) -> ConfigureResult:
    """Configure ``env.root_components`` to a fix point; all errors collected in the result.
    ``this_host``: the host the run converges; other hosts' roots run under FOREIGN_HOST."""
    result = ConfigureResult()
    roots = list(env.root_components)
    position = {root: index for index, root in enumerate(roots)}
    working_set = roots
    previous: list[frozenset[Any]] = []
    errors: list[DeploydError] = []
    while working_set:
        errors = []
        previous.append(frozenset(working_set))
        env.resources.dirty_dependencies.clear()
        retry: dict[Any, None] = {}
        for root in working_set:
            if not _configure_root(root, env, base_dir, result, errors, this_host):
                retry[root] = None
        retry.update(env.resources.dirty_dependencies)
        retry.update(dict.fromkeys(env.resources.unsatisfied_components()))
        result.graph = env.resources.dependency_graph()
        result.order, cycles = stable_topological_sort(roots, result.graph, position.__getitem__)
        errors.extend(_cycle_error(cycle, env.resources, base_dir) for cycle in cycles)
        if frozenset(retry) in previous:
            errors.extend(_unsatisfied_errors(env, base_dir))
            start = previous.index(frozenset(retry))
            stuck = set().union(*previous[start:])
            errors.append(_non_converging(sorted(stuck, key=position.__getitem__)))
            break
        working_set = sorted(retry, key=position.__getitem__)
    errors.extend(_unused_errors(env, base_dir))
    result.errors = errors
    for root in result.order:
        result.logs.extend((root, message) for message in root.configure_logs())
        root.finish_configure()
    return result


def _cycle_error(cycle: list[Any], resources: Resources, base_dir: Path | None) -> CycleError:
    """One error per cycle; each edge names the require() behind it, the first edge's call is
    the location. Only the cycle's own keys are looked up: the sites were recorded on the way."""
    lines: list[str] = []
    first: tuple[str | None, int | None] | None = None
    for index, root in enumerate(cycle):
        target = cycle[(index + 1) % len(cycle)]
        edge = f"{label(root)} depends on {label(target)}"
        links = resources.links(root, target)
        for link in links:
            site = _site(link.site, link.requirer, base_dir)
            first = first or site
            lines.append(f"{edge}: {_link_text(link, site, resources, base_dir)}")
        if not links:
            lines.append(edge)
    file, line = first or (_file_of(cycle[0], base_dir), None)
    return CycleError(
        "Found dependency cycle: " + " -> ".join(label(r) for r in [*cycle, cycle[0]]),
        file=file,
        line=line,
        component=cycle[0].name,
        hint="break the cycle, e.g. require(..., reverse=True, dirty=True) on one side",
        details=tuple(lines),
    )


def _link_text(
    link: Link, site: tuple[str | None, int | None], resources: Resources, base_dir: Path | None
) -> str:
    """``ping requires 'pong' at FILE:LINE`` (and where a root provides what it requires)."""
    flipped = " with reverse=True" if link.reverse else ""
    text = f"{link.requirer.name} requires {link.key!r}{flipped}{_where(site)}"
    if link.requirer is link.provider:
        provided = _site(resources.provided_at(link.provider, link.key), link.provider, base_dir)
        text += f" and provides it itself{_where(provided)}"
    return text


def _non_converging(stuck: list[Any]) -> NonConvergingError:
    return NonConvergingError(
        f"{len(stuck)} remaining unconfigured component(s): "
        + ", ".join(label(root) for root in stuck),
        hint="their configure() keeps failing or keeps changing what they provide",
    )


def _unsatisfied_errors(env: Any, base_dir: Path | None) -> list[DeploydError]:
    errors: list[DeploydError] = []
    resources = env.resources
    for (key, host), roots in resources.unsatisfied_requirers().items():
        where = f" on host {host.name}" if host is not None else ""
        sites = [_site(resources.required_at(root, key), root, base_dir) for root in roots]
        file, line = sites[0] if sites else (None, None)
        error = ResourceError(
            f"Unsatisfied resource {key!r}{where}: required by "
            + (", ".join(label(root) for root in roots) or "?")
            + ", provided by nobody",
            file=file,
            line=line,
            component=roots[0].name if roots else None,
            hint="add a component that provide()s it to the environment, or require(..., "
            "strict=False)",
            details=tuple(
                f"required by: {label(root)}{_at(site, len(roots))}"
                for root, site in zip(roots, sites, strict=True)
            ),
        )
        error.sort_rank = 6
        errors.append(error)
    return errors


def _unused_errors(env: Any, base_dir: Path | None) -> list[DeploydError]:
    errors: list[DeploydError] = []
    resources = env.resources
    for key, providers in resources.unused().items():
        roots = list(providers)
        sites = {root: _site(resources.provided_at(root, key), root, base_dir) for root in roots}
        file, line = sites[roots[0]]
        error = ResourceError(
            f"Unused resource {key!r}: provided by "
            + ", ".join(label(root) for root in roots)
            + ", required by nobody",
            file=file,
            line=line,
            component=roots[0].name,
            hint="remove the provide() or add the component that require()s it",
            details=tuple(
                f"{label(root)}: {value!r}{_at(sites[root], len(roots))}"
                for root in roots
                for value in providers[root]
            ),
        )
        error.sort_rank = 5
        errors.append(error)
    return errors


def _site(
    site: tuple[str, int] | None, root: Any, base_dir: Path | None
) -> tuple[str | None, int | None]:
    """(file, line) of a provide()/require() call; the root's file when the call is unknown."""
    if site is None:
        return _file_of(root, base_dir), None
    file, line = site
    return relative(file, base_dir), line


def _at(site: tuple[str | None, int | None], roots: int) -> str:
    """`` at file:line`` for a detail line, when several roots share the error's key."""
    return _where(site) if roots > 1 else ""


def _where(site: tuple[str | None, int | None]) -> str:
    """`` at file:line`` (or `` at file``, or nothing when even the file is unknown)."""
    file, line = site
    if file is None:
        return ""
    return f" at {file}:{line}" if line else f" at {file}"


def _file_of(root: Any, base_dir: Path | None) -> str | None:
    if not root.filename:
        return None
    return relative(root.filename, base_dir)


__all__ = ["ConfigureResult", "configure_environment", "label"]
