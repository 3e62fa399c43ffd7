"""The standard component library (batou's ``batou.lib``). ``file`` holds the file components."""
