// The Qt 6 peer: the textbook QTcpServer echo server, single-threaded.
//
//   echo_server_qt --port N [--host H]
//
// Prints "listening on <port>" first (flushed), then echoes every byte of
// every connection: readyRead -> write(readAll()), disconnected ->
// deleteLater. Built by benches/echo/run.sh with
//   g++ -O2 -fPIC echo_server.cpp $(pkg-config --cflags --libs Qt6Network)

#include <QCoreApplication>
#include <QHostAddress>
#include <QTcpServer>
#include <QTcpSocket>

#include <cstdio>
#include <cstdlib>
#include <cstring>

static int usage(const char *problem) {
    std::fprintf(stderr, "echo_server_qt: %s\nusage: echo_server_qt --port N [--host H]\n", problem);
    return 2;
}

int main(int argc, char **argv) {
    QCoreApplication app(argc, argv);
    QHostAddress host(QHostAddress::LocalHost);
    long port = -1;
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc)
            return usage("an argument needs a value");
        if (std::strcmp(argv[i], "--port") == 0) {
            char *end = nullptr;
            port = std::strtol(argv[i + 1], &end, 10);
            if (*end != '\0' || port < 0 || port > 65535)
                return usage("bad port");
        } else if (std::strcmp(argv[i], "--host") == 0) {
            if (!host.setAddress(QString::fromLocal8Bit(argv[i + 1])))
                return usage("bad host");
        } else {
            return usage("unknown argument");
        }
    }
    if (port < 0)
        return usage("--port is required");

    QTcpServer server;
    if (!server.listen(host, quint16(port))) {
        std::fprintf(stderr, "echo_server_qt: %s\n", qPrintable(server.errorString()));
        return 1;
    }
    std::printf("listening on %d\n", int(server.serverPort()));
    std::fflush(stdout);

    QObject::connect(&server, &QTcpServer::newConnection, [&server] {
        while (QTcpSocket *socket = server.nextPendingConnection()) {
            QObject::connect(socket, &QTcpSocket::readyRead, socket,
                             [socket] { socket->write(socket->readAll()); });
            QObject::connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
        }
    });
    return app.exec();
}
