#!/usr/bin/env python3
"""Qt's local sockets on a real Qt (PySide6): the peer of tests/interop_local.rs.

    local_peer.py fortune-server NAME [TEXT]   Qt's localfortuneserver
    local_peer.py fortune-client NAME          Qt's localfortuneclient
    local_peer.py echo-server NAME             echoes every byte back
    local_peer.py send NAME MIB                sends MIB MiB, reads the echo

The servers print "listening on <fullServerName>" once listening and run
until killed (or a 120 s watchdog ends them with status 3). The fortune
framing is Qt's local fortune example's: QDataStream (Qt_6_0), a quint32
(the text's length in UTF-16 units), then the QString; the server then calls
disconnectFromServer(). fortune-client prints "FORTUNE <text>". send writes
a deterministic pattern, reads the echo back and prints
"ECHO <bytes> <sha256 sent> <sha256 received>".
"""

import hashlib
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QByteArray, QCoreApplication, QDataStream, QIODevice, QTimer  # noqa: E402
from PySide6.QtNetwork import QLocalServer, QLocalSocket  # noqa: E402

WATCHDOG_MS = 120_000


def fail(text):
    print(text, file=sys.stderr, flush=True)
    QCoreApplication.exit(1)


def listen(app, name):
    server = QLocalServer(app)
    if not server.listen(name):
        print(f"listen failed: {server.errorString()}", file=sys.stderr, flush=True)
        sys.exit(1)
    print(f"listening on {server.fullServerName()}", flush=True)
    return server


def fortune_server(app, name, text):
    server = listen(app, name)

    def send():
        while server.hasPendingConnections():
            client = server.nextPendingConnection()
            block = QByteArray()
            out = QDataStream(block, QIODevice.OpenModeFlag.WriteOnly)
            out.setVersion(QDataStream.Version.Qt_6_0)
            out.writeUInt32(len(text.encode("utf-16-le")) // 2)
            out.writeQString(text)
            client.disconnected.connect(client.deleteLater)
            client.write(block)
            client.flush()
            client.disconnectFromServer()

    server.newConnection.connect(send)
    return server


def echo_server(app, name):
    server = listen(app, name)

    def accept():
        while server.hasPendingConnections():
            client = server.nextPendingConnection()
            client.readyRead.connect(lambda c=client: c.write(c.readAll()))
            client.disconnected.connect(client.deleteLater)

    server.newConnection.connect(accept)
    return server


def fortune_client(app, name):
    socket = QLocalSocket(app)
    state = {"size": None}

    def read():
        stream = QDataStream(socket)
        stream.setVersion(QDataStream.Version.Qt_6_0)
        if state["size"] is None:
            if socket.bytesAvailable() < 4:
                return
            state["size"] = stream.readUInt32()
        stream.startTransaction()
        text = stream.readQString()
        if not stream.commitTransaction():
            return
        print(f"FORTUNE {text}", flush=True)
        QCoreApplication.exit(0)

    socket.readyRead.connect(read)
    socket.errorOccurred.connect(lambda e: fail(f"ERROR {e.name} {socket.errorString()}"))
    socket.connectToServer(name)
    return socket


def send(app, name, mib):
    total = mib * 1024 * 1024
    pattern = bytes((i * 7 + 3) % 251 for i in range(65536))
    data = (pattern * (total // len(pattern) + 1))[:total]
    received = bytearray()
    socket = QLocalSocket(app)

    def read():
        received.extend(bytes(socket.readAll()))
        if len(received) >= total:
            sent = hashlib.sha256(data).hexdigest()
            got = hashlib.sha256(bytes(received)).hexdigest()
            print(f"ECHO {len(received)} {sent} {got}", flush=True)
            QCoreApplication.exit(0)

    socket.readyRead.connect(read)
    socket.errorOccurred.connect(lambda e: fail(f"ERROR {e.name} {socket.errorString()}"))
    socket.connectToServer(name)
    if socket.state() != QLocalSocket.LocalSocketState.ConnectedState:
        fail(f"not connected: {socket.errorString()}")
    socket.write(QByteArray(data))
    return socket


def main():
    app = QCoreApplication([])
    mode, name, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    if mode == "fortune-server":
        keep = fortune_server(app, name, rest[0] if rest else "You might have mail.")
    elif mode == "echo-server":
        keep = echo_server(app, name)
    elif mode == "fortune-client":
        keep = fortune_client(app, name)
    elif mode == "send":
        keep = send(app, name, int(rest[0]))
    else:
        print(f"unknown mode {mode}", file=sys.stderr)
        return 2
    QTimer.singleShot(WATCHDOG_MS, lambda: QCoreApplication.exit(3))
    status = app.exec()
    del keep
    return status


if __name__ == "__main__":
    sys.exit(main())
