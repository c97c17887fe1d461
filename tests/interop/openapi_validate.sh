#!/usr/bin/env bash
# The gateway's OpenAPI document against the OpenAPI 3.1 specification's schema, with
# openapi-spec-validator (PyPI); the same document `GET /openapi.json` serves.
set -euo pipefail
cd "$(dirname "$0")/../.."
hanrig=${HANRIG:-target/debug/hanrig}
venv=${VENV:-target/interop-venv-openapi}
if [ ! -x "$venv/bin/openapi-spec-validator" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q openapi-spec-validator==0.7.2
fi
doc=$(mktemp --suffix=.json)
trap 'rm -f "$doc"' EXIT
"$hanrig" gateway openapi > "$doc"
"$venv/bin/openapi-spec-validator" "$doc"
