#!/usr/bin/env bash
# The echo benchmark: sigloop's echo server against a hand-written raw mio
# server, tokio (current_thread) and Qt 6 (QTcpServer), all single-threaded,
# side by side in one run.
#
#   bash benches/echo/run.sh
#
# Servers run pinned to CPU 0, the load generator to CPU 1, everything on
# 127.0.0.1. For each server and scenario the load generator reads the
# server's CPU time from /proc/<pid>/task/*/schedstat around the measured
# window and its memory from /proc/<pid>/status (see peers/src/bin/loadgen.rs).
# Each server is measured ROUNDS times, the rounds interleaved so that
# background load hits every server alike, each round starting with the
# next server so that none always runs first; the report takes medians.
#
# Writes benches/echo/results.md (tables) and benches/echo/results.svg
# (CPU per operation as a ratio to raw mio). Raw lines go to
# benches/echo/peers/target/echo-raw.tsv.
#
# Knobs (environment): REPORT_DIR (benches/echo), ROUNDS (5), DURATION seconds per scenario (1.0),
# WARMUP seconds (0.3), IDLE connections for the memory test (10000),
# SERVERS (space-separated subset of: sigloop mio tokio qt sigloop-async;
# sigloop-async is the async/await echo, examples/async_echo_server.rs,
# not run by default), SCENARIOS
# (comma-separated subset of: rss pp1_64 pp1_4k pp100_64 pp100_4k bulk64k
# fullpipe churn; all by default, rss in the first round only).
#
# Needs cargo, python3, taskset; builds the Qt peer with g++ and
# pkg-config's Qt6Network, installing qt6-base-dev with apt-get when it is
# missing (the Qt column is skipped if that is impossible).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "${HERE}/../.." && pwd)"
PEERS="${HERE}/peers"
OUT_DIR="${PEERS}/target"
RAW="${OUT_DIR}/echo-raw.tsv"

ROUNDS="${ROUNDS:-5}"
DURATION="${DURATION:-1.0}"
WARMUP="${WARMUP:-0.3}"
IDLE="${IDLE:-10000}"
SERVERS="${SERVERS:-sigloop mio tokio qt}"
SCENARIOS="${SCENARIOS:-rss,pp1_64,pp1_4k,pp100_64,pp100_4k,bulk64k,fullpipe,churn}"
# Where results.md and results.svg go (a partial run keeps the committed
# report: REPORT_DIR=/tmp/echo).
REPORT_DIR="${REPORT_DIR:-${HERE}}"

# shellcheck source=../lib.sh
source "${HERE}/../lib.sh"
started=$(date +%s)

for tool in cargo python3; do
    command -v "${tool}" >/dev/null || { echo "error: ${tool} not found" >&2; exit 1; }
done

# ---------------------------------------------------------------- builds
# SIGLOOP_BIN=path measures another build of the echo_server example (an
# older commit, for an A/B against the same raw mio in the same run).
if [[ -z "${SIGLOOP_BIN:-}" ]]; then
    log "building sigloop's echo_server example (release)"
    cargo build --quiet --release --manifest-path "${ROOT}/Cargo.toml" --example echo_server
    SIGLOOP_BIN="$(cargo metadata --quiet --format-version 1 --no-deps --manifest-path "${ROOT}/Cargo.toml" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/examples/echo_server"
fi
if [[ " ${SERVERS} " == *" sigloop-async "* ]]; then
    log "building sigloop's async_echo_server example (release)"
    cargo build --quiet --release --manifest-path "${ROOT}/Cargo.toml" --example async_echo_server
    SIGLOOP_ASYNC_BIN="$(dirname "${SIGLOOP_BIN}")/async_echo_server"
fi

log "building the raw mio and tokio peers and the load generator (release)"
cargo build --quiet --release --manifest-path "${PEERS}/Cargo.toml"
MIO_BIN="${OUT_DIR}/release/mio_echo"
TOKIO_BIN="${OUT_DIR}/release/tokio_echo"
LOADGEN="${OUT_DIR}/release/loadgen"

