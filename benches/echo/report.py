#!/usr/bin/env python3
"""Turns the load generator's raw lines into results.md and results.svg.

    report.py RAW.tsv results.md results.svg [--meta key=value ...]

Standard library only. Per server and scenario it takes the median over
the rounds of the server CPU per operation and of the throughput, and
states each against raw mio and against the issue's targets.
"""

import statistics
import sys
from collections import defaultdict
from html import escape

SERVERS = [
    ("sigloop", "sigloop (ours)"),
    ("sigloop-async", "sigloop, async/await"),
    ("mio", "raw mio"),
    ("tokio", "tokio current_thread"),
    ("qt", "Qt 6 C++"),
]
SCENARIOS = [
    ("pp1_64", "ping-pong, 1 conn, 64 B", "round trip"),
    ("pp1_4k", "ping-pong, 1 conn, 4 KiB", "round trip"),
    ("pp100_64", "ping-pong, 100 conns, 64 B", "round trip"),
    ("pp100_4k", "ping-pong, 100 conns, 4 KiB", "round trip"),
    ("bulk64k", "bulk, 1 conn, 64 KiB blocks", "64 KiB block"),
    ("fullpipe", "full pipe, 1 conn, 64 KiB, 8 MiB in flight", "64 KiB block"),
    ("churn", "connect + 64 B echo + close", "connection"),
]
CPU_TARGET = 1.15  # x raw mio, every scenario
THROUGHPUT_TARGET = 0.95  # x raw mio, full pipe
P99_TARGET = 1.15  # x raw mio, p99 round-trip latency
RSS_IDLE_TARGET = 512  # bytes per idle connection
RSS_ECHO_TARGET = 1024  # bytes per connection after one echo


def parse(path):
    cpu = defaultdict(list)  # (server, scenario) -> [ns/op]
    rate = defaultdict(list)  # (server, scenario) -> [ops/s]
    mbps = defaultdict(list)  # (server, scenario) -> [MB/s]
    p99 = defaultdict(list)  # (server, scenario) -> [µs]
    p50 = defaultdict(list)  # (server, scenario) -> [µs]
    rss = {}
    for line in open(path):
        fields = line.rstrip("\n").split("\t")
        if len(fields) < 3:
            continue
        server, scenario = fields[0], fields[1]
        kv = dict(f.split("=", 1) for f in fields[2:])
        if scenario == "rss":
            rss[server] = {k: int(v) for k, v in kv.items()}
            continue
        ops, secs = int(kv["ops"]), float(kv["secs"])
        if ops == 0 or secs <= 0:
            continue
        cpu[server, scenario].append(int(kv["cpu_ns"]) / ops)
        rate[server, scenario].append(ops / secs)
        mbps[server, scenario].append(int(kv["bytes"]) / secs / 1e6)
        if "p99_us" in kv:
            p99[server, scenario].append(float(kv["p99_us"]))
            p50[server, scenario].append(float(kv["p50_us"]))
    med = lambda d: {k: statistics.median(v) for k, v in d.items()}  # noqa: E731
    rounds = max((len(v) for v in cpu.values()), default=0)
    # sigloop / raw mio in each round (the rounds ran close together).
    # Per-round ratios pair the rounds in order; a server's rounds run in
    # the same order, so the i-th values ran close together.
    def ratios(d, scenario):
        ours, base = d.get(("sigloop", scenario)), d.get(("mio", scenario))
        if not ours or not base:
            return None
        r = [a / b for a, b in zip(ours, base)]
        return (min(r), max(r))
    scenarios = {sc for _, sc in cpu}
    spread = {sc: ratios(cpu, sc) for sc in scenarios if ratios(cpu, sc)}
    rate_spread = {sc: ratios(rate, sc) for sc in scenarios if ratios(rate, sc)}
    p99_spread = {sc: ratios(p99, sc) for sc in scenarios if ratios(p99, sc)}
    lat = {"p50": med(p50), "p99": med(p99), "p99_spread": p99_spread,
           "rate_spread": rate_spread}
    return med(cpu), med(rate), med(mbps), rss, rounds, spread, lat


