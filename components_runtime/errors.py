"""The runtime's error tree. Errors carry fields; only the CLI and the API turn them into text.

::

    Exception
    ├── AssertionError
    │   └── UpdateNeeded                 verify() says: run update()  (control flow, not an error)
    ├── SilentConfigurationError         configure() must wait for a retry (control flow)
    └── DeploydError                     (batou name: ReportingException)
        ├── ConfigurationError           bad repository or environment configuration; collected
        │   ├── LoadError                a component.py failed to load (file, line)
        │   ├── EnvironmentConfigError   environment.cfg is wrong (file, line, section)
        │   │   ├── MissingEnvironment       no environments/NAME/environment.cfg
        │   │   ├── SuperfluousSection       a section batou does not know
        │   │   ├── SuperfluousComponentSection  [component:X] for an unknown component
        │   │   ├── MissingComponent         a host lists an unknown component
        │   │   ├── DuplicateHostError       a host in [hosts] and as [host:X]
        │   │   └── InvalidIPAddressError    a [resolver] value that is no IP address
        │   ├── SecretsError             encrypted secrets: their layout, cleartext, use
        │   │   ├── SuperfluousSecretsSection    secrets for an unknown component
        │   │   ├── UnknownHostSecretsSection    secrets for an unknown host
        │   │   └── DuplicateOverride            a key in environment.cfg and the secrets
        │   ├── OverrideError            [component:X] override unknown / not convertible
        │   ├── ResourceError            unused / unsatisfied provide/require
        │   ├── CycleError               dependency cycle (details: the cycle)
        │   ├── NonConvergingError       configure never converged
        │   ├── HostSelectionError       this host is not in the environment / has no components
        │   ├── ComponentUsageError      a library component is used wrongly
        │   ├── IPAddressConfigurationError
        │   │   └── GetAddressInfoError  a name did not resolve (also a socket.gaierror)
        │   └── TemplatingError
        └── DeploymentError              verify()/update() failed
            └── CmdExecutionError        a command returned non-zero (also a RuntimeError)

``sort_key`` orders a report the way batou orders it (usage errors first, cycles and
non-convergence last); inside one class the location sorts.
"""

from __future__ import annotations

import socket
from typing import Any

from components_runtime.protocol import ErrorInfo


class UpdateNeeded(AssertionError):
    """Raised by ``verify()`` to ask for ``update()``."""


class SilentConfigurationError(Exception):
    """Stops one root's configure until the next round; never reported."""


class DeploydError(Exception):
    """Base of every reported error. Fields locate it; ``message`` says what is wrong."""

    sort_rank = 0
    hint: str | None = None

    def __init__(
        self,
        message: str = "",
        *,
        file: str | None = None,
        line: int | None = None,
        section: str | None = None,
        component: str | None = None,
        host: str | None = None,
        hint: str | None = None,
        details: tuple[str, ...] | list[str] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.section = section
        self.component = component
        self.host = host
        if hint is not None:
            self.hint = hint
        self.details = tuple(details)

    @property
    def sort_key(self) -> tuple[Any, ...]:
        return (
            self.sort_rank,
            self.file or "",
            self.line or 0,
            self.section or "",
            self.component or "",
            self.message,
        )

    def to_info(self) -> ErrorInfo:
        return ErrorInfo(
            kind=type(self).__name__,
            message=self.message,
            file=self.file,
            line=self.line,
            section=self.section,
            component=self.component,
            host=self.host,
            hint=self.hint,
            details=self.details,
        )

    # batou's ReportingException API, used by a few extension libraries.
    def report(self) -> str:
        return self.message


ReportingException = DeploydError


class ConfigurationError(DeploydError):
    sort_rank = 0

    @classmethod
    def from_context(cls, message: str, component: Any = None) -> ConfigurationError:
        """batou's constructor: the component (if given) names the root it happened in."""
        name = None
        if component is not None:
            root = getattr(component, "root", None)
            name = getattr(root, "name", None) or type(component).__name__.lower()
        return cls(message, component=name)


class ComponentUsageError(ConfigurationError):
    sort_rank = -1


class LoadError(ConfigurationError):
    sort_rank = 0


class EnvironmentConfigError(ConfigurationError):
    sort_rank = 0


class MissingEnvironment(EnvironmentConfigError):
    pass


class SuperfluousSection(EnvironmentConfigError):
    pass


class SuperfluousComponentSection(EnvironmentConfigError):
    pass


class MissingComponent(EnvironmentConfigError):
    pass


class DuplicateHostError(EnvironmentConfigError):
    pass


class InvalidIPAddressError(EnvironmentConfigError):
    pass


class SecretsError(ConfigurationError):
    sort_rank = 0


class SuperfluousSecretsSection(SecretsError):
    pass


class UnknownHostSecretsSection(SecretsError):
    pass


class DuplicateOverride(SecretsError):
    pass


class HostSelectionError(ConfigurationError):
    sort_rank = 0


class TemplatingError(ConfigurationError):
    sort_rank = 1
    template_line: int | None = None  # the line in the template (set by the template module)


class OverrideError(ConfigurationError):
    sort_rank = 1  # conversion / expansion; undefined attributes use rank 3


class IPAddressConfigurationError(ConfigurationError):
    sort_rank = 1


class GetAddressInfoError(IPAddressConfigurationError, socket.gaierror):
    """A host name did not resolve. Also a ``socket.gaierror``, as in batou."""


class UnknownConfigureError(ConfigurationError):
    """Any other exception raised by a component's configure()."""

    sort_rank = 4


class ResourceError(ConfigurationError):
    sort_rank = 5  # unused; unsatisfied use rank 6


class CycleError(ConfigurationError):
    sort_rank = 99


class NonConvergingError(ConfigurationError):
    sort_rank = 100


class DeploymentError(DeploydError):
    sort_rank = 100


class CmdExecutionError(DeploymentError, RuntimeError):
    def __init__(self, cmd: str, returncode: int, stdout: str, stderr: str) -> None:
        super().__init__(
            f"Command failed: {cmd} (return code {returncode})",
            details=tuple(
                [f"Return code: {returncode}"]
                + [f"STDOUT: {line}" for line in stdout.splitlines()[-20:]]
                + [f"STDERR: {line}" for line in stderr.splitlines()[-20:]]
            ),
        )
        self.cmd = cmd
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def sorted_errors(errors: list[DeploydError]) -> list[DeploydError]:
    """Errors in report order, duplicates (same class, same fields) dropped."""
    unique: dict[tuple[Any, ...], DeploydError] = {}
    for error in errors:
        unique.setdefault((type(error).__name__, error.sort_key, error.host), error)
    return sorted(unique.values(), key=lambda e: e.sort_key)


def message_of(error: BaseException) -> str:
    """``str(error)``, safe for any exception component code raises: one whose own text fails
    (a ``__str__`` that raises) is described instead of failing the report."""
    try:
        return str(error)
    except Exception as inner:  # user code: anything can happen in __str__
        return f"(its message cannot be shown: {type(inner).__name__} in its __str__)"


def describe(error: BaseException) -> str:
    """``Type: message`` of any exception (see :func:`message_of`)."""
    return f"{type(error).__name__}: {message_of(error)}"
