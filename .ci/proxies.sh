#!/usr/bin/env bash
# Runs a command with real proxies listening on 127.0.0.1, then stops them,
# whatever the command's outcome:
#
#   bash .ci/proxies.sh cargo test --test proxy_real
#
# Installs what is missing (apt: dante-server microsocks squid tinyproxy,
# apache2-utils for squid's password file; a system user for dante's
# username method), starts each proxy in the foreground on a port chosen
# now, waits until it accepts, exports where it listens, runs the command,
# and stops every process it started by its recorded id (a trap, so a
# failing or interrupted command stops them too). It exits with the
# command's status.
#
# What the tests see (host:port, all on 127.0.0.1):
#   SIGLOOP_PROXY_MICROSOCKS        SOCKS5, no authentication
#   SIGLOOP_PROXY_MICROSOCKS_AUTH   SOCKS5, user qsockstest / password
#   SIGLOOP_PROXY_DANTE             SOCKS5 (dante), no authentication
#   SIGLOOP_PROXY_DANTE_AUTH        SOCKS5 (dante), system user qsockstest / password
#   SIGLOOP_PROXY_TINYPROXY_AUTH    HTTP CONNECT, Basic qsockstest / password
#   SIGLOOP_PROXY_SQUID_AUTH        HTTP CONNECT, Basic qsockstest / password
#
# Every proxy listens on and connects from 127.0.0.1 only. squid resolves
# names from /etc/hosts and a dead loopback DNS port, so a name it cannot
# resolve never leaves the machine.
set -euo pipefail

