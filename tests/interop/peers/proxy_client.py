#!/usr/bin/env python3
"""A real Qt (PySide6) QTcpSocket connecting through a proxy, for
tests/interop_proxy.rs.

    proxy_client.py socks5|http PROXY_PORT TARGET_HOST TARGET_PORT
        [--user U] [--password P] [--slot-user U] [--slot-password P]
        [--header NAME:VALUE]...

The proxy is 127.0.0.1:PROXY_PORT (the test's scripted proxy). --user and
--password go on the QNetworkProxy; --slot-user and --slot-password are
given once from proxyAuthenticationRequired. Prints "auth-required REALM"
per proxyAuthenticationRequired, then "connected", or
"error <SocketErrorName> <errorString()>" once the socket is unconnected.
Exits by itself after 15 seconds.
"""
import argparse
import sys

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtNetwork import QAbstractSocket, QNetworkProxy, QTcpSocket

parser = argparse.ArgumentParser()
parser.add_argument("kind", choices=["socks5", "http"])
parser.add_argument("proxy_port", type=int)
parser.add_argument("target_host")
parser.add_argument("target_port", type=int)
parser.add_argument("--user", default="")
parser.add_argument("--password", default="")
parser.add_argument("--slot-user", default="")
parser.add_argument("--slot-password", default="")
parser.add_argument("--header", action="append", default=[])
args = parser.parse_args()

app = QCoreApplication(sys.argv)
kind = QNetworkProxy.ProxyType.Socks5Proxy if args.kind == "socks5" else QNetworkProxy.ProxyType.HttpProxy
proxy = QNetworkProxy(kind, "127.0.0.1", args.proxy_port, args.user, args.password)
for header in args.header:
    name, value = header.split(":", 1)
    proxy.setRawHeader(name.encode(), value.encode())

sock = QTcpSocket()
sock.setProxy(proxy)
answered = []


def on_auth(_proxy, authenticator):
    print(f"auth-required {authenticator.realm()}", flush=True)
    if (args.slot_user or args.slot_password) and not answered:
        answered.append(True)
        authenticator.setUser(args.slot_user)
        authenticator.setPassword(args.slot_password)


def on_connected():
    print("connected", flush=True)
    sock.abort()
    app.quit()


def on_state(state):
    if state == QAbstractSocket.SocketState.UnconnectedState:
        print(f"error {sock.error().name} {sock.errorString()}", flush=True)
        app.quit()


sock.proxyAuthenticationRequired.connect(on_auth)
sock.connected.connect(on_connected)
# errorOccurred follows stateChanged(Unconnected); report from a queued call
# so the error is set.
sock.stateChanged.connect(lambda s: QTimer.singleShot(0, lambda: on_state(s)))
sock.connectToHost(args.target_host, args.target_port)
QTimer.singleShot(15000, lambda: app.exit(2))
sys.exit(app.exec())
