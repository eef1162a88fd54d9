#!/usr/bin/env bash
# make demo: schema on the embedded default, the simulated mesh loaded once, then the web app
# with a feeder that keeps the mesh reporting while it is served.
set -euo pipefail
bin=${1:-.venv/bin}
ini=${2:-development.ini}
# The address pserve listens on comes from the ini's [server:main] section.
listen=$(sed -n 's/^listen *= *//p' "$ini" | head -n 1)

"$bin/nntsc" db upgrade -c "$ini"
mkdir -p var
marker="var/.demo-loaded-$(basename "$ini")"
if [ ! -f "$marker" ]; then
    echo "Loading a simulated AMP mesh (10 sites, 7 days of ICMP latency)..."
    "$bin/nntsc" demo-data -c "$ini" --sites 10 --days 7
    # The other simulated tests (nntsc/demo/simulators: TCP ping, DNS, HTTP,
    # throughput, UDP jitter, traceroute) fill every page and matrix tab;
    # two days keep this short.
    others=$("$bin/python" -m nntsc.demo.simulators --except icmp)
    echo "Adding 2 days of the other AMP tests (${others//,/, })..."
    "$bin/nntsc" demo-data -c "$ini" --sites 10 --days 2 --tests "$others"
    # File operations: six hours of a synthetic busy host, in sysdig's format.
    echo "Importing a sysdig log of a busy host (the last 6 hours)..."
    log="var/demo-busy-host.sysdig"
    "$bin/python" -m nntsc.demo.busy_host --absolute --rate 50 --lines 1080000 \
        --start "$(( $(date +%s) - 6 * 3600 ))" > "$log" 2>/dev/null
    "$bin/nntsc" import sysdig -c "$ini" --host demo-host "$log"
    # Events: the detectors run over the loaded week (its planted level
    # shifts, loss bursts and path changes), so that the event API shows
    # events and their groups at once (docs/events.md).
    echo "Detecting events in the loaded history..."
    "$bin/nntsc" events detect -c "$ini" --start "$(( $(date +%s) - 8 * 86400 ))"
    touch "$marker"
else
    echo "Demo data already loaded ($marker); delete it to load again."
fi
# The feeder keeps the demo alive while it is served: every simulated test's
# reports as they fall due (after catching up on the time since the last run),
# through the collector's ingest path. It stops with the web app.
"$bin/nntsc" demo-feed -c "$ini" --sites 10 &
feeder=$!
trap 'kill -TERM "$feeder" 2>/dev/null; wait "$feeder" 2>/dev/null || true' EXIT
echo
echo "Serving on http://${listen:-127.0.0.1:6543}   (Ctrl-C stops)"
echo
"$bin/pserve" "$ini"
