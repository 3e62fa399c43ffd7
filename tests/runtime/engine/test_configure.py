"""The configure fix point: provide/require across roots and hosts, and its errors
(batou's test_dependencies.py and test_resources.py behaviours, in our own words)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components_runtime.engine.configure import configure_environment
from components_runtime.engine.testing import add_root, make_environment
from components_runtime.model.component import Component
from components_runtime.model.environment import Environment


class Provider(Component):
    def configure(self) -> None:
        self.provide("the-key", f"value-from-{self.host.name}")


class Requirer(Component):
    def configure(self) -> None:
        self.got = self.require("the-key")


class RequirerOnMyHost(Component):
    def configure(self) -> None:
        self.got = self.require("the-key", host=self.host)


def configured(env: Environment) -> Any:
    return configure_environment(env, Path(env.base_dir))


def names(roots: list[Any]) -> list[str]:
    return [f"{root.name}@{root.host.name}" for root in roots]


@pytest.mark.parametrize("first", [Provider, Requirer])
def test_provider_is_ordered_first_whatever_the_config_order(tmp_path: Path, first: type) -> None:
    env = make_environment(tmp_path)
    for factory in (first, Requirer if first is Provider else Provider):
        add_root(env, factory)
    result = configured(env)
    assert result.errors == []
    assert names(result.order) == ["provider@localhost", "requirer@localhost"]
    requirer = env.get_root("requirer", "localhost")
    assert requirer.component.got == ["value-from-localhost"]


def test_require_results_follow_config_order_of_providers(tmp_path: Path) -> None:
    env = make_environment(tmp_path, {"b": None, "a": None, "c": None})
    add_root(env, Requirer, host="c")
    for host in ("b", "a"):
        add_root(env, Provider, host=host)
    result = configured(env)
    assert result.errors == []
    assert env.get_root("requirer", "c").component.got == ["value-from-b", "value-from-a"]


def test_host_filtered_require(tmp_path: Path) -> None:
    env = make_environment(tmp_path, {"one": None, "two": None})
    add_root(env, Provider, host="one")
    add_root(env, Provider, host="two")
    add_root(env, RequirerOnMyHost, host="two")
    result = configured(env)
    assert env.get_root("requireronmyhost", "two").component.got == ["value-from-two"]
    # The provider on "one" is required by nobody on its host: unused.
    assert [e.message for e in result.errors] == [
        "Unused resource 'the-key': provided by provider (one), required by nobody"
    ]


def test_unused_resource_is_an_error(tmp_path: Path) -> None:
    env = make_environment(tmp_path)
    add_root(env, Provider)
    [error] = configured(env).errors
    assert type(error).__name__ == "ResourceError"
    assert "Unused resource 'the-key': provided by provider (localhost)" in error.message
    assert error.component == "provider"


def test_unsatisfied_require_is_an_error_and_stops_converging(tmp_path: Path) -> None:
    env = make_environment(tmp_path)
    add_root(env, Requirer)
    errors = configured(env).errors
    kinds = [type(e).__name__ for e in errors]
    assert kinds == ["ResourceError", "NonConvergingError"]
    assert "Unsatisfied resource 'the-key'" in errors[0].message
    assert "1 remaining unconfigured component(s): requirer (localhost)" in errors[1].message


def test_optional_require_is_fine(tmp_path: Path) -> None:
    class Optional(Component):
        def configure(self) -> None:
            self.got = self.require_one("the-key", strict=False)

    env = make_environment(tmp_path)
    add_root(env, Optional)
    assert configured(env).errors == []
    assert env.root_components[0].component.got is None


def test_require_one_with_several_values_is_reported(tmp_path: Path) -> None:
    class One(Component):
        def configure(self) -> None:
            self.require_one("the-key")

    env = make_environment(tmp_path, {"a": None, "b": None})
    add_root(env, Provider, host="a")
    add_root(env, Provider, host="b")
    add_root(env, One, host="a")
    errors = configured(env).errors
    [error] = [e for e in errors if isinstance(e, KeyError)]  # still a KeyError, as in batou
    assert error.message == "require_one('the-key'): expected one value, got 2"
    assert error.details == ("'value-from-a'", "'value-from-b'")
    assert (error.file, error.component) == (__file__, "one")


def test_broken_configure_is_reported_with_the_user_frame(tmp_path: Path) -> None:
    class Broken(Component):
        def configure(self) -> None:
            raise KeyError("boom")

    env = make_environment(tmp_path)
    add_root(env, Broken)
    error = configured(env).errors[0]
    assert type(error).__name__ == "UnknownConfigureError"
    assert error.message == "KeyError: 'boom'"
    assert error.file == __file__ and error.line is not None
    assert (error.component, error.host) == ("broken", "localhost")


def test_a_misspelled_keyword_gets_a_suggestion(tmp_path: Path) -> None:
    from components_runtime.lib.file import File

    class Typo(Component):
        def configure(self) -> None:
            self += File("x", contnet="x", moed=0o644, zzz=1)

    env = make_environment(tmp_path)
    add_root(env, Typo)
    error = configured(env).errors[0]
    assert error.message.endswith("would override methods: contnet, moed, zzz")
    assert error.hint == (
        "keyword arguments of File(...) must be its attributes; "
        "did you mean: content instead of contnet, mode instead of moed?"
    )


def test_adding_something_else_than_a_component_says_so(tmp_path: Path) -> None:
    class Adder(Component):
        def configure(self) -> None:
            self += "a string"  # type: ignore[operator]

    env = make_environment(tmp_path)
    add_root(env, Adder)
    error = configured(env).errors[0]
    assert error.message == (
        "TypeError: only components can be added with += or |=, not str 'a string'"
    )
    assert error.file == __file__ and error.line is not None


def test_a_runtime_error_without_a_user_frame_names_the_components_file(tmp_path: Path) -> None:
    class WithNamevar(Component):
        namevar = "name"

    env = make_environment(tmp_path)
    add_root(env, WithNamevar).filename = __file__  # as the loader records it
    error = configured(env).errors[0]
    assert error.message == "ValueError: Namevar name required"
    assert error.file == __file__
    assert error.details == ("ValueError: Namevar name required",)


class Chicken(Component):
    def configure(self) -> None:
        self.require("egg")
        self.provide("chicken", 1)


class Egg(Component):
    def configure(self) -> None:
        self.require("chicken")
        self.provide("egg", 1)


class ReverseEgg(Component):
    def configure(self) -> None:
        self.require("chicken", reverse=True, dirty=True)
        self.provide("egg", 1)


def test_cycle_is_reported_with_its_members(tmp_path: Path) -> None:
    env = make_environment(tmp_path)
    add_root(env, Chicken)
    add_root(env, Egg)
    cycles = [e for e in configured(env).errors if type(e).__name__ == "CycleError"]
    # (each line goes on with the require() behind the edge: tests/test_cycle_sites.py)
    assert [tuple(line.split(": ")[0] for line in e.details) for e in cycles] == [
        ("chicken (localhost) depends on egg (localhost)",
         "egg (localhost) depends on chicken (localhost)"),
    ]  # fmt: skip


def test_reverse_and_dirty_break_a_cycle(tmp_path: Path) -> None:
    env = make_environment(tmp_path)
    add_root(env, Chicken)
    add_root(env, ReverseEgg)
    result = configured(env)
    assert result.errors == []
    assert names(result.order) == ["reverseegg@localhost", "chicken@localhost"]


def test_requiring_what_you_provide_yourself_is_a_cycle(tmp_path: Path) -> None:
    class Selfish(Component):
        def configure(self) -> None:
            self.provide("me", 1)
            self.require("me")

    env = make_environment(tmp_path)
    add_root(env, Selfish)
    [error] = configured(env).errors
    assert [line.split(": ")[0] for line in error.details] == [
        "selfish (localhost) depends on selfish (localhost)"
    ]


def test_dirty_subscriber_is_not_reconfigured(tmp_path: Path) -> None:
    counts = {"dirty": 0, "clean": 0}

    class Dirty(Component):
        def configure(self) -> None:
            counts["dirty"] += 1
            self.require("the-key", strict=False, dirty=True)

    class Clean(Component):
        def configure(self) -> None:
            counts["clean"] += 1
            self.require("the-key", strict=False)

    env = make_environment(tmp_path)
    add_root(env, Dirty)
    add_root(env, Clean)
    add_root(env, Provider)
    assert configured(env).errors == []
    assert counts == {"dirty": 1, "clean": 2}


def test_configure_logs_come_from_the_final_pass_in_order(tmp_path: Path) -> None:
    class Logger(Component):
        def configure(self) -> None:
            values = self.require("the-key", strict=False)
            self.log("saw %s", values)

    env = make_environment(tmp_path)
    add_root(env, Logger)
    add_root(env, Provider)
    result = configured(env)
    assert [(root.name, message) for root, message in result.logs] == [
        ("logger", "saw ['value-from-localhost']")
    ]


def test_update_without_verify_is_a_warning(tmp_path: Path) -> None:
    class Lazy(Component):
        def update(self) -> None:
            pass

    class Unused(Component):
        def configure(self) -> None:
            Lazy()

    env = make_environment(tmp_path)
    add_root(env, Lazy)
    add_root(env, Unused)
    result = configured(env)
    assert result.errors == []
    assert any("has update() but no verify()" in w for w in result.warnings)
    assert any("never added with += or |=" in w for w in result.warnings)


def test_require_accepts_a_host_name(tmp_path: Path) -> None:
    class ByName(Component):
        def configure(self) -> None:
            self.got = self.require("the-key", host="two")

    env = make_environment(tmp_path, {"one": None, "two": None})
    add_root(env, Provider, host="two")
    add_root(env, ByName, host="one")
    assert configured(env).errors == []
    assert env.get_root("byname", "one").component.got == ["value-from-two"]


def test_host_attributes_and_environment_api(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    class Looker(Component):
        def configure(self) -> None:
            seen["host"] = (self.host.name, self.host.fqdn, self.host.platform)
            seen["other"] = self.environment.get_host("db").fqdn
            seen["roots"] = sorted(self.environment.components_for(self.host))

    env = make_environment(tmp_path, {"web": "debian", "db": None}, host_domain="example.com")
    add_root(env, Looker, host="web")
    assert configured(env).errors == []
    assert seen == {
        "host": ("web", "web.example.com", "debian"),
        "other": "db.example.com",
        "roots": ["looker"],
    }


DETERMINISM_SCRIPT = """
import tempfile
from components_runtime.model.component import Component
from components_runtime.engine.configure import configure_environment
from components_runtime.engine.testing import add_root, make_environment

