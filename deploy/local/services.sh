#!/usr/bin/env bash
# Runs every service that exists (services/<name>/__main__.py) on the local infrastructure.
#   services.sh foreground   all in the foreground under honcho; Ctrl-C stops all
#   services.sh up           all in the background, pid files in .local/run, waits for /healthz
#   services.sh down         stops the background ones
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
LOCAL="${PBZ_LOCAL_DIR:-$ROOT/.local}"
RUN="$LOCAL/run" LOGS="$LOCAL/logs"
PY="$ROOT/.venv/bin/python"
mkdir -p "$RUN" "$LOGS"
# The demo replays a month with clock ticks; override with PBZ_CLOCK=wall.
export PBZ_CLOCK="${PBZ_CLOCK:-events}"
# One process per service here: static group membership, so a restarted service takes its
# partitions back at once (about 1 s) instead of waiting for its dead session (6 s).
export PBZ_GROUP_INSTANCE_ID="${PBZ_GROUP_INSTANCE_ID-local}"

OFFSET="${PBZ_PORT_OFFSET:-0}"
declare -A PORTS=([zone_registry]=$((8001 + OFFSET)) [activity_log]=$((8002 + OFFSET))
  [permit_fasttrack]=$((8003 + OFFSET)) [assessment]=$((8004 + OFFSET)) [web]=$((8000 + OFFSET)))
# The web app reads the four services' HTTP APIs (it has no Kafka consumer of its own).
ORDER=(zone_registry activity_log permit_fasttrack assessment web)

present() { for s in "${ORDER[@]}"; do [ -f "services/$s/__main__.py" ] && echo "$s"; done; }

urls() {
  echo "Services:"
  for s in $(present); do
    p=${PORTS[$s]}
    [ "$s" = web ] && continue
    printf '  %-17s http://127.0.0.1:%s  (docs /docs, /healthz, /readyz, /metrics, /asyncapi)\n' "${s//_/-}" "$p"
  done
  if [ -f services/web/__main__.py ]; then
    echo "Dashboard (数据大屏): http://127.0.0.1:${PORTS[web]}/dashboard — sign in as po0001 / pbz-demo;"
    echo "  a signer's phone screen: http://127.0.0.1:${PORTS[web]}/inbox as mb0001... (English: the 'English' link)"
  fi
  local idp="http://127.0.0.1:$((8080 + OFFSET))/realms/pbz"
  echo "Every route but /healthz, /readyz, /metrics, /docs needs a token. Sign in as a demo person"
  echo "(members MB0001..., party office PO0001, HSE HS0001; password pbz-demo) at $idp:"
  echo "  TOKEN=\$(curl -s -d grant_type=password -d client_id=pbz-cli -d username=po0001 -d password=pbz-demo \\"
  echo "    $idp/protocol/openid-connect/token | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')"
  echo "  curl -H \"Authorization: Bearer \$TOKEN\" http://127.0.0.1:${PORTS[zone_registry]}/zones"
}

foreground() {
  local procfile="$LOCAL/Procfile"
  : >"$procfile"
  # The console is the simulator's narration; each service's structured log goes to its file
  # (a service that dies still shows as "exited" here, and honcho stops the others).
  for s in $(present); do
    echo "${s//_/-}: PBZ_HTTP_PORT=${PORTS[$s]} PBZ_ACCESS_LOG_PATH=$LOGS/$s-access.log exec $PY -m services.$s >>$LOGS/$s.log 2>&1" >>"$procfile"
  done
  if [ -f services/simulator/__main__.py ]; then
    echo "simulator: exec $PY -m services.simulator run" >>"$procfile"
  fi
  [ -s "$procfile" ] || { echo "no services yet"; exit 0; }
  urls
  echo "Service logs (JSON, one line per event handled or refused): $LOGS/<service>.log"
  echo "Access logs (who read which roster or attendance): $LOGS/<service>-access.log"
  exec "$ROOT/.venv/bin/honcho" -f "$procfile" -d "$ROOT" start
}

up() {
  for s in $(present); do
    if [ -f "$RUN/$s.pid" ] && kill -0 "$(cat "$RUN/$s.pid")" 2>/dev/null; then continue; fi
    PBZ_HTTP_PORT=${PORTS[$s]} PBZ_ACCESS_LOG_PATH="$LOGS/$s-access.log" nohup "$PY" -m "services.$s" >"$LOGS/$s.log" 2>&1 &
    echo $! >"$RUN/$s.pid"
  done
  for s in $(present); do
    p=${PORTS[$s]}
    for ((i = 0; i < 300; i++)); do
      curl -fsS "http://127.0.0.1:$p/healthz" >/dev/null 2>&1 && break
      kill -0 "$(cat "$RUN/$s.pid")" 2>/dev/null || { echo "$s died; see $LOGS/$s.log"; tail -20 "$LOGS/$s.log"; exit 1; }
      sleep 0.1
    done
  done
  urls
}

down() {
  for s in "${ORDER[@]}"; do
    f="$RUN/$s.pid"
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$f"
    echo "${s//_/-} stopped"
  done
}

case "${1:-}" in
  foreground) foreground ;;
  up) up ;;
  down) down ;;
  *) echo "usage: $0 foreground|up|down" >&2; exit 2 ;;
esac
