#!/usr/bin/env bash
# Installs the Debian 12 packages VJVector needs to build, test and benchmark.
# Idempotent: does nothing (and needs no network) when everything is present.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  librocksdb-dev libboost1.81-dev libboost-json1.81-dev libssl-dev
  libabsl-dev libspdlog-dev libfmt-dev libcli11-dev libyaml-cpp-dev libxxhash-dev libroaring-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  prometheus curl
  libhnswlib-dev libfaiss-dev libomp-dev libblas-dev liblapack-dev zlib1g-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
