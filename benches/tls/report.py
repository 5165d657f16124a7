#!/usr/bin/env python3
"""Turns the TLS load generator's raw lines into results.md and results.svg.

    report.py RAW.tsv results.md results.svg [--meta key=value ...]

Standard library only. Per server and scenario it takes the median over
the rounds and states sigloop against tokio-rustls and the issue's
targets: server CPU per operation <= 1.15x, handshakes per second
>= 0.9x, memory per idle TLS connection <= 1x.
"""

import statistics
import sys
from collections import defaultdict
from html import escape

SERVERS = [
    ("sigloop", "sigloop SslServer (ours)"),
    ("tokio", "tokio-rustls"),
    ("qt", "Qt 6 QSslServer"),
]
ECHO = [
    ("pp100_4k", "ping-pong, 100 conns, 4 KiB", "round trip"),
    ("bulk64k", "bulk, 1 conn, 64 KiB blocks", "64 KiB block"),
]
HANDSHAKES = [
    ("hs_full", "full handshakes"),
    ("hs_resumed", "resumed handshakes"),
]
CPU_TARGET = 1.15  # sigloop / tokio-rustls, server CPU per operation
RATE_TARGET = 0.90  # sigloop / tokio-rustls, handshakes per second
RSS_TARGET = 1.00  # sigloop / tokio-rustls, memory per idle connection


def parse(path):
    cpu = defaultdict(list)  # (server, scenario) -> [ns/op]
    rate = defaultdict(list)  # (server, scenario) -> [ops/s]
    mbps = defaultdict(list)
    busy = defaultdict(list)  # (server, scenario) -> [share of a CPU]
    resumed = defaultdict(list)  # (server, scenario) -> [share resumed]
    lat = defaultdict(list)  # (server, scenario) -> [(p50, p99)]
    rss, check = {}, {}
    for line in open(path):
        fields = line.rstrip("\n").split("\t")
        if len(fields) < 3:
            continue
        server, scenario = fields[0], fields[1]
        kv = dict(f.split("=", 1) for f in fields[2:])
        if scenario == "rss":
            rss[server] = {k: int(v) for k, v in kv.items()}
            continue
        if scenario == "check":
            check[server] = kv
            continue
        ops, secs = int(kv["ops"]), float(kv["secs"])
        if ops == 0 or secs <= 0:
            continue
        key = server, scenario
        cpu[key].append(int(kv["cpu_ns"]) / ops)
        rate[key].append(ops / secs)
        mbps[key].append(int(kv["bytes"]) / secs / 1e6)
        busy[key].append(int(kv["cpu_ns"]) / 1e9 / secs)
        if "resumed" in kv:
            resumed[key].append(int(kv["resumed"]) / ops)
        if "p99_us" in kv:
            lat[key].append((float(kv["p50_us"]), float(kv["p99_us"])))
    med = lambda d: {k: statistics.median(v) for k, v in d.items()}  # noqa: E731
    rounds = max((len(v) for v in cpu.values()), default=0)
    # sigloop / tokio-rustls in single rounds (the i-th rounds ran close together).
    def spread(d, scenario):
        ours, base = d.get(("sigloop", scenario)), d.get(("tokio", scenario))
        if not ours or not base:
            return None
        r = [a / b for a, b in zip(ours, base)]
        return (min(r), max(r))
    scenarios = {sc for _, sc in cpu}
    spreads = {
        "cpu": {sc: spread(cpu, sc) for sc in scenarios},
        "rate": {sc: spread(rate, sc) for sc in scenarios},
    }
    latency = {k: (statistics.median(p for p, _ in v), statistics.median(q for _, q in v))
               for k, v in lat.items()}
    return {
        "cpu": med(cpu), "rate": med(rate), "mbps": med(mbps), "busy": med(busy),
        "resumed": med(resumed), "latency": latency, "rss": rss, "check": check,
        "rounds": rounds, "spreads": spreads,
    }


def per_conn(r):
    return (r["idle_kb"] - r["base_kb"]) * 1024 / r["conns"]


