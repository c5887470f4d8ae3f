#!/usr/bin/env bash
# Local real infrastructure, no Docker: Apache Kafka 4.x (KRaft, one JVM as broker and
# controller) from its Maven Central artifacts, and FerretDB 1.24 (MongoDB wire protocol
# on SQLite) built from its Go module. Everything lives under .local/ (git-ignored).
#
#   deploy/local/infra.sh up      fetch/build on first use, start both, wait, create topics
#   deploy/local/infra.sh down    stop both
#   deploy/local/infra.sh status
#   deploy/local/infra.sh clean   stop and delete the data (not the downloads)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/deploy/local"
LOCAL="${PBZ_LOCAL_DIR:-$ROOT/.local}"
PY="${PY:-$ROOT/.venv/bin/python}"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/pom.xml")"
FERRETDB_VERSION="v1.24.2"
# PBZ_PORT_OFFSET moves every port (e.g. 100: Kafka 9192, FerretDB 27117), so several
# checkouts can run their own infrastructure side by side on one machine.
OFFSET="${PBZ_PORT_OFFSET:-0}"
KAFKA_HOST=127.0.0.1 KAFKA_PORT=$((9092 + OFFSET)) CONTROLLER_PORT=$((9093 + OFFSET))
MONGO_HOST=127.0.0.1 MONGO_PORT=$((27017 + OFFSET))
# FerretDB's own debug/metrics listener (8088 by default) moves too, or a second checkout's
# FerretDB dies at start with "address already in use".
FERRET_DEBUG_PORT=$((8088 + OFFSET))

KAFKA_LIBS="$LOCAL/kafka/libs-$KAFKA_VERSION"
KAFKA_DATA="$LOCAL/kafka/data"
# "-idx": built with the _id index fix below (a binary built without it is not reused).
FERRET_BIN="$LOCAL/bin/ferretdb-$FERRETDB_VERSION-idx"
FERRET_DATA="$LOCAL/ferretdb/data"
FERRET_STATE="$LOCAL/ferretdb/state"
RUN="$LOCAL/run"
LOGS="$LOCAL/logs"

say() { printf '[infra] %s\n' "$*"; }

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_port() { # host port name seconds
  local i
  for ((i = 0; i < $4 * 10; i++)); do
    port_open "$1" "$2" && return 0
    sleep 0.1
  done
  say "$3 did not open $1:$2 within $4 s; its log: $LOGS/$3.log"
  tail -n 30 "$LOGS/$3.log" >&2 || true
  return 1
}

alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

fetch_kafka() {
  [ -f "$KAFKA_LIBS/.complete" ] && return 0
  say "fetching Apache Kafka $KAFKA_VERSION and its dependencies from Maven Central (once)"
  rm -rf "$KAFKA_LIBS" && mkdir -p "$KAFKA_LIBS"
  mvn -q -B -f "$HERE/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS"
  touch "$KAFKA_LIBS/.complete"
}

build_ferretdb() {
  [ -x "$FERRET_BIN" ] && return 0
  say "building FerretDB $FERRETDB_VERSION from its Go module (once)"
  # `go install .../cmd/ferretdb@v1.24.2` builds a binary that panics at start: the module
  # ships without build/version/version.txt (made by FerretDB's own release task). So the
  # module source is copied, the file written, and the same package built.
  local src dir
  src="$(go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$src" ] || { say "go mod download of FerretDB failed"; return 1; }
  dir="$(mktemp -d)"
  cp -r "$src/." "$dir/" && chmod -R u+w "$dir"
  echo "$FERRETDB_VERSION" >"$dir/build/version/version.txt"
  # FerretDB 1.24's SQLite backend creates the unique _id index on `_ferretdb_sjson->"_id"`
  # but looks documents up with `_ferretdb_sjson->'$._id'`, an expression SQLite does not
  # match to that index: every find/update/delete by _id scanned the whole table, so each
  # message got slower as a service's collections grew. `->'_id'` is the same value
  # (SQLite reads a bare label as '$._id') and uses the index.
  local meta="$dir/internal/backends/sqlite/metadata/metadata.go"
  sed -i "s|IDColumn = DefaultColumn + \"->'\$._id'\"|IDColumn = DefaultColumn + \"->'_id'\"|" "$meta"
  grep -q "IDColumn = DefaultColumn + \"->'_id'\"" "$meta" ||
    { say "could not apply the _id index fix to $meta"; return 1; }
  mkdir -p "$(dirname "$FERRET_BIN")"
  (cd "$dir" && CGO_ENABLED=0 go build -buildvcs=false -trimpath -o "$FERRET_BIN.tmp" ./cmd/ferretdb)
  mv "$FERRET_BIN.tmp" "$FERRET_BIN"
  rm -rf "$dir"
}

