"""``batou.c``: one attribute per loaded ``components/<dir>/component.py`` (set by the loader)."""
