#!/usr/bin/env python3
"""Qt's local sockets on a real Qt (PySide6): the peer of tests/interop_local.rs.

    local_peer.py fortune-server NAME [TEXT]   Qt's localfortuneserver
    local_peer.py fortune-client NAME          Qt's localfortuneclient
    local_peer.py echo-server NAME             echoes every byte back
    local_peer.py send NAME MIB                sends MIB MiB, reads the echo
    local_peer.py trace DIR                    Qt's signal traces, see below
    local_peer.py facts DIR                    Qt's names, errors and modes

The servers print "listening on <fullServerName>" once listening and run
until killed (or a 120 s watchdog ends them with status 3). The fortune
framing is Qt's local fortune example's: QDataStream (Qt_6_0), a quint32
(the text's length in UTF-16 units), then the QString; the server then calls
disconnectFromServer(). fortune-client prints "FORTUNE <text>". send writes
a deterministic pattern, reads the echo back and prints
"ECHO <bytes> <sha256 sent> <sha256 received>".

trace runs the scenarios of tests/interop_local.rs with Qt's classes on both
ends (socket files in DIR) and prints one line per scenario:
"<scenario>: <event> | <event> | ...", where "return" marks where the call
that started the scenario returned. facts prints "<fact>: <value>" lines for
the names, listen errors and socket file modes tests/interop_local.rs
compares (paths relative to DIR).
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


def spin_until(done, ms=5000):
    """Runs a nested loop until done() holds (or ms pass); a nested loop
    also runs deleteLater's deferred deletes."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop
    loop = QEventLoop()
    clock = QElapsedTimer()
    clock.start()
    check = QTimer()
    check.timeout.connect(lambda: (done() or clock.hasExpired(ms)) and loop.quit())
    check.start(5)
    if not done():
        loop.exec()
    check.stop()


def record(socket, events):
    """Qt's signals of a local socket, in the test's notation."""
    socket.stateChanged.connect(lambda st: events.append(f"SC({st.name})"))
    socket.connected.connect(lambda: events.append("connected"))
    socket.disconnected.connect(lambda: events.append("disconnected"))
    socket.aboutToClose.connect(lambda: events.append("aboutToClose"))
    socket.readChannelFinished.connect(lambda: events.append("readChannelFinished"))
    socket.readyRead.connect(lambda: events.append("readyRead"))
    socket.bytesWritten.connect(lambda n: events.append(f"bytesWritten({n})"))
    socket.destroyed.connect(lambda: events.append("destroyed"))
    socket.errorOccurred.connect(
        lambda e: events.append(f"error({e.name}) '{socket.errorString()}' in {socket.state().name}"))


def trace(app, directory):
    import socket as pysocket

    def server_at(file):
        server = QLocalServer(app)
        assert server.listen(f"{directory}/{file}"), server.errorString()
        return server

    def accept(server):
        spin_until(server.hasPendingConnections)
        return server.nextPendingConnection()

    def run(name, body):
        events = []
        body(events)
        print(f"{name}: " + " | ".join(events), flush=True)

    def not_found(events):
        s = QLocalSocket(app)
        record(s, events)
        s.connectToServer(f"{directory}/nobody")
        events.append("return")

    def stale(events):
        raw = pysocket.socket(pysocket.AF_UNIX)
        raw.bind(f"{directory}/stale")
        raw.close()
        s = QLocalSocket(app)
        record(s, events)
        s.connectToServer(f"{directory}/stale")
        events.append("return")

    def connect_twice(events):
        server = server_at("twice")
        s = QLocalSocket(app)
        record(s, events)
        s.connectToServer(server.fullServerName())
        events.append("return")
        s.connectToServer(server.fullServerName())
        events.append("return")
        s.abort()
        server.close()

    def peer_closes(events):
        server = server_at("peer")
        s = QLocalSocket(app)
        s.connectToServer(server.fullServerName())
        peer = accept(server)
        record(s, events)
        peer.write(b"bye")
        peer.disconnectFromServer()
        spin_until(lambda: "disconnected" in events)
        events.append(f"read {bytes(s.readAll()).decode()}")
        s.close()
        events.append("return")
        server.close()

    def client_leaves(events):
        server = server_at("leaves")
        s = QLocalSocket(app)
        s.connectToServer(server.fullServerName())
        peer = accept(server)
        record(peer, events)
        s.write(b"abc")
        s.disconnectFromServer()
        spin_until(lambda: "disconnected" in events)
        events.append(f"read {bytes(peer.readAll()).decode()}")
        server.close()

    def graceful(events):
        server = server_at("graceful")
        s = QLocalSocket(app)
        s.connectToServer(server.fullServerName())
        record(s, events)
        s.write(b"abc")
        s.disconnectFromServer()
        events.append("return")
        spin_until(lambda: "disconnected" in events)
        server.close()

    def closing(events):
        server = server_at("close")
        s = QLocalSocket(app)
        s.connectToServer(server.fullServerName())
        record(s, events)
        s.close()
        events.append("return")
        spin_until(lambda: s.state() == QLocalSocket.LocalSocketState.UnconnectedState)
        server.close()

    def aborting(events):
        server = server_at("abort")
        s = QLocalSocket(app)
        s.connectToServer(server.fullServerName())
        record(s, events)
        s.write(b"dropped")
        s.abort()
        events.append("return")
        server.close()

    def deleting(events):
        server = server_at("delete")
        s = QLocalSocket(app)
        s.connectToServer(server.fullServerName())
        record(s, events)
        s.deleteLater()
        events.append("return")
        spin_until(lambda: "destroyed" in events)
        server.close()

    for name, body in [("not_found", not_found), ("stale", stale),
                       ("connect_twice", connect_twice), ("peer_closes", peer_closes),
                       ("client_leaves", client_leaves), ("graceful", graceful),
                       ("close", closing), ("abort", aborting), ("delete", deleting)]:
        run(name, body)
    QTimer.singleShot(0, lambda: QCoreApplication.exit(0))
    return None


