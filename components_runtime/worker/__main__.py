"""``python -m components_runtime.worker``: one worker process (see ``entry``)."""

import sys

from components_runtime.worker.entry import main

sys.exit(main())
