"""The batou repository the parity test converges with both batou 2.7.1 and deployd.

One repository covers many cases so that batou runs only twice per test session. Every case
says in a comment which behaviour it pins. Nothing here may depend on where the work tree
lives (batou: ``<repo>/work``, deployd: ``<root>/work``) except symlink targets, which the
snapshot normalises.
"""

from __future__ import annotations

import os
from pathlib import Path

FILES_COMPONENT = """\
from batou.component import Attribute, Component, ConfigString, platform
from batou.lib.file import (
    BinaryFile, File, JSONContent, Purge, Symlink, YAMLContent,
)


class Label(Component):
    label = "from the label component"


class Files(Component):
    greeting = Attribute(str, default=ConfigString("hello"))
    port = Attribute(int, default=ConfigString("8080"))
    names = Attribute("list", default=ConfigString("a,b"))

    def configure(self):
        # content templates: overrides, int conversion, list conversion, line statements
        self += File("greeting.txt", content="{{component.greeting}} on {{component.port}}\\n")
        self += File("names.txt", content="@@ for n in component.names\\n[{{ n }}]\\n@@ endfor\\n")
        self += File("no-newline.txt", content="no trailing newline")
        self += File("header.conf", content="# {{batou_generated_header}}\\n")
        self += File("host.txt", content="{{host.name}} {{environment.name}}\\n")
        self += File("args.txt", content="{{args.who}}={{args.count}}\\n",
                     template_args={"who": "x", "count": 3})
        self += Label()
        self += File("context.txt", content="{{component.label}}\\n", template_context=self._)
        # sources: implicit template next to component.py, explicit, raw (CRLF, braces)
        self += File("implicit.conf")
        self += File("explicit.txt", source="templates/explicit.txt")
        self += File("raw.txt", source="raw.txt", is_template=False)
        self += BinaryFile("blob.bin", source="blob.bin")
        # bytes given directly: kept as bytes, or decoded and rendered as a template
        self += BinaryFile("bytes.bin", content=b"\\x00\\x01 {{ raw }}\\r\\n")
        self += File("bytes.txt", content=b"decoded {{ component.port }}\\n")
        self += File("nested/dirs/here", ensure="directory", leading=True)
        # encodings
        self += File("unicode.txt", content="Gr\\u00fc\\u00dfe \\u2713 {{component.greeting}}\\n")
        self += File("latin1.txt", content="Gr\\u00fc\\u00dfe\\n", encoding="latin-1")
        # modes: int, octal strings, rwx strings, on files, directories, symlinks
        self += File("empty.txt", content="", mode=0o640)
        self += File("script.sh", content="#!/bin/sh\\n", mode=0o755)
        self += File("octal-str.txt", content="x\\n", mode="0600")
        self += File("octal-short.txt", content="x\\n", mode="640")
        self += File("rwx.txt", content="x\\n", mode="rw-r-----")
        self += File("plain-dir", ensure="directory")
        self += File("mode-dir", ensure="directory", mode="rwxr-x---")
        self += File("deep/er/leading.txt", content="deep\\n", leading=True)
        # directories synced from the definition directory (rsync)
        self += File("synced", ensure="directory", source="tree")
        # symlinks: relative link_to is made absolute under the workdir
        self += File("link-rel", ensure="symlink", link_to="greeting.txt")
        self += File("link-abs", ensure="symlink", link_to="/etc/hostname", mode=0o600)
        self += Symlink("link-dir", source="plain-dir")
        # ownership
        self += File("owned.txt", content="owned\\n", owner="nobody", group="nogroup")
        # diffs: sensitive data is never logged; long diffs are logged in full
        self += File("sensitive.txt", content="secret\\n", sensitive_data=True)
        self += File("long.txt", content="".join("line %d\\n" % i for i in range(300)))
        # structured content
        self += JSONContent("data.json", data={"b": [1, 2], "a": {"x": 1}},
                            override={"b": [3], "a": {"y": "z"}})
        self += JSONContent("compact.json", source="input.json", human_readable=False)
        self += YAMLContent("data.yaml", data={"name": "x", "items": [1, 2], "n": {"k": "v"}})
        self += YAMLContent("merged.yaml", source="input.yaml", override={"extra": True})
        # purge: created, then removed again in the same run (files and directories)
        self += File("purge-me-1", content="gone\\n")
        self += File("purge-me-dir", ensure="directory")
        self += Purge("purge-me-*")
        # absolute paths inside the workdir
        self += File(self.expand("{{component.workdir}}/absolute.txt"), content="abs\\n")


@platform("parityplat", Files)
class FilesOnParityPlat(Component):
    def configure(self):
        self += File("platform.txt", content="platform of {{component.__class__.__name__}}\\n")
"""

