"""The ``batou`` import names, for deployment repositories written for batou.

Installed as ``batou`` in ``sys.modules`` by
:func:`~components_runtime.worker.aliases.install` when a repository is loaded.
Re-exports only: no logic lives in this package. (batou's import-time
``PYTHONBREAKPOINT`` setting is deliberately absent: see ``components_runtime.worker.debugging``.)
"""

from components_runtime.batou import output
from components_runtime.errors import (
    CmdExecutionError,
    ComponentUsageError,
    ConfigurationError,
    CycleError,
    DeploydError,
    DeploymentError,
    DuplicateHostError,
    GetAddressInfoError,
    InvalidIPAddressError,
    IPAddressConfigurationError,
    LoadError,
    MissingComponent,
    MissingEnvironment,
    NonConvergingError,
    OverrideError,
    ReportingException,
    ResourceError,
    SilentConfigurationError,
    SuperfluousComponentSection,
    SuperfluousSection,
    TemplatingError,
    UnknownConfigureError,
    UpdateNeeded,
)

# batou's names for errors deployd reports through its own classes.
AttributeExpansionError = OverrideError
ConversionError = OverrideError
MissingOverrideAttributes = OverrideError
ComponentLoadingError = LoadError
DuplicateComponent = LoadError
UnknownComponentConfigurationError = UnknownConfigureError
UnusedResources = ResourceError
UnsatisfiedResources = ResourceError
CycleErrorDetected = CycleError
NonConvergingWorkingSet = NonConvergingError

__all__ = [
    "AttributeExpansionError",
    "CmdExecutionError",
    "ComponentLoadingError",
    "ComponentUsageError",
    "ConfigurationError",
    "ConversionError",
    "CycleErrorDetected",
    "DeploydError",
    "DeploymentError",
    "DuplicateComponent",
    "DuplicateHostError",
    "GetAddressInfoError",
    "IPAddressConfigurationError",
    "InvalidIPAddressError",
    "MissingComponent",
    "MissingEnvironment",
    "MissingOverrideAttributes",
    "NonConvergingWorkingSet",
    "ReportingException",
    "SilentConfigurationError",
    "SuperfluousComponentSection",
    "SuperfluousSection",
    "TemplatingError",
    "UnknownComponentConfigurationError",
    "UnsatisfiedResources",
    "UnusedResources",
    "UpdateNeeded",
    "output",
]
