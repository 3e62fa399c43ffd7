"""Resource errors point at the line of the ``provide()`` / ``require()`` call that caused them.

The classes below call into the runtime from this file, so the expected location is this file
and the line marked with the comment named in each test.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from components_runtime.engine.configure import configure_environment
from components_runtime.engine.testing import add_root, make_environment
from components_runtime.errors import DeploydError
from components_runtime.model.component import Component
from components_runtime.model.component_helpers import calling_site
from tests.support.helpers import import_as_installed

SOURCE = Path(__file__).read_text().splitlines()


def line_of(marker: str) -> int:
    """The line of this file that ends with ``# marker``."""
    (line,) = [n for n, text in enumerate(SOURCE, 1) if text.endswith(f"# {marker}")]
    return line


class Lonely(Component):
    def configure(self) -> None:
        self.provide("lonely-key", 1)  # provide-lonely


class AlsoLonely(Component):
    def configure(self) -> None:
        self.provide("lonely-key", 2)  # provide-also-lonely


class Needy(Component):
    def configure(self) -> None:
        self.got = self.require("missing-key")  # require-needy


class NeedsOne(Component):
    def configure(self) -> None:
        self.got = self.require_one("missing-one")  # require-one


class Provider(Component):
    def configure(self) -> None:
        self.provide("twice", self.host.name)


class Picky(Component):
    def configure(self) -> None:
        self.got = self.require_one("twice")  # require-one-of-two


def errors_of(tmp_path: Path, *roots: tuple[type, str]) -> list[DeploydError]:
    hosts = dict.fromkeys(host for _, host in roots)
    env = make_environment(tmp_path, dict.fromkeys(hosts))
    for factory, host in roots:
        add_root(env, factory, host=host)
    return configure_environment(env, tmp_path).errors


def only(errors: list[DeploydError], start: str) -> DeploydError:
    (error,) = [e for e in errors if e.message.startswith(start)]
    return error


def test_an_unsatisfied_require_names_its_line(tmp_path: Path) -> None:
    error = only(errors_of(tmp_path, (Needy, "here")), "Unsatisfied resource 'missing-key'")
    assert (error.file, error.line) == (__file__, line_of("require-needy"))
    assert error.component == "needy"
    assert error.details == ("required by: needy (here)",)  # the location says where


def test_an_unsatisfied_require_one_names_its_line(tmp_path: Path) -> None:
    error = only(errors_of(tmp_path, (NeedsOne, "here")), "Unsatisfied resource 'missing-one'")
    assert (error.file, error.line) == (__file__, line_of("require-one"))


def test_an_unused_provide_names_its_line(tmp_path: Path) -> None:
    error = only(errors_of(tmp_path, (Lonely, "here")), "Unused resource 'lonely-key'")
    assert (error.file, error.line) == (__file__, line_of("provide-lonely"))
    assert error.details == ("lonely (here): 1",)


def test_several_providers_each_name_their_line(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, (Lonely, "here"), (AlsoLonely, "here"))
    error = only(errors, "Unused resource 'lonely-key'")
    assert (error.file, error.line) == (__file__, line_of("provide-lonely"))
    assert error.details == (
        f"lonely (here): 1 at {__file__}:{line_of('provide-lonely')}",
        f"alsolonely (here): 2 at {__file__}:{line_of('provide-also-lonely')}",
    )


def test_an_ambiguous_require_one_names_its_line(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, (Provider, "a"), (Provider, "b"), (Picky, "a"))
    error = only(errors, "require_one('twice')")
    assert (error.file, error.line) == (__file__, line_of("require-one-of-two"))


def test_the_calling_site_is_the_first_frame_outside_the_runtime() -> None:
    def from_user_code() -> Any:
        return calling_site()  # calling-site

    assert from_user_code() == (__file__, line_of("calling-site"))


INSTALLED_EXTENSION = """\
from components_runtime.model.component_helpers import calling_site


def add_a_file():
    return calling_site()  # line 5, inside the installed package


def add_into(found):
    found.append(calling_site())  # line 9
"""


def test_an_installed_package_called_by_user_code_is_passed_over(tmp_path: Path) -> None:
    extension = import_as_installed(tmp_path, "fake_ext", INSTALLED_EXTENSION)
    site = extension.add_a_file()  # the user's line
    assert site == (__file__, line_of("the user's line"))


def test_an_installed_package_is_named_when_no_user_code_called_it(tmp_path: Path) -> None:
    # A thread runs the package's function directly: above it is only Python's own library.
    extension = import_as_installed(tmp_path, "fake_ext", INSTALLED_EXTENSION)
    found: list[Any] = []
    thread = threading.Thread(target=extension.add_into, args=(found,))
    thread.start()
    thread.join()
    file, line = found[0]
    assert file.endswith("site-packages/fake_ext.py") and line == 9