OTHER_COMPONENT = """\
from batou.component import Component
from batou.lib.file import File


class Other(Component):
    def configure(self):
        self += File("conf/app.ini", source="templates/app.ini", leading=True, mode=0o644)
        self += File("copy.txt", source="templates/app.ini", is_template=False)
"""

ENVIRONMENT = """\
[environment]
connect_method = local
platform = parityplat

[hosts]
localhost = files, other

[component:files]
greeting = bonjour
port = 9090
names = x, y ,z
"""

SANDBOXED_COMPONENT = """\
from batou.component import Component
from batou.lib.file import File, Purge, Symlink


class Sandboxed(Component):
    def configure(self):
        # absolute paths: the Developer sandbox maps them under work/_/
        self += File("/srv/app/config.txt", content="in the sandbox\\n", mode=0o600)
        self += File("/srv/app/data", ensure="directory")
        self += File("/srv/app/deep/er/file", content="x\\n", leading=True)
        self += Symlink("/srv/app/link", source="/srv/app/config.txt")
        self += File("/srv/app/gone.txt", content="x\\n")
        self += Purge("/srv/app/gone.*")
        self += File("relative.txt", content="relative paths are not mapped\\n")
"""

SANDBOX_ENVIRONMENT = """\
[environment]
connect_method = local

[vfs]
sandbox = Developer

[hosts]
localhost = sandboxed
"""

PARITY_FILES: dict[str, str | bytes] = {
    "environments/sandbox/environment.cfg": SANDBOX_ENVIRONMENT,
    "components/sandboxed/component.py": SANDBOXED_COMPONENT,
    "environments/parity/environment.cfg": ENVIRONMENT,
    "components/files/component.py": FILES_COMPONENT,
    "components/files/implicit.conf": (
        "{{batou_generated_header}}\n"
        "@@ if component.port > 9000\n"
        "high port {{component.port}}\n"
        "@@ endif\n"
        "{# a comment #}\n"
        "trailing newlines follow\n\n"
    ),
    "components/files/templates/explicit.txt": "explicit {{component.greeting | upper}}\n",
    "components/files/raw.txt": b"windows\r\nline endings {{ not rendered }}\r\n",
    "components/files/blob.bin": b"\x00\xff\r\n{{ x }}\x80binary",
    "components/files/input.json": '{"z": [1], "a": {"nested": true}, "m": "text"}',
    "components/files/input.yaml": "list:\n  - 1\n  - two\nmap: {a: 1}\n",
    "components/files/tree/top.txt": "top\n",
    "components/files/tree/sub/inner.txt": "inner\n",
    "components/other/component.py": OTHER_COMPONENT,
    "components/other/templates/app.ini": "[app]\nhost = {{host.name}}\n",
}


def drift(work: Path) -> None:
    """Change a converged work tree the way an operator might, identically for both tools,
    so the next converge exercises the update paths (diffs with removed lines, repairs)."""
    files = work / "files"
    (files / "greeting.txt").write_text("drifted\nby hand\n")
    (files / "data.json").write_text("{}")
    (files / "merged.yaml").write_text("extra: false\n")
    os.chmod(files / "rwx.txt", 0o777)
    os.chmod(files / "mode-dir", 0o700)
    os.chown(files / "owned.txt", 0, 0)
    (files / "plain-dir").rmdir()
    (files / "plain-dir").write_text("a file where a directory belongs")
    (files / "empty.txt").write_text("content Presence keeps")
    (files / "link-rel").unlink()
    os.symlink("/tmp", files / "link-rel")
    (files / "synced" / "top.txt").write_text("edited\n")
    (files / "synced" / "extra.txt").write_text("rsync without --delete keeps me\n")
    (files / "script.sh").unlink()
    (files / "purge-me-extra").mkdir()
