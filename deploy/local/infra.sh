#!/usr/bin/env bash
# Local real infrastructure, no Docker: Apache Kafka 4.x (KRaft, one JVM as broker and
# controller) from its Maven Central artifacts, FerretDB 1.24 (MongoDB wire protocol on
# SQLite) built from its Go module, and Keycloak 26 (the OpenID Connect provider) from its
# Maven Central distribution. Everything lives under .local/ (git-ignored).
#
#   deploy/local/infra.sh up      fetch/build on first use, start all three, wait, create topics
#   deploy/local/infra.sh down    stop them
#   deploy/local/infra.sh scram-up | scram-down
#                                 a second broker in the SASL/SCRAM profile (ports 9094/9095 +
#                                 offset): one principal per service and publisher, ACLs
#
# PBZ_KAFKA_SECURITY=scram runs the main broker itself in the SASL/SCRAM profile (its own
# data directory); the services then need PBZ_KAFKA_USERNAME/PBZ_KAFKA_PASSWORD (README).
#   deploy/local/infra.sh status
#   deploy/local/infra.sh clean   stop and delete the data (not the downloads)
#
# A three-broker cluster (KRaft, each node broker and controller, replication factor 3,
# min.insync.replicas 2), for the fault tests and for trying the cluster settings locally:
#   deploy/local/infra.sh up --brokers 3 [--kafka-only]
#       node n listens on 9092 + offset + 2(n-1), its controller on the port after it
#       (offset 100: 9192/9193, 9194/9195, 9196/9197); its data and pid file are named by
#       the first node's port, so a cluster can run beside the one-node Kafka on other ports
#   deploy/local/infra.sh stop-broker N [--kill] / start-broker N   (with --brokers 3)
#   deploy/local/infra.sh down --brokers 3
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/deploy/local"
LOCAL="${PBZ_LOCAL_DIR:-$ROOT/.local}"
PY="${PY:-$ROOT/.venv/bin/python}"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/pom.xml")"
KEYCLOAK_VERSION="$(sed -n 's:.*<keycloak.version>\(.*\)</keycloak.version>.*:\1:p' "$HERE/pom.xml")"
FERRETDB_VERSION="v1.24.2"
# PBZ_PORT_OFFSET moves every port (e.g. 100: Kafka 9192, FerretDB 27117), so several
# checkouts can run their own infrastructure side by side on one machine.
OFFSET="${PBZ_PORT_OFFSET:-0}"
KAFKA_HOST=127.0.0.1 KAFKA_PORT=$((9092 + OFFSET)) CONTROLLER_PORT=$((9093 + OFFSET))
MONGO_HOST=127.0.0.1 MONGO_PORT=$((27017 + OFFSET))
# FerretDB's HTTP debug handler (metrics, pprof): it moves too, or a second checkout's
# FerretDB cannot start (its default, 8088, is taken by the first).
FERRET_DEBUG_PORT=$((8088 + OFFSET))
# Keycloak: its HTTP port, its management port (health), and the web app's port its public
# client redirects to.
KC_HOST=127.0.0.1 KC_PORT=$((8080 + OFFSET)) KC_MGMT_PORT=$((9000 + OFFSET)) WEB_PORT=$((8000 + OFFSET))

CMD="${1:-}"
[ $# -gt 0 ] && shift
BROKERS=1 KAFKA_ONLY=0 KILL=0 NODE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --brokers) BROKERS="$2"; shift 2 ;;
    --kafka-only) KAFKA_ONLY=1; shift ;;
    --kill) KILL=1; shift ;;
    [0-9]*) NODE="$1"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
case "$BROKERS" in 1 | 3) ;; *) echo "--brokers is 1 or 3" >&2; exit 2 ;; esac
if [ "$BROKERS" = 3 ] && [ "${PBZ_KAFKA_SECURITY:-plaintext}" = scram ]; then
  echo "the SASL/SCRAM profile runs on one local node (scram-up, or PBZ_KAFKA_SECURITY=scram up)" >&2; exit 2
fi

