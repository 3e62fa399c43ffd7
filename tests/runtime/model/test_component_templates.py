"""The template engine: batou's Jinja settings, and the fast path that must match Jinja."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pytest

from components_runtime.errors import TemplatingError
from components_runtime.support import template


class Thing:
    name = "web"
    port = 8080
    none = None
    flag = False
    mapping = {"key": "from-item"}  # noqa: RUF012


ARGS: dict[str, Any] = {"component": Thing(), "host": {"fqdn": "h.example"}, "n": 3}

REFERENCE = jinja2.Environment(
    line_statement_prefix="@@", keep_trailing_newline=True, undefined=jinja2.StrictUndefined
)


@pytest.mark.parametrize(
    "source",
    [
        "{{component.name}}:{{ component.port }}\n",
        "{{component.none}} {{component.flag}} {{n}}",
        "{{host.fqdn}} {{component.mapping.key}}",
        "a } b %} c #} {{component.name}}",
        "@@ if n > 1\nbig {{n}}\n@@ endif\n",
        "x {{- component.name }} y",
        "{{ component.name | upper }}",
        "{% for i in [1, 2] %}{{i}}{% endfor %}",
        "{# comment #}{{n}}",
        "trailing\n\n",
        "line\r\nwindows {{n}}",
    ],
)
def test_rendering_matches_jinja(source: str) -> None:
    assert template.expand(source, ARGS) == REFERENCE.from_string(source).render(**ARGS)


@pytest.mark.parametrize("source", ["{{nosuch}}", "{{component.nosuch}}", "{% if %}"])
def test_errors_are_templating_errors(source: str) -> None:
    with pytest.raises(TemplatingError, match="An error occurred while rendering a template"):
        template.expand(source, ARGS, "Thing")


@pytest.mark.parametrize(
    ("source", "hint"),
    [
        ("{{component.nosuch}}", "check the names used in the template"),
        ("a\n{% if %}\n", "fix the Jinja2 syntax at that line"),
    ],
)
def test_the_hint_fits_the_kind_of_template_error(source: str, hint: str) -> None:
    with pytest.raises(TemplatingError) as caught:
        template.expand(source, ARGS, "Thing")
    assert caught.value.hint is not None and caught.value.hint.startswith(hint)


def test_render_file_adds_batous_extra_newline(tmp_path: Path) -> None:
    path = tmp_path / "t"
    path.write_text("{{n}}\n")
    assert template.render_file(path, ARGS) == "3\n\n"
