"""``batou.lib``: the standard component library (modules re-exported one by one)."""
