"""The Component lifecycle (batou's test_component.py behaviours, in our own words)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from components_runtime.engine.testing import make_root
from components_runtime.errors import CmdExecutionError, OverrideError, UpdateNeeded
from components_runtime.model.attribute import Attribute, ConfigString
from components_runtime.model.component import Component, HookComponent
from components_runtime.model.events import handle_event
from components_runtime.model.platforms import platform


class Named(Component):
    namevar = "path"
    mode = None


class Plain(Component):
    pass


# -- construction -----------------------------------------------------------------------------


def test_namevar_is_required_when_declared() -> None:
    with pytest.raises(ValueError, match="Namevar path required"):
        Named()


def test_positional_argument_without_namevar_is_refused() -> None:
    with pytest.raises(ValueError, match="Namevar is undefined"):
        Plain("x")


def test_keyword_arguments_must_be_declared_and_not_methods() -> None:
    with pytest.raises(ValueError, match="unacceptable.*: configure, nosuch"):
        Named("a", nosuch=1, configure=2)


def test_keywords_are_stored_unconverted() -> None:
    class Conv(Component):
        a = Attribute(int)

    assert Conv(a="5").a == "5"
    assert Named("p", mode=0o644).mode == 0o644


# -- prepare / configure ----------------------------------------------------------------------


def test_configure_runs_in_defdir_and_subcomponents_inherit_workdir(tmp_path: Path) -> None:
    seen = {}

    class Sub(Component):
        def configure(self) -> None:
            seen["sub_workdir"] = self.workdir

    class Root(Component):
        def configure(self) -> None:
            seen["cwd"] = os.getcwd()
            self += Sub()
            self.workdir = str(tmp_path / "elsewhere")
            self += Sub()
            seen["last"] = self._

    root = make_root(Root, tmp_path, defdir=tmp_path / "components" / "root")
    (tmp_path / "components" / "root").mkdir(parents=True)
    before = os.getcwd()
    root.prepare()
    assert os.getcwd() == before
    assert seen["cwd"] == str(tmp_path / "components" / "root")
    first, second = root.component.sub_components
    assert first.workdir == str(tmp_path / "work" / "root")
    assert second.workdir == str(tmp_path / "elsewhere")
    assert seen["last"] is second
    assert first.parent is root.component and first.root is root
    assert first.defdir == root.defdir


def test_or_prepares_without_adding_and_none_is_ignored(tmp_path: Path) -> None:
    class Root(Component):
        def configure(self) -> None:
            self |= Plain()
            self.checked = self._
            self += None

    root = make_root(Root, tmp_path)
    root.prepare()
    assert root.component.sub_components == []
    assert root.component.checked._prepared


def test_subcomponents_deploy_first_and_update_only_after_failed_verify(tmp_path: Path) -> None:
    calls: list[str] = []

    class Leaf(Component):
        namevar = "name"
        ok = False

        def verify(self) -> None:
            calls.append(f"verify {self.name}")
            assert self.ok

        def update(self) -> None:
            calls.append(f"update {self.name}")

    class Root(Component):
        def configure(self) -> None:
            self += Leaf("a")
            self += Leaf("b", ok=True)

        def verify(self) -> None:
            calls.append("verify root")
            self.assert_no_subcomponent_changes()

        def update(self) -> None:
            calls.append("update root")

    root = make_root(Root, tmp_path)
    root.prepare()
    root.component.deploy()
    assert calls == ["verify a", "update a", "verify b", "verify root", "update root"]
    assert root.component.changed
    assert [c.changed for c in root.component.sub_components] == [True, False]
    assert (tmp_path / "work" / "root").is_dir()


def test_verify_and_update_run_in_workdir_inside_the_context(tmp_path: Path) -> None:
    events: list[str] = []

    class Root(Component):
        def __enter__(self) -> None:
            events.append("enter")

        def __exit__(self, *exc: object) -> None:
            events.append(f"exit {exc[0].__name__ if exc[0] else None}")

        def verify(self) -> None:
            events.append(f"verify in {os.getcwd()}")
            raise UpdateNeeded()

        def update(self) -> None:
            raise RuntimeError("broken")

    root = make_root(Root, tmp_path)
    root.prepare()
    with pytest.raises(RuntimeError):
        root.component.deploy()
    assert events == ["enter", f"verify in {tmp_path}/work/root", "exit RuntimeError"]


def test_predict_skips_update_but_marks_changed(tmp_path: Path) -> None:
    class Root(Component):
        updated = False

        def verify(self, predicting: bool = False) -> None:
            self.predicting = predicting
            raise UpdateNeeded()

        def update(self) -> None:
            self.updated = True

    root = make_root(Root, tmp_path)
    root.prepare()
    root.component.deploy(predict_only=True)
    assert root.component.changed and not root.component.updated
    assert root.component.predicting is True


def test_configure_logs_are_buffered(tmp_path: Path) -> None:
    class Root(Component):
        def configure(self) -> None:
            self.log("value %s", 42)

    root = make_root(Root, tmp_path)
    root.prepare()
    assert root.configure_logs() == ["value 42"]


def test_a_log_format_that_does_not_fit_fails_at_the_log_call(tmp_path: Path) -> None:
    class Root(Component):
        fail_in_configure = True

        def configure(self) -> None:
            self.log("no arguments, no formatting: %s")
            if self.fail_in_configure:
                self.log("port %d", "eighty")

        def verify(self) -> None:
            self.log("%(x)s", 1)

    with pytest.raises(ValueError, match="log message 'port %d' does not fit its 1") as caught:
        make_root(Root, tmp_path).prepare()
    assert "make the %-placeholders match" in caught.value.deployd_hint  # type: ignore[attr-defined]
    Root.fail_in_configure = False
    root = make_root(Root, tmp_path)
    root.prepare()
    assert root.configure_logs() == ["no arguments, no formatting: %s"]
    with pytest.raises(ValueError, match="log message '%\\(x\\)s' does not fit"):
        root.component.deploy()


# -- attributes and overrides -----------------------------------------------------------------


class Settings(Component):
    port = Attribute(int, ConfigString("80{{component.suffix}}"))
    suffix = Attribute(str, "80")
    names = Attribute("list", default="x,y")
    flags = Attribute("literal", default=ConfigString("{'a': True}"))
    path = Attribute(str, ConfigString("data"), map=True)
    required = Attribute(int)
    plain = "raw"


def test_attribute_defaults_conversions_and_mapping(tmp_path: Path) -> None:
    root = make_root(Settings, tmp_path)
    root.prepare()
    c = root.component
    assert c.port == 8080
    assert c.names == "x,y"  # a plain default is not converted
    assert c.flags == {"a": True}
    assert c.path == str(tmp_path / "work" / "settings" / "data")
    with pytest.raises(AttributeError, match="No override and no default given for `required`"):
        c.required  # noqa: B018


def test_overrides_are_expanded_mapped_and_converted(tmp_path: Path) -> None:
    overrides = {"suffix": "90", "names": "a, b,, c", "required": "3", "plain": "text"}
    root = make_root(Settings, tmp_path, overrides=overrides)
    root.prepare()
    c = root.component
    assert (c.port, c.names, c.required, c.plain) == (8090, ["a", "b", "c"], 3, "text")


def test_bad_overrides_are_all_reported(tmp_path: Path) -> None:
    root = make_root(Settings, tmp_path, overrides={"required": "three", "nosuch": "1"})
    with pytest.raises(OverrideError) as caught:
        root.prepare()
    errors = [caught.value, *caught.value.also]
    assert "cannot convert 'three' with int()" in errors[0].message
    assert errors[1].message == "Overrides for undefined attributes: nosuch"
    assert errors[1].hint is not None and errors[1].hint.endswith("declare an Attribute")
    assert all(e.component == "settings" for e in errors)


def test_a_misspelled_override_gets_a_suggestion_from_the_class_itself(tmp_path: Path) -> None:
    root = make_root(Settings, tmp_path, overrides={"prot": "1", "requierd": "2"})
    with pytest.raises(OverrideError) as caught:
        root.prepare()
    assert caught.value.hint is not None  # `prot` is as close to Component's `root` as to `port`
    assert caught.value.hint.endswith(
        "; did you mean: port instead of prot, required instead of requierd?"
    )


# -- helpers ----------------------------------------------------------------------------------


def test_cmd_expands_and_raises(tmp_path: Path) -> None:
    class Root(Component):
        word = "hello"

    root = make_root(Root, tmp_path)
    root.prepare()
    c = root.component
    assert c.cmd("echo {{component.word}}") == ("hello\n", "")
    assert c.cmd("cat", env={"X": "1"}) == ("", "")  # stdin is a pipe: cat ends at once
    with pytest.raises(CmdExecutionError) as caught:
        c.cmd("echo out; echo err >&2; exit 3")
    assert caught.value.returncode == 3 and caught.value.stderr == "err\n"
    assert c.cmd("exit 1", ignore_returncode=True) == ("", "")
    with pytest.raises(UpdateNeeded):
        c.assert_cmd("false")


def test_expand_template_and_generated_header(tmp_path: Path) -> None:
    class Root(Component):
        word = "hi"

    (tmp_path / "t.j2").write_text("@@ if true\n{{component.word}} {{host.name}}\n@@ endif\n")
    root = make_root(Root, tmp_path)
    root.prepare()
    c = root.component
    assert c.expand("{{component.word}}!", extra=1) == "hi!"
    assert c.expand("{{extra}}", extra=2) == "2"
    assert c.template(str(tmp_path / "t.j2")) == "hi localhost\n\n"  # batou's extra newline
    assert c.expand("{{batou_generated_header}}") == (
        "File is generated by batou for component Root. Don't edit manually."
    )


def test_touch_checksum_and_assert_no_changes(tmp_path: Path) -> None:
    root = make_root(Plain, tmp_path)
    root.prepare()
    c = root.component
    c.touch(str(tmp_path / "f"))
    assert (tmp_path / "f").exists()
    assert c.checksum(b"a") != c.checksum(b"b")
    c.changed = True
    with pytest.raises(UpdateNeeded):
        c.assert_no_changes()


def test_hook_component_provides_itself(tmp_path: Path) -> None:
    class Job(HookComponent):
        key = "jobs"

    root = make_root(Job, tmp_path)
    root.prepare()
    assert root.environment.resources.get("jobs") == [root.component]


# -- platforms and events ---------------------------------------------------------------------


class Service(Component):
    pass


class SpecialService(Service):
    pass


@platform("debian", Service)
class DebianService(Component):
    pass


def test_platform_component_is_added_last_for_the_exact_class(tmp_path: Path) -> None:
    root = make_root(Service, tmp_path, platform="debian")
    root.prepare()
    assert [type(c) for c in root.component.sub_components] == [DebianService]
    assert isinstance(root.component._platform_component, DebianService)
    other = make_root(Service, tmp_path, platform="nixos")
    other.prepare()
    assert other.component.sub_components == []
    sub = make_root(SpecialService, tmp_path, platform="debian")
    sub.prepare()
    assert sub.component.sub_components == []  # subclasses do not inherit platforms


def test_before_update_events_with_star_and_precursor_scopes(tmp_path: Path) -> None:
    told: list[tuple[str, str]] = []

    class Foo(Component):
        namevar = "name"

        def verify(self) -> None:
            raise UpdateNeeded()

        @handle_event("before-update", "precursor")
        def precursor(self, source: Component) -> None:
            told.append(("precursor", f"{self.name}<-{source.name}"))

        @handle_event("before-update", "*")
        def everyone(self, source: Component) -> None:
            told.append(("*", f"{self.name}<-{source.name}"))

    class Root(Component):
        def configure(self) -> None:
            self += Foo("1")
            self += Foo("2")

    root = make_root(Root, tmp_path)
    root.prepare()
    root.component.deploy()
    assert ("precursor", "2<-1") in told
    assert ("precursor", "1<-2") not in told
    assert ("precursor", "1<-1") not in told
    assert [t for t in told if t[0] == "*"] == [("*", "1<-1"), ("*", "2<-1"), ("*", "1<-2"),
                                                 ("*", "2<-2")]  # fmt: skip


def test_assert_file_is_current_compares_mtimes(tmp_path: Path) -> None:
    root = make_root(Plain, tmp_path)
    root.prepare()
    c = root.component
    reference, requirement = tmp_path / "out", tmp_path / "in"
    with pytest.raises(UpdateNeeded, match=r"^assert_component_is_current\(Presence\('out'\), "
                       r"\.\.\.\): No reference$"):  # fmt: skip
        c.assert_file_is_current(str(reference), [str(requirement)])  # reference missing
    reference.write_text("")
    c.assert_file_is_current(str(reference), [str(requirement)])  # missing requirement: ignored
    requirement.write_text("")
    os.utime(reference, (1000, 1000))
    with pytest.raises(UpdateNeeded, match=r"\(Presence\('out'\), Presence\('in'\)\): 1000\.0 <"):
        c.assert_file_is_current(str(reference), [str(requirement)])
    with pytest.raises(NotImplementedError):
        c.last_updated()


def test_features_are_set_before_configure(tmp_path: Path) -> None:
    class Featured(Component):
        features: tuple[str, ...] = ()

        def configure(self) -> None:
            self.seen = list(self.features)

    root = make_root(Featured, tmp_path, features=("zeo", "test"))
    root.prepare()
    assert root.component.seen == ["zeo", "test"]


def test_handlers_are_only_listed_when_predicting(tmp_path: Path) -> None:
    called: list[str] = []

    class Watcher(Component):
        @handle_event("before-update", "*")
        def react(self, source: Component) -> None:
            called.append("react")

    class Changer(Component):
        def verify(self) -> None:
            raise UpdateNeeded()

    class Root(Component):
        def configure(self) -> None:
            self += Watcher()
            self += Changer()

    root = make_root(Root, tmp_path)
    root.prepare()
    root.component.deploy(predict_only=True)
    assert called == []
    root.component.deploy()
    assert called == ["react"]


def test_platform_component_quirk_without_a_platform(tmp_path: Path) -> None:
    class Owner(Component):
        def configure(self) -> None:
            self += Plain()

    root = make_root(Owner, tmp_path)
    root.prepare()
    # batou: with no platform component, _platform_component is the last sub-component.
    assert root.component._platform_component is root.component.sub_components[-1]


def test_conversion_quirks_are_kept() -> None:
    assert Attribute(bool).conversion("False") is True  # batou has no boolean parser
    with pytest.raises(AttributeError, match="unknown conversion 'yaml'"):
        Attribute("yaml")


def test_configstring_defaults_settle_right_after_configure(tmp_path: Path) -> None:
    class Late(Component):
        path = Attribute(str, ConfigString("{{component.base}}/file"))
        base = "/configured"

        def configure(self) -> None:
            self.base = "/from-configure"

    root = make_root(Late, tmp_path)
    root.prepare()
    root.component.base = "/changed-later"
    assert root.component.path == "/from-configure/file"  # as batou: read at end of prepare