# Keyed by the pom: a new dependency (kafka-tools, say) fetches the libraries anew.
KAFKA_LIBS="$LOCAL/kafka/libs-$KAFKA_VERSION-$(md5sum "$HERE/pom.xml" | cut -c1-8)"
KAFKA_SECURITY="${PBZ_KAFKA_SECURITY:-plaintext}"
KAFKA_DATA="$LOCAL/kafka/data"
[ "$KAFKA_SECURITY" = scram ] && KAFKA_DATA="$LOCAL/kafka/data-scram"
# The second broker of `scram-up`.
SCRAM_PORT=$((9094 + OFFSET)) SCRAM_CONTROLLER_PORT=$((9095 + OFFSET))
SCRAM_DATA="$LOCAL/kafka-scram/data"
SCRAM_ADMIN_PASSWORD="${PBZ_KAFKA_ADMIN_PASSWORD:-admin-kafka-demo}"
# "-idx": built with the _id index fix below (a binary built without it is not reused).
# The binary's name carries the patch's digest: a changed patch builds a new binary.
FERRET_PATCH="$HERE/ferretdb-pushdown.patch"
FERRET_BIN="$LOCAL/bin/ferretdb-$FERRETDB_VERSION-$(sha256sum "$FERRET_PATCH" | cut -c1-12)"
FERRET_DATA="$LOCAL/ferretdb/data"
FERRET_STATE="$LOCAL/ferretdb/state"
# The unpacked distribution; its data/ holds the realm to import and the dev H2 database.
KC_HOME="$LOCAL/keycloak/keycloak-$KEYCLOAK_VERSION"
KC_REALM="$KC_HOME/data/import/pbz.json"
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

