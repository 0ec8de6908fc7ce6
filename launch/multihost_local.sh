#!/usr/bin/env bash
# Multi-process data-parallel training on one machine over loopback (CPU collectives), for testing the
# multi-host code path without a cluster. Each process reads its own shard of the data; process 0 writes logs.
#   bash launch/multihost_local.sh NUM_PROCESSES WORKDIR [extra launch.train flags, e.g. --config=...]
set -euo pipefail
# shellcheck disable=SC1091
source "$(dirname "$0")/env.sh"
N="${1:?number of processes}"; WORKDIR="${2:?workdir}"; shift 2
PORT="${LISTEN_JAX_COORD_PORT:-$((20000 + RANDOM % 20000))}"
export JAX_PLATFORMS=cpu
pids=()
for ((i = 0; i < N; i++)); do
  python -m launch.train --multihost --coordinator_address="127.0.0.1:${PORT}" --num_processes="$N" \
    --process_id="$i" --workdir="$WORKDIR" "$@" > "${WORKDIR%/}.process${i}.log" 2>&1 &
  pids+=($!)
done
status=0
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then echo "process $i failed; see ${WORKDIR%/}.process${i}.log" >&2; status=1; fi
done
[ "$status" -eq 0 ] && echo "all $N processes finished; logs: ${WORKDIR%/}.process*.log"
exit "$status"
