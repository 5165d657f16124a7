"""What the PySide6 TLS peers (tls_server.py, tls_client.py) share: output
lines, the watchdog, key loading and the configuration options."""

import os
import sys
import threading

from PySide6.QtCore import QByteArray  # noqa: E402
from PySide6.QtNetwork import QSsl, QSslCertificate, QSslKey, QSslSocket  # noqa: E402

PROTOCOLS = {"tls1.2": QSsl.SslProtocol.TlsV1_2, "tls1.3": QSsl.SslProtocol.TlsV1_3}


def say(*parts):
    """One output line, flushed at once (a test waits for it)."""
    print(" ".join(str(p) for p in parts), flush=True)


def watchdog(name, seconds):
    """Ends the process after `seconds` whatever the Qt loop is doing."""

    def expire():
        print(f"{name}: watchdog expired after {seconds} s", file=sys.stderr, flush=True)
        os._exit(3)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()


def require_tls(name):
    """Exits with status 4 if this Qt cannot do TLS (no libssl3 found)."""
    if not QSslSocket.supportsSsl():
        print(f"{name}: this Qt cannot do TLS (QSslSocket::supportsSsl() is false)", file=sys.stderr, flush=True)
        os._exit(4)


def load_key(name, path):
    """The EC or RSA private key in the PEM file at `path`."""
    data = QByteArray(open(path, "rb").read())
    for algorithm in (QSsl.KeyAlgorithm.Ec, QSsl.KeyAlgorithm.Rsa):
        key = QSslKey(data, algorithm, QSsl.EncodingFormat.Pem)
        if not key.isNull():
            return key
    sys.exit(f"{name}: no EC or RSA private key in {path}")


def add_options(ap):
    """The options both peers take: --cert/--key, --ca, --alpn, --protocol, --watchdog."""
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--ca")
    ap.add_argument("--alpn")
    ap.add_argument("--protocol", choices=sorted(PROTOCOLS))
    ap.add_argument("--watchdog", type=float, default=120.0)


def configure(name, config, args):
    """Applies the shared options to a QSslConfiguration."""
    if args.cert:
        config.setLocalCertificateChain(QSslCertificate.fromPath(args.cert, QSsl.EncodingFormat.Pem))
        config.setPrivateKey(load_key(name, args.key))
    if args.ca:
        config.setCaCertificates(QSslCertificate.fromPath(args.ca, QSsl.EncodingFormat.Pem))
    if args.alpn:
        config.setAllowedNextProtocols([QByteArray(p.encode()) for p in args.alpn.split(",")])
    if args.protocol:
        config.setProtocol(PROTOCOLS[args.protocol])
