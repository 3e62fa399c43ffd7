#!/usr/bin/env bash
# deployd's main job: the daemon converging the bundled example repository.
#
# Copies docs/examples/hello into a temporary *git* repository, starts `deployd run` on it with a
# temporary state dir, a sandboxed deployment root and its own API socket, waits for the start-up
# converge and shows `deployd status`. Then it keeps running until Ctrl-C, printing how to talk
# to it from another terminal. With --once it also pushes a commit, shows that the push was
# converged at once, and stops (for CI). Nothing outside the temporary directory is touched.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/.." && pwd)"
deployd="$repo_root/.venv/bin/deployd"
once=0
[[ "${1:-}" == "--once" ]] && once=1
# Without a terminal to press Ctrl-C in (CI, a pipe), show everything once and stop.
[[ -t 0 ]] || once=1

work="$(mktemp -d /tmp/deployd-demo.XXXXXX)"
repo="$work/repo"
sock="$work/run/deployd.sock"
config="$work/deployd.toml"
daemon_pid=""
cleanup() {
    if [[ -n "$daemon_pid" ]] && kill -0 "$daemon_pid" 2>/dev/null; then
        kill -TERM "$daemon_pid"
        wait "$daemon_pid" || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "a deployment repository: docs/examples/hello as a local git repository"
cp -r "$here/examples/hello" "$repo"
rm -rf "$repo/.demo"
git -C "$repo" init -q -b main
git -C "$repo" add -A
git -C "$repo" -c user.name=demo -c user.email=demo@example.invalid commit -q -m "example"
git -C "$repo" log --oneline

mkdir -p -m 0750 "$work/run"
cat > "$config" <<TOML
repository = "$repo"
branch = "main"
environment = "demo"
host = "localhost"
root = "$work/root"
state_dir = "$work/state"
socket = "$sock"
poll_interval = 10
metrics_listen = ""
TOML
step "settings: $config"
cat "$config"

step "deployd run (the daemon, in the background; log: $work/daemon.log)"
"$deployd" run --config "$config" >"$work/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 100); do
    if "$deployd" history --socket "$sock" 2>/dev/null | grep succeeded >/dev/null; then break; fi
    if ! kill -0 "$daemon_pid" 2>/dev/null; then cat "$work/daemon.log"; exit 1; fi
    sleep 0.1
done

step "deployd status --socket $sock"
"$deployd" status --socket "$sock"

if [[ $once == 1 ]]; then
    step "a push to the repository: the daemon converges it at once"
    sed -i 's/greeting = Hi there/greeting = Hello again/' "$repo/environments/demo/environment.cfg"
    git -C "$repo" -c user.name=demo -c user.email=demo@example.invalid commit -qam "new greeting"
    for _ in $(seq 100); do
        if "$deployd" history --socket "$sock" | grep " push " >/dev/null; then break; fi
        sleep 0.1
    done
    "$deployd" history --socket "$sock"
    step "deployd status --oneline"
    "$deployd" status --oneline --socket "$sock"
    exit 0
fi

cat <<TEXT

The daemon runs (pid $daemon_pid). In another terminal:

    $deployd status --socket $sock
    $deployd history --socket $sock
    $deployd converge --wait --socket $sock
    cd $repo && \$EDITOR environments/demo/environment.cfg && git commit -qam change
        (the daemon sees the push at once and converges it)

Converged files live under $work/root. Ctrl-C stops the daemon and removes $work.
TEXT
wait "$daemon_pid"
