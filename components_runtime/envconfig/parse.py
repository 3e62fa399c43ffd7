"""A line-tracking reader for ``environment.cfg``.

It reads exactly what batou's ``RawConfigParser`` (identity ``optionxform``) reads: case-sensitive
keys and section names, ``=`` or ``:`` as delimiter (the first one wins), no interpolation, only
whole-line comments (``#`` / ``;``), indented lines continue the previous value, blank lines inside
a value are kept, ``[DEFAULT]`` is a separate pool of keys. Unlike configparser it remembers the
line of every key and of every line of a value, and it collects every problem instead of stopping
at the first one, so a broken file is reported in one go.

The decrypted ``secrets.cfg`` is read by batou with ConfigUpdater instead, whose rules differ a
little; ``CONFIG_UPDATER`` is that dialect (see :class:`IniDialect`).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from components_runtime.errors import EnvironmentConfigError

DEFAULT_SECTION = "DEFAULT"
_SECTION_RE = re.compile(r"\[(?P<header>.+)\]")  # configparser's permissive header pattern
_OPTION_RE = re.compile(r"(?P<option>.*?)\s*(?P<vi>=|:)\s*(?P<value>.*)$")
_COMMENT_PREFIXES = ("#", ";")


@dataclass(frozen=True)
class IniDialect:
    """The rules that differ between the readers batou uses."""

    lower_keys: bool = False  # ConfigUpdater lower-cases option names
    default_section: bool = True  # configparser keeps [DEFAULT] apart; ConfigUpdater does not
    # ConfigUpdater keeps comment lines inside a value when an indented line follows them (and
    # an indented comment line always); configparser drops them.
    comments_in_values: bool = False
    quote_lines: bool = True  # False for decrypted text: a line it cannot read is never quoted


RAW_CONFIG_PARSER = IniDialect()
CONFIG_UPDATER = IniDialect(
    lower_keys=True, default_section=False, comments_in_values=True, quote_lines=False
)


@dataclass(frozen=True)
class RawOption:
    """One ``key = value``. ``value_lines[i]`` is the file line of the value's i-th line."""

    key: str
    value: str
    line: int
    value_lines: tuple[int, ...]


@dataclass(frozen=True)
class RawSection:
    name: str
    line: int
    options: tuple[RawOption, ...]

    def get(self, key: str) -> RawOption | None:
        for option in self.options:
            if option.key == key:
                return option
        return None


@dataclass(frozen=True)
class RawIni:
    file: str
    sections: tuple[RawSection, ...]  # file order; [DEFAULT] is not among them
    defaults: RawSection | None
    errors: tuple[EnvironmentConfigError, ...]


class _Builder:
    """Mutable state of one read; only ``parse_ini`` uses it."""

    def __init__(self, file: str, dialect: IniDialect) -> None:
        self.file = file
        self.dialect = dialect
        # comment and blank lines that belong to the open value if an indented line follows
        self.pending: list[tuple[int, str]] = []
        self.sections: dict[str, tuple[int, dict[str, list[tuple[int, str]]]]] = {}
        self.errors: list[EnvironmentConfigError] = []
        self.current: dict[str, list[tuple[int, str]]] | None = None
        self.section_name: str | None = None
        self.option: str | None = None

    def error(self, message: str, line: int, hint: str | None = None) -> None:
        self.errors.append(
            EnvironmentConfigError(
                message, file=self.file, line=line, section=self.section_name, hint=hint
            )
        )

    def start_section(self, name: str, line: int) -> None:
        self.option = None
        self.pending = []
        if name in self.sections and (name != DEFAULT_SECTION or not self.dialect.default_section):
            self.section_name = name
            self.error(
                f"Section [{name}] appears twice (first on line {self.sections[name][0]})",
                line,
                hint="Merge the two sections into one.",
            )
        self.sections.setdefault(name, (line, {}))
        self.section_name = name
        self.current = self.sections[name][1]

    def start_option(self, key: str, value: str, line: int) -> None:
        assert self.current is not None
        self.pending = []
        if self.dialect.lower_keys:
            key = key.lower()
        if not key:
            self.error("A line starts with a delimiter but has no key", line)
        if key in self.current:
            first = self.current[key][0][0]
            self.error(
                f"Key {key!r} appears twice in [{self.section_name}] (first on line {first})",
                line,
                hint="Remove one of them; configparser refuses duplicate keys.",
            )
        self.current[key] = [(line, value)]
        self.option = key


