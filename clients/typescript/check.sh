#!/usr/bin/env bash
# Generate TypeScript types from Folio's OpenAPI document with openapi-typescript, then compile the small typed client
# in src/ against them with tsc --strict and its default options. Needs node and npm. The document is FOLIO_OPENAPI
# when given, else written from create_app().openapi() by PYTHON (the project's .venv by default): no server runs.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-../../.venv/bin/python}"
DOCUMENT="${FOLIO_OPENAPI:-build/openapi.json}"

# The pinned versions of package-lock.json, installed once.
npm ls --depth=0 >/dev/null 2>&1 || npm ci --no-audit --no-fund --loglevel=error
mkdir -p build src/generated
if [ -z "${FOLIO_OPENAPI:-}" ]; then
  "$PYTHON" - "$DOCUMENT" <<'PY'
import json
import sys

from folio.main import create_app
from folio.settings import Settings

with open(sys.argv[1], "w") as file:
    json.dump(create_app(Settings(_env_file=None)).openapi(), file)
PY
fi
npx --no-install openapi-typescript "$DOCUMENT" --output src/generated/folio.ts
node scripts/error-statuses.mjs "$DOCUMENT" src/generated/error-statuses.ts
npx --no-install tsc --strict --noEmit src/client.ts src/usage.ts
echo "The TypeScript client compiles against the generated types."
