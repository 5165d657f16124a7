# Shell helpers the benchmark scripts share (benches/echo/run.sh,
# benches/tls/run.sh): logging, CPU pinning, starting a server that prints
# `listening on <port>`, and the round order. Sourced, not run.

log() { printf '==> %s\n' "$*" >&2; }

# Servers on CPU 0 and the load generator on CPU 1, when there are two.
pin_server=() pin_client=()
if command -v taskset >/dev/null && [[ $(nproc) -ge 2 ]]; then
    pin_server=(taskset -c 0) pin_client=(taskset -c 1)
else
    log "taskset or a second CPU missing: running unpinned"
fi

# Starts server $1 (the binary `bin_of $1` names; the caller defines
# bin_of and work) with `--port 0` and the rest of the arguments; sets
# server_pid and server_port.
start_server() {
    local name=$1
    shift
    local out="${work}/${name}.out"
    : >"${out}"
    "${pin_server[@]+"${pin_server[@]}"}" "$(bin_of "${name}")" --port 0 "$@" \
        >"${out}" 2>"${work}/${name}.err" </dev/null &
    server_pid=$!
    local i
    # Why a sleep: the server is another process and only its output says
    # it listens; bounded at 10 s.
    for ((i = 0; i < 200; i++)); do
        if read -r first <"${out}" 2>/dev/null && [[ "${first}" == "listening on "* ]]; then
            server_port="${first#listening on }"
            return 0
        fi
        kill -0 "${server_pid}" 2>/dev/null || break
        sleep 0.05
    done
    echo "error: ${name} did not report its port" >&2
    cat "${work}/${name}.err" >&2
    exit 1
}

stop_server() {
    kill "${server_pid}" 2>/dev/null || true
    wait "${server_pid}" 2>/dev/null || true
    server_pid=""
}

# Sets `order` to the servers of round $1 (1-based) out of the rest of the
# arguments: each round starts with the next server, so that a server that
# always ran first would not always inherit the kernel's cleanup of the
# previous round (thousands of TIME_WAIT sockets from the churn scenario).
round_order() {
    local round=$1
    shift
    local servers=("$@") i
    order=()
    for ((i = 0; i < ${#servers[@]}; i++)); do
        order+=("${servers[(i + round - 1) % ${#servers[@]}]}")
    done
}

# The scenarios of round $1 out of the comma-separated list $2: memory
# (`rss`) only in the first round, on each server's first, fresh start.
round_scenarios() {
    if [[ $1 -gt 1 ]]; then
        tr ',' '\n' <<<"$2" | { grep -vx rss || true; } | paste -sd, -
    else
        printf '%s\n' "$2"
    fi
}

# The version of crate $1 in Cargo.lock $2.
lock_version() {
    grep -A1 "^name = \"$1\"\$" "$2" | sed -n 's/^version = "\(.*\)"/\1/p'
}
