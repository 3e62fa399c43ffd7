"""``python -m daemon.cli``: the ``deployd`` command."""

import sys

from daemon.cli.main import main

sys.exit(main())
