#!/usr/bin/env bash
# Soak: a sigloop echo server under connect/echo/verify/close churn from
# several client threads for SECONDS, on loopback (examples/soak.rs).
# Prints connections, bytes verified, fd count and RSS before, during and
# after; exits non-zero if anything was lost or the server's descriptors
# or memory grew (see the tolerances in examples/soak.rs).
#
#   scripts/soak.sh SECONDS [--release] [--clients N]
#   scripts/soak.sh 60
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ $# -lt 1 || ! "$1" =~ ^[0-9]+$ ]]; then
    echo "usage: scripts/soak.sh SECONDS [--release] [--clients N]" >&2
    exit 2
fi
seconds=$1
shift
profile=()
args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --release) profile=(--release) ;;
        --clients) args+=(--clients "$2"); shift ;;
        *) echo "scripts/soak.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

cargo build --quiet "${profile[@]+"${profile[@]}"}" --example soak
dir=target/debug
[[ ${#profile[@]} -gt 0 ]] && dir=target/release
# Bounded: the soak stops its clients after SECONDS and gives up on them
# 60 s later; this outer limit only catches a wedged server.
timeout --kill-after=10 "$((seconds + 120))" \
    "${dir}/examples/soak" --seconds "${seconds}" "${args[@]+"${args[@]}"}"
