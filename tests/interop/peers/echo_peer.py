#!/usr/bin/env python3
"""A TCP echo server on a real Qt (PySide6 QTcpServer/QTcpSocket).

The peer of tests/interop_fortune.rs, run with the project's .venv/bin/python
(PySide6-Essentials, pinned by .ci/run).

    echo_peer.py [--port N] [--watchdog SECONDS]

Listens on 127.0.0.1 only (port 0, the default, picks a free one) and prints
"listening on <port>". It serves one connection: every byte read is written
back (readyRead -> readAll -> write). When the client disconnects it prints

    ECHOED <byte count> <SHA-1 hex of the bytes echoed>

and exits 0. On a socket error other than the client closing, or after
--watchdog seconds (default 60), it prints a message on stderr and exits
non-zero.
"""

import argparse
import hashlib
import os
import sys
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication  # noqa: E402
from PySide6.QtNetwork import QAbstractSocket, QHostAddress, QTcpServer  # noqa: E402


def watchdog(seconds):
    """Ends the process after `seconds` whatever the Qt loop is doing."""

    def expire():
        print(f"echo_peer.py: watchdog expired after {seconds} s", file=sys.stderr, flush=True)
        os._exit(3)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--watchdog", type=float, default=60.0)
    args = ap.parse_args()
    watchdog(args.watchdog)

    app = QCoreApplication(sys.argv[:1])
    server = QTcpServer()
    echoed = {"bytes": 0, "sha1": hashlib.sha1(), "socket": None}

    def on_new_connection():
        sock = server.nextPendingConnection()
        if echoed["socket"] is not None:
            sock.abort()  # one connection only
            return
        echoed["socket"] = sock
        server.close()

        def on_ready_read():
            data = bytes(sock.readAll().data())
            echoed["bytes"] += len(data)
            echoed["sha1"].update(data)
            sock.write(data)

        def on_error(error):
            if error != QAbstractSocket.SocketError.RemoteHostClosedError:
                print(f"echo_peer.py: {error.name}: {sock.errorString()}", file=sys.stderr, flush=True)
                app.exit(1)

        def on_disconnected():
            print(f"ECHOED {echoed['bytes']} {echoed['sha1'].hexdigest()}", flush=True)
            app.exit(0)

        sock.readyRead.connect(on_ready_read)
        sock.errorOccurred.connect(on_error)
        sock.disconnected.connect(on_disconnected)

    server.newConnection.connect(on_new_connection)
    if not server.listen(QHostAddress(QHostAddress.SpecialAddress.LocalHost), args.port):
        print(f"echo_peer.py: listen failed: {server.errorString()}", file=sys.stderr, flush=True)
        os._exit(1)
    print(f"listening on {server.serverPort()}", flush=True)
    code = app.exec()
    sys.stdout.flush()
    sys.stderr.flush()
    # PySide6 may abort while collecting Qt objects at interpreter exit.
    os._exit(code)


if __name__ == "__main__":
    main()
