#!/usr/bin/env python3
"""A TLS client on a real Qt: PySide6's QSslSocket (OpenSSL backend).

A peer of tests/ssl_interop_qt.rs, run with the project's .venv/bin/python
(PySide6-Essentials, pinned by .ci/test; Qt's OpenSSL plugin loads the
system's libssl3, which .ci/test installs with the openssl package).

    tls_client.py --port N [--host H] [--peer-name NAME] [--ca FILE]
                  [--cert FILE --key FILE] [--alpn P1,P2]
                  [--protocol tls1.2|tls1.3] [--bytes N] [--ignore-errors]
                  [--watchdog SECONDS]

Connects with connectToHostEncrypted(H (default 127.0.0.1), N, NAME).
--ca replaces the CA certificates (default: the system's); --cert/--key
present a client certificate; --alpn offers application protocols;
--protocol allows only that TLS version; --ignore-errors calls
ignoreSslErrors() from the sslErrors slot. Once encrypted it sends N bytes
(default 0; byte i is i mod 251), reads as many back, then closes. Prints
(values separated by one space, texts last):

    PEER_VERIFY_ERROR <QSslError::SslError value> <enum name> <text>
    SSL_ERROR <QSslError::SslError value> <enum name> <text>
    ENCRYPTED <protocol> <cipher> <negotiated ALPN or ->
    ERROR <QAbstractSocket::SocketError name> <errorString()>
    ECHO <byte count> <SHA-256 hex of what came back> <same|different>
    DONE

and exits 0 (a TLS failure is an outcome, reported in the lines above);
after --watchdog seconds (default 120) it exits with status 3, and with
status 4 if this Qt cannot do TLS.
"""

import argparse
import hashlib
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication  # noqa: E402
from PySide6.QtNetwork import QAbstractSocket, QSslSocket  # noqa: E402

from tls_common import add_options, configure, require_tls, say, watchdog  # noqa: E402

NAME = "tls_client.py"


def payload(n):
    """Byte i is i mod 251 (the same pattern the Rust tests generate)."""
    block = bytes(range(251))
    return (block * (n // 251 + 1))[:n]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--peer-name", default="")
    add_options(ap)
    ap.add_argument("--bytes", type=int, default=0)
    ap.add_argument("--ignore-errors", action="store_true")
    args = ap.parse_args()
    watchdog(NAME, args.watchdog)

    app = QCoreApplication(sys.argv[:1])
    require_tls(NAME)

    sock = QSslSocket()
    config = sock.sslConfiguration()
    configure(NAME, config, args)
    sock.setSslConfiguration(config)

    data = payload(args.bytes)
    got = {"bytes": 0, "sha": hashlib.sha256(), "done": False}

    def finish():
        if not got["done"]:
            got["done"] = True
            say("DONE")
            app.exit(0)

    def on_peer_verify_error(e):
        say("PEER_VERIFY_ERROR", e.error().value, e.error().name, e.errorString())

    def on_ssl_errors(errors):
        for e in errors:
            say("SSL_ERROR", e.error().value, e.error().name, e.errorString())
        if args.ignore_errors:
            sock.ignoreSslErrors()

    def on_encrypted():
        alpn = bytes(sock.sslConfiguration().nextNegotiatedProtocol().data()).decode() or "-"
        say("ENCRYPTED", sock.sessionProtocol().name, sock.sessionCipher().name(), alpn)
        if args.bytes == 0:
            sock.disconnectFromHost()
        else:
            sock.write(data)

    def on_ready_read():
        chunk = bytes(sock.readAll().data())
        got["bytes"] += len(chunk)
        got["sha"].update(chunk)
        if got["bytes"] >= args.bytes:
            same = got["sha"].hexdigest() == hashlib.sha256(data).hexdigest()
            say("ECHO", got["bytes"], got["sha"].hexdigest(), "same" if same else "different")
            sock.disconnectFromHost()

    def on_error(error):
        say("ERROR", error.name, sock.errorString())
        if sock.state() == QAbstractSocket.SocketState.UnconnectedState:
            finish()

    sock.peerVerifyError.connect(on_peer_verify_error)
    sock.sslErrors.connect(on_ssl_errors)
    sock.encrypted.connect(on_encrypted)
    sock.readyRead.connect(on_ready_read)
    sock.errorOccurred.connect(on_error)
    sock.disconnected.connect(finish)
    sock.connectToHostEncrypted(args.host, args.port, args.peer_name)
    code = app.exec()
    sys.stdout.flush()
    # PySide6 may abort while collecting Qt objects at interpreter exit.
    os._exit(code)


if __name__ == "__main__":
    main()
