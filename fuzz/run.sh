#!/usr/bin/env bash
# Runs one fuzz target for a while, on one core, from its committed corpus.
#
#   fuzz/run.sh TARGET SECONDS [libFuzzer flags...]
#   fuzz/run.sh data_stream 600
#   fuzz/run.sh list                # the targets
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# New inputs that add coverage go to fuzz/corpus/TARGET; shrink it before
# committing with `cargo +nightly fuzz cmin TARGET fuzz/corpus/TARGET`.
# A crash is saved under fuzz/artifacts/TARGET and printed with the
# command that replays it; turn it into a test in the normal suite.
# Ends with the number of executions (libFuzzer's final stats).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

if [[ "${1:-}" == list ]]; then
    cargo +nightly fuzz list
    exit 0
fi
if [[ $# -lt 2 ]]; then
    echo "usage: fuzz/run.sh TARGET SECONDS [libFuzzer flags...]" >&2
    exit 2
fi
target=$1
seconds=$2
shift 2

mkdir -p "corpus/${target}"
# Sanitizer: AddressSanitizer for udp_datagram, whose path runs unsafe
# code in its dependencies (nix decoding control messages); none for the
# others, whose code forbids unsafe (ASan would slow them down to check
# only std's own unsafe code). SANITIZER=address|none overrides.
# Either way a single allocation above 64 MiB aborts (CappedAlloc in
# fuzz/src/lib.rs): a hostile size must never be allocated up front.
default_sanitizer=none
[[ "${target}" == udp_datagram ]] && default_sanitizer=address
sanitizer=${SANITIZER:-${default_sanitizer}}
# --debug-assertions: integer overflow and debug_assert! count as crashes.
# One process on one core (the machine is shared).
log=$(mktemp)
trap 'rm -f "${log}"' EXIT
set +e
cargo +nightly fuzz run --sanitizer "${sanitizer}" --debug-assertions \
    "${target}" "corpus/${target}" -- \
    -max_total_time="${seconds}" \
    -rss_limit_mb=2048 \
    -malloc_limit_mb=256 \
    -print_final_stats=1 \
    "$@" 2>&1 | tee "${log}"
status=${PIPESTATUS[0]}
set -e
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "${log}" | tail -1)
echo "fuzz/run.sh: ${target}: ${execs:-?} executions in ${SECONDS} s (limit ${seconds} s), exit ${status}"
exit "${status}"
