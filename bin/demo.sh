#!/usr/bin/env bash
# make demo: schema on the embedded default, the simulated mesh loaded once, then the web app.
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
    touch "$marker"
else
    echo "Demo data already loaded ($marker); delete it to load again."
fi
echo
echo "Serving on http://${listen:-127.0.0.1:6543}   (Ctrl-C stops)"
echo
exec "$bin/pserve" "$ini"
