#!/usr/bin/env bash
# The TLS echo benchmark: sigloop's SslServer echo server (the
# tls_echo_server example) against tokio-rustls (current_thread, the same
# rustls and ring provider) and Qt 6 (QSslServer on OpenSSL), all
# single-threaded, side by side in one run.
#
#   bash benches/tls/run.sh
#
# Measured as the TCP benchmark (benches/echo/run.sh) measures: servers
# pinned to CPU 0, the load generator to CPU 1, everything on 127.0.0.1;
# the server's CPU time from /proc/<pid>/task/*/schedstat around each
# measured window, its memory from /proc/<pid>/status; ROUNDS interleaved
# rounds, each starting with the next server; medians in the report.
#
# The load generator (peers/src/bin/tls_loadgen.rs) speaks TLS 1.3 with
# rustls; it first checks each server's certificate against the run's CA.
# The run's PKI is made here with openssl: a CA and a server certificate
# for 127.0.0.1 and localhost, both ECDSA P-256.
#
# Writes benches/tls/results.md (tables) and benches/tls/results.svg (the
# issue's three ratios against tokio-rustls). Raw lines go to
# benches/tls/peers/target/tls-raw.tsv.
#
# Knobs (environment): ROUNDS (5), DURATION seconds per scenario (1.0),
# WARMUP seconds (0.3), IDLE connections for the memory test (5000),
# INFLIGHT handshakes at a time (8), SERVERS (space-separated subset of:
# sigloop tokio qt), SCENARIOS (comma-separated subset of: rss pp100_4k
# bulk64k hs_full hs_resumed; all by default, rss in the first round only).
#
# Needs cargo, python3, openssl, taskset; builds the Qt peer with g++ and
# pkg-config's Qt6Network, installing qt6-base-dev with apt-get when it is
# missing (the Qt column is skipped if that is impossible).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "${HERE}/../.." && pwd)"
PEERS="${HERE}/peers"
OUT_DIR="${PEERS}/target"
RAW="${OUT_DIR}/tls-raw.tsv"

ROUNDS="${ROUNDS:-5}"
DURATION="${DURATION:-1.0}"
WARMUP="${WARMUP:-0.3}"
IDLE="${IDLE:-5000}"
INFLIGHT="${INFLIGHT:-8}"
SERVERS="${SERVERS:-sigloop tokio qt}"
SCENARIOS="${SCENARIOS:-rss,pp100_4k,bulk64k,hs_full,hs_resumed}"

# shellcheck source=../lib.sh
source "${HERE}/../lib.sh"
started=$(date +%s)

for tool in cargo python3 openssl; do
    command -v "${tool}" >/dev/null || { echo "error: ${tool} not found" >&2; exit 1; }
done

# ---------------------------------------------------------------- builds
if [[ " ${SERVERS} " == *" sigloop "* ]]; then
    log "building sigloop's tls_echo_server example (release)"
    cargo build --quiet --release --manifest-path "${ROOT}/Cargo.toml" --example tls_echo_server
    SIGLOOP_BIN="$(cargo metadata --quiet --format-version 1 --no-deps --manifest-path "${ROOT}/Cargo.toml" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/examples/tls_echo_server"
fi

log "building the tokio-rustls peer and the load generator (release)"
cargo build --quiet --release --manifest-path "${PEERS}/Cargo.toml"
TOKIO_BIN="${OUT_DIR}/release/tokio_rustls_echo"
LOADGEN="${OUT_DIR}/release/tls_loadgen"

QT_BIN="${OUT_DIR}/qt/tls_echo_server_qt"
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
        g++ -O2 -fPIC -std=c++17 "${HERE}/qt/tls_echo_server.cpp" -o "${QT_BIN}" \
            $(pkg-config --cflags --libs Qt6Network)
        qt_version="$(pkg-config --modversion Qt6Network)"
    else
        SERVERS="${SERVERS/qt/}"
    fi
fi

# ---------------------------------------------------------------- limits
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fd_limit=$(ulimit -n)
if [[ "${fd_limit}" != unlimited && "${fd_limit}" -lt $((IDLE + 200)) ]]; then
    IDLE=$((fd_limit - 200))
    log "descriptor limit ${fd_limit}: memory test lowered to ${IDLE} connections"
fi

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

# ---------------------------------------------------------------- the PKI
log "making the run's CA and server certificate (ECDSA P-256)"
(
    cd "${work}"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -keyout ca.key -out ca.pem -subj "/CN=sigloop benchmark CA" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
        "keyUsage=digitalSignature" "extendedKeyUsage=serverAuth" >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile server.ext -out server.pem 2>/dev/null
)
CA="${work}/ca.pem" CERT="${work}/server.pem" KEY="${work}/server.key"

# ---------------------------------------------------------------- runs
bin_of() {
    case "$1" in
        sigloop) echo "${SIGLOOP_BIN}" ;;
        tokio) echo "${TOKIO_BIN}" ;;
        qt) echo "${QT_BIN}" ;;
    esac
}

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
        start_server "${name}" --cert "${CERT}" --key "${KEY}"
        "${pin_client[@]+"${pin_client[@]}"}" "${LOADGEN}" --port "${server_port}" \
            --pid "${server_pid}" --label "${name}" --out "${RAW}" --only "${only}" \
            --ca "${CA}" --duration "${DURATION}" --warmup "${WARMUP}" --idle "${IDLE}" \
            --inflight "${INFLIGHT}"
        stop_server
    done
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- report
elapsed=$(($(date +%s) - started))
python3 "${HERE}/report.py" "${RAW}" "${HERE}/results.md" "${HERE}/results.svg" \
    --meta "command=bash benches/tls/run.sh" \
    --meta "settings=ROUNDS=${ROUNDS} DURATION=${DURATION} WARMUP=${WARMUP} IDLE=${IDLE} INFLIGHT=${INFLIGHT} SERVERS='${SERVERS}' SCENARIOS=${SCENARIOS}" \
    --meta "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') ($(nproc) CPUs)" \
    --meta "kernel=$(uname -r)" \
    --meta "rustc=$(rustc --version)" \
    --meta "versions=rustls $(lock_version rustls "${PEERS}/Cargo.lock"), ring $(lock_version ring "${PEERS}/Cargo.lock"), tokio $(lock_version tokio "${PEERS}/Cargo.lock"), tokio-rustls $(lock_version tokio-rustls "${PEERS}/Cargo.lock"), Qt ${qt_version:-not built}, $(openssl version | cut -d' ' -f1-2)" \
    --meta "load=load average ${load_before} before, ${load_after} after" \
    --meta "date=$(date -u '+%Y-%m-%d %H:%M UTC')" \
    --meta "elapsed=${elapsed} s"
log "wrote ${HERE}/results.md and ${HERE}/results.svg in ${elapsed} s"
