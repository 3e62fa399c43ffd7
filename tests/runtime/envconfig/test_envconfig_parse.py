"""The line-tracking reader reads what configparser reads, and knows the lines."""

from __future__ import annotations

import configparser
import random

import pytest

from components_runtime.envconfig.parse import RawOption, parse_ini, split_list

# Valid files: our reader must agree with RawConfigParser (identity optionxform), which is
# what batou uses. configparser serves as the oracle.
VALID_FILES = {
    "simple": "[a]\nx = 1\ny: 2\n",
    "case and delimiters": "[Sect]\nKey = v = w\nOther:with:colons\n",
    "inline comment kept": "[a]\nx = bar # not a comment\n; whole-line comment\n# another\n",
    "continuation": "[a]\nx =\n    one\n    two\ny = 3\n",
    "blank line inside value": "[a]\nx = one\n\n    two\n\ny = 3\n",
    "indented comment in value": "[a]\nx = one\n    # gone\n    two\n",
    "empty value": "[a]\nx =\ny = \n",
    "header with trailing text": "[a] trailing\nx = 1\n",
    "indented header is a continuation": "[a]\nx = 1\n  [b]\n",
    "defaults": "[DEFAULT]\nd = 1\n[a]\nx = 2\n[DEFAULT]\ne = 3\n",
    "spaces around key": "[a]\n  x  =  1  \n",
    "form feed is no line break": "[a]\nx = 1\x0c2\n",
}


def _oracle(text: str) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    parser = configparser.RawConfigParser()
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    sections = {name: dict(parser._sections[name]) for name in parser.sections()}  # type: ignore[attr-defined]
    return sections, dict(parser.defaults())


@pytest.mark.parametrize("text", VALID_FILES.values(), ids=VALID_FILES.keys())
def test_reader_agrees_with_configparser(text: str) -> None:
    raw = parse_ini(text, "env.cfg")
    ours = {s.name: {o.key: o.value for o in s.options} for s in raw.sections}
    defaults = {o.key: o.value for o in raw.defaults.options} if raw.defaults else {}
    assert raw.errors == ()
    assert (ours, defaults) == _oracle(text)


def test_windows_and_old_mac_line_ends() -> None:
    raw = parse_ini("[a]\r\nx = 1\r\n  2\ry = 3\r", "env.cfg")
    (section,) = raw.sections
    assert [(o.key, o.value, o.value_lines) for o in section.options] == [
        ("x", "1\n2", (2, 3)),
        ("y", "3", (4,)),
    ]


def test_every_key_and_value_line_is_remembered() -> None:
    raw = parse_ini("[a]\n\nx = one\n    two\n\n    three\ny = 1\n", "env.cfg")
    (section,) = raw.sections
    assert section.line == 1
    x, y = section.options
    assert (x.line, x.value_lines) == (3, (3, 4, 5, 6))
    assert x.value == "one\ntwo\n\nthree"
    assert (y.line, y.value_lines) == (7, (7,))


BROKEN_FILES = {
    "text before a section": ("x = 1\n[a]\n", [1]),
    "line without delimiter": ("[a]\njust words\n", [2]),
    "key missing": ("[a]\n= value\n", [2]),
    "section twice": ("[a]\nx = 1\n[a]\ny = 2\n", [3]),
    "key twice": ("[a]\nx = 1\nx = 2\n", [3]),
}


@pytest.mark.parametrize(("text", "lines"), BROKEN_FILES.values(), ids=BROKEN_FILES.keys())
def test_broken_lines_are_collected_with_their_line(text: str, lines: list[int]) -> None:
    raw = parse_ini(text, "environments/x/environment.cfg")
    assert [e.line for e in raw.errors] == lines
    assert all(e.file == "environments/x/environment.cfg" for e in raw.errors)
    with pytest.raises(configparser.Error):  # configparser refuses these too
        _oracle(text)


def test_all_broken_lines_come_back_together() -> None:
    raw = parse_ini("oops\n[a]\nwords\nx = 1\nx = 2\n[a]\n", "f.cfg")
    assert [e.line for e in raw.errors] == [1, 3, 5, 6]


def _option(value: str, first_line: int = 10) -> RawOption:
    lines = tuple(range(first_line, first_line + value.count("\n") + 1))
    return RawOption("components", value, first_line, lines)


LISTS = {
    "single": ("nginx", ["nginx"], None),
    "commas": ("a, b ,c", ["a", "b", "c"], None),
    "lines": ("\na\n\nb", ["a", "b"], None),
    "commas at line ends": ("a,\nb,\nc", ["a", "b", "c"], None),
    "trailing comma dropped": ("a, b,", ["a", "b"], None),
    "mixed: item runs over lines": ("a, b\nc", ["a"], 10),
    "mixed after blank line": ("a\n\nb, c", [], 10),
}


@pytest.mark.parametrize(("value", "items", "error_line"), LISTS.values(), ids=LISTS.keys())
def test_split_list(value: str, items: list[str], error_line: int | None) -> None:
    found, error = split_list(_option(value))
    assert [item.text for item in found] == items
    if error_line is None:
        assert error is None
    else:
        assert error is not None and f"line {error_line}" in error


def test_list_items_know_their_line() -> None:
    found, _ = split_list(_option("\nnginx\n  \napp", first_line=5))
    assert [(i.text, i.line) for i in found] == [("nginx", 6), ("app", 8)]
    found, _ = split_list(_option("a,\nb", first_line=5))
    assert [(i.text, i.line) for i in found] == [("a", 5), ("b", 6)]


FUZZ_LINES = [
    "[a]",
    "[b]",
    "[DEFAULT]",
    "x = 1",
    "y: 2",
    "x=",
    "  cont",
    "    deeper",
    "",
    "  ",
    "# c",
    "  ; c",
    "z = a # b",
    "words",
    "= v",
    " [a]",
    "k = v = w",
    "\t tab",
]


def test_reader_agrees_with_configparser_on_random_files() -> None:
    """Seeded random files: same values when configparser accepts, errors when it refuses."""
    rng = random.Random(2400)
    for _ in range(2000):
        text = "\n".join(rng.choice(FUZZ_LINES) for _ in range(rng.randint(1, 10))) + "\n"
        raw = parse_ini(text, "f.cfg")
        try:
            expected = _oracle(text)
        except configparser.Error:
            assert raw.errors, text
            continue
        ours = {s.name: {o.key: o.value for o in s.options} for s in raw.sections}
        defaults = {o.key: o.value for o in raw.defaults.options} if raw.defaults else {}
        assert (raw.errors, (ours, defaults)) == ((), expected), text
