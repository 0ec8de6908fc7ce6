#!/usr/bin/env bash
# Set up the environment (see launch/env.sh) and run the whole test suite.
# Extra arguments are passed to pytest, e.g. `bash launch/test.sh tests/models -k lstm`.
set -euo pipefail
# shellcheck disable=SC1091
source "$(dirname "$0")/env.sh"
exec python -m pytest -n 2 --dist loadfile -q "$@"
