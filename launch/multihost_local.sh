#!/usr/bin/env bash
# Multi-process data-parallel training on one machine over loopback (CPU collectives: gloo), for testing the
# multi-host code path without a cluster. Each process reads its own shard of the data; process 0 writes logs.
#   bash launch/multihost_local.sh NUM_PROCESSES WORKDIR [extra launch.train flags, e.g. --config=...]
# Environment: LISTEN_JAX_COORD_PORT (default: a free port), LISTEN_JAX_CPU_DEVICES (CPU devices per process,
# default 1). Per-process logs go to WORKDIR.process{i}.log. If one process fails the others are stopped.
set -euo pipefail
# shellcheck disable=SC1091
source "$(dirname "$0")/env.sh"
N="${1:?number of processes}"; WORKDIR="${2:?workdir}"; shift 2
PORT="${LISTEN_JAX_COORD_PORT:-$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
export JAX_PLATFORMS=cpu
mkdir -p "$(dirname "${WORKDIR%/}")"
pids=()
for ((i = 0; i < N; i++)); do
  python -m launch.train --multihost --coordinator_address="127.0.0.1:${PORT}" --num_processes="$N" \
    --process_id="$i" --num_cpu_devices="${LISTEN_JAX_CPU_DEVICES:-1}" --workdir="$WORKDIR" "$@" \
    > "${WORKDIR%/}.process${i}.log" 2>&1 &
  pids+=($!)
done
stop_all() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap stop_all INT TERM
status=0
running=("${pids[@]}")
while [ "${#running[@]}" -gt 0 ]; do
  # Wait for any process; a failure stops the others (they would block in a collective forever).
  finished=""
  if wait -n -p finished "${running[@]}"; then rc=0; else rc=$?; fi
  [ -z "$finished" ] && break
  left=(); for pid in "${running[@]}"; do [ "$pid" != "$finished" ] && left+=("$pid"); done; running=("${left[@]}")
  if [ "$rc" -ne 0 ]; then
    [ "$status" -eq 0 ] && echo "a process failed (rc $rc); stopping the others (logs: ${WORKDIR%/}.process*.log)" >&2
    status=1
    stop_all
  fi
done
if [ "$status" -eq 0 ]; then
  echo "all $N processes finished; logs: ${WORKDIR%/}.process*.log"
  [ -f "${WORKDIR%/}/metrics.jsonl" ] && echo "last logged: $(tail -n 1 "${WORKDIR%/}/metrics.jsonl")"
fi
exit "$status"
