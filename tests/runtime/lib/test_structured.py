"""JSONContent and YAMLContent: data or source, overrides, formatting, diffs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from components_runtime.errors import UpdateNeeded
from components_runtime.lib.file import JSONContent, YAMLContent, dict_merge
from tests.support.lib_root import LibRoot, lib_root


@pytest.fixture
def root(tmp_path: Path) -> Iterator[LibRoot]:
    yield from lib_root(tmp_path)


STRUCTURED = [JSONContent, YAMLContent]


def test_json_from_data_is_sorted_and_indented(root: LibRoot) -> None:
    content = root.add(JSONContent("target.json", data={"b": 1, "a": [1, 2]}))
    root.deploy()
    expected = b'{\n    "a": [\n        1,\n        2\n    ],\n    "b": 1\n}'
    assert content.content == expected
    assert root.path("target.json").read_bytes() == expected


def test_json_compact_form(root: LibRoot) -> None:
    content = root.add(JSONContent("target.json", data={"b": 1, "a": 2}, human_readable=False))
    root.deploy()
    assert root.path("target.json").read_bytes() == b'{"a":2,"b":1}'
    assert content.content_compact == '{"a":2,"b":1}'
    assert content.content_readable == '{\n    "a": 2,\n    "b": 1\n}'


def test_json_from_a_source_file(root: LibRoot) -> None:
    root.source("source.json", json.dumps([1, 2, 3, 4]))
    root.add(JSONContent("target.json", source="source.json"))
    root.deploy()
    assert root.path("target.json").read_bytes() == b"[\n    1,\n    2,\n    3,\n    4\n]"


def test_json_source_created_during_the_run(root: LibRoot) -> None:
    content = root.add(JSONContent("target.json", source="source.json"))
    root.source("source.json", json.dumps({"late": True}))
    root.deploy()
    assert json.loads(root.path("target.json").read_text()) == {"late": True}
    assert content.content == b'{\n    "late": true\n}'


def test_json_source_with_override(root: LibRoot) -> None:
    root.source("source.json", json.dumps({"db": {"address": "localhost", "password": "x"}}))
    root.add(
        JSONContent("target.json", source="source.json", override={"db": {"password": "real"}})
    )
    root.deploy()
    assert json.loads(root.path("target.json").read_text()) == {
        "db": {"address": "localhost", "password": "real"}
    }


def test_json_diff_is_shown_line_by_line(root: LibRoot) -> None:
    content = root.add(JSONContent("target.json", data={"asdf": 1, "bsdf": 2}))
    root.path("target.json").write_text(json.dumps({"bsdf": 2}, sort_keys=True, indent=4))
    content.deploy()
    assert root.messages() == [
        "  target.json ---",
        "  target.json +++",
        "  target.json @@ -1,3 +1,4 @@",
        "  target.json  {",
        '  target.json +    "asdf": 1,',
        '  target.json      "bsdf": 2',
        "  target.json  }",
    ]


@pytest.mark.parametrize("kind", STRUCTURED)
def test_sensitive_structured_content_shows_no_diff(root: LibRoot, kind: type) -> None:
    content = root.add(kind("target", data={"asdf": 1}, sensitive_data=True))
    root.path("target").write_text("old")
    content.deploy()
    assert root.messages() == ["Not showing diff as it contains sensitive data."]


@pytest.mark.parametrize("kind", STRUCTURED)
def test_a_missing_source_fails_the_deploy(root: LibRoot, kind: type) -> None:
    root.add(kind("target", source="source"))
    with pytest.raises(FileNotFoundError):
        root.deploy()


@pytest.mark.parametrize("kind", STRUCTURED)
def test_a_missing_source_only_predicts_a_change(root: LibRoot, kind: type) -> None:
    content = root.add(kind("target", source="source"))
    with pytest.raises(UpdateNeeded):
        content.verify(predicting=True)


@pytest.mark.parametrize("kind", STRUCTURED)
def test_data_and_source_together_are_refused(root: LibRoot, kind: type) -> None:
    with pytest.raises(ValueError, match='Only one of either "data" or "source"'):
        root.add(kind("target", data={"asdf": 1}, source="asdf"))


@pytest.mark.parametrize("kind", STRUCTURED)
def test_the_source_defaults_to_the_path_in_the_definition_directory(
    root: LibRoot, kind: type
) -> None:
    content = root.add(kind("target.json"))
    assert content.source == f"{root.defdir}/target.json"


@pytest.mark.parametrize("kind", STRUCTURED)
def test_relative_sources_resolve_against_the_definition_directory(
    root: LibRoot, kind: type
) -> None:
    content = root.add(kind("target.json", source="thesource.json"))
    assert content.source == f"{root.defdir}/thesource.json"


@pytest.mark.parametrize("kind", STRUCTURED)
def test_absolute_sources_stay(root: LibRoot, kind: type) -> None:
    content = root.add(kind("target.json", source="/tmp/thesource.json"))
    assert content.source == "/tmp/thesource.json"


def test_yaml_from_data_uses_safe_dump(root: LibRoot) -> None:
    content = root.add(YAMLContent("target.yaml", data={"b": [1, 2], "a": {"x": "y"}}))
    root.deploy()
    assert content.content == b"a:\n  x: y\nb:\n- 1\n- 2\n"
    assert root.path("target.yaml").read_bytes() == content.content


def test_yaml_from_a_source_with_override(root: LibRoot) -> None:
    root.source("source.yaml", "db:\n  address: localhost\n  password: x\nlist: [1]\n")
    root.add(
        YAMLContent(
            "target.yaml", source="source.yaml", override={"db": {"password": "y"}, "list": [2]}
        )
    )
    root.deploy()
    assert yaml.safe_load(root.path("target.yaml").read_text()) == {
        "db": {"address": "localhost", "password": "y"},
        "list": [1, 2],
    }


def test_yaml_source_created_during_the_run(root: LibRoot) -> None:
    root.add(YAMLContent("target.yaml", source="source.yaml"))
    root.source("source.yaml", "late: true\n")
    root.deploy()
    assert root.path("target.yaml").read_text() == "late: true\n"


def test_yaml_diff_is_shown(root: LibRoot) -> None:
    content = root.add(YAMLContent("target.yaml", data={"asdf": 1, "bsdf": 2}))
    root.path("target.yaml").write_text("bsdf: 2\n")
    content.deploy()
    assert root.messages() == [
        "  target.yaml ---",
        "  target.yaml +++",
        "  target.yaml @@ -1 +1,2 @@",
        "  target.yaml +asdf: 1",
        "  target.yaml  bsdf: 2",
    ]


def test_structured_content_converges(root: LibRoot) -> None:
    json_content = root.add(JSONContent("a.json", data={"a": 1}))
    yaml_content = root.add(YAMLContent("a.yaml", data={"a": 1}))
    root.deploy()
    root.deploy()
    assert not json_content.changed and not yaml_content.changed


def test_dict_merge_recurses_concatenates_lists_and_copies() -> None:
    base = {"a": {"x": 1, "l": [1]}, "keep": True}
    override = {"a": {"y": 2, "l": [2]}, "new": {"n": 1}}
    merged = dict_merge(base, override)
    assert merged == {"a": {"x": 1, "y": 2, "l": [1, 2]}, "keep": True, "new": {"n": 1}}
    assert base == {"a": {"x": 1, "l": [1]}, "keep": True}
    merged["new"]["n"] = 5
    assert override["new"]["n"] == 1


def test_dict_merge_with_a_non_dict_override_replaces() -> None:
    assert dict_merge({"a": 1}, [1, 2]) == [1, 2]