def per_conn(r, key):
    return (r[key] - r["base_kb"]) * 1024 / r["conns"]


def table_head(cols):
    return "| " + " | ".join(cols) + " |\n" + "|---" * len(cols) + "|"


def fmt_bytes(b):
    return f"{b:,.0f} B" if b < 10_000 else f"{b / 1024:,.1f} KiB"


def markdown(cpu, rate, mbps, rss, rounds, spread, lat, meta, servers):
    out = []
    w = out.append
    w("# Echo benchmark: sigloop against raw mio, tokio and Qt 6\n")
    w(f"Produced by `{meta.get('command', 'bash benches/echo/run.sh')}` "
      f"({meta.get('settings', '')}; {meta.get('elapsed', '?')}). "
      "Every server is single-threaded and pinned to CPU 0; the load generator "
      "(`peers/src/bin/loadgen.rs`) is pinned to CPU 1; all traffic is on 127.0.0.1. "
      "Server CPU is the server's on-CPU time from `/proc/<pid>/task/*/schedstat` "
      "over the measured window, divided by the operations in it; "
      f"each figure is the median of {rounds} interleaved rounds.\n")
    w("| | |\n|---|---|")
    for key in ("cpu", "kernel", "rustc", "versions", "load", "date"):
        if key in meta:
            w(f"| {key} | {escape(meta[key])} |")
    w("")
    names = dict(SERVERS)
    w("## Server CPU per operation\n")
    w(f"µs of server CPU per operation; in brackets the ratio to raw mio. "
      f"Target from the issue: sigloop ≤ {CPU_TARGET:.2f}× raw mio in every scenario. "
      "The last column also gives the lowest and highest sigloop/mio ratio of "
      "single rounds: on a shared two-CPU machine the one-connection and churn "
      "scenarios (dominated by the kernel's sleep and wake-up costs) vary by "
      "±20% from run to run. The full-pipe scenario keeps up to 8 MiB in flight "
      "on one connection while the client drains it through a 128 KiB receive "
      "buffer (`SO_RCVBUF`), so the server's send buffer fills and the echo "
      "waits in the server's own buffers (on Linux loopback a 1 MiB window "
      "never fills it: the send buffer grows to 4 MiB).\n")
    cols = ["scenario (operation)"] + [names[s] for s in servers]
    if "sigloop" in servers and "mio" in servers:
        cols.append(f"sigloop ≤ {CPU_TARGET:.2f}× mio?")
    w(table_head(cols))
    for sc, title, op in SCENARIOS:
        if not any((s, sc) in cpu for s in servers):
            continue
        row = f"| {title} ({op}) |"
        base = cpu.get(("mio", sc))
        for s in servers:
            v = cpu.get((s, sc))
            if v is None:
                row += " – |"
            elif base and s != "mio":
                row += f" {v / 1e3:.2f} ({v / base:.2f}×) |"
            else:
                row += f" {v / 1e3:.2f} |"
        if "sigloop" in servers and base:
            ours = cpu.get(("sigloop", sc))
            if ours is not None:
                ok = ours / base <= CPU_TARGET
                lo, hi = spread.get(sc, (ours / base, ours / base))
                row += (f" {'yes' if ok else '**no**'} ({ours / base:.2f}×; "
                        f"rounds {lo:.2f}–{hi:.2f}×) |")
            else:
                row += " – |"
        w(row)
    w("")
    w("## Throughput\n")
    w("Operations per second seen by the load generator (MB/s of echoed payload "
      "and the ratio to raw mio in brackets). With one load-generator thread the "
      "client side often limits these; the CPU table is the comparison that "
      "matters, except in the full-pipe scenario, where the issue's target is "
      f"sigloop ≥ {THROUGHPUT_TARGET:.2f}× raw mio's throughput "
      "(the last column gives single rounds' ratios).\n")
    cols = ["scenario"] + [names[s] for s in servers]
    if "sigloop" in servers and "mio" in servers:
        cols.append("sigloop/mio, single rounds")
    w(table_head(cols))
    for sc, title, _ in SCENARIOS:
        if not any((s, sc) in rate for s in servers):
            continue
        row = f"| {title} |"
        base = rate.get(("mio", sc))
        for s in servers:
            v = rate.get((s, sc))
            if v is None:
                row += " – |"
                continue
            ratio = f"; {v / base:.2f}×" if base and s != "mio" else ""
            row += f" {v:,.0f}/s ({mbps[s, sc]:,.1f} MB/s{ratio}) |"
        if "sigloop" in servers and "mio" in servers:
            lo_hi = lat["rate_spread"].get(sc)
            row += f" {lo_hi[0]:.2f}–{lo_hi[1]:.2f}× |" if lo_hi else " – |"
        w(row)
    w("")
    if lat["p99"]:
        w("## Round-trip latency\n")
        w("Ping-pong round trips as the load generator sees them, from the first "
          "byte sent to the last byte back: median / 99th percentile in µs over the "
          "measured window (median of the rounds), ratio of the p99 to raw mio's in "
          f"brackets. Target from the issue: sigloop's p99 ≤ {P99_TARGET:.2f}× raw "
          "mio's at 100 connections × 4 KiB. Under background load (see the load "
          "average above) the tail is the scheduler's: a p99 of milliseconds means "
          "the server or the load generator waited for a CPU.\n")
        cols = ["scenario"] + [names[s] for s in servers]
        if "sigloop" in servers and "mio" in servers:
            cols.append("sigloop p99/mio, single rounds")
        w(table_head(cols))
        for sc, title, _ in SCENARIOS:
            if not any((s, sc) in lat["p99"] for s in servers):
                continue
            row = f"| {title} |"
            base = lat["p99"].get(("mio", sc))
            for s in servers:
                v = lat["p99"].get((s, sc))
                if v is None:
                    row += " – |"
                    continue
                ratio = f" ({v / base:.2f}×)" if base and s != "mio" else ""
                row += f" {lat['p50'][s, sc]:,.0f} / {v:,.0f}{ratio} |"
            if "sigloop" in servers and "mio" in servers:
                lo_hi = lat["p99_spread"].get(sc)
                row += f" {lo_hi[0]:.2f}–{lo_hi[1]:.2f}× |" if lo_hi else " – |"
            w(row)
        w("")
    if not rss:
        return "\n".join(out) + "\n"
    w("## Server memory per connection\n")
    conns = next((r["conns"] for r in rss.values()), 0)
    w(f"Server RSS (`VmRSS`) with {conns:,} idle connections, and after one 64-byte "
      f"echo on each, minus the RSS before connecting, divided by {conns:,}. "
      f"Targets from the issue for sigloop: ≤ {RSS_IDLE_TARGET} B idle, "
      f"≤ {RSS_ECHO_TARGET} B after an echo.\n")
    w("| server | baseline RSS | per idle connection | per connection after one echo |")
    w("|---|---|---|---|")
    for s in servers:
        r = rss.get(s)
        if not r:
            w(f"| {names[s]} | – | – | – |")
            continue
        idle, echo = per_conn(r, "idle_kb"), per_conn(r, "echo_kb")
        note_i = note_e = ""
        if s == "sigloop":
            note_i = " ✓" if idle <= RSS_IDLE_TARGET else " **✗ over target**"
            note_e = " ✓" if echo <= RSS_ECHO_TARGET else " **✗ over target**"
        w(f"| {names[s]} | {r['base_kb']:,} kB | {fmt_bytes(idle)}{note_i} "
          f"| {fmt_bytes(echo)}{note_e} |")
    w("")
    w("## Reference numbers (from the issue, measured earlier on this kind of machine)\n")
    w("| measurement | raw mio | Qt 6 C++ |")
    w("|---|---|---|")
    w("| server CPU per 64 B round trip, 100 connections | 6.4 µs | 10.6 µs |")
    w("| RSS per idle connection | 54 B | 2.4 KB |")
    w("| RSS per connection after one echo | – | 15 KB |")
    w("")
    w("Chart: [results.svg](results.svg) (server CPU per operation as a ratio to raw mio).")
    return "\n".join(out) + "\n"


