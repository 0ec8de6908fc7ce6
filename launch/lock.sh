#!/usr/bin/env bash
# Refresh requirements.lock (the exact versions that launch/env.sh installs) from pyproject.toml.
#   bash launch/lock.sh                      # keep the current pins, add/drop what pyproject.toml changed
#   bash launch/lock.sh --upgrade            # newest versions pyproject.toml allows (then run the tests)
#   bash launch/lock.sh --upgrade-package jax --upgrade-package jaxlib
# Extra arguments go to pip-compile (pip-tools), which resolves with pip itself, so pip's configuration applies:
# on this machine kind pip takes the local CPU wheel of torch 2.13.0 (find-links) instead of PyPI's CUDA build,
# and the lock then holds no nvidia-* packages. pip-compile writes that wheel's version as 2.13.0+cpu; the lock
# pins the public version torch==2.13.0, which the local +cpu wheel satisfies (pip prefers it, being higher)
# and which PyPI also has (see README, "Install").
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${LISTEN_JAX_LOCK_TOOLS:-$HOME/.cache/listen_jax/lock-tools}"
PY="${PYTHON:-python3}"
if [ ! -x "$TOOLS/bin/pip-compile" ]; then
  echo "[lock] installing pip-tools into $TOOLS"
  "$PY" -m venv "$TOOLS"
  "$TOOLS/bin/python" -m pip install -q "pip==26.3" "pip-tools==7.6.2"
fi
cd "$ROOT"
CUSTOM_COMPILE_COMMAND="bash launch/lock.sh" "$TOOLS/bin/pip-compile" --quiet --extra=test --extra=bridge \
  --strip-extras --no-emit-index-url --no-emit-find-links --output-file=requirements.lock "$@" pyproject.toml
# Local build labels (torch 2.13.0+cpu from the local wheel) -> public versions.
sed -i -E 's/^([A-Za-z0-9_.-]+==[^+ ]+)\+[A-Za-z0-9.]+$/\1/' requirements.lock
echo "[lock] wrote $ROOT/requirements.lock ($(grep -c '==' requirements.lock) pins)"