def fmt_bytes(b):
    return f"{b:,.0f} B" if b < 10_000 else f"{b / 1024:,.1f} KiB"


def verdict(ok):
    return "yes" if ok else "**no**"


def markdown(d, meta, servers):
    out = []
    w = out.append
    names = dict(SERVERS)
    w("# TLS echo benchmark: sigloop against tokio-rustls and Qt 6\n")
    w(f"Produced by `{meta.get('command', 'bash benches/tls/run.sh')}` "
      f"({meta.get('settings', '')}; {meta.get('elapsed', '?')}). "
      "Every server is single-threaded, sets `TCP_NODELAY` on its connections and "
      "is pinned to CPU 0; the load generator (`peers/src/bin/tls_loadgen.rs`, "
      "rustls on ring, TLS 1.3, X25519) is pinned to CPU 1; all traffic is on "
      "127.0.0.1. The server certificate is ECDSA P-256, signed by a CA made for "
      "the run. Server CPU is the server's on-CPU time from "
      "`/proc/<pid>/task/*/schedstat` over the measured window, divided by the "
      f"operations in it; each figure is the median of {d['rounds']} interleaved rounds.\n")
    w("| | |\n|---|---|")
    for key in ("cpu", "kernel", "rustc", "versions", "load", "date"):
        if key in meta:
            w(f"| {key} | {escape(meta[key])} |")
    w("")
    if d["check"]:
        w("What each server negotiated with the load generator (first connection, "
          "certificate verified against the run's CA):\n")
        w("| server | protocol | cipher suite | key exchange |")
        w("|---|---|---|---|")
        for s in servers:
            c = d["check"].get(s)
            if c:
                w(f"| {names[s]} | {c.get('version', '?')} | {c.get('suite', '?')} "
                  f"| {c.get('kx', '?')} |")
        w("")
    cpu, rate, base_ok = d["cpu"], d["rate"], "tokio" in servers
    ratio_col = "sigloop ≤ 1.15× tokio-rustls?"

    w("## Server CPU per operation\n")
    w("µs of server CPU per operation; in brackets the ratio to tokio-rustls. "
      f"Target from the issue: sigloop ≤ {CPU_TARGET:.2f}× tokio-rustls. The last "
      "column also gives the lowest and highest ratio of single rounds.\n")
    cols = ["scenario (operation)"] + [names[s] for s in servers]
    if "sigloop" in servers and base_ok:
        cols.append(ratio_col)
    w("| " + " | ".join(cols) + " |\n" + "|---" * len(cols) + "|")
    for sc, title, op in ECHO + [(sc, t, "handshake") for sc, t in HANDSHAKES]:
        if not any((s, sc) in cpu for s in servers):
            continue
        row = f"| {title} ({op}) |"
        base = cpu.get(("tokio", sc))
        for s in servers:
            v = cpu.get((s, sc))
            if v is None:
                row += " – |"
            elif base and s != "tokio":
                row += f" {v / 1e3:.2f} ({v / base:.2f}×) |"
            else:
                row += f" {v / 1e3:.2f} |"
        if "sigloop" in servers and base_ok:
            ours = cpu.get(("sigloop", sc))
            if ours is not None and base:
                lo, hi = d["spreads"]["cpu"].get(sc) or (ours / base, ours / base)
                row += (f" {verdict(ours / base <= CPU_TARGET)} ({ours / base:.2f}×; "
                        f"rounds {lo:.2f}–{hi:.2f}×) |")
            else:
                row += " – |"
        w(row)
    w("")

    w("## Handshakes per second\n")
    w("Connections per second, each a TCP connect, a TLS 1.3 handshake, a 64-byte "
      "echo and a close, with several at a time; in brackets the ratio to "
      f"tokio-rustls, then the share of a CPU the server used. Target from the issue: "
      f"sigloop ≥ {RATE_TARGET:.2f}× tokio-rustls. Where the server used much less "
      "than a whole CPU, the load generator, not the server, set the rate: then the "
      "CPU per handshake above is the comparison that tells. \"Resumed\" gives the "
      "share of handshakes that resumed a session.\n")
    cols = ["scenario"] + [names[s] for s in servers]
    if "sigloop" in servers and base_ok:
        cols.append("sigloop ≥ 0.90× tokio-rustls?")
    w("| " + " | ".join(cols) + " |\n" + "|---" * len(cols) + "|")
    for sc, title in HANDSHAKES:
        if not any((s, sc) in rate for s in servers):
            continue
        row = f"| {title} |"
        base = rate.get(("tokio", sc))
        for s in servers:
            v = rate.get((s, sc))
            if v is None:
                row += " – |"
                continue
            ratio = f"{v / base:.2f}×, " if base and s != "tokio" else ""
            extra = ""
            if sc == "hs_resumed":
                extra = f", resumed {d['resumed'].get((s, sc), 0) * 100:.0f}%"
            row += f" {v:,.0f}/s ({ratio}CPU {d['busy'][s, sc] * 100:.0f}%{extra}) |"
        if "sigloop" in servers and base_ok:
            ours = rate.get(("sigloop", sc))
            if ours is not None and base:
                lo, hi = d["spreads"]["rate"].get(sc) or (ours / base, ours / base)
                row += (f" {verdict(ours / base >= RATE_TARGET)} ({ours / base:.2f}×; "
                        f"rounds {lo:.2f}–{hi:.2f}×) |")
            else:
                row += " – |"
        w(row)
    w("")

    w("## Echo throughput and latency\n")
    w("Operations per second seen by the load generator, MB/s of echoed payload, "
      "and for ping-pong the median / 99th percentile round trip in µs. With one "
      "load-generator thread the client side often limits these; the CPU table is "
      "the comparison that matters.\n")
    cols = ["scenario"] + [names[s] for s in servers]
    w("| " + " | ".join(cols) + " |\n" + "|---" * len(cols) + "|")
    for sc, title, _ in ECHO:
        if not any((s, sc) in rate for s in servers):
            continue
        row = f"| {title} |"
        for s in servers:
            v = rate.get((s, sc))
            if v is None:
                row += " – |"
                continue
            lat = d["latency"].get((s, sc))
            lat_text = f"; {lat[0]:,.0f} / {lat[1]:,.0f} µs" if lat else ""
            row += f" {v:,.0f}/s ({d['mbps'][s, sc]:,.1f} MB/s{lat_text}) |"
        w(row)
    w("")

    if d["rss"]:
        w("## Server memory per idle TLS connection\n")
        conns = next((r["conns"] for r in d["rss"].values()), 0)
        w(f"Server RSS (`VmRSS`) with {conns:,} idle TLS connections (handshake done, "
          f"one 64-byte echo each), minus the RSS before connecting, divided by {conns:,}. "
          "Target from the issue: sigloop no more than tokio-rustls.\n")
        w("| server | baseline RSS | per idle TLS connection |")
        w("|---|---|---|")
        base = d["rss"].get("tokio")
        for s in servers:
            r = d["rss"].get(s)
            if not r:
                w(f"| {names[s]} | – | – |")
                continue
            note = ""
            if base and s != "tokio":
                ratio = per_conn(r) / per_conn(base)
                note = f" ({ratio:.2f}×)"
                if s == "sigloop":
                    note += " ✓" if ratio <= RSS_TARGET else " **✗ over target**"
            w(f"| {names[s]} | {r['base_kb']:,} kB | {fmt_bytes(per_conn(r))}{note} |")
        w("")
    w("Chart: [results.svg](results.svg) (each measure as a ratio to tokio-rustls).")
    return "\n".join(out) + "\n"