fetch_keycloak() {
  [ -f "$KC_HOME/.complete" ] && return 0
  say "fetching Keycloak $KEYCLOAK_VERSION from Maven Central (once, 160 MB)"
  local tmp
  tmp="$(mktemp -d)"
  mvn -q -B -f "$HERE/pom.xml" dependency:copy \
    -Dartifact="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip" -DoutputDirectory="$tmp"
  rm -rf "$KC_HOME" && mkdir -p "$LOCAL/keycloak"
  # Python's zipfile rather than unzip (not on every machine); it drops the modes, so the
  # scripts get theirs back.
  "$PY" -m zipfile -e "$tmp/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip" "$LOCAL/keycloak/"
  chmod +x "$KC_HOME"/bin/*.sh
  rm -rf "$tmp"
  touch "$KC_HOME/.complete"
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
  # Its SQLite backend narrowed a query in SQL only when the filter was a lone _id: every
  # other find, update or count read and decoded the whole collection in Go (an aggregate's
  # versioned replace, {_id, $or: [older version...]}, took 55 % of FerretDB's CPU in the demo
  # month, and every find by zone or status grew with the collection). The patch narrows by
  # each top-level equality on a string or boolean and each $in of strings, on the
  # expression FerretDB's own indexes use; arrays always pass, and FerretDB still applies the
  # whole filter to the rows, so answers are unchanged (tests/integration/test_store_pushdown.py).
  (cd "$dir" && git apply "$FERRET_PATCH") ||
    { say "could not apply $FERRET_PATCH"; return 1; }
  mkdir -p "$(dirname "$FERRET_BIN")"
  (cd "$dir" && CGO_ENABLED=0 go build -buildvcs=false -trimpath -o "$FERRET_BIN.tmp" ./cmd/ferretdb)
  mv "$FERRET_BIN.tmp" "$FERRET_BIN"
  rm -rf "$dir"
}

# A database file without FerretDB's catalogue (left when FerretDB died while creating or
# dropping it: seen once, a SIGBUS in SQLite while a test's database was dropped under a busy
# service) keeps FerretDB from starting ("no such table: _ferretdb_collections"): name it.
ferret_stubs() {
  local f
  for f in "$FERRET_DATA"/*.sqlite; do
    [ -f "$f" ] || continue
    "$PY" -c 'import sqlite3, sys; sys.exit(not sqlite3.connect(sys.argv[1]).execute("select 1 from sqlite_master where name = ?", ("_ferretdb_collections",)).fetchone())' "$f" 2>/dev/null ||
      say "$f has no FerretDB catalogue (FerretDB died while creating or dropping it; it holds no collection): move it out of $FERRET_DATA, or '$0 clean' to start from empty"
  done
}

start_ferretdb() {
  if port_open $MONGO_HOST $MONGO_PORT; then say "Mongo-protocol server already on $MONGO_HOST:$MONGO_PORT"; return 0; fi
  mkdir -p "$FERRET_DATA" "$FERRET_STATE" "$RUN" "$LOGS"
  # WAL (FerretDB's default) with synchronous=FULL: every acknowledged write is on disk
  # before the answer, so the pipeline's "stored, then commit the offset" holds through a
  # power cut too, not only a crash of the process (NORMAL may lose the last commits then).
  nohup "$FERRET_BIN" --handler=sqlite --sqlite-url="file:$FERRET_DATA/?_pragma=synchronous(full)" \
    --state-dir="$FERRET_STATE" --debug-addr="$MONGO_HOST:$FERRET_DEBUG_PORT" \
    --telemetry=disable --listen-addr="$MONGO_HOST:$MONGO_PORT" --log-level=warn \
    >"$LOGS/ferretdb.log" 2>&1 &
  echo $! >"$RUN/ferretdb.pid"
}

# start_kafka_node NAME PORT CONTROLLER_PORT DATA PROFILE: one KRaft node (broker and
# controller), plaintext or SASL/SCRAM; its config is written beside its data.
start_kafka_node() {
  local name=$1 port=$2 cport=$3 data=$4 profile=$5 template="$HERE/server.properties"
  if port_open $KAFKA_HOST "$port"; then say "Kafka already on $KAFKA_HOST:$port"; return 0; fi
  [ "$profile" = scram ] && template="$HERE/server-scram.properties"
  mkdir -p "$data" "$RUN" "$LOGS"
  local conf="$data/../server.properties" cp="$KAFKA_LIBS/*"
  sed -e "s#@DATA@#$data#" -e "s#@HOST@#$KAFKA_HOST#g" \
    -e "s#@PORT@#$port#" -e "s#@CONTROLLER_PORT@#$cport#g" -e "s#@ADMIN_PASSWORD@#$SCRAM_ADMIN_PASSWORD#g" \
    -e "s#@NODE_ID@#1#" -e "s#@VOTERS@#1@$KAFKA_HOST:$cport#" -e "s#@BIND@#$KAFKA_HOST#g" \
    -e "s#@REPLICATION@#1#g" -e "s#@MIN_ISR@#1#g" \
    "$template" >"$conf"
  if [ ! -f "$data/meta.properties" ]; then
    local id scram=()
    id="$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
    if [ "$profile" = scram ]; then
      # Every principal's SCRAM credential goes into the metadata log at format time.
      scram+=(--add-scram "SCRAM-SHA-512=[name=admin,password=$SCRAM_ADMIN_PASSWORD]")
      local p
      for p in $("$PY" -m services.kafka_acls principals); do
        scram+=(--add-scram "SCRAM-SHA-512=[name=$p,password=$p-kafka-demo]")
      done
    fi
    java -cp "$cp" -Dlog4j2.configurationFile="$HERE/log4j2.yaml" kafka.tools.StorageTool format \
      -t "$id" -c "$conf" "${scram[@]}" >"$LOGS/$name-format.log" 2>&1
  fi
  nohup java -Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$HERE/log4j2.yaml" -cp "$cp" kafka.Kafka "$conf" \
    >"$LOGS/$name.log" 2>&1 &
  echo $! >"$RUN/$name.pid"
}

node_port() { echo $((KAFKA_PORT + 2 * ($1 - 1))); }
node_controller_port() { echo $((CONTROLLER_PORT + 2 * ($1 - 1))); }
node_name() { echo "kafka-$KAFKA_PORT-$1"; }
node_dir() { echo "$LOCAL/kafka/cluster-$KAFKA_PORT/node-$1"; }

bootstrap() {
  if [ "$BROKERS" = 1 ]; then echo "$KAFKA_HOST:$KAFKA_PORT"; return; fi
  local n list=""
  for n in 1 2 3; do list="$list${list:+,}$KAFKA_HOST:$(node_port $n)"; done
  echo "$list"
}

start_node() { # node number (cluster of three)
  local n=$1 port cport dir name voters="" i cp="$KAFKA_LIBS/*"
  port="$(node_port "$n")" cport="$(node_controller_port "$n")" dir="$(node_dir "$n")" name="$(node_name "$n")"
  if port_open $KAFKA_HOST "$port"; then say "Kafka node $n already on $KAFKA_HOST:$port"; return 0; fi
  for i in 1 2 3; do voters="$voters${voters:+,}$i@$KAFKA_HOST:$(node_controller_port $i)"; done
  mkdir -p "$dir/data" "$RUN" "$LOGS"
  sed -e "s#@DATA@#$dir/data#" -e "s#@HOST@#$KAFKA_HOST#g" -e "s#@PORT@#$port#" \
    -e "s#@CONTROLLER_PORT@#$cport#g" -e "s#@NODE_ID@#$n#" -e "s#@VOTERS@#$voters#" \
    "$HERE/server-cluster.properties" >"$dir/server.properties"
  if [ ! -f "$dir/data/meta.properties" ]; then
    local id_file="$LOCAL/kafka/cluster-$KAFKA_PORT/cluster.id"
    [ -f "$id_file" ] || java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1 >"$id_file"
    java -cp "$cp" -Dlog4j2.configurationFile="$HERE/log4j2.yaml" kafka.tools.StorageTool format \
      -t "$(cat "$id_file")" -c "$dir/server.properties" >"$LOGS/$name-format.log" 2>&1
  fi
  nohup java -Xms128m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$HERE/log4j2.yaml" -cp "$cp" kafka.Kafka "$dir/server.properties" \
    >"$LOGS/$name.log" 2>&1 &
  echo $! >"$RUN/$name.pid"
}

start_cluster() {
  local n
  for n in 1 2 3; do start_node "$n"; done
  for n in 1 2 3; do wait_port $KAFKA_HOST "$(node_port "$n")" "$(node_name "$n")" 90; done
}

start_kafka() {
  if [ "$BROKERS" = 3 ]; then start_cluster; return; fi
  start_kafka_node kafka $KAFKA_PORT $CONTROLLER_PORT "$KAFKA_DATA" "$KAFKA_SECURITY"
}

# grant_acls PORT DATA: the ACLs of services.kafka_acls, once per data directory and set of
# grants (granting is additive: a new topic in the code gets its grant on the next start).
grant_acls() {
  local port=$1 data=$2 admin="$2/../admin.properties" cp="$KAFKA_LIBS/*" marker
  marker="$data/.acls-$("$PY" -m services.kafka_acls | md5sum | cut -c1-8)"
  [ -f "$marker" ] && return 0
  cat >"$admin" <<PROPS
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$SCRAM_ADMIN_PASSWORD";
PROPS
  local acl=(java -Dlog4j2.configurationFile="$HERE/log4j2.yaml" -cp "$cp" org.apache.kafka.tools.AclCommand
    --bootstrap-server "$KAFKA_HOST:$port" --command-config "$admin" --add)
  local role principal group topics t
  while read -r role principal rest; do
    topics=()
    if [ "$role" = consumer ]; then
      group=${rest%% *}
      for t in ${rest#* }; do topics+=(--topic "$t"); done
      "${acl[@]}" --allow-principal "User:$principal" --operation Read --operation Describe "${topics[@]}" >/dev/null
      # Prefixed: tests and scaled-out copies add a suffix to the group id.
      "${acl[@]}" --allow-principal "User:$principal" --operation Read --group "$group" \
        --resource-pattern-type prefixed >/dev/null
    else
      for t in $rest; do topics+=(--topic "$t"); done
      "${acl[@]}" --allow-principal "User:$principal" --producer --idempotent "${topics[@]}" >/dev/null
    fi
  done < <("$PY" -m services.kafka_acls)
  touch "$marker"
  say "ACLs granted on $KAFKA_HOST:$port (services.kafka_acls)"
}

scram_env() { # the admin principal, for shared.admin on a SCRAM broker
  echo PBZ_KAFKA_SECURITY=scram PBZ_KAFKA_USERNAME=admin PBZ_KAFKA_PASSWORD="$SCRAM_ADMIN_PASSWORD"
}

scram_up() {
  fetch_kafka
  start_kafka_node kafka-scram $SCRAM_PORT $SCRAM_CONTROLLER_PORT "$SCRAM_DATA" scram
  wait_port $KAFKA_HOST $SCRAM_PORT kafka-scram 90
  env $(scram_env) PBZ_KAFKA_BOOTSTRAP="$KAFKA_HOST:$SCRAM_PORT" "$PY" -m shared.admin create-topics | sed 's/^/[infra] /'
  grant_acls $SCRAM_PORT "$SCRAM_DATA"
  say "SASL/SCRAM Kafka on $KAFKA_HOST:$SCRAM_PORT (principals: python -m services.kafka_acls principals)"
}

start_keycloak() {
  if port_open $KC_HOST $KC_PORT; then say "something already listens on $KC_HOST:$KC_PORT (Keycloak?)"; return 0; fi
  mkdir -p "$RUN" "$LOGS"
  # The realm of the demo's people, generated; a changed realm is imported anew (Keycloak
  # skips a realm it already has, so its dev database goes).
  if "$PY" -m services.simulator realm --out "$KC_REALM" --web-port "$WEB_PORT" | grep -q written; then
    rm -rf "$KC_HOME/data/h2"
  fi
  # Bound to 127.0.0.1 (Keycloak listens on every address by default); the hostname fixes
  # the tokens' issuer whatever address a client used. admin/admin: the local admin console.
  KC_BOOTSTRAP_ADMIN_USERNAME=admin KC_BOOTSTRAP_ADMIN_PASSWORD=admin \
    setsid nohup "$KC_HOME/bin/kc.sh" start-dev --import-realm \
    --http-host=$KC_HOST --http-port=$KC_PORT --http-management-port=$KC_MGMT_PORT \
    --hostname="http://$KC_HOST:$KC_PORT" --health-enabled=true \
    >"$LOGS/keycloak.log" 2>&1 </dev/null &
  echo $! >"$RUN/keycloak.pid"
  date +%s.%N >"$RUN/keycloak.started"
}

wait_keycloak() {
  local url="http://$KC_HOST:$KC_PORT/realms/pbz/.well-known/openid-configuration" i
  for ((i = 0; i < 3000; i++)); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then
      if [ -f "$RUN/keycloak.started" ]; then
        say "Keycloak answered its OpenID configuration $(awk -v t0="$(cat "$RUN/keycloak.started")" -v t1="$(date +%s.%N)" 'BEGIN{printf "%.1f", t1-t0}') s after start"
        rm -f "$RUN/keycloak.started"
      fi
      return 0
    fi
    if ! alive keycloak; then break; fi
    sleep 0.1
  done
  say "Keycloak did not answer $url; its log: $LOGS/keycloak.log"
  tail -n 30 "$LOGS/keycloak.log" >&2 || true
  return 1
}

up() {
  local t0=$SECONDS
  command -v java >/dev/null || { say "java not found (Kafka needs a JDK 17+)"; exit 1; }
  command -v mvn >/dev/null || { say "mvn not found (used once to fetch Kafka)"; exit 1; }
  command -v go >/dev/null || { say "go not found (used once to build FerretDB)"; exit 1; }
  command -v curl >/dev/null || { say "curl not found (waits for Keycloak)"; exit 1; }
  fetch_kafka
  if [ "$KAFKA_ONLY" = 0 ]; then
    fetch_keycloak
    build_ferretdb
    start_keycloak  # first: the slowest to start, it starts while the others do
    start_ferretdb
  fi
  start_kafka
  [ "$KAFKA_ONLY" = 1 ] || wait_port $MONGO_HOST $MONGO_PORT ferretdb 30 || { ferret_stubs; exit 1; }
  [ "$BROKERS" = 3 ] || wait_port $KAFKA_HOST $KAFKA_PORT kafka 90
  if [ "$KAFKA_SECURITY" = scram ]; then
    env $(scram_env) PBZ_KAFKA_BOOTSTRAP="$KAFKA_HOST:$KAFKA_PORT" "$PY" -m shared.admin create-topics | sed 's/^/[infra] /'
    grant_acls $KAFKA_PORT "$KAFKA_DATA"
  else
    PBZ_KAFKA_BOOTSTRAP="$(bootstrap)" PBZ_TOPIC_REPLICATION="$BROKERS" \
      "$PY" -m shared.admin create-topics | sed 's/^/[infra] /'
  fi
  if [ "$KAFKA_ONLY" = 1 ]; then
    say "up in $((SECONDS - t0)) s: Kafka $KAFKA_VERSION ($BROKERS broker(s)) on $(bootstrap)"
    return
  fi
  wait_keycloak
  say "up in $((SECONDS - t0)) s: Kafka $KAFKA_VERSION ($BROKERS broker(s)) on $(bootstrap), FerretDB $FERRETDB_VERSION on $MONGO_HOST:$MONGO_PORT, Keycloak $KEYCLOAK_VERSION on http://$KC_HOST:$KC_PORT (realm pbz)"
}

stop_one() { # name [signal] [group]
  local name=$1 signal=${2:-TERM} group=${3:-} pid i
  alive "$name" || { rm -f "$RUN/$name.pid"; return 0; }
  pid="$(cat "$RUN/$name.pid")"
  # Keycloak runs in its own process group (kc.sh and its JVM): signal the whole group.
  if [ -n "$group" ]; then kill -s "$signal" -- "-$pid" 2>/dev/null || kill -s "$signal" "$pid" 2>/dev/null || true
  else kill -s "$signal" "$pid" 2>/dev/null || true; fi
  for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if [ -n "$group" ]; then kill -9 -- "-$pid" 2>/dev/null || true; fi
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$RUN/$name.pid"
  say "$name stopped"
}

down() {
  if [ "$BROKERS" = 3 ]; then
    local n
    for n in 1 2 3; do stop_one "$(node_name "$n")"; done
  else
    stop_one kafka-scram
    stop_one kafka
  fi
  [ "$KAFKA_ONLY" = 1 ] && return 0
  stop_one keycloak TERM group
  stop_one ferretdb
}

need_node() {
  [ "$BROKERS" = 3 ] && [ -n "$NODE" ] && [ "$NODE" -ge 1 ] && [ "$NODE" -le 3 ] ||
    { echo "usage: $0 stop-broker|start-broker N --brokers 3 [--kill]" >&2; exit 2; }
}

stop_broker() { need_node; if [ "$KILL" = 1 ]; then stop_one "$(node_name "$NODE")" KILL; else stop_one "$(node_name "$NODE")"; fi; }

start_broker() {
  need_node
  start_node "$NODE"
  wait_port $KAFKA_HOST "$(node_port "$NODE")" "$(node_name "$NODE")" 90
}

status() {
  for n in kafka kafka-scram ferretdb keycloak; do
    if alive $n; then say "$n running (pid $(cat "$RUN/$n.pid"))"; else say "$n not running (from here)"; fi
  done
  port_open $KAFKA_HOST $KAFKA_PORT && say "kafka port $KAFKA_PORT open" || say "kafka port $KAFKA_PORT closed"
  port_open $MONGO_HOST $MONGO_PORT && say "mongo port $MONGO_PORT open" || say "mongo port $MONGO_PORT closed"
  port_open $KC_HOST $KC_PORT && say "keycloak port $KC_PORT open" || say "keycloak port $KC_PORT closed"
}

clean() {
  down
  if [ "$BROKERS" = 3 ]; then
    rm -rf "$LOCAL/kafka/cluster-$KAFKA_PORT"
  else
    rm -rf "$LOCAL/kafka/data" "$LOCAL/kafka/data-scram" "$LOCAL/kafka-scram"
  fi
  [ "$KAFKA_ONLY" = 1 ] || rm -rf "$FERRET_DATA" "$FERRET_STATE" "$KC_HOME/data/h2"
  say "data deleted"
}

case "$CMD" in
  up) up ;;
  down) down ;;
  status) status ;;
  clean) clean ;;
  scram-up) scram_up ;;
  scram-down) stop_one kafka-scram ;;
  stop-broker) stop_broker ;;
  start-broker) start_broker ;;
  *) echo "usage: $0 up|down|status|clean [--brokers 1|3] [--kafka-only] | stop-broker|start-broker N --brokers 3 [--kill] | scram-up|scram-down" >&2; exit 2 ;;
esac
