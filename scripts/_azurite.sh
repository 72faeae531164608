# Sourced by scripts/test: install Azurite, the Azure Blob emulator the tests run, into
# .ci/node_modules at the version .ci/package-lock.json pins. Without npm the Azure
# tests are skipped (in CI, where .ci/run installs npm, they fail instead).
set -euo pipefail
tools="$root/.ci"
if command -v npm >/dev/null; then
    if [ ! -x "$tools/node_modules/.bin/azurite-blob" ] \
        || [ "$tools/package-lock.json" -nt "$tools/node_modules/.package-lock.json" ]; then
        npm ci --prefix "$tools" --no-audit --no-fund --loglevel=error
    fi
else
    echo "npm not found: the Azure Blob tests will be skipped (Azurite needs Node.js)" >&2
fi
