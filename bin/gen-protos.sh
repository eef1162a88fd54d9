#!/usr/bin/env bash
# Regenerate nntsc/wire/<test>_pb2.py (and its type stub <test>_pb2.pyi, read by mypy) from nntsc/wire/proto/<test>.proto.
#
# Usage: bin/gen-protos.sh [PYTHON]   (default .venv/bin/python; `make protos` runs it)
#
# Uses the protoc bundled with grpcio-tools (a test extra in setup.cfg). The generated
# code embeds the protoc version and requires a protobuf runtime at least that new, so
# the script insists on the protoc the committed modules came from; set
# ALLOW_OTHER_PROTOC=1 to generate with another one anyway (then raise the protobuf
# floor in setup.cfg to the version printed in the new modules' headers).
# Output is deterministic: running the script twice gives identical files.
set -euo pipefail
export LC_ALL=C

EXPECTED_PROTOC="libprotoc 33.5"

cd "$(dirname "$0")/.."
python=${1:-.venv/bin/python}
src=nntsc/wire/proto
out=nntsc/wire

if ! actual=$("$python" -m grpc_tools.protoc --version 2>/dev/null); then
    echo "error: $python cannot run grpc_tools.protoc; install the test extras" \
        "(pip install -e '.[test]')" >&2
    exit 1
fi
if [ "$actual" != "$EXPECTED_PROTOC" ] && [ -z "${ALLOW_OTHER_PROTOC:-}" ]; then
    echo "error: $python has $actual, the committed modules came from $EXPECTED_PROTOC;" \
        "install the grpcio-tools pinned in setup.cfg or set ALLOW_OTHER_PROTOC=1" >&2
    exit 1
fi

shopt -s nullglob
protos=("$src"/*.proto)
if [ ${#protos[@]} -eq 0 ]; then
    echo "error: no .proto files in $src" >&2
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$python" -m grpc_tools.protoc --proto_path="$src" --python_out="$tmp" --pyi_out="$tmp" "${protos[@]}"

# Replace the generated modules; drop those whose .proto is gone.
for old in "$out"/*_pb2.py; do
    name=$(basename "$old" _pb2.py)
    [ -e "$src/$name.proto" ] || rm -f "$old" "${old}i"
done
for proto in "${protos[@]}"; do
    name=$(basename "$proto" .proto)
    cp "$tmp/${name}_pb2.py" "$out/${name}_pb2.py"
    cp "$tmp/${name}_pb2.pyi" "$out/${name}_pb2.pyi"
    echo "generated $out/${name}_pb2.py $out/${name}_pb2.pyi"
done
