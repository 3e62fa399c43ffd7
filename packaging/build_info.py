"""Print the build-info.json a build embeds: the commit it was made from (``deployd --version``).

    python3 packaging/build_info.py SOURCE_DIR > .../daemon/cli/build-info.json
"""

import json
import subprocess
import sys


def git(source: str, *args: str) -> str:
    done = subprocess.run(["git", "-C", source, *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"build_info: git {' '.join(args)} failed in {source}: {done.stderr.strip()}")
    return done.stdout.strip()


def main() -> None:
    source = sys.argv[1]
    commit = git(source, "rev-parse", "HEAD")
    dirty = bool(git(source, "status", "--porcelain", "--untracked-files=no"))
    print(json.dumps({"commit": commit, "dirty": dirty}))


if __name__ == "__main__":
    main()
