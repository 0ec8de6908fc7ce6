# Shared environment set-up for launch/quickstart.sh and launch/test.sh (sourced, not run).
# Creates or reuses .venv in the repository root and installs the package with test and bridge extras.
# Re-installs only when pyproject.toml changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${LISTEN_JAX_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "[env] creating virtual environment at $VENV"
  "$PY" -m venv "$VENV"
fi
# shellcheck disable=SC1091
. "$VENV/bin/activate"
STAMP="$VENV/.listen_jax_installed"
WANT="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "[env] installing listen_jax and its dependencies (first run takes a few minutes)"
  python -m pip install -q --upgrade pip
  # torch is pinned to the CPU build for the PyTorch bridge.
  python -m pip install -q -e "$ROOT[test,bridge]"
  echo "$WANT" > "$STAMP"
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
# Persistent XLA compilation cache outside the repository.
export LISTEN_JAX_CACHE_DIR="${LISTEN_JAX_CACHE_DIR:-$HOME/.cache/listen_jax}"
mkdir -p "$LISTEN_JAX_CACHE_DIR"
cd "$ROOT"
