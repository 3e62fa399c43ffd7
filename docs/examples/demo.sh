#!/usr/bin/env bash
# The one-shot commands on the bundled example repository: check, apply --predict, and apply twice
# (the second run changes nothing). Sandboxed: everything lives under docs/examples/.demo (work
# dirs, venv, lock), and [vfs] sandbox = Developer maps every absolute path (e.g. /etc/motd-demo)
# below it too. Run from anywhere: `make demo-apply` (`make demo` runs the daemon instead).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
deployd="${DEPLOYD:-$repo_root/.venv/bin/deployd}"
example="$here/hello"
demo="${DEPLOYD_DEMO_DIR:-$here/.demo}"   # (the tests run it in a temporary directory)
root="$demo/root"     # deployment root: work dirs are $root/work/<component>
state="$demo/state"   # the repository's venv and the run lock (the daemon uses /var/lib/deployd)

rm -rf "$demo"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "deployd check: load and configure every host of environment 'demo'"
"$deployd" check "$example" -e demo --all-hosts --state-dir "$state"

step "deployd apply --predict: what would change (update() never runs)"
"$deployd" apply "$example" -e demo --host localhost --root "$root" --state-dir "$state" --predict

step "deployd apply: converge host 'localhost' into $root"
"$deployd" apply "$example" -e demo --host localhost --root "$root" --state-dir "$state"

step "deployd apply again: already converged"
output="$("$deployd" apply "$example" -e demo --host localhost --root "$root" --state-dir "$state")"
echo "$output"
if ! grep -q -- "- no changes" <<<"$output"; then
    echo "demo: the second apply changed something, which it must not" >&2
    exit 1
fi

step "what was written"
find "$root/work" -path "$root/work/.batou-diffs" -prune -o -type f -print | sort
echo
cat "$root/work/hello/app.conf"
