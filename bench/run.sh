#!/usr/bin/env bash
# make bench: every figure of issue 17 in one run, on fresh local infrastructure (started and
# stopped here; PBZ_PORT_OFFSET moves it). Prints figures; asserts nothing (a shared machine).
#   1. the demo month: wall time, answers checked against the ground truth, each service's
#      peak RSS (VmHWM of its process at the end of the month)
#   2. the physical ceiling: raw pipe, one insert per message, one insert_many per batch
#   3. each service draining the month from its topics: events/s on its main input, and as a
#      share of the raw pipe
#   4. activity-log on a backlog of one kind (6,000 activity.record sent at once)
#   5. the permit decision latency at 50 decisions per second
#   6. a permit's store round trips, nested and packed (bench/permit_store.py)
#   7. the floor under the month's lock-step: one wait with Kafka alone, one quiet tick of the
#      four services (bench/step_floor.py)
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY=.venv/bin/python
INFRA=deploy/local/infra.sh
SERVICES=deploy/local/services.sh
OUT=.local/bench
RUN=.local/run
mkdir -p "$OUT"
cores=$(nproc)
mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
echo "== make bench, $(date -u +%Y-%m-%dT%H:%MZ), $cores cores, $mem, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$INFRA" clean >/dev/null
"$INFRA" up || exit 1
trap '"$SERVICES" down >/dev/null 2>&1; "$INFRA" down' EXIT

echo "== 1. the demo month (services as processes, event clock)"
"$SERVICES" up >/dev/null || exit 1
t0=$(date +%s.%N)
"$PY" -m services.simulator demo --json "$OUT/demo-report.json" >"$OUT/demo.log" 2>&1
demo_status=$?
t1=$(date +%s.%N)
grep -E "events|match|MISMATCH|wall|caught" "$OUT/demo.log" | tail -n 12
echo "  where each service's time went over the month (its /metrics):"
"$PY" -m bench.steps | sed 's/^/    /'
printf '  demo month: %.1f s wall (simulator start to report), exit %d (%s)\n' "$(echo "$t1 - $t0" | bc)" \
  "$demo_status" "$([ "$demo_status" = 0 ] && echo "every answer matches the ground truth" || echo "see $OUT/demo.log")"
for s in zone_registry activity_log permit_fasttrack assessment; do
  pid=$(cat "$RUN/$s.pid" 2>/dev/null) || continue
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null)
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null)
  printf '  %-17s peak RSS %4d MB, RSS now %4d MB\n' "${s//_/-}" "$((${hwm:-0} / 1024))" "$((${rss:-0} / 1024))"
done
"$SERVICES" down >/dev/null

echo "== 2. the pipe beside the services (one Python consumer, same broker and store)"
"$PY" -m bench.pipe --events 20000 | tee "$OUT/pipe.txt"
raw=$(awk '$1 == "raw" {print $2}' "$OUT/pipe.txt")

echo "== 3. each service on its main input"
"$PY" -m bench.services --raw "${raw:-0}" --max-seconds 90

echo "== 4. activity-log on a backlog of activity.record (a service process)"
"$PY" -m bench.activity_backlog --commands 6000 --store-profile "$OUT/store-activity-log.pprof"

echo "== 5. permit decisions"
"$PY" -m bench.permit_latency --permits 250 --rate 50

echo "== 6. a permit's store round trips (replace over an older version, read back), nested and packed"
"$PY" -m bench.permit_store

echo "== 7. the floor under the month's lock-step (bench/step_floor.py)"
steps=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["run"]["steps"])' "$OUT/demo-report.json" 2>/dev/null)
"$PY" -m bench.step_floor --waits 150 --steps "${steps:-1660}"
