"""``batou.template``: the Jinja2 engine functions."""

from components_runtime.support import expand, generated_header, render_file

__all__ = ["expand", "generated_header", "render_file"]
