#!/usr/bin/env python3
"""A TLS echo server on a real Qt: PySide6's QSslServer and QSslSocket (OpenSSL).

A peer of tests/ssl_interop_qt.rs, run with the project's .venv/bin/python
(PySide6-Essentials, pinned by .ci/test; Qt's OpenSSL plugin loads the
system's libssl3, which .ci/test installs with the openssl package).

    tls_server.py --cert FILE --key FILE [--ca FILE] [--verify-client]
                  [--alpn P1,P2] [--protocol tls1.2|tls1.3] [--watchdog SECONDS]

--cert holds the PEM chain to serve (leaf first), --key its PEM private key
(EC or RSA). --ca adds CA certificates for checking client certificates;
--verify-client asks for one and fails the handshake without a valid one
(VerifyPeer). --alpn offers application protocols; --protocol allows only
that TLS version.

Listens on 127.0.0.1 only, on a port the system picks, and prints
"listening on <port>" once listening; then, per connection, lines a test
reads (values separated by one space, texts last):

    ENCRYPTED <protocol> <cipher> <negotiated ALPN or -> <peer CN or ->
    SSL_ERROR <QSslError::SslError value> <enum name> <text>
    ERROR <QAbstractSocket::SocketError name> <errorString()>
    ECHOED <byte count> <SHA-256 hex of the bytes echoed>

SSL_ERROR lines come from QSslServer::sslErrors, ERROR lines from
QSslServer::errorOccurred (handshake failures) and the socket's
errorOccurred; ECHOED when an encrypted connection closes. It serves
connections until killed, or exits with status 3 after --watchdog seconds
(default 120). It exits with status 4 if this Qt cannot do TLS.
"""

import argparse
import hashlib
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication  # noqa: E402
from PySide6.QtNetwork import (  # noqa: E402
    QAbstractSocket,
    QHostAddress,
    QSslCertificate,
    QSslConfiguration,
    QSslServer,
    QSslSocket,
)

from tls_common import add_options, configure, require_tls, say, watchdog  # noqa: E402

NAME = "tls_server.py"


def describe(sock):
    config = sock.sslConfiguration()
    alpn = bytes(config.nextNegotiatedProtocol().data()).decode() or "-"
    peer = sock.peerCertificate()
    cn = (peer.subjectInfo(QSslCertificate.SubjectInfo.CommonName) or ["-"])[0] if not peer.isNull() else "-"
    return f"ENCRYPTED {sock.sessionProtocol().name} {sock.sessionCipher().name()} {alpn} {cn}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(ap)
    ap.add_argument("--verify-client", action="store_true")
    args = ap.parse_args()
    if not (args.cert and args.key):
        ap.error("--cert and --key are required")
    watchdog(NAME, args.watchdog)

    app = QCoreApplication(sys.argv[:1])
    require_tls(NAME)

    config = QSslConfiguration.defaultConfiguration()
    configure(NAME, config, args)
    config.setPeerVerifyMode(
        QSslSocket.PeerVerifyMode.VerifyPeer if args.verify_client else QSslSocket.PeerVerifyMode.VerifyNone
    )

    server = QSslServer()
    server.setSslConfiguration(config)
    sockets = []  # keeps the Python wrappers alive

    def on_ssl_errors(sock, errors):
        for e in errors:
            say("SSL_ERROR", e.error().value, e.error().name, e.errorString())

    def on_server_error(sock, error):
        say("ERROR", error.name, sock.errorString())

    def on_pending():
        while True:
            sock = server.nextPendingConnection()
            if sock is None:
                return
            sockets.append(sock)
            say(describe(sock))
            state = {"bytes": 0, "sha": hashlib.sha256()}

            def on_ready_read(sock=sock, state=state):
                data = bytes(sock.readAll().data())
                state["bytes"] += len(data)
                state["sha"].update(data)
                sock.write(data)

            def on_error(error, sock=sock):
                if error != QAbstractSocket.SocketError.RemoteHostClosedError:
                    say("ERROR", error.name, sock.errorString())

            def on_disconnected(sock=sock, state=state):
                say("ECHOED", state["bytes"], state["sha"].hexdigest())
                sockets.remove(sock)
                sock.deleteLater()

            sock.readyRead.connect(on_ready_read)
            sock.errorOccurred.connect(on_error)
            sock.disconnected.connect(on_disconnected)
            # Bytes that arrived with the handshake are already buffered.
            if sock.bytesAvailable():
                on_ready_read()

    server.sslErrors.connect(on_ssl_errors)
    server.errorOccurred.connect(on_server_error)
    server.pendingConnectionAvailable.connect(on_pending)
    if not server.listen(QHostAddress(QHostAddress.SpecialAddress.LocalHost), 0):
        print(f"{NAME}: listen failed: {server.errorString()}", file=sys.stderr, flush=True)
        os._exit(1)
    say("listening on", server.serverPort())
    code = app.exec()
    sys.stdout.flush()
    # PySide6 may abort while collecting Qt objects at interpreter exit.
    os._exit(code)


if __name__ == "__main__":
    main()