start_ferretdb() {
  if port_open $MONGO_HOST $MONGO_PORT; then say "Mongo-protocol server already on $MONGO_HOST:$MONGO_PORT"; return 0; fi
  mkdir -p "$FERRET_DATA" "$FERRET_STATE" "$RUN" "$LOGS"
  # WAL (FerretDB's default) with synchronous=NORMAL: a crashed process loses nothing, only
  # a power cut may lose the last commits — the right trade for a local development server.
  nohup "$FERRET_BIN" --handler=sqlite --sqlite-url="file:$FERRET_DATA/?_pragma=synchronous(normal)" \
    --state-dir="$FERRET_STATE" \
    --telemetry=disable --listen-addr="$MONGO_HOST:$MONGO_PORT" --log-level=warn \
    --debug-addr="$MONGO_HOST:$FERRET_DEBUG_PORT" \
    >"$LOGS/ferretdb.log" 2>&1 &
  echo $! >"$RUN/ferretdb.pid"
}

start_kafka() {
  if port_open $KAFKA_HOST $KAFKA_PORT; then say "Kafka already on $KAFKA_HOST:$KAFKA_PORT"; return 0; fi
  mkdir -p "$KAFKA_DATA" "$RUN" "$LOGS"
  sed -e "s#@DATA@#$KAFKA_DATA#" -e "s#@HOST@#$KAFKA_HOST#g" \
    -e "s#@PORT@#$KAFKA_PORT#" -e "s#@CONTROLLER_PORT@#$CONTROLLER_PORT#g" \
    "$HERE/server.properties" >"$LOCAL/kafka/server.properties"
  local cp="$KAFKA_LIBS/*"
  if [ ! -f "$KAFKA_DATA/meta.properties" ]; then
    local id
    id="$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
    java -cp "$cp" -Dlog4j2.configurationFile="$HERE/log4j2.yaml" kafka.tools.StorageTool format \
      -t "$id" -c "$LOCAL/kafka/server.properties" >"$LOGS/kafka-format.log" 2>&1
  fi
  nohup java -Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$HERE/log4j2.yaml" -cp "$cp" kafka.Kafka "$LOCAL/kafka/server.properties" \
    >"$LOGS/kafka.log" 2>&1 &
  echo $! >"$RUN/kafka.pid"
}

up() {
  local t0=$SECONDS
  command -v java >/dev/null || { say "java not found (Kafka needs a JDK 17+)"; exit 1; }
  command -v mvn >/dev/null || { say "mvn not found (used once to fetch Kafka)"; exit 1; }
  command -v go >/dev/null || { say "go not found (used once to build FerretDB)"; exit 1; }
  fetch_kafka
  build_ferretdb
  start_ferretdb
  start_kafka
  wait_port $MONGO_HOST $MONGO_PORT ferretdb 30
  wait_port $KAFKA_HOST $KAFKA_PORT kafka 90
  PBZ_KAFKA_BOOTSTRAP="$KAFKA_HOST:$KAFKA_PORT" "$PY" -m shared.admin create-topics | sed 's/^/[infra] /'
  say "up in $((SECONDS - t0)) s: Kafka $KAFKA_VERSION on $KAFKA_HOST:$KAFKA_PORT, FerretDB $FERRETDB_VERSION on $MONGO_HOST:$MONGO_PORT"
}

stop_one() {
  local name=$1 pid i
  alive "$name" || { rm -f "$RUN/$name.pid"; return 0; }
  pid="$(cat "$RUN/$name.pid")"
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$RUN/$name.pid"
  say "$name stopped"
}

down() { stop_one kafka; stop_one ferretdb; }

status() {
  for n in kafka ferretdb; do
    if alive $n; then say "$n running (pid $(cat "$RUN/$n.pid"))"; else say "$n not running (from here)"; fi
  done
  port_open $KAFKA_HOST $KAFKA_PORT && say "kafka port $KAFKA_PORT open" || say "kafka port $KAFKA_PORT closed"
  port_open $MONGO_HOST $MONGO_PORT && say "mongo port $MONGO_PORT open" || say "mongo port $MONGO_PORT closed"
}

clean() { down; rm -rf "$KAFKA_DATA" "$FERRET_DATA" "$FERRET_STATE"; say "data deleted"; }

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  clean) clean ;;
  *) echo "usage: $0 up|down|status|clean" >&2; exit 2 ;;
esac
