#!/usr/bin/env python3
"""A real Qt (PySide6) QUdpSocket peer for tests/interop_udp.rs.

Binds 127.0.0.1 on a free port and prints "port N". Every datagram it
receives is logged as "got <sender-port> <size> <hex>" and echoed back with
QNetworkDatagram.makeReply() (empty ones too), except "quit", which ends
the peer. It also exits by itself after 30 seconds.
"""
import sys

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtNetwork import QHostAddress, QUdpSocket

app = QCoreApplication(sys.argv)
sock = QUdpSocket()
if not sock.bind(QHostAddress("127.0.0.1"), 0):
    print("bind failed:", sock.errorString(), file=sys.stderr)
    sys.exit(1)
print(f"port {sock.localPort()}", flush=True)


def on_ready_read():
    while sock.hasPendingDatagrams():
        dgram = sock.receiveDatagram()
        data = bytes(dgram.data())
        print(f"got {dgram.senderPort()} {len(data)} {data.hex()}", flush=True)
        if data == b"quit":
            app.quit()
            return
        if sock.writeDatagram(dgram.makeReply(dgram.data())) != len(data):
            print("echo failed:", sock.errorString(), file=sys.stderr)
            app.exit(1)


sock.readyRead.connect(on_ready_read)
QTimer.singleShot(30000, lambda: app.exit(2))
sys.exit(app.exec())
