#!/usr/bin/env bash
# Main job, end to end on embedded synthetic data:
#   synthetic raw ViCo data -> TFDS build -> train -> evaluate (FD table) -> preview render.
# Usage: bash launch/quickstart.sh [WORKDIR]   (default runs/quickstart). Rerunning resumes.
set -euo pipefail
# shellcheck disable=SC1091
source "$(dirname "$0")/env.sh"
WORKDIR="${1:-runs/quickstart}"
mkdir -p "$WORKDIR"
exec python -m launch.quickstart --workdir="$WORKDIR"
