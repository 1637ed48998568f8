#!/usr/bin/env bash
# Starts a development cluster on loopback: one etcd and three vjvector nodes (node1..node3), each with
# its data under $CLUSTER_DIR (default ./data/cluster). Ctrl-C (or SIGTERM) stops them all.
#   BASE_PORT  first node's REST port (default 6333; the others take the next two; peer ports are 100 above)
#   ETCD_PORT  etcd's client port (default 2379; its peer port is the next one)
#   BUILD_DIR  where build/vjvector lives (default build)
set -euo pipefail

BUILD_DIR=${BUILD_DIR:-build}
CLUSTER_DIR=${CLUSTER_DIR:-./data/cluster}
BASE_PORT=${BASE_PORT:-6333}
ETCD_PORT=${ETCD_PORT:-2379}
ETCD=$(command -v etcd || echo /usr/bin/etcd)
BIN="$BUILD_DIR/vjvector"

[ -x "$BIN" ] || { echo "cluster.sh: $BIN is missing; run make build first" >&2; exit 1; }
[ -x "$ETCD" ] || { echo "cluster.sh: etcd is missing; run scripts/install-deps.sh" >&2; exit 1; }
mkdir -p "$CLUSTER_DIR"

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop INT TERM EXIT

etcd_url="http://127.0.0.1:$ETCD_PORT"
peer_url="http://127.0.0.1:$((ETCD_PORT + 1))"
"$ETCD" --name dev --data-dir "$CLUSTER_DIR/etcd" \
  --listen-client-urls "$etcd_url" --advertise-client-urls "$etcd_url" \
  --listen-peer-urls "$peer_url" --initial-advertise-peer-urls "$peer_url" \
  --initial-cluster "dev=$peer_url" >"$CLUSTER_DIR/etcd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  curl -sf "$etcd_url/health" >/dev/null 2>&1 && break
  sleep 0.1
done

for i in 1 2 3; do
  port=$((BASE_PORT + i - 1))
  "$BIN" serve --data-dir "$CLUSTER_DIR/node$i" --host 127.0.0.1 --http-port "$port" --p2p-port "$((BASE_PORT + 100 + i - 1))" --grpc-port "$((BASE_PORT + 200 + i - 1))" \
    --etcd "$etcd_url" --node-id "node$i" >"$CLUSTER_DIR/node$i.log" 2>&1 &
  pids+=($!)
  echo "node$i: http://127.0.0.1:$port (log $CLUSTER_DIR/node$i.log)"
done
echo "etcd: $etcd_url (log $CLUSTER_DIR/etcd.log). Ctrl-C stops the cluster."
# Nodes may be killed (or restarted by hand, same command line) to try failover; wait for Ctrl-C.
wait || true
