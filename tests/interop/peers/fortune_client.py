#!/usr/bin/env python3
"""Qt's fortune client (examples/network/fortuneclient), on a real Qt: PySide6.

The peer of tests/interop_fortune.rs, run with the project's .venv/bin/python
(PySide6-Essentials, pinned by .ci/run). It follows Qt's example without the
GUI: QTcpSocket, a QDataStream on it at version Qt_4_0, and on readyRead

    in.startTransaction(); in >> nextFortune; if (!in.commitTransaction()) return;

with RemoteHostClosedError treated as no error.

    fortune_client.py --host H --port N [--watchdog SECONDS]

On success it prints two lines and exits 0:

    WIRE <hex of the bytes the transaction consumed>
    FORTUNE <text>          (or "NULL FORTUNE" for a null QString)

Python has no null str, so a null QString is told from an empty one by its
length field (0xffffffff), peeked before the read. On a socket error, a close
before a whole fortune, or after --watchdog seconds (default 60) it prints a
message on stderr and exits non-zero.
"""

import argparse
import os
import sys
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QDataStream  # noqa: E402
from PySide6.QtNetwork import QAbstractSocket, QTcpSocket  # noqa: E402


def watchdog(seconds):
    """Ends the process after `seconds` whatever the Qt loop is doing."""

    def expire():
        print(f"fortune_client.py: watchdog expired after {seconds} s", file=sys.stderr, flush=True)
        os._exit(3)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--watchdog", type=float, default=60.0)
    args = ap.parse_args()
    watchdog(args.watchdog)

    app = QCoreApplication(sys.argv[:1])
    tcp_socket = QTcpSocket()
    stream = QDataStream(tcp_socket)
    stream.setVersion(QDataStream.Version.Qt_4_0)
    state = {"done": False}

    def fail(message):
        if not state["done"]:
            state["done"] = True
            print(f"fortune_client.py: {message}", file=sys.stderr, flush=True)
            app.exit(1)

    # Qt's Client::readFortune.
    def read_fortune():
        if state["done"]:
            return
        raw = bytes(tcp_socket.peek(tcp_socket.bytesAvailable()).data())
        stream.startTransaction()
        next_fortune = stream.readQString()
        if not stream.commitTransaction():
            if stream.status() != QDataStream.Status.ReadPastEnd:
                fail(f"not a valid QString: status {stream.status()}, bytes {raw.hex()}")
            return
        consumed = len(raw) - tcp_socket.bytesAvailable()
        wire = raw[:consumed]
        state["done"] = True
        print("WIRE", wire.hex(), flush=True)
        if wire[:4] == b"\xff\xff\xff\xff":
            print("NULL FORTUNE", flush=True)
        else:
            print("FORTUNE", next_fortune, flush=True)
        app.exit(0)

    # Qt's Client::displayError.
    def display_error(error):
        if error != QAbstractSocket.SocketError.RemoteHostClosedError:
            fail(f"{error.name}: {tcp_socket.errorString()}")

    def disconnected():
        fail("the server closed the connection before a whole fortune arrived")

    tcp_socket.readyRead.connect(read_fortune)
    tcp_socket.errorOccurred.connect(display_error)
    tcp_socket.disconnected.connect(disconnected)
    tcp_socket.connectToHost(args.host, args.port)
    code = app.exec()
    sys.stdout.flush()
    sys.stderr.flush()
    # PySide6 may abort while collecting Qt objects at interpreter exit.
    os._exit(code)


if __name__ == "__main__":
    main()
