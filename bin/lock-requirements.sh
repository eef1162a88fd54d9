#!/usr/bin/env bash
# Pin every dependency, with hashes, from the ranges in setup.cfg:
#   requirements/base.txt  what the platform runs with (the Docker image)
#   requirements/test.txt  that plus the test tools (make venv, CI)
# Run it (make lock) after changing a dependency range in setup.cfg; the
# virtualenv and the image install exactly these files with --require-hashes.
set -euo pipefail
venv=${1:-.venv}
cd "$(dirname "$0")/.."
"$venv/bin/pip" install -q "pip-tools>=7.4,<8"
compile() {
    "$venv/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras \
        --no-emit-index-url --no-emit-find-links --no-emit-trusted-host \
        "$@" setup.cfg
}
compile --output-file requirements/base.txt
compile --extra test --output-file requirements/test.txt