def parse_ini(text: str, file: str, dialect: IniDialect = RAW_CONFIG_PARSER) -> RawIni:
    builder = _Builder(file, dialect)
    indent_level = 0
    # Lines end at \n, \r\n or \r only, as when configparser reads a file in text mode
    # (str.splitlines would also split at form feeds and other separators).
    for lineno, line in enumerate(io.StringIO(text, newline=None), start=1):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        in_value = builder.current is not None and builder.option is not None
        if stripped.startswith(_COMMENT_PREFIXES) or (not stripped and builder.pending):
            if in_value and dialect.comments_in_values:
                if indent > indent_level and stripped:
                    _continue_value(builder, lineno, stripped)
                else:
                    builder.pending.append((lineno, stripped))
            continue
        if not stripped:
            # A blank line inside a value is kept (configparser's empty_lines_in_values).
            if builder.current is not None and builder.option:
                builder.current[builder.option].append((lineno, ""))
            continue
        if in_value and indent > indent_level:
            _continue_value(builder, lineno, stripped)
            continue
        indent_level = indent
        header = _SECTION_RE.match(stripped)
        if header:
            builder.start_section(header.group("header"), lineno)
        elif builder.current is None:
            builder.errors.append(
                EnvironmentConfigError(
                    "Text before the first [section] header",
                    file=file,
                    line=lineno,
                    hint="Start the file with a section such as [environment] or [hosts].",
                )
            )
        else:
            option = _OPTION_RE.match(stripped)
            if option:
                builder.start_option(option.group("option").rstrip(), option.group("value"), lineno)
            else:
                shown = f": {stripped!r}" if dialect.quote_lines else " (not shown: secret)"
                builder.error(
                    f"Cannot read this line{shown}",
                    lineno,
                    hint="Write `key = value`; continuation lines must be indented.",
                )
    return _freeze(builder)


def _continue_value(builder: _Builder, lineno: int, text: str) -> None:
    assert builder.current is not None and builder.option is not None
    builder.current[builder.option].extend(builder.pending)
    builder.pending = []
    builder.current[builder.option].append((lineno, text))


def _freeze(builder: _Builder) -> RawIni:
    sections = []
    defaults = None
    for name, (line, options) in builder.sections.items():
        section = RawSection(name, line, tuple(_join(key, parts) for key, parts in options.items()))
        if name == DEFAULT_SECTION and builder.dialect.default_section:
            defaults = section
        else:
            sections.append(section)
    return RawIni(builder.file, tuple(sections), defaults, tuple(builder.errors))


def _join(key: str, parts: list[tuple[int, str]]) -> RawOption:
    # configparser joins the lines with "\n" and strips trailing blank lines.
    while len(parts) > 1 and parts[-1][1] == "":
        parts = parts[:-1]
    value = "\n".join(text for _, text in parts).rstrip()
    return RawOption(key, value, parts[0][0], tuple(line for line, _ in parts))


@dataclass(frozen=True)
class ListItem:
    text: str
    line: int


def split_list(option: RawOption) -> tuple[tuple[ListItem, ...], str | None]:
    """batou's ``as_list``: commas first, else non-empty lines, else one item.

    Returns the items and, instead of batou's silent odd split, an error message when one
    comma-separated item spans several lines (``a, b`` followed by an indented ``c``).
    Empty items (a trailing comma) are dropped rather than becoming a component called ``''``.
    """
    value = option.value
    lines = value.split("\n")
    if "," not in value:
        items = [
            ListItem(text.strip(), option.value_lines[index])
            for index, text in enumerate(lines)
            if text.strip()
        ]
        return tuple(items), None
    items = []
    line_index = 0  # index into value_lines of the line the current piece starts on
    for piece in value.split(","):
        text = piece.strip()
        leading = piece[: len(piece) - len(piece.lstrip())]
        first = line_index + leading.count("\n")
        if "\n" in text:
            line = option.value_lines[first]
            return tuple(items), (
                f"The list in {option.key!r} mixes commas and line breaks: the item starting on "
                f"line {line} runs over several lines"
            )
        if text:
            items.append(ListItem(text, option.value_lines[first]))
        line_index += piece.count("\n")
    return tuple(items), None
