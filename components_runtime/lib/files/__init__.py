"""The file library, split by concern; ``components_runtime.lib.file`` exports the public names."""
