"""Content and File content handling: strings, sources, templates, encodings, diffs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from components_runtime.errors import TemplatingError, UpdateNeeded
from components_runtime.lib.file import BinaryFile, Content, File, limited_buffer
from components_runtime.model.component import Component
from components_runtime.secrets import SecretGuard
from tests.support.lib_root import LibRoot, lib_root


@pytest.fixture
def root(tmp_path: Path) -> Iterator[LibRoot]:
    yield from lib_root(tmp_path)


class Context(Component):
    foobar = "from the explicit context"


def test_content_given_as_a_string(root: LibRoot) -> None:
    content = root.add(Content("path", content="asdf"))
    root.path("path").touch()
    root.deploy()
    assert root.path("path").read_text() == "asdf"
    assert content.content == b"asdf"


def test_content_string_is_a_template_of_the_parent(root: LibRoot) -> None:
    root.component.foobar = "asdf"
    root.add(Content("path", content="{{component.foobar}}"))
    root.deploy()
    assert root.path("path").read_text() == "asdf"


def test_content_can_be_left_untemplated(root: LibRoot) -> None:
    root.add(Content("path", content="{{component.foobar}}", is_template=False))
    root.deploy()
    assert root.path("path").read_text() == "{{component.foobar}}"


def test_template_arguments_are_one_variable_named_args(root: LibRoot) -> None:
    root.add(File("path", content="{{args.a}}-{{args.b}}", template_args={"a": 1, "b": "x"}))
    root.deploy()
    assert root.path("path").read_text() == "1-x"


def test_templates_use_line_statements_and_keep_the_trailing_newline(root: LibRoot) -> None:
    root.add(File("path", content="@@ for i in [1, 2]\n{{ i }}\n@@ endfor\nend\n"))
    root.deploy()
    assert root.path("path").read_text() == "1\n2\nend\n"


def test_undefined_template_names_are_errors(root: LibRoot) -> None:
    with pytest.raises(TemplatingError):
        root.add(File("path", content="{{component.nothing_here}}"))


def test_text_that_cannot_be_encoded_is_refused(root: LibRoot) -> None:
    root.component.foobar = "äsdf"
    with pytest.raises(UnicodeEncodeError):
        root.add(File("path", content="örks {{component.foobar}}", encoding="ascii"))


def test_unicode_is_written_in_the_given_encoding(root: LibRoot) -> None:
    root.component.foobar = "äsdf"
    root.add(File("utf8", content="örks {{component.foobar}}"))
    root.add(File("latin", content="örks", encoding="latin-1"))
    root.deploy()
    assert root.path("utf8").read_bytes() == "örks äsdf".encode()
    assert root.path("latin").read_bytes() == "örks".encode("latin-1")


def test_content_from_a_source_file(root: LibRoot) -> None:
    root.source("source", "content from source file")
    root.add(Content("path", source="source"))
    root.deploy()
    assert root.path("path").read_text() == "content from source file"


def test_relative_sources_resolve_against_the_definition_directory(root: LibRoot) -> None:
    root.source("sub/source", "asdf")
    content = root.add(Content("path", source="sub/source"))
    assert content.source == str(root.defdir / "sub/source")


def test_source_files_are_decoded_with_the_encoding(root: LibRoot) -> None:
    root.source("source", "cöntent {{component.foo}}".encode("latin-1"))
    root.component.foo = "foo"
    root.add(Content("path", source="source", encoding="latin-1"))
    root.deploy()
    assert root.path("path").read_bytes() == "cöntent foo".encode("latin-1")


def test_source_files_default_to_utf8(root: LibRoot) -> None:
    root.source("source", "cöntent {{component.foo}}".encode())
    root.component.foo = "foo"
    root.add(Content("path", source="source"))
    root.deploy()
    assert root.path("path").read_text(encoding="utf-8") == "cöntent foo"


def test_text_sources_get_unix_line_endings_like_in_batou(root: LibRoot) -> None:
    root.source("source", b"a\r\nb\rc\n")
    root.add(File("path", source="source", is_template=False))
    root.deploy()
    assert root.path("path").read_bytes() == b"a\nb\nc\n"


def test_binary_sources_are_copied_byte_for_byte(root: LibRoot) -> None:
    png = b"\x89PNG\r\n\x1a\n{{ x }}"
    root.source("source", png)
    root.add(Content("raw", source="source", is_template=False, encoding=None))
    root.add(BinaryFile("binary", source="source"))
    root.deploy()
    assert root.path("raw").read_bytes() == png
    assert root.path("binary").read_bytes() == png
    assert "Not showing diff for binary data." in root.messages()


def test_file_guesses_its_template_next_to_component_py(root: LibRoot) -> None:
    root.source("path", "content from source file {{component.foo}}")
    root.component.foo = "bar"
    file = root.add(File("path"))
    assert file.source == f"{root.defdir}/path"
    root.deploy()
    assert root.path("path").read_text() == "content from source file bar"


def test_file_without_content_or_template_is_an_error(root: LibRoot) -> None:
    with pytest.raises(ValueError) as error:
        root.add(File("path"))
    assert str(error.value) == (
        f"Missing implicit template file {root.defdir}/path. Or did you want to create an "
        "empty file? Then use File('path', content='')."
    )


def test_empty_content_only_ensures_presence(root: LibRoot) -> None:
    root.path("path").write_text("kept")
    file = root.add(File("path", content=""))
    assert [type(sub).__name__ for sub in file.sub_components] == ["Presence"]
    root.deploy()
    assert root.path("path").read_text() == "kept"


def test_content_falls_back_to_its_own_path_as_source(root: LibRoot) -> None:
    root.source("path", "content from source file")
    content = root.add(Content("path"))
    assert content.source == f"{root.defdir}/path"
    root.deploy()
    assert root.path("path").read_text() == "content from source file"


def test_template_with_an_explicit_context(root: LibRoot) -> None:
    context = root.add(Context())
    root.add(Content("path", content="{{component.foobar}}", template_context=context))
    root.deploy()
    assert root.path("path").read_text() == "from the explicit context"


def test_unchanged_content_is_not_rewritten(root: LibRoot) -> None:
    content = root.add(Content("path", content="asdf"))
    root.path("path").write_text("bsdf")
    os.utime(root.path("path"), (0, 0))
    root.deploy()
    assert root.path("path").stat().st_mtime != 0
    assert content.changed
    os.utime(root.path("path"), (0, 0))
    root.deploy()
    assert root.path("path").stat().st_mtime == 0
    assert not content.changed


def test_content_and_source_together_are_refused(root: LibRoot) -> None:
    with pytest.raises(ValueError, match='Only one of either "content" or "source"'):
        root.add(Content("path", content="asdf", source="bsdf"))


def test_a_source_created_during_the_run_is_read_at_verify_time(root: LibRoot) -> None:
    content = root.add(Content("path", source="later"))
    assert content.content is None
    root.source("later", "made by an earlier component")
    root.deploy()
    assert root.path("path").read_text() == "made by an earlier component"


def test_a_source_missing_at_verify_time_fails_unless_predicting(root: LibRoot) -> None:
    content = root.add(Content("path", source="never"))
    with pytest.raises(UpdateNeeded):
        content.verify(predicting=True)
    with pytest.raises(FileNotFoundError, match="Could not find source file"):
        root.deploy()


def test_verify_says_why_the_content_differs(root: LibRoot) -> None:
    content = root.add(Content("path", content="new"))
    with pytest.raises(UpdateNeeded, match="content of .*path differs"):
        content.verify()


def test_changes_are_shown_as_a_diff_and_logged(root: LibRoot) -> None:
    content = root.add(Content("path", content="one\nthree\n"))
    root.path("path").write_text("one\ntwo\n")
    root.deploy()
    assert root.messages() == [
        "  path ---",
        "  path +++",
        "  path @@ -1,2 +1,2 @@",
        "  path  one",
        "  path -two",
        "  path +three",
    ]
    (log,) = os.listdir(content.diff_dir)
    assert content.diff_dir == str(root.deployment_root / "work" / ".batou-diffs")
    assert (Path(content.diff_dir) / log).read_text() == (
        "---\n+++\n@@ -1,2 +1,2 @@\n one\n-two\n+three\n"
    )


def test_long_diffs_show_head_and_tail_and_log_everything(root: LibRoot) -> None:
    content = Content("path", content="\n".join(["asdf"] * 21))
    content._max_diff = 20
    content._max_diff_lead = 5
    root.add(content)
    root.path("path").write_text("\n".join(["bsdf"] * 21))
    root.deploy()
    (log,) = os.listdir(content.diff_dir)
    full = "---\n+++\n@@ -1,21 +1,21 @@\n" + "-bsdf\n" * 21 + "+asdf\n" * 21
    assert (Path(content.diff_dir) / log).read_text() == full
    messages = root.messages()
    assert messages[0] == "More than 20 lines of diff. Showing first and last 5 lines."
    assert messages[1].startswith("see ") and messages[1].endswith(".diff for the full diff.")
    assert (
        messages[2:]
        == [
            "  path ---",
            "  path +++",
            "  path @@ -1,21 +1,21 @@",
            "  path -bsdf",
            "  path -bsdf",
            "  path ...",
        ]
        + ["  path +asdf"] * 5
    )


def test_sensitive_content_is_never_shown(root: LibRoot) -> None:
    content = root.add(File("path", content="password\n", sensitive_data=True))
    root.deploy()
    assert root.messages() == ["Not showing diff as it contains sensitive data."]
    assert not os.path.exists(content.sub_components[1].diff_dir)


def test_known_secrets_hide_the_diff_and_keep_no_log(root: LibRoot) -> None:
    # batou shows the diff's path and keeps it in .batou-diffs: the secret in clear on disk
    root.environment.secret_data.add("hunter2")
    content = root.add(Content("path", content="password = hunter2\n"))
    root.deploy()
    assert root.messages() == ["Not showing diff as it contains sensitive data."]
    assert not os.path.exists(content.diff_dir)


def test_a_secret_inside_a_word_hides_the_diff(root: LibRoot) -> None:
    # batou compares whole words only: "password=hunter2" would be shown
    root.environment.secret_data.add("hunter2")
    root.environment.secret_guard = SecretGuard(["hunter2"])
    root.add(Content("path", content="password=hunter2\n"))
    root.deploy()
    assert root.messages() == ["Not showing diff as it contains sensitive data."]


def test_a_secret_in_the_old_content_hides_the_diff(root: LibRoot) -> None:
    root.path("path").write_text("token: s3cr3t-host-data\n")
    root.environment.secret_guard = SecretGuard(["s3cr3t-host-data"])
    root.add(Content("path", content="token: rotated\n"))
    root.deploy()
    assert root.messages() == ["Not showing diff as it contains sensitive data."]


def test_content_without_secrets_still_shows_its_diff(root: LibRoot) -> None:
    root.environment.secret_guard = SecretGuard(["s3cr3t-host-data"])
    root.add(Content("path", content="public\n"))
    root.deploy()
    assert "  path +public" in root.messages()


def test_sensitive_false_shows_even_known_secrets(root: LibRoot) -> None:
    root.environment.secret_data.add("hunter2")
    root.add(Content("path", content="hunter2\n", sensitive_data=False))
    root.deploy()
    assert "  path +hunter2" in root.messages()


def test_unreadable_targets_need_an_update(root: LibRoot) -> None:
    root.path("path").mkdir()
    content = root.add(Content("path", content="x"))
    with pytest.raises(UpdateNeeded, match="cannot read"):
        content.verify()
    assert root.messages() == ["Unknown content - can't predict diff."]


def test_limited_buffer_keeps_short_streams_whole(tmp_path: Path) -> None:
    shown, trimmed, log = limited_buffer(["a \n", "b"], 5, 2, logdir=str(tmp_path))
    assert (shown, trimmed) == (["a", "b"], False)
    assert Path(log).read_text() == "a\nb\n"


def test_limited_buffer_trims_long_streams(tmp_path: Path) -> None:
    lines = [str(n) for n in range(10)]
    shown, trimmed, log = limited_buffer(lines, 4, 2, logdir=str(tmp_path))
    assert (shown, trimmed) == (["0", "1", "...", "8", "9"], True)
    assert Path(log).read_text().split() == lines


def test_a_delayed_source_is_decoded_with_the_encoding(root: LibRoot) -> None:
    root.add(Content("path", source="later", encoding="latin-1"))
    root.source("later", "cöntent".encode("latin-1"))
    root.path("path").touch()
    root.deploy()
    assert root.path("path").read_bytes() == "cöntent".encode("latin-1")


def test_paths_outside_the_base_show_absolute_in_breadcrumbs(root: LibRoot) -> None:
    file = root.add(File("/etc/deployd-never-written", content="x"))
    assert file.namevar_for_breadcrumb == "/etc/deployd-never-written"
    assert file.sub_components[0].namevar_for_breadcrumb == "deployd-never-written"
