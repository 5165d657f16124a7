#!/usr/bin/env bash
# The async/await benchmark in one run (issue: async/await on the loop):
#
#   bash benches/async.sh
#
# 1. `cargo bench --bench async`: an emission awaited by a task against a
#    plain slot (ns per emission), and a `spawn_local` task hop against a
#    tokio `LocalSet` hop (target: ours <= tokio's);
# 2. the echo benchmark with the slot echo server (`sigloop`) and the
#    async/await one (`sigloop-async`, examples/async_echo_server.rs):
#    server CPU per round trip at 100 connections x 64 B, interleaved
#    rounds (target: async <= 1.10x slots). Its report goes to
#    benches/echo/peers/target/async (the committed benches/echo report is
#    left alone); the ratio of the medians is printed at the end.
#
# Knobs: ROUNDS (5), DURATION (1.0) as for benches/echo/run.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "${HERE}/.." && pwd)"
OUT="${HERE}/echo/peers/target/async"

cargo bench --quiet --manifest-path "${ROOT}/Cargo.toml" --bench async

SERVERS="sigloop sigloop-async" SCENARIOS=pp100_64 REPORT_DIR="${OUT}" \
    bash "${HERE}/echo/run.sh"

python3 - "${HERE}/echo/peers/target/echo-raw.tsv" <<'PY'
import statistics, sys
cpu = {}
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if len(f) < 3 or f[1] != "pp100_64":
        continue
    kv = dict(x.split("=", 1) for x in f[2:])
    if int(kv["ops"]) > 0:
        cpu.setdefault(f[0], []).append(int(kv["cpu_ns"]) / int(kv["ops"]) / 1000)
slots, asyncs = statistics.median(cpu["sigloop"]), statistics.median(cpu["sigloop-async"])
ratio = asyncs / slots
print(f"echo, 100 connections x 64 B, server CPU per round trip (median of "
      f"{len(cpu['sigloop'])} rounds): slots {slots:.2f} us, async/await {asyncs:.2f} us, "
      f"async/slots {ratio:.3f}x (target <= 1.10x: {'yes' if ratio <= 1.10 else 'NO'})")
PY