def provider(name):
    def configure(self):
        self.provide("names", self.root.name)
    return type(name, (Component,), {"configure": configure})

class Collect(Component):
    def configure(self):
        self.names = self.require("names")

env = make_environment(tempfile.mkdtemp(), {f"host{i}": None for i in range(5)})
add_root(env, Collect, host="host0")
for i, name in enumerate(["zeta", "alpha", "mu", "beta", "omega", "kappa", "delta"]):
    add_root(env, provider(name), host=f"host{i % 5}")
result = configure_environment(env)
print([r.name for r in result.order], env.root_components[0].component.names)
"""


def test_configure_is_deterministic_whatever_the_hash_seed() -> None:
    """batou iterates a set of roots, so its order changes with the hash seed; ours never does."""
    import os
    import subprocess
    import sys

    outputs = {
        subprocess.run(
            [sys.executable, "-c", DETERMINISM_SCRIPT], capture_output=True, text=True,
            env={**os.environ, "PYTHONHASHSEED": str(seed)}, check=True,
        ).stdout
        for seed in (1, 2, 3)
    }  # fmt: skip
    assert len(outputs) == 1
    [printed] = outputs
    providers = "['zeta', 'alpha', 'mu', 'beta', 'omega', 'kappa', 'delta']"
    # Dependencies first, ties in config order; require() values in providers' config order.
    assert printed.strip() == f"{providers[:-1]}, 'collect'] {providers}"


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ fails too")


def test_an_exception_whose_text_fails_is_still_reported_where_it_was_raised(
    tmp_path: Path,
) -> None:
    class Odd(Component):
        def configure(self) -> None:
            raise Unprintable()

    env = make_environment(tmp_path)
    add_root(env, Odd)
    error = configured(env).errors[0]
    assert type(error).__name__ == "UnknownConfigureError"
    assert (
        error.message == "Unprintable: (its message cannot be shown: RuntimeError in its __str__)"
    )
    assert error.file == __file__ and error.line is not None
