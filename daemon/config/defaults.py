"""Every default place and address of deployd, written once.

The settings table, the command line's help texts and the one-shot commands all read these.
"""

from pathlib import Path

SETTINGS_FILE = Path("/etc/deployd/deployd.toml")  # $DEPLOYD_CONFIG overrides it
STATE_DIR = Path("/var/lib/deployd")
ROOT = Path("/srv/deployd")  # the deployment root: work dirs are ROOT/work/<component>
SOCKET = Path("/run/deployd/deployd.sock")
DEBUG_HOST = "127.0.0.1"  # remote-pdb listens on loopback unless told otherwise
DEBUG_PORT = 4444
METRICS_LISTEN = "127.0.0.1:9477"
