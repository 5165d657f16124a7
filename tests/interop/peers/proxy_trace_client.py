#!/usr/bin/env python3
"""A real Qt (PySide6) QTcpSocket through a real proxy, its signals traced,
for tests/proxy_qt_peer.rs.

    proxy_trace_client.py socks5|http PROXY_PORT TARGET_PORT BYTES
        [--user U] [--password P] [--target-host HOST] [--watchdog SECONDS]

The proxy is 127.0.0.1:PROXY_PORT, the target HOST:TARGET_PORT (HOST is
127.0.0.1 unless given: an echo server of the test, or a closed port; a
name is left for the proxy to resolve). --user and --password go on the QNetworkProxy;
proxyAuthenticationRequired is recorded and left unanswered. Once
connected it writes BYTES bytes (the pattern 0, 1, ..., 250 repeated),
reads them back, checks them, and calls disconnectFromHost.

Prints one line per signal, in the format of tests/support/recorder.rs
without the times:

    TRACE stateChanged HostLookupState
    TRACE errorOccurred ProxyAuthenticationRequiredError 'Proxy authentication failed'

then, once the socket is unconnected (and the loop has run once more, so
that a signal emitted after stateChanged(UnconnectedState) is recorded):

    ECHOED <bytes back> <True if they equal what was written, else False>
    FINAL <state name> <error name> <errorString()>

and exits 0. After --watchdog seconds (default 60) it exits 3.
"""
import argparse
import os
import sys
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QTimer  # noqa: E402
from PySide6.QtNetwork import QAbstractSocket, QNetworkProxy, QTcpSocket  # noqa: E402


def watchdog(seconds):
    """Ends the process after `seconds` whatever the Qt loop is doing."""

    def expire():
        print(f"proxy_trace_client.py: watchdog expired after {seconds} s", file=sys.stderr, flush=True)
        os._exit(3)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["socks5", "http"])
    ap.add_argument("proxy_port", type=int)
    ap.add_argument("target_port", type=int)
    ap.add_argument("bytes", type=int)
    ap.add_argument("--user", default="")
    ap.add_argument("--password", default="")
    ap.add_argument("--target-host", default="127.0.0.1")
    ap.add_argument("--watchdog", type=float, default=60.0)
    args = ap.parse_args()
    watchdog(args.watchdog)

    app = QCoreApplication(sys.argv[:1])
    kind = QNetworkProxy.ProxyType.Socks5Proxy if args.kind == "socks5" else QNetworkProxy.ProxyType.HttpProxy
    proxy = QNetworkProxy(kind, "127.0.0.1", args.proxy_port, args.user, args.password)
    sock = QTcpSocket()
    sock.setProxy(proxy)

    payload = (bytes(range(251)) * (args.bytes // 251 + 1))[: args.bytes]
    received = bytearray()

    def trace(line):
        print(f"TRACE {line}", flush=True)

    def on_connected():
        trace("connected")
        sock.write(payload)

    def on_ready_read():
        received.extend(bytes(sock.readAll().data()))
        if len(received) >= len(payload) and sock.state() == QAbstractSocket.SocketState.ConnectedState:
            sock.disconnectFromHost()

    def finish():
        print(f"ECHOED {len(received)} {bytes(received) == payload}", flush=True)
        print(f"FINAL {sock.state().name} {sock.error().name} {sock.errorString()}", flush=True)
        app.exit(0)

    def on_state(state):
        trace(f"stateChanged {state.name}")
        if state == QAbstractSocket.SocketState.UnconnectedState:
            # errorOccurred or disconnected may follow in the same call.
            QTimer.singleShot(0, finish)

    sock.hostFound.connect(lambda: trace("hostFound"))
    sock.connected.connect(on_connected)
    sock.proxyAuthenticationRequired.connect(lambda _p, _a: trace("proxyAuthenticationRequired"))
    sock.disconnected.connect(lambda: trace(f"disconnected bytesAvailable={sock.bytesAvailable()}"))
    sock.stateChanged.connect(on_state)
    sock.errorOccurred.connect(lambda e: trace(f"errorOccurred {e.name} '{sock.errorString()}'"))
    sock.readChannelFinished.connect(lambda: trace("readChannelFinished"))
    sock.readyRead.connect(on_ready_read)
    sock.connectToHost(args.target_host, args.target_port)
    code = app.exec()
    sys.stdout.flush()
    # PySide6 may abort while collecting Qt objects at interpreter exit.
    os._exit(code)


if __name__ == "__main__":
    main()
