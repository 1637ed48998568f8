#!/usr/bin/env bash
# Installs what VJVector needs to build, test and benchmark on Debian 12: Debian packages, and the npm
# packages of the deployment tests (tests/deploy). Idempotent: does nothing (and needs no network) when
# everything is present.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  librocksdb-dev libboost1.81-dev libboost-json1.81-dev libssl-dev
  libabsl-dev libspdlog-dev libfmt-dev libcli11-dev libyaml-cpp-dev libxxhash-dev libroaring-dev libarchive-dev libstemmer-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  prometheus curl etcd-server haproxy nodejs
  libhnswlib-dev libfaiss-dev libomp-dev libblas-dev liblapack-dev zlib1g-dev
  gnuplot-nox
)
# gnuplot-nox: bench/ann_plot.py draws the recall/QPS plot of docs/benchmarks.md (PNG, no X11; smaller
# than python3-matplotlib). Nothing in `make test` uses it.
# Only `make test` needs these (the server's image does not): clang and its sanitizer and libFuzzer
# runtimes for the fuzz targets, RocksDB's ldb for the quarantine test, iptables and libfaketime for the
# cluster fault test (tests/faults: partitions and clock skew), chromium for the web console's browser
# tests (tests/e2e/test_dashboard.py drives /usr/bin/chromium headless; no browser download is needed).
TEST_ONLY_PACKAGES=(clang-14 libclang-rt-14-dev rocksdb-tools iptables faketime iproute2 chromium)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

missing=()
for p in "${PACKAGES[@]}" "${TEST_ONLY_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
updated=0
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  updated=1
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm: some images ship Node.js with its own npm, which Debian's npm package conflicts with.
if ! command -v npm >/dev/null; then
  [ "$updated" -eq 1 ] || $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
fi

# npm packages of the tests, each pinned by its package-lock.json: the Kubernetes schema validator of
# tests/deploy, the official Qdrant JS client of tests/clients (tests/e2e/test_qdrant_js_client.py),
# playwright-core of tests/dashboard, which drives chromium (tests/e2e/test_dashboard.py), the OpenAPI
# validator (@apidevtools/swagger-parser, ajv) of tests/openapi (tests/e2e/test_openapi.py), and
# OpenTelemetry JS's OTLP encoder of tests/otlp, the trace receiver of tests/e2e/test_tracing.py, and
# s3rver (a real S3-compatible server) with the AWS SDK (@aws-sdk/client-s3) of tests/s3, the backup
# target and its reader in tests/e2e/test_backup.py.
for dir in tests/deploy tests/clients tests/dashboard tests/openapi tests/otlp tests/s3; do
  LOCK="$ROOT/$dir/package-lock.json"
  INSTALLED="$ROOT/$dir/node_modules/.package-lock.json"
  if [ -f "$LOCK" ] && { [ ! -f "$INSTALLED" ] || [ "$LOCK" -nt "$INSTALLED" ]; }; then
    echo "install-deps: npm ci in $dir" >&2
    npm ci --prefix "$ROOT/$dir" --no-audit --no-fund --loglevel=error >/dev/null
  fi
done