def facts(app, directory):
    import socket as pysocket
    import stat

    def say(fact, value):
        print(f"{fact}: {value}".replace(directory, "DIR"), flush=True)

    def server_error(server):
        return f"{server.serverError().name} '{server.errorString()}'"

    fresh = QLocalServer(app)
    say("new server", f"{server_error(fresh)} max={fresh.maxPendingConnections()} "
        f"backlog={fresh.listenBacklogSize()}")
    say("listen empty", f"{fresh.listen('')} {server_error(fresh)}")
    say("listen missing dir", f"{fresh.listen(directory + '/missing/s')} {server_error(fresh)}")
    raw = pysocket.socket(pysocket.AF_UNIX)
    raw.bind(f"{directory}/stale")
    raw.close()
    say("listen stale", f"{fresh.listen(directory + '/stale')} {server_error(fresh)} "
        f"name='{fresh.serverName()}'")
    say("remove stale", f"{QLocalServer.removeServer(directory + '/stale')} "
        f"{QLocalServer.removeServer(directory + '/stale')}")
    server = QLocalServer(app)
    say("listen", f"{server.listen(directory + '/srv')} name='{server.serverName()}' "
        f"full='{server.fullServerName()}'")
    second = QLocalServer(app)
    say("listen twice", f"{second.listen(directory + '/srv')} {server_error(second)}")
    client = QLocalSocket(app)
    client.connectToServer(directory + "/srv")
    say("client names", f"'{client.serverName()}' '{client.fullServerName()}'")
    server.waitForNewConnection(5000)
    accepted = server.nextPendingConnection()
    say("accepted names", f"'{accepted.serverName()}' '{accepted.fullServerName()}' "
        f"open={accepted.isOpen()}")
    say("wait timeout", f"{server.waitForNewConnection(10)} {server_error(server)}")
    server.close()
    say("after close", f"'{server.serverName()}' exists={os.path.exists(directory + '/srv')}")
    options = QLocalServer.SocketOption
    for label, option in [("user", options.UserAccessOption),
                          ("user|group", options.UserAccessOption | options.GroupAccessOption),
                          ("other", options.OtherAccessOption),
                          ("world", options.WorldAccessOption)]:
        moded = QLocalServer(app)
        moded.setSocketOptions(option)
        moded.listen(directory + "/m")
        mode = stat.S_IMODE(os.stat(directory + "/m").st_mode)
        say(f"mode {label}", f"{mode:o} entries={sorted(os.listdir(directory))}")
        moded.close()
    QTimer.singleShot(0, lambda: QCoreApplication.exit(0))
    return None


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
    elif mode == "trace":
        keep = trace(app, name)
    elif mode == "facts":
        keep = facts(app, name)
    else:
        print(f"unknown mode {mode}", file=sys.stderr)
        return 2
    QTimer.singleShot(WATCHDOG_MS, lambda: QCoreApplication.exit(3))
    status = app.exec()
    del keep
    return status


if __name__ == "__main__":
    sys.exit(main())
