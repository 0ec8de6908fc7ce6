# Shared environment set-up for launch/quickstart.sh and launch/test.sh (sourced, not run).
# Creates or reuses .venv in the repository root (LISTEN_JAX_VENV overrides) and installs the package with its test
# and bridge extras at the exact versions of requirements.lock (refresh: bash launch/lock.sh). Checks again only
# when pyproject.toml or the lock changed since the last install, and installs nothing when the versions match.
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
LOCK="$ROOT/requirements.lock"
# LISTEN_JAX_UNLOCKED=1 installs the newest versions pyproject.toml allows instead of the lock (library users' view).
UNLOCKED="${LISTEN_JAX_UNLOCKED:-0}"
WANT="$(cat "$ROOT/pyproject.toml" "$LOCK" | sha256sum | cut -d' ' -f1) unlocked=$UNLOCKED"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  if [ "$UNLOCKED" = "1" ]; then
    echo "[env] installing listen_jax with the newest dependencies pyproject.toml allows (LISTEN_JAX_UNLOCKED=1)"
    python -m pip install -q --upgrade pip
    python -m pip install -q --upgrade -e "$ROOT[test,bridge]"
  elif python "$ROOT/launch/lock_check.py" "$LOCK" "$ROOT" > /dev/null; then
    echo "[env] $VENV already holds requirements.lock exactly: nothing to install"
  else
    echo "[env] installing listen_jax and the exact versions of requirements.lock (first run takes a few minutes)"
    python -m pip install -q "pip==26.3"
    # The lock pins every package (torch==2.13.0: pip takes the local CPU wheel where it lies on disk).
    python -m pip install -q -r "$LOCK" -e "$ROOT[test,bridge]"
    python "$ROOT/launch/lock_check.py" "$LOCK" "$ROOT" || { echo "[env] the install does not match $LOCK" >&2; exit 1; }
  fi
  echo "$WANT" > "$STAMP"
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
# Persistent XLA compilation cache outside the repository.
export LISTEN_JAX_CACHE_DIR="${LISTEN_JAX_CACHE_DIR:-$HOME/.cache/listen_jax}"
mkdir -p "$LISTEN_JAX_CACHE_DIR"
cd "$ROOT"
