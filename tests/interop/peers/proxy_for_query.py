#!/usr/bin/env python3
"""Prints Qt's QNetworkProxyFactory::proxyForQuery() answer for each host
named on the command line, with a SOCKS5 application proxy set, for
tests/interop_proxy.rs: one line "<host> <ProxyTypeName>" per host."""
import sys

from PySide6.QtNetwork import QNetworkProxy, QNetworkProxyFactory, QNetworkProxyQuery

QNetworkProxy.setApplicationProxy(QNetworkProxy(QNetworkProxy.ProxyType.Socks5Proxy, "10.0.0.1", 1080))
for host in sys.argv[1:]:
    query = QNetworkProxyQuery(host, 80, "", QNetworkProxyQuery.QueryType.TcpSocket)
    first = QNetworkProxyFactory.proxyForQuery(query)[0]
    print(host, first.type().name, flush=True)
