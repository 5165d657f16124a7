#!/usr/bin/env python3
"""Qt's fortune server (examples/network/fortuneserver), on a real Qt: PySide6.

The peer of tests/interop_fortune.rs, run with the project's .venv/bin/python
(PySide6-Essentials, pinned by .ci/run). It follows Qt's example: for every
connection, one QString written with QDataStream (version Qt_5_10, no other
framing) into a block, the block written, then disconnectFromHost(), with
disconnected -> deleteLater.

    fortune_server.py [--port N] [--fortune TEXT | --null] [--watchdog SECONDS]

Listens on 127.0.0.1 only (port 0, the default, picks a free one) and prints
"listening on <port>" once listening. Without --fortune it sends one of Qt's
fortunes at random; --fortune TEXT always sends TEXT (which may be empty) and
--null a null QString (Qt writes its length as 0xffffffff). It runs until
killed, or exits with status 3 after --watchdog seconds (default 60).
"""

import argparse
import os
import random
import sys
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QByteArray, QCoreApplication, QDataStream, QIODevice  # noqa: E402
from PySide6.QtNetwork import QHostAddress, QTcpServer  # noqa: E402

FORTUNES = [
    "You've been leading a dog's life. Stay off the furniture.",
    "You've got to think about tomorrow.",
    "You will be surprised by a loud noise.",
    "You will feel hungry again in another hour.",
    "You might have mail.",
    "You cannot kill time without injuring eternity.",
    "Computers are not intelligent. They only think they are.",
]


def watchdog(seconds):
    """Ends the process after `seconds` whatever the Qt loop is doing."""

    def expire():
        print(f"fortune_server.py: watchdog expired after {seconds} s", file=sys.stderr, flush=True)
        os._exit(3)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--fortune", help="always send this text")
    group.add_argument("--null", action="store_true", help="always send a null QString")
    ap.add_argument("--watchdog", type=float, default=60.0)
    args = ap.parse_args()
    watchdog(args.watchdog)

    app = QCoreApplication(sys.argv[:1])
    server = QTcpServer()

    # Qt's Server::sendFortune, one per newConnection.
    def send_fortune():
        if args.null:
            fortune = None  # PySide6 passes None as a null QString
        elif args.fortune is not None:
            fortune = args.fortune
        else:
            fortune = random.choice(FORTUNES)
        block = QByteArray()
        out = QDataStream(block, QIODevice.OpenModeFlag.WriteOnly)
        out.setVersion(QDataStream.Version.Qt_5_10)
        out.writeQString(fortune)

        client_connection = server.nextPendingConnection()
        client_connection.disconnected.connect(client_connection.deleteLater)
        client_connection.write(block)
        client_connection.disconnectFromHost()

    server.newConnection.connect(send_fortune)
    if not server.listen(QHostAddress(QHostAddress.SpecialAddress.LocalHost), args.port):
        print(f"fortune_server.py: listen failed: {server.errorString()}", file=sys.stderr, flush=True)
        os._exit(1)
    print(f"listening on {server.serverPort()}", flush=True)
    code = app.exec()
    sys.stdout.flush()
    # PySide6 may abort while collecting Qt objects at interpreter exit.
    os._exit(code)


if __name__ == "__main__":
    main()
