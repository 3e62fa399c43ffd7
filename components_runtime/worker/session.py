"""``run_request``: the whole job of one worker, from a request to a result.

load the environment config → load components → check names → build the runtime environment
(every root of every host) → configure everything → converge this host (apply / predict), or
only report (check: one host, or all hosts).

It never raises: every failure, including a bug of ours, comes back as a ``WorkerResult`` whose
errors say what is wrong and where.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from components_runtime.engine import (
    ConfigureResult,
    LoadResult,
    configure_environment,
    converge_host,
    load_components,
)
from components_runtime.envconfig import (
    did_you_mean,
    load_environment_config,
    select_host,
    validate_component_names,
)
from components_runtime.errors import (
    ConfigurationError,
    DeploydError,
    DeploymentError,
    HostSelectionError,
    describe,
    sorted_errors,
)
from components_runtime.model import (
    Environment,
    RootComponent,
    build_mapper,
    install_overrides,
    set_address_defaults,
)
from components_runtime.protocol import ErrorInfo, RunOutcome, WorkerRequest, WorkerResult
from components_runtime.secrets import (
    Secrets,
    apply_host_scoped,
    apply_shared,
    find_secrets,
    read_secrets,
)
from components_runtime.support import batou_names, output, relative
from components_runtime.worker import aliases

Emit = Callable[[dict[str, Any]], None]


def run_request(
    request: WorkerRequest,
    emit: Emit,
    should_stop: Callable[[], bool] = lambda: False,
) -> WorkerResult:
    started = time.monotonic()
    output.attach(emit, debug=request.debug)
    try:
        return _run(request, emit, should_stop, started)
    except Exception as error:  # a bug of ours: still a result, with the traceback as details
        import traceback

        return WorkerResult(
            outcome="failed",
            errors=(
                ErrorInfo(
                    kind="InternalError",
                    message=f"deployd failed unexpectedly: {describe(error)}",
                    hint="this is a bug in deployd; please report it with the details",
                    details=tuple(traceback.format_exc().splitlines()[-30:]),
                ),
            ),
            duration=time.monotonic() - started,
        )
    except (SystemExit, KeyboardInterrupt) as error:  # raised by component code: say where
        return _exit_from_user_code(error, request, started)
    finally:
        output.attach(None)


def _exit_from_user_code(
    error: SystemExit | KeyboardInterrupt, request: WorkerRequest, started: float
) -> WorkerResult:
    from components_runtime.support import user_frame

    file, line = user_frame(error.__traceback__, Path(request.repository).resolve())
    what = (
        f"sys.exit({error.code!r})" if isinstance(error, SystemExit) else "raise KeyboardInterrupt"
    )
    failure = DeploymentError(
        f"component code ended the run: {what}",
        file=file,
        line=line,
        hint="raise an exception instead (it fails the component and names it); "
        "a deployment cannot be ended from inside",
    )
    return _failed([failure], started, [])


def _failed(
    errors: list[DeploydError], started: float, warnings: list[str], **kw: Any
) -> WorkerResult:
    return WorkerResult(
        outcome="failed",
        errors=tuple(_public(error) for error in sorted_errors(errors)),
        warnings=tuple(warnings),
        duration=time.monotonic() - started,
        **kw,
    )


def _run(
    request: WorkerRequest, emit: Emit, should_stop: Callable[[], bool], started: float
) -> WorkerResult:
    base_dir = Path(request.repository).resolve()
    aliases.install()
    try:
        config = load_environment_config(base_dir, request.environment)
    except ConfigurationError as error:
        return _failed([error], started, [])
    errors: list[DeploydError] = list(config.errors)
    warnings = [_config_warning(w) for w in config.warnings if w.level != "info"]
    for note in (w for w in config.warnings if w.level == "info"):
        output.log(f"note: {_config_warning(note)}")  # e.g. a key only batou's push mode uses
    loaded = load_components(base_dir)
    errors.extend(loaded.errors)
    errors.extend(_name_errors(config, loaded, base_dir))
    selected, checked = _select(request, config, errors)
    if selected is None and request.mode != "check":
        return _failed(errors, started, warnings)

    secrets = _read_secrets(request, base_dir, config, selected, warnings)
    errors.extend(secrets.errors)
    environment = _build_environment(request, config, loaded, secrets, selected, errors)
    configured = configure_environment(environment, base_dir, getattr(selected, "name", None))
    errors.extend(configured.errors)
    warnings.extend(configured.warnings)
    shown = {host.name for host in checked}
    for root, message in configured.logs:
        if root.host.name in shown:
            output.log(message, host=root.host.name, root=root.name)
    for warning in warnings:
        output.log(warning, "warning")

    host = getattr(selected, "name", None)
    platform = getattr(selected, "platform", None)
    if errors:
        return _failed(errors, started, warnings, host=host, platform=platform)
    if request.mode == "check" or selected is None:
        duration = time.monotonic() - started
        return WorkerResult(
            "succeeded", host, platform, warnings=tuple(warnings), duration=duration
        )
    return _converge(request, environment, selected.name, configured, emit, should_stop,
                     base_dir, warnings, started)  # fmt: skip


def _select(
    request: WorkerRequest, config: Any, errors: list[DeploydError]
) -> tuple[Any, list[Any]]:
    """(the host to converge or check, or None; the hosts whose problems are reported)."""
    selected = None
    if not (request.mode == "check" and request.all_hosts):
        try:
            selected = select_host(config, request.host)
        except HostSelectionError as error:
            errors.append(error)
    elif not config.hosts:
        errors.append(_no_hosts_error(config))
    checked = [selected] if selected is not None else list(config.hosts.values())
    errors.extend(_empty_host_errors(checked, errors))
    return selected, checked


def _no_hosts_error(config: Any) -> HostSelectionError:
    """``check --all-hosts`` of an environment without hosts: nothing was checked (batou
    refuses such an environment with "No host found in environment")."""
    return HostSelectionError(
        f"Environment {config.name!r} has no hosts: there is nothing to check",
        file=relative(config.file, config.base_dir),
        hint="list the hosts and their components in [hosts] (NAME = component, ...) or in "
        "[host:NAME] sections",
    )


def _read_secrets(
    request: WorkerRequest, base_dir: Path, config: Any, selected: Any, warnings: list[str]
) -> Secrets:
    """The decrypted secrets the daemon sent. Without them (a check without keys) secret
    files read as placeholders; a converge without them is an error, never a run with
    missing values."""
    layout = find_secrets(base_dir, config.name)
    warnings.extend(layout.warnings)
    payload = request.secrets
    complete = payload.complete if payload is not None else request.mode != "check"
    texts = payload.as_dict() if payload is not None else {}
    if not complete and not layout.empty:
        warnings.append(
            "the secrets were not all decrypted (no key for them here): their structure was "
            "checked, their values were not applied"
        )
    return read_secrets(layout, texts, getattr(selected, "name", None), complete)


def _build_environment(
    request: WorkerRequest,
    config: Any,
    loaded: LoadResult,
    secrets: Secrets,
    selected: Any,
    errors: list[DeploydError],
) -> Environment:
    """Install the [resolver] and address defaults, build the VFS mapper, the environment
    (with the secrets) and every root of every host."""
    install_overrides(config.resolver_v4, config.resolver_v6)
    set_address_defaults(config.settings.require_v4, config.settings.require_v6)
    # Only apply may create directories while mapping (as batou does); check/predict stay pure.
    mapper = build_mapper(config.vfs, Path(request.root), eager=request.mode == "apply")
    environment = Environment(config, request.root, mapper)
    env_file = str(Path(config.file).relative_to(config.base_dir))
    secret_errors, locations = apply_shared(environment, secrets, loaded.definitions, env_file)
    errors.extend(secret_errors)
    _add_roots(environment, config, loaded, locations)
    if selected is not None:
        errors.extend(apply_host_scoped(environment, secrets, selected.name))
    return environment


def _converge(
    request: WorkerRequest,
    environment: Environment,
    host_name: str,
    configured: ConfigureResult,
    emit: Emit,
    should_stop: Callable[[], bool],
    base_dir: Path,
    warnings: list[str],
    started: float,
) -> WorkerResult:
    host = environment.hosts[host_name]
    ensure = getattr(environment._mapper, "ensure_directories", None)
    try:
        if request.mode == "apply" and ensure is not None:
            ensure()
        os.makedirs(environment.workdir_base, exist_ok=True)
    except OSError as error:
        unusable = DeploymentError(
            f"cannot create the work directory {environment.workdir_base}: "
            f"{error.strerror or error}",
            host=host.name,
            hint="the deployment root must be a directory this process may write to: "
            "`deployd apply --root DIR`, or `root` in deployd.toml",
        )
        return _failed([unusable], started, warnings, host=host.name, platform=host.platform)
    done = converge_host(
        host, configured.order, emit, predict=request.mode == "predict",
        should_stop=should_stop, base_dir=base_dir, graph=configured.graph,
    )  # fmt: skip
    outcome: RunOutcome = (
        "failed" if done.errors else "cancelled" if done.cancelled else "succeeded"
    )
    return WorkerResult(
        outcome=outcome,
        host=host.name,
        platform=host.platform,
        components=tuple(done.components),
        errors=tuple(_public(error) for error in sorted_errors(done.errors)),
        warnings=tuple(warnings + [w for w in output.warnings if w not in warnings]),
        duration=time.monotonic() - started,
    )


def _public(error: DeploydError) -> ErrorInfo:
    """The error as the user reads it: batou's names, not deployd's module paths."""
    info = error.to_info()
    return dataclasses.replace(
        info,
        message=batou_names(info.message),
        hint=batou_names(info.hint) if info.hint else info.hint,
        details=tuple(batou_names(line) for line in info.details),
    )


def _config_warning(warning: Any) -> str:
    hint = f" ({warning.hint})" if getattr(warning, "hint", None) else ""
    return f"{warning.origin}: {warning.message}{hint}"


def _name_errors(config: Any, loaded: LoadResult, base_dir: Path) -> list[ConfigurationError]:
    """Unknown component names; the hint says why when the reason is known."""
    failed = {Path(error.file or "").parent.name for error in loaded.errors}
    errors = validate_component_names(config, set(loaded.definitions))
    for error in errors:
        file = base_dir / "components" / str(error.component) / "component.py"
        unloaded = loaded.unloaded.get(str(error.component))
        if error.component in failed:
            error.hint = f"components/{error.component}/component.py failed to load (see its error)"
        elif unloaded is not None:
            where, how, name = unloaded
            error.hint = f"{where} {how} {name}, but that file failed to load (see its error)"
        elif not (base_dir / "components").is_dir():
            error.hint = f"{base_dir} has no components/ directory: is it the repository?"
        elif not _is_file(file):
            # Keep the parser's suggestion ("Did you mean 'hello'?"), after the explanation.
            suggestion = did_you_mean(str(error.component), sorted(loaded.definitions))
            error.hint = (
                "components are the classes in components/*/component.py, lower-cased; none "
                f"is called {error.component}, and there is no components/{error.component}/"
            ) + (f". {suggestion}" if suggestion else "")
    return errors


def _is_file(path: Path) -> bool:
    """Path.is_file, but a name the file system refuses (too long) is no file, not an error."""
    try:
        return path.is_file()
    except OSError:
        return False


def _empty_host_errors(checked: list[Any], known: list[DeploydError]) -> list[DeploydError]:
    """A host without components (unless the config parser reported that section already)."""
    reported = {error.section for error in known if error.section}
    return [
        HostSelectionError(
            f"Host {host.name!r} has no components",
            file=host.origin.file,
            line=host.origin.line,
            section=host.origin.section,
            host=host.name,
            hint="list its components (components = a, b) or remove the host; deployd "
            "never converges an empty plan",
        )
        for host in checked
        if not host.components and host.origin.section not in reported
    ]


def _add_roots(
    environment: Environment,
    config: Any,
    loaded: LoadResult,
    secret_locations: dict[str, dict[str, tuple[str, int | None]]],
) -> None:
    """One RootComponent per (host, listed component), in config order; an override error
    points at environment.cfg or at the secrets file that set the value."""
    for host_config in config.hosts.values():
        host = environment.hosts[host_config.name]
        for ref in host_config.components:
            definition = loaded.definitions.get(ref.name)
            if definition is None:
                continue  # reported by validate_component_names
            overrides = config.overrides.get(ref.name, {})
            root = RootComponent(
                ref.name,
                environment,
                host,
                ref.features,
                ref.ignore,
                definition.factory,
                definition.defdir,
                os.path.join(environment.workdir_base, ref.name),
                environment.overrides.get(ref.name, {}),
                filename=definition.filename,
                order=len(environment.root_components),
                override_locations={
                    **{k: (v.origin.file, v.origin.line) for k, v in overrides.items()},
                    **secret_locations.get(ref.name, {}),
                },
            )
            environment.root_components.append(root)
            host.components[ref.name] = root


__all__ = ["run_request"]