def chart_rows(d, servers):
    """(title, target, {server: cost ratio to tokio-rustls}); lower is better."""
    rows = []
    for sc, title, _ in ECHO:
        rows.append((f"CPU per op: {title}", CPU_TARGET, sc, d["cpu"], False))
    for sc, title in HANDSHAKES:
        rows.append((f"time per handshake: {title}", 1 / RATE_TARGET, sc, d["rate"], True))
    out = []
    for title, target, sc, table, inverse in rows:
        base = table.get(("tokio", sc))
        if not base:
            continue
        vals = {}
        for s in servers:
            v = table.get((s, sc))
            if s != "tokio" and v:
                vals[s] = base / v if inverse else v / base
        out.append((title, target, vals))
    base = d["rss"].get("tokio")
    if base and per_conn(base) > 0:
        vals = {s: per_conn(d["rss"][s]) / per_conn(base)
                for s in servers if s != "tokio" and s in d["rss"]}
        out.append(("memory per idle TLS connection", RSS_TARGET, vals))
    return out


def svg(d, servers):
    shown = [s for s in servers if s != "tokio"]
    colors = {"sigloop": "#2f6fb5", "qt": "#3c9a4b"}
    names = dict(SERVERS)
    rows = chart_rows(d, servers)
    # The axis fits sigloop and the targets; a longer bar (Qt's memory is
    # several times tokio-rustls') is cut at the edge, its value written.
    ours = [vals["sigloop"] for _, _, vals in rows if "sigloop" in vals]
    top = max([2.0] + ours) * 1.08
    left, width, bar, gap = 330, 480, 14, 14
    group = bar * max(len(shown), 1) + gap
    height = 80 + group * len(rows) + 40
    x = lambda r: left + r / top * width  # noqa: E731
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 130}" '
         f'height="{height}" font-family="sans-serif" font-size="12">',
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="10" y="22" font-size="15" font-weight="bold">TLS echo: cost as a ratio '
         'to tokio-rustls (lower is better; red dashes: the issue\'s target)</text>']
    for i, s in enumerate(shown):
        o.append(f'<rect x="{10 + i * 200}" y="34" width="12" height="12" fill="{colors[s]}"/>'
                 f'<text x="{26 + i * 200}" y="45">{escape(names[s])}</text>')
    y0 = 64
    step = 0.5 if top <= 4 else (1 if top <= 10 else 5)
    tick = 0.0
    while tick <= top:
        o.append(f'<line x1="{x(tick):.1f}" y1="{y0}" x2="{x(tick):.1f}" '
                 f'y2="{height - 30}" stroke="#ddd"/>'
                 f'<text x="{x(tick):.1f}" y="{height - 14}" text-anchor="middle">'
                 f'{tick:g}×</text>')
        tick += step
    o.append(f'<line x1="{x(1):.1f}" y1="{y0 - 4}" x2="{x(1):.1f}" y2="{height - 30}" '
             f'stroke="#c00"/><text x="{x(1) - 3:.1f}" y="{y0 - 6}" fill="#c00" '
             f'font-size="10" text-anchor="end">tokio-rustls = 1×</text>')
    for g, (title, target, vals) in enumerate(rows):
        gy = y0 + 6 + g * group
        o.append(f'<text x="{left - 8}" y="{gy + bar * len(shown) / 2 + 4}" '
                 f'text-anchor="end">{escape(title)}</text>')
        o.append(f'<line x1="{x(target):.1f}" y1="{gy - 3}" x2="{x(target):.1f}" '
                 f'y2="{gy + bar * len(shown) + 1}" stroke="#c00" stroke-width="2" '
                 f'stroke-dasharray="4,2"/>')
        for i, s in enumerate(shown):
            if s not in vals:
                continue
            r = vals[s]
            shown_r = min(r, top)
            cut = " ▸" if r > top else ""
            by = gy + i * bar
            o.append(f'<rect x="{left}" y="{by}" width="{x(shown_r) - left:.1f}" '
                     f'height="{bar - 2}" fill="{colors[s]}"/>'
                     f'<text x="{x(shown_r) + 4:.1f}" y="{by + bar - 4}" font-size="10">'
                     f'{r:.2f}×{cut}</text>')
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
    d = parse(raw)
    present = {s for s, _ in d["cpu"]} | set(d["rss"])
    servers = [s for s, _ in SERVERS if s in present]
    with open(md_path, "w") as f:
        f.write(markdown(d, meta, servers))
    with open(svg_path, "w") as f:
        f.write(svg(d, servers))


if __name__ == "__main__":
    main(sys.argv)
