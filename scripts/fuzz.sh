#!/usr/bin/env bash
# Builds and runs the libFuzzer targets of fuzz/ (fuzz/README.md).
#   scripts/fuzz.sh build                 configure build/fuzz (clang, VJ_FUZZ=ON) and build every target
#   scripts/fuzz.sh smoke [SECONDS]       build, then run each target SECONDS (default 5) on its corpus
#   scripts/fuzz.sh long TARGET SECONDS   build, then fuzz one target; new inputs go to build/fuzz/corpus/TARGET,
#                                         a crash to build/fuzz/artifacts/TARGET/ (exit status 1), the log to
#                                         build/fuzz/logs/TARGET.log
#   scripts/fuzz.sh run BINARY SECONDS    run a built target on its seed corpus (ctest's label fuzz); fails
#                                         when the binary is missing or the run finds a crash
# Environment: BUILD_DIR (build), FUZZ_BUILD_DIR ($BUILD_DIR/fuzz), FUZZ_CXX (clang++-14), FUZZ_JOBS (2),
# FUZZ_ARGS (more libFuzzer flags, e.g. "-fork=1 -ignore_crashes=1" to go on after a crash).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-build}"
FUZZ_BUILD_DIR="${FUZZ_BUILD_DIR:-$BUILD_DIR/fuzz}"
case "$FUZZ_BUILD_DIR" in /*) ;; *) FUZZ_BUILD_DIR="$ROOT/$FUZZ_BUILD_DIR" ;; esac
FUZZ_CXX="${FUZZ_CXX:-clang++-14}"
FUZZ_JOBS="${FUZZ_JOBS:-2}"
TARGETS=(fuzz_http_request fuzz_point_codec fuzz_filter_codec fuzz_query fuzz_collection_config
         fuzz_point_record fuzz_log_batch fuzz_hnsw_snapshot fuzz_fast_body)

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

build() {
  if [ ! -f "$FUZZ_BUILD_DIR/build.ninja" ]; then
    CXX="$FUZZ_CXX" cmake -S "$ROOT" -B "$FUZZ_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVJ_FUZZ=ON >/dev/null
  fi
  cmake --build "$FUZZ_BUILD_DIR" --target vj_fuzzers -- -j "$FUZZ_JOBS"
}

# The dictionary of a target, if it has one.
dict_args() {
  case "$1" in
    fuzz_http_request) echo "-dict=$ROOT/fuzz/http.dict" ;;
    fuzz_point_codec | fuzz_filter_codec | fuzz_query | fuzz_collection_config | fuzz_fast_body) echo "-dict=$ROOT/fuzz/json.dict" ;;
  esac
}

# run BINARY SECONDS [WORK_CORPUS ARTIFACT_DIR]: libFuzzer writes new inputs into the first corpus
# directory, so the seeds in fuzz/corpus/ come second and stay as committed.
run() {
  local binary="$1" seconds="$2" name work artifacts log
  name="$(basename "$binary")"
  if [ ! -x "$binary" ]; then
    echo "fuzz.sh: $binary is missing: build it with scripts/fuzz.sh build (make test does)" >&2
    return 1
  fi
  local scratch
  scratch="$(mktemp -d)"
  work="${3:-$scratch/corpus}"
  artifacts="${4:-$scratch/artifacts}"
  log="${5:-$scratch/log}"
  mkdir -p "$work" "$artifacts"
  local rc=0
  # shellcheck disable=SC2046,SC2086
  "$binary" "$work" "$ROOT/fuzz/corpus/$name" $(dict_args "$name") -max_total_time="$seconds" \
    -timeout=20 -rss_limit_mb=2560 -max_len=8192 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-} 2>"$log" || rc=$?
  grep -aE '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss_mb|stat::new_units_added)' "$log" || true
  if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$artifacts")" ]; then
    tail -n 60 "$log" >&2
    echo "fuzz.sh: $name failed (exit status $rc); inputs that crash it are in $artifacts:" >&2
    ls -l "$artifacts" >&2
    return 1
  fi
  rm -rf "$scratch"
}

cmd="${1:-smoke}"
case "$cmd" in
  build) build ;;
  smoke)
    build
    for t in "${TARGETS[@]}"; do
      echo "== $t"
      run "$FUZZ_BUILD_DIR/$t" "${2:-5}"
    done
    ;;
  long)
    [ $# -eq 3 ] || { echo "usage: $0 long TARGET SECONDS" >&2; exit 2; }
    build
    mkdir -p "$FUZZ_BUILD_DIR/corpus/$2" "$FUZZ_BUILD_DIR/artifacts/$2" "$FUZZ_BUILD_DIR/logs"
    run "$FUZZ_BUILD_DIR/$2" "$3" "$FUZZ_BUILD_DIR/corpus/$2" "$FUZZ_BUILD_DIR/artifacts/$2" \
      "$FUZZ_BUILD_DIR/logs/$2.log"
    ;;
  run)
    [ $# -eq 3 ] || { echo "usage: $0 run BINARY SECONDS" >&2; exit 2; }
    run "$2" "$3"
    ;;
  *) echo "usage: $0 build | smoke [SECONDS] | long TARGET SECONDS | run BINARY SECONDS" >&2; exit 2 ;;
esac
