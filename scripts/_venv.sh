# Sourced by scripts/demo and scripts/test: make ./.venv with hitlkit installed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${HITL_VENV:-$root/.venv}"
if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
target="$root"
if [ -n "${1:-}" ]; then target="$root[$1]"; fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$target"