QT_BIN="${OUT_DIR}/qt/echo_server_qt"
qt_version=""
if [[ " ${SERVERS} " == *" qt "* ]]; then
    if ! { command -v g++ >/dev/null && pkg-config --exists Qt6Network 2>/dev/null; }; then
        log "Qt 6 (Qt6Network) or g++ missing: installing qt6-base-dev g++ pkg-config"
        sudo_cmd=()
        [[ ${EUID} -ne 0 ]] && sudo_cmd=(sudo)
        if ! { "${sudo_cmd[@]+"${sudo_cmd[@]}"}" apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]+"${sudo_cmd[@]}"}" \
                apt-get install -y -qq --no-install-recommends qt6-base-dev g++ pkg-config; } >&2; then
            log "could not install Qt 6: the Qt column is skipped"
        fi
    fi
    if command -v g++ >/dev/null && pkg-config --exists Qt6Network 2>/dev/null; then
        log "building the Qt 6 peer"
        mkdir -p "${OUT_DIR}/qt"
        # shellcheck disable=SC2046
        g++ -O2 -fPIC -std=c++17 "${HERE}/qt/echo_server.cpp" -o "${QT_BIN}" \
            $(pkg-config --cflags --libs Qt6Network)
        qt_version="$(pkg-config --modversion Qt6Network)"
    else
        SERVERS="${SERVERS/qt/}"
    fi
fi

# ---------------------------------------------------------------- limits
# 10,000 idle connections need that many descriptors in the server and in
# the load generator; both inherit this shell's limit.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fd_limit=$(ulimit -n)
if [[ "${fd_limit}" != unlimited && "${fd_limit}" -lt $((IDLE + 200)) ]]; then
    IDLE=$((fd_limit - 200))
    log "descriptor limit ${fd_limit}: memory test lowered to ${IDLE} connections"
fi

# ---------------------------------------------------------------- runs
bin_of() {
    case "$1" in
        sigloop) echo "${SIGLOOP_BIN}" ;;
        sigloop-async) echo "${SIGLOOP_ASYNC_BIN}" ;;
        mio) echo "${MIO_BIN}" ;;
        tokio) echo "${TOKIO_BIN}" ;;
        qt) echo "${QT_BIN}" ;;
    esac
}

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [[ -n "${server_pid}" ]]; then
        kill "${server_pid}" 2>/dev/null || true
        wait "${server_pid}" 2>/dev/null || true
    fi
    rm -rf "${work}"
}
trap cleanup EXIT

mkdir -p "${OUT_DIR}"
: >"${RAW}"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
read -r -a server_list <<<"${SERVERS}"
for ((round = 1; round <= ROUNDS; round++)); do
    round_order "${round}" "${server_list[@]}"
    for name in "${order[@]}"; do
        only="$(round_scenarios "${round}" "${SCENARIOS}")"
        [[ -n "${only}" ]] || continue
        log "round ${round}/${ROUNDS}: ${name}"
        start_server "${name}" --host 127.0.0.1
        "${pin_client[@]+"${pin_client[@]}"}" "${LOADGEN}" --port "${server_port}" \
            --pid "${server_pid}" --label "${name}" --out "${RAW}" --only "${only}" \
            --duration "${DURATION}" --warmup "${WARMUP}" --idle "${IDLE}"
        stop_server
    done
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- report
elapsed=$(($(date +%s) - started))
tokio_version="$(lock_version tokio "${PEERS}/Cargo.lock")"
mio_version="$(lock_version mio "${PEERS}/Cargo.lock")"
mkdir -p "${REPORT_DIR}"
python3 "${HERE}/report.py" "${RAW}" "${REPORT_DIR}/results.md" "${REPORT_DIR}/results.svg" \
    --meta "command=bash benches/echo/run.sh" \
    --meta "settings=ROUNDS=${ROUNDS} DURATION=${DURATION} WARMUP=${WARMUP} IDLE=${IDLE} SERVERS='${SERVERS}' SCENARIOS=${SCENARIOS}" \
    --meta "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') ($(nproc) CPUs)" \
    --meta "kernel=$(uname -r)" \
    --meta "rustc=$(rustc --version)" \
    --meta "versions=mio ${mio_version}, tokio ${tokio_version}, Qt ${qt_version:-not built}" \
    --meta "load=load average ${load_before} before, ${load_after} after" \
    --meta "date=$(date -u '+%Y-%m-%d %H:%M UTC')" \
    --meta "elapsed=${elapsed} s"
log "wrote ${REPORT_DIR}/results.md and ${REPORT_DIR}/results.svg in ${elapsed} s"
