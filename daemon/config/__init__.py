"""Settings and limits: ``deployd.toml`` and every time limit, parsed once into frozen values.

Imports nothing else of deployd: every other folder may depend on it.
"""

from typing import TYPE_CHECKING

from daemon import lazy_exports

if TYPE_CHECKING:  # the export table: imported on first use (see lazy_exports)
    from daemon.config.addresses import debug_endpoint, parse_listen
    from daemon.config.defaults import (
        DEBUG_HOST,
        DEBUG_PORT,
        METRICS_LISTEN,
        ROOT,
        SETTINGS_FILE,
        SOCKET,
        STATE_DIR,
    )
    from daemon.config.limits import (
        DEFAULT_LIMITS,
        Limits,
        LimitsError,
        is_rollout_key,
        parse_duration,
    )
    from daemon.config.settings import (
        RolloutSettings,
        Settings,
        WebhookSettings,
        load_settings,
        parse_settings,
    )
    from daemon.config.settings_errors import SSH_UNQUOTABLE, SettingsError
    from daemon.config.settings_file import read_key, settings_path
    from daemon.config.template import holds_settings, settings_text, template_text
    from daemon.config.trust import (
        VERIFY_MODES,
        PathRule,
        TrustPolicy,
        normalise_member,
        parse_trust,
    )

__all__ = [
    "DEBUG_HOST",
    "DEBUG_PORT",
    "debug_endpoint",
    "DEFAULT_LIMITS",
    "holds_settings",
    "is_rollout_key",
    "Limits",
    "LimitsError",
    "load_settings",
    "parse_settings",
    "METRICS_LISTEN",
    "parse_duration",
    "normalise_member",
    "parse_listen",
    "parse_trust",
    "PathRule",
    "read_key",
    "RolloutSettings",
    "ROOT",
    "Settings",
    "SETTINGS_FILE",
    "settings_path",
    "SettingsError",
    "settings_text",
    "SOCKET",
    "SSH_UNQUOTABLE",
    "STATE_DIR",
    "template_text",
    "TrustPolicy",
    "VERIFY_MODES",
    "WebhookSettings",
]

__getattr__ = lazy_exports(__name__, __file__)
