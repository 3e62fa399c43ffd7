"""Settings and limits: ``deployd.toml`` and every time limit, parsed once into frozen values."""

from typing import TYPE_CHECKING

from daemon import lazy_exports

if TYPE_CHECKING:  # the export table: imported on first use (see lazy_exports)
    from daemon.config.limits import DEFAULT_LIMITS, Limits, LimitsError, environment_section
    from daemon.config.settings import Settings, SettingsError, WebhookSettings, load_settings

__all__ = [
    "DEFAULT_LIMITS",
    "environment_section",
    "Limits",
    "LimitsError",
    "load_settings",
    "Settings",
    "SettingsError",
    "WebhookSettings",
]

__getattr__ = lazy_exports(__name__, __file__)
