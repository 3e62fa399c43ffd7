"""One worker process: entry point, the session of one request, debugging."""

from components_runtime.worker.entry import main

__all__ = ["main"]
