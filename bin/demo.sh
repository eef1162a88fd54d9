#!/usr/bin/env bash
# make demo: schema on the embedded default, the simulated mesh loaded once, then the web app
# with a feeder that keeps the mesh reporting while it is served. Each step says what it
# does and shows one progress bar; a second run skips the load and serves in seconds.
set -euo pipefail
bin=${1:-.venv/bin}
ini=${2:-development.ini}
# The address pserve listens on comes from the ini's [server:main] section.
listen=$(sed -n 's/^listen *= *//p' "$ini" | head -n 1)
# Pyramid imports pkg_resources, which warns on every start that it is deprecated
# (setup.cfg pins setuptools below 81, which still has it): not the demo's business.
export PYTHONWARNINGS="ignore:pkg_resources is deprecated"

mkdir -p var
marker="var/.demo-loaded-$(basename "$ini")"
steps=2
[ -f "$marker" ] || steps=7
step=0
say() {
    step=$((step + 1))
    echo "[$step/$steps] $*"
}

say "Schema: migrating the stores named in $ini"
"$bin/nntsc" db upgrade -c "$ini"
if [ ! -f "$marker" ]; then
    # File operations: six hours of a synthetic busy host, in sysdig's format.
    # First: the import rolls up whatever is pending, which is then only its own.
    say "File operations: a sysdig log of a busy host (the last 6 hours)"
    log="var/demo-busy-host.sysdig"
    "$bin/python" -m nntsc.demo.busy_host --absolute --rate 50 --lines 1080000 \
        --start "$(( $(date +%s) - 6 * 3600 ))" --progress > "$log"
    say "File operations: importing the log"
    "$bin/nntsc" import sysdig -c "$ini" --host demo-host "$log"
    # The loads leave their rollups (5-minute, hourly and daily summaries) to
    # the feeder, which computes them in the background once the page is
    # served; until then a page computes those it shows as it asks for them.
    say "ICMP latency: 7 days of a simulated 10-site AMP mesh"
    "$bin/nntsc" demo-data -c "$ini" --sites 10 --days 7 --no-rollups
    # The other simulated tests (nntsc/demo/simulators: TCP ping, DNS, HTTP,
    # throughput, UDP jitter, traceroute) fill every page and matrix tab;
    # two days keep this short.
    others=$("$bin/python" -m nntsc.demo.simulators --except icmp)
    say "The other AMP tests: 2 days of ${others//,/, }"
    "$bin/nntsc" demo-data -c "$ini" --sites 10 --days 2 --tests "$others" --no-rollups
    # Events: the detectors run over the loaded week (its planted level
    # shifts, loss bursts and path changes), so that the event API shows
    # events and their groups at once (docs/events.md).
    say "Events: detecting them in the loaded history"
    "$bin/nntsc" events detect -c "$ini" --start "$(( $(date +%s) - 8 * 86400 ))"
    touch "$marker"
else
    echo "      (the demo data is loaded: delete $marker to load it again)"
fi
# The feeder keeps the demo alive while it is served: every simulated test's
# reports as they fall due (after catching up on the time since the last run),
# through the collector's ingest path. It stops with the web app.
say "Serving on http://${listen:-127.0.0.1:6543}, fed with fresh reports (Ctrl-C stops)"
"$bin/nntsc" demo-feed -c "$ini" --sites 10 &
feeder=$!
trap 'kill -TERM "$feeder" 2>/dev/null; wait "$feeder" 2>/dev/null || true' EXIT
"$bin/pserve" "$ini"
