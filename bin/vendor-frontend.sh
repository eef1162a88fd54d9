#!/usr/bin/env bash
# Re-create ampweb/static/vendor/ from the npm registry.
#
# Installs the pinned versions of the front-end libraries into a throw-away
# directory, checks that npm resolved exactly the tarballs recorded below
# (and in ampweb/static/vendor/VENDORED.md), and copies the built files and
# their licences into the package.  Nothing is ever loaded from a CDN.
#
# Usage: bin/vendor-frontend.sh            (re-copy the pinned versions)
#        bin/vendor-frontend.sh --check    (only verify the committed copies)
#
# Bumping a version: change it below, run the script with UPDATE_PINS=1 to
# print the new integrity strings, paste them in here and in VENDORED.md.
set -euo pipefail

UPLOT_VERSION=1.6.32
UPLOT_INTEGRITY='sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw=='
PICO_VERSION=2.1.1
PICO_INTEGRITY='sha512-kIDugA7Ps4U+2BHxiNHmvgPIQDWPDU4IeU6TNRdvXQM1uZX+FibqDQT2xUOnnO2yq/LUHcwnGlu1hvf4KfXnMg=='
# Lays out the traceroute path map (its ES module bundles @dagrejs/graphlib).
DAGRE_VERSION=3.1.3
DAGRE_INTEGRITY='sha512-X4aUTwOReZvthaZWOVHqlJ52/ZdhZFEM4+Lh/uR4XooUSLE6p71bcy7MPGzYnNUcNh+nj+i/qJQpCMIdQnSmrg=='
TOMSELECT_VERSION=2.6.2
TOMSELECT_INTEGRITY='sha512-eiXIkk82XzzUTOVQDFpy+ZGejuqdTvMukyUyeZBQaKnqW42UoTiTZnrod/eX0rkqJEc4rZY9DZ3zdjV07i29wQ=='
# Renders the OpenAPI document as the page /api/v1/docs.
SWAGGER_VERSION=5.36.0
SWAGGER_INTEGRITY='sha512-Lt6/Kb0gXmLdiabLhvso4VdJP9V7qJWB0zh0gzeXUV3+CMOTzMmvpJRSXN7EAjfwixwmoi9ezDbLHiexC7lA9A=='

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vendor="$root/ampweb/static/vendor"
check_only=0
[[ "${1:-}" == "--check" ]] && check_only=1

command -v npm >/dev/null || { echo "vendor-frontend: npm is required" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/nntsc-vendor.XXXXXX")"
trap 'rm -rf "$work"' EXIT

cat >"$work/package.json" <<JSON
{
  "name": "nntsc-vendor",
  "version": "0.0.0",
  "private": true,
  "dependencies": {
    "uplot": "$UPLOT_VERSION",
    "@picocss/pico": "$PICO_VERSION",
    "tom-select": "$TOMSELECT_VERSION",
    "@dagrejs/dagre": "$DAGRE_VERSION",
    "swagger-ui-dist": "$SWAGGER_VERSION"
  }
}
JSON

(cd "$work" && npm install --no-audit --no-fund --ignore-scripts --save-exact >/dev/null)

# The integrity npm recorded for what it fetched must match the pins.
got() {
    node -e 'const l=require(process.argv[1]);const p=l.packages["node_modules/"+process.argv[2]];
             process.stdout.write(p.version+" "+p.integrity)' "$work/package-lock.json" "$1"
}
status=0
for spec in "uplot $UPLOT_VERSION $UPLOT_INTEGRITY" "@picocss/pico $PICO_VERSION $PICO_INTEGRITY" \
    "tom-select $TOMSELECT_VERSION $TOMSELECT_INTEGRITY" "@dagrejs/dagre $DAGRE_VERSION $DAGRE_INTEGRITY" \
    "swagger-ui-dist $SWAGGER_VERSION $SWAGGER_INTEGRITY"; do
    read -r name version integrity <<<"$spec"
    actual="$(got "$name")"
    if [[ "${UPDATE_PINS:-0}" == 1 ]]; then
        echo "$name $actual"
    elif [[ "$actual" != "$version $integrity" ]]; then
        echo "vendor-frontend: $name resolved to '$actual', expected '$version $integrity'" >&2
        status=1
    fi
done
[[ $status == 0 ]] || exit 1

nm="$work/node_modules"
# source-in-package  destination-under-vendor/
files=(
    "uplot/dist/uPlot.esm.js        uplot/uPlot.esm.js"
    "uplot/dist/uPlot.min.css       uplot/uPlot.min.css"
    "uplot/LICENSE                  uplot/LICENSE"
    "@picocss/pico/css/pico.min.css pico/pico.min.css"
    "@picocss/pico/LICENSE.md       pico/LICENSE.md"
    "@dagrejs/dagre/dist/dagre.esm.js dagre/dagre.esm.js"
    "@dagrejs/dagre/LICENSE         dagre/LICENSE"
    "tom-select/dist/js/tom-select.complete.min.js tom-select/tom-select.complete.min.js"
    "tom-select/dist/css/tom-select.min.css        tom-select/tom-select.min.css"
    "tom-select/LICENSE                            tom-select/LICENSE"
    "swagger-ui-dist/swagger-ui-bundle.js          swagger-ui/swagger-ui-bundle.js"
    "swagger-ui-dist/swagger-ui.css                swagger-ui/swagger-ui.css"
    "swagger-ui-dist/LICENSE                       swagger-ui/LICENSE"
    "swagger-ui-dist/NOTICE                        swagger-ui/NOTICE"
)

for entry in "${files[@]}"; do
    read -r src dst <<<"$entry"
    if [[ $check_only == 1 ]]; then
        if ! cmp -s "$nm/$src" "$vendor/$dst"; then
            echo "vendor-frontend: $vendor/$dst differs from $src" >&2
            status=1
        fi
    else
        mkdir -p "$(dirname "$vendor/$dst")"
        cp "$nm/$src" "$vendor/$dst"
        echo "copied $src -> ampweb/static/vendor/$dst"
    fi
done
[[ $check_only == 1 && $status == 0 ]] && echo "vendor-frontend: vendored files match the pinned packages"
exit $status