def svg(cpu, servers):
    shown = [s for s in servers if s != "mio"]
    colors = {
        "sigloop": "#2f6fb5",
        "sigloop-async": "#7a4fb5",
        "tokio": "#c5662b",
        "qt": "#3c9a4b",
    }
    names = dict(SERVERS)
    ratios = [cpu[s, sc] / cpu["mio", sc] for sc, _, _ in SCENARIOS for s in shown
              if (s, sc) in cpu and ("mio", sc) in cpu]
    top = max([2.0, CPU_TARGET] + ratios) * 1.08
    left, width, bar, gap = 270, 520, 14, 12
    group = bar * len(shown) + gap
    height = 80 + group * len(SCENARIOS) + 40
    x = lambda r: left + r / top * width  # noqa: E731
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 120}" '
         f'height="{height}" font-family="sans-serif" font-size="12">',
         '<rect width="100%" height="100%" fill="white"/>',
         f'<text x="10" y="22" font-size="15" font-weight="bold">Server CPU per '
         f'operation, ratio to raw mio (lower is better)</text>']
    for i, s in enumerate(shown):
        o.append(f'<rect x="{10 + i * 170}" y="34" width="12" height="12" fill="{colors[s]}"/>'
                 f'<text x="{26 + i * 170}" y="45">{escape(names[s])}</text>')
    y0 = 64
    for tick in [t / 2 for t in range(0, int(top * 2) + 1)]:
        o.append(f'<line x1="{x(tick):.1f}" y1="{y0}" x2="{x(tick):.1f}" '
                 f'y2="{height - 30}" stroke="#ddd"/>'
                 f'<text x="{x(tick):.1f}" y="{height - 14}" text-anchor="middle">'
                 f'{tick:g}×</text>')
    marks = ((1.0, "raw mio = 1×", "end", -3, ""),
             (CPU_TARGET, f"target {CPU_TARGET:g}×", "start", 3, ' stroke-dasharray="5,3"'))
    for r, label, anchor, dx, dash in marks:
        o.append(f'<line x1="{x(r):.1f}" y1="{y0 - 4}" x2="{x(r):.1f}" y2="{height - 30}" '
                 f'stroke="#c00"{dash}/>'
                 f'<text x="{x(r) + dx:.1f}" y="{y0 - 6}" fill="#c00" font-size="10" '
                 f'text-anchor="{anchor}">{label}</text>')
    for g, (sc, title, _) in enumerate(SCENARIOS):
        gy = y0 + 6 + g * group
        o.append(f'<text x="{left - 8}" y="{gy + bar * len(shown) / 2 + 4}" '
                 f'text-anchor="end">{escape(title)}</text>')
        for i, s in enumerate(shown):
            if (s, sc) not in cpu or ("mio", sc) not in cpu:
                continue
            r = cpu[s, sc] / cpu["mio", sc]
            by = gy + i * bar
            o.append(f'<rect x="{left}" y="{by}" width="{x(r) - left:.1f}" '
                     f'height="{bar - 2}" fill="{colors[s]}"/>'
                     f'<text x="{x(r) + 4:.1f}" y="{by + bar - 4}" font-size="10">'
                     f'{r:.2f}× ({cpu[s, sc] / 1e3:.1f} µs)</text>')
    o.append("</svg>")
    return "\n".join(o) + "\n"


def main(argv):
    if len(argv) < 4:
        sys.exit("usage: report.py RAW.tsv results.md results.svg [--meta key=value ...]")
    raw, md_path, svg_path = argv[1:4]
    meta = {}
    rest = argv[4:]
    while rest:
        if rest[0] == "--meta" and len(rest) > 1:
            k, _, v = rest[1].partition("=")
            meta[k] = v
            rest = rest[2:]
        else:
            sys.exit(f"unknown argument {rest[0]!r}")
    cpu, rate, mbps, rss, rounds, spread, lat = parse(raw)
    present = {s for s, _ in cpu} | set(rss)
    servers = [s for s, _ in SERVERS if s in present]
    with open(md_path, "w") as f:
        f.write(markdown(cpu, rate, mbps, rss, rounds, spread, lat, meta, servers))
    with open(svg_path, "w") as f:
        f.write(svg(cpu, servers))


if __name__ == "__main__":
    main(sys.argv)