if (($# == 0)); then
    echo "usage: bash .ci/proxies.sh COMMAND [ARG...]" >&2
    exit 2
fi

log() { printf '\n==> %s\n' "$*" >&2; }

sudo_cmd=()
[[ ${EUID} -ne 0 ]] && sudo_cmd=(sudo)
as_root() { "${sudo_cmd[@]+"${sudo_cmd[@]}"}" "$@"; }

# ---------------------------------------------------------------------------
# Install what is missing.
# ---------------------------------------------------------------------------
PACKAGES=(dante-server microsocks squid tinyproxy apache2-utils)
missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg -s "${pkg}" >/dev/null 2>&1 || missing+=("${pkg}")
done
if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    # Debian starts a package's daemon on install unless policy-rc.d says
    # no; these must run only under this script.
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
        as_root chmod +x /usr/sbin/policy-rc.d
    fi
    as_root apt-get update
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y --no-install-recommends "${missing[@]}"
fi
# dante's username method checks the system's password database.
if ! id qsockstest >/dev/null 2>&1; then
    log "creating the system user qsockstest for dante"
    as_root useradd -M -s /usr/sbin/nologin qsockstest
    echo 'qsockstest:password' | as_root chpasswd
fi

# ---------------------------------------------------------------------------
# Start the proxies; stop them on exit.
# ---------------------------------------------------------------------------
RUN="$(mktemp -d /tmp/sigloop-proxies.XXXXXX)"
# The daemons drop privileges (nobody, tinyproxy, proxy) and write here.
chmod 777 "${RUN}"
PIDS=()

stop_all() {
    local pid
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do
        kill "${pid}" 2>/dev/null || true
    done
    # squid takes a few seconds (shutdown_lifetime); then SIGKILL.
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do
        for _ in $(seq 1 100); do
            kill -0 "${pid}" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "${pid}" 2>/dev/null || true
    done
    rm -rf "${RUN}"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# A port free on 127.0.0.1 now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until 127.0.0.1:$2 accepts; fails with $1's log otherwise.
wait_listening() {
    local name=$1 port=$2
    for _ in $(seq 1 150); do
        if (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "error: ${name} did not listen on 127.0.0.1:${port}; its log:" >&2
    cat "${RUN}/${name}.log" >&2 || true
    exit 1
}

start_microsocks() {
    local name=$1 port
    shift
    port=$(free_port)
    microsocks -i 127.0.0.1 -p "${port}" "$@" >"${RUN}/${name}.log" 2>&1 &
    PIDS+=("$!")
    wait_listening "${name}" "${port}"
    echo "${port}"
}

start_dante() {
    local name=$1 method=$2 port
    port=$(free_port)
    cat >"${RUN}/${name}.conf" <<EOF
logoutput: ${RUN}/${name}.log
internal: 127.0.0.1 port = ${port}
external: 127.0.0.1
clientmethod: none
socksmethod: ${method}
user.privileged: root
user.unprivileged: nobody
client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
socks pass {
    from: 127.0.0.0/8 to: 127.0.0.0/8
    command: connect bind udpassociate bindreply udpreply
}
socks block { from: 0.0.0.0/0 to: 0.0.0.0/0 }
EOF
    danted -f "${RUN}/${name}.conf" -p "${RUN}/${name}.pid" -N 1 >>"${RUN}/${name}.log" 2>&1 &
    PIDS+=("$!")
    wait_listening "${name}" "${port}"
    echo "${port}"
}

start_tinyproxy() {
    local name=$1 port
    port=$(free_port)
    cat >"${RUN}/${name}.conf" <<EOF
User tinyproxy
Group tinyproxy
Port ${port}
Listen 127.0.0.1
Bind 127.0.0.1
Timeout 60
LogFile "${RUN}/${name}.tplog"
LogLevel Info
PidFile "${RUN}/${name}.tppid"
MaxClients 50
Allow 127.0.0.1
DisableViaHeader Yes
BasicAuth qsockstest password
EOF
    tinyproxy -d -c "${RUN}/${name}.conf" >"${RUN}/${name}.log" 2>&1 &
    PIDS+=("$!")
    wait_listening "${name}" "${port}"
    echo "${port}"
}

start_squid() {
    local name=$1 port dir
    port=$(free_port)
    dir="${RUN}/${name}"
    mkdir -p "${dir}"
    htpasswd -bc "${dir}/htpasswd" qsockstest password 2>/dev/null
    chown -R proxy:proxy "${dir}" 2>/dev/null || true
    cat >"${RUN}/${name}.conf" <<EOF
http_port 127.0.0.1:${port}
visible_hostname sigloop-squid
pid_filename ${dir}/squid.pid
cache_log ${dir}/cache.log
access_log stdio:${dir}/access.log
cache_store_log none
coredump_dir ${dir}
cache_effective_user proxy
cache deny all
cache_mem 8 MB
shutdown_lifetime 1 seconds
hosts_file /etc/hosts
dns_nameservers 127.0.0.1
dns_timeout 2 seconds
tcp_outgoing_address 127.0.0.1
acl localnet src 127.0.0.0/8
auth_param basic program /usr/lib/squid/basic_ncsa_auth ${dir}/htpasswd
auth_param basic realm sigloop-test
auth_param basic credentialsttl 1 minute
acl authed proxy_auth REQUIRED
http_access deny !authed
http_access allow localnet
http_access deny all
EOF
    squid -N -f "${RUN}/${name}.conf" >"${RUN}/${name}.log" 2>&1 &
    PIDS+=("$!")
    wait_listening "${name}" "${port}"
    echo "${port}"
}

log "starting proxies on 127.0.0.1 (run directory ${RUN})"
# Each start runs in this shell (not a subshell), so PIDS records it.
start_microsocks microsocks >"${RUN}/port"
SIGLOOP_PROXY_MICROSOCKS="127.0.0.1:$(cat "${RUN}/port")"
start_microsocks microsocks-auth -u qsockstest -P password >"${RUN}/port"
SIGLOOP_PROXY_MICROSOCKS_AUTH="127.0.0.1:$(cat "${RUN}/port")"
start_dante dante none >"${RUN}/port"
SIGLOOP_PROXY_DANTE="127.0.0.1:$(cat "${RUN}/port")"
start_dante dante-auth username >"${RUN}/port"
SIGLOOP_PROXY_DANTE_AUTH="127.0.0.1:$(cat "${RUN}/port")"
start_tinyproxy tinyproxy-auth >"${RUN}/port"
SIGLOOP_PROXY_TINYPROXY_AUTH="127.0.0.1:$(cat "${RUN}/port")"
start_squid squid-auth >"${RUN}/port"
SIGLOOP_PROXY_SQUID_AUTH="127.0.0.1:$(cat "${RUN}/port")"
export SIGLOOP_PROXY_MICROSOCKS SIGLOOP_PROXY_MICROSOCKS_AUTH SIGLOOP_PROXY_DANTE \
    SIGLOOP_PROXY_DANTE_AUTH SIGLOOP_PROXY_TINYPROXY_AUTH SIGLOOP_PROXY_SQUID_AUTH
env | grep '^SIGLOOP_PROXY_' | sort >&2

status=0
"$@" || status=$?
exit "${status}"
