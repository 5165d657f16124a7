// The Qt 6 peer: the textbook QSslServer echo server (Qt 6.4), single-threaded,
// on Qt's OpenSSL backend.
//
//   tls_echo_server_qt --port N [--host H] --cert FILE --key FILE
//
// Prints "listening on <port>" first (flushed), then echoes every byte of
// every encrypted connection: readyRead -> write(readAll()), disconnected ->
// deleteLater. FILE holds the PEM certificate chain (leaf first) and the PEM
// private key (EC or RSA). TCP_NODELAY (LowDelayOption) is set when the
// handshake starts, as in every server of the benchmark. Built by
// benches/tls/run.sh with
//   g++ -O2 -fPIC tls_echo_server.cpp $(pkg-config --cflags --libs Qt6Network)

#include <QCoreApplication>
#include <QFile>
#include <QHostAddress>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QSslKey>
#include <QSslServer>
#include <QSslSocket>

#include <cstdio>
#include <cstdlib>
#include <cstring>

static int usage(const char *problem) {
    std::fprintf(stderr,
                 "tls_echo_server_qt: %s\n"
                 "usage: tls_echo_server_qt --port N [--host H] --cert FILE --key FILE\n",
                 problem);
    return 2;
}

static int fail(const QString &problem) {
    std::fprintf(stderr, "tls_echo_server_qt: %s\n", qPrintable(problem));
    return 1;
}

int main(int argc, char **argv) {
    QCoreApplication app(argc, argv);
    QHostAddress host(QHostAddress::LocalHost);
    long port = -1;
    QString certPath, keyPath;
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc)
            return usage("an argument needs a value");
        const char *value = argv[i + 1];
        if (std::strcmp(argv[i], "--port") == 0) {
            char *end = nullptr;
            port = std::strtol(value, &end, 10);
            if (*end != '\0' || port < 0 || port > 65535)
                return usage("bad port");
        } else if (std::strcmp(argv[i], "--host") == 0) {
            if (!host.setAddress(QString::fromLocal8Bit(value)))
                return usage("bad host");
        } else if (std::strcmp(argv[i], "--cert") == 0) {
            certPath = QString::fromLocal8Bit(value);
        } else if (std::strcmp(argv[i], "--key") == 0) {
            keyPath = QString::fromLocal8Bit(value);
        } else {
            return usage("unknown argument");
        }
    }
    if (port < 0 || certPath.isEmpty() || keyPath.isEmpty())
        return usage("--port, --cert and --key are required");

    const QList<QSslCertificate> chain = QSslCertificate::fromPath(certPath, QSsl::Pem);
    if (chain.isEmpty())
        return fail("no certificate in " + certPath);
    QFile keyFile(keyPath);
    if (!keyFile.open(QIODevice::ReadOnly))
        return fail(keyPath + ": " + keyFile.errorString());
    const QByteArray keyPem = keyFile.readAll();
    QSslKey key(keyPem, QSsl::Ec, QSsl::Pem);
    if (key.isNull())
        key = QSslKey(keyPem, QSsl::Rsa, QSsl::Pem);
    if (key.isNull())
        return fail("no EC or RSA private key in " + keyPath);

    QSslConfiguration config = QSslConfiguration::defaultConfiguration();
    config.setLocalCertificateChain(chain);
    config.setPrivateKey(key);
    config.setPeerVerifyMode(QSslSocket::VerifyNone);

    QSslServer server;
    server.setSslConfiguration(config);
    QObject::connect(&server, &QSslServer::startedEncryptionHandshake, [](QSslSocket *socket) {
        socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    });
    if (!server.listen(host, quint16(port)))
        return fail(server.errorString());
    std::printf("listening on %d\n", int(server.serverPort()));
    std::fflush(stdout);

    QObject::connect(&server, &QTcpServer::pendingConnectionAvailable, [&server] {
        while (QTcpSocket *socket = server.nextPendingConnection()) {
            QObject::connect(socket, &QTcpSocket::readyRead, socket,
                             [socket] { socket->write(socket->readAll()); });
            QObject::connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
        }
    });
    return app.exec();
}
