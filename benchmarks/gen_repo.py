"""Generate a batou deployment repository with N ``File`` components for the benchmarks.

The files are spread over ``components`` root components. Each ``File`` renders a small
template (shared source file) with a component attribute, an override from the environment
and a per-file template argument, so every file has distinct content.

    python benchmarks/gen_repo.py /tmp/bench-repo --files 1000
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

ENVIRONMENT = "bench"

COMPONENT = textwrap.dedent(
    """\
    from batou.component import Attribute, Component, ConfigString
    from batou.lib.file import File


    class {cls}(Component):
        greeting = Attribute(str, default=ConfigString("hello"))
        count = Attribute(int, default=ConfigString("{count}"))

        def configure(self):
            for index in range(self.count):
                self += File(
                    "file-%05d.conf" % index,
                    source="item.conf",
                    template_args={{"index": index}},
                )
    """
)

TEMPLATE = textwrap.dedent(
    """\
    # {{ batou_generated_header }}
    [item]
    greeting = {{ component.greeting }}
    index = {{ args.index }}
    host = {{ host.name }}
    """
)


def generate(path: Path, files: int, components: int = 10) -> Path:
    """Write the repository to ``path`` (created) and return it."""
    components = max(1, min(components, files))
    names = [f"bench{number:02d}" for number in range(components)]
    for position, name in enumerate(names):
        count = files // components + (1 if position < files % components else 0)
        folder = path / "components" / name
        folder.mkdir(parents=True, exist_ok=True)
        source = COMPONENT.format(cls=name.capitalize(), count=count)
        (folder / "component.py").write_text(source)
        (folder / "item.conf").write_text(TEMPLATE)
    environment = path / "environments" / ENVIRONMENT
    environment.mkdir(parents=True, exist_ok=True)
    overrides = "".join(f"\n[component:{name}]\ngreeting = hi from {name}\n" for name in names)
    (environment / "environment.cfg").write_text(
        "[environment]\nconnect_method = local\n\n[hosts]\nlocalhost = "
        + ", ".join(names)
        + "\n"
        + overrides
    )
    (path / ".batou.json").write_text('{"migration": {"version": 2400}}\n')
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--components", type=int, default=10)
    args = parser.parse_args()
    print(generate(args.path, args.files, args.components))


if __name__ == "__main__":
    main()
