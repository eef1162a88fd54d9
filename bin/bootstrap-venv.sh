#!/usr/bin/env bash
# Create the virtualenv and install the project with its test tools.
# On a fresh Debian machine `python3 -m venv` needs the python3-venv package;
# install it when running as root, otherwise say what to install.
# Dependencies come from requirements/test.txt, pinned with hashes
# (bin/lock-requirements.sh writes it from setup.cfg's ranges), then the
# project itself without dependencies; `pip check` proves nothing is missing.
# The install is skipped when what it depends on (setup.cfg, setup.py, the
# lock and pyproject.toml's [build-system]) is what the venv was last installed from,
# so that a change to, say, the linter's settings does not reinstall.
set -euo pipefail
python=${1:-python3}
venv=${2:-.venv}

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: $python must be Python 3.11 or newer" >&2
    exit 1
fi
if ! "$python" -m venv --help >/dev/null 2>&1 || ! "$python" -c 'import ensurepip' 2>/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-dev
    else
        echo "error: install the python3-venv package (sudo apt-get install python3-venv)" >&2
        exit 1
    fi
fi

# What the install depends on, as one digest.
inputs=$("$python" - <<'PY'
import hashlib, tomllib
digest = hashlib.sha256()
for name in ("setup.cfg", "setup.py", "requirements/test.txt"):
    with open(name, "rb") as source:
        digest.update(source.read())
with open("pyproject.toml", "rb") as source:
    digest.update(repr(tomllib.load(source).get("build-system")).encode())
print(digest.hexdigest())
PY
)
stamp="$venv/.nntsc-installed"
if [ -x "$venv/bin/nntsc" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$inputs" ]; then
    echo "$venv is up to date with setup.cfg, setup.py, requirements/test.txt and pyproject.toml's build-system."
    exit 0
fi

[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
echo "Installing the project and its tools into $venv (pip; a few minutes the first time)..."
"$venv/bin/pip" install -q --upgrade pip
# setuptools says, on every editable install, that a folder named like a package
# shadows it: that is the point of an editable install here, so it is not shown.
"$venv/bin/pip" install -q --require-hashes -r requirements/test.txt
PYTHONWARNINGS="ignore:Editable installation" "$venv/bin/pip" install -q --no-deps -e .
"$venv/bin/pip" check
echo "$inputs" > "$stamp"
