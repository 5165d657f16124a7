#!/usr/bin/env python3
"""Qt's side of tests/interop_variant.rs: QVariant through a real QDataStream.

Run with .venv/bin/python (PySide6-Essentials, pinned by .ci/test); stdin and
stdout only, no network.

    variant_peer.py write    Qt builds each case's value from Python and
                             writes it as a QVariant; prints
                             "<id>\t<status>\t<hex>"
    variant_peer.py reread   Qt reads each case's hex as a QVariant and
                             writes that QVariant again with the same
                             settings; prints "<id>\t<status>\t<atEnd>\t<hex>"

Cases come on stdin, one JSON object per line:

    {"id": "...", "version": 19, "order": "BE" | "LE",
     "precision": "double" | "single", "hex": "...", "value": {...}}

reread must not let the value pass through Python (PySide6 would turn a
QVariant(short) into a Python int and write it back as an int). It wraps the
bytes as the data of a QStandardItem, whose read() and write() stream their
QVariants in C++: the wrapper is "count, role, QVariant, flags"; after read()
the item holds one more (internal) value, which write() puts after ours, so
the bytes of our QVariant are what lies between the role and the bytes an
empty item writes after its count.

Values for write (only the types PySide6 can build from Python):

    {"t": "invalid"} | {"t": "bool", "v": true} | {"t": "int", "v": "-5"}
    {"t": "double", "v": "<bits hex>"} | {"t": "str", "v": "<utf-8 hex>"}
    {"t": "ba", "v": "<hex>"} | {"t": "strlist", "v": ["<utf-8 hex>", ...]}
    {"t": "list", "v": [value, ...]} | {"t": "map", "v": [["<utf-8 hex>", value], ...]}
    {"t": "date", "jd": 2460370 | null} | {"t": "time", "ms": 123 | null}
    {"t": "datetime", "jd": .., "ms": .., "spec": "local" | "utc" | "offset" | "zone",
     "offset": 3600, "zone": "Europe/Berlin"}
    {"t": "url", "v": "http://..."} | {"t": "uuid", "v": "<32 hex>"}
"""

import json
import struct
import sys

from PySide6.QtCore import (
    QByteArray,
    QDataStream,
    QDate,
    QDateTime,
    QIODevice,
    QTime,
    QTimeZone,
    QUrl,
    QUuid,
)
from PySide6.QtGui import QStandardItem

VERSIONS = {v.value: v for v in QDataStream.Version}
ROLE = 0x100  # Qt::UserRole


def text(hex_utf8):
    return bytes.fromhex(hex_utf8).decode("utf-8")


def setup(ds, case):
    ds.setVersion(VERSIONS[case["version"]])
    ds.setByteOrder(
        QDataStream.ByteOrder.BigEndian
        if case["order"] == "BE"
        else QDataStream.ByteOrder.LittleEndian
    )
    ds.setFloatingPointPrecision(
        QDataStream.FloatingPointPrecision.DoublePrecision
        if case["precision"] == "double"
        else QDataStream.FloatingPointPrecision.SinglePrecision
    )


def date(jd):
    return QDate() if jd is None else QDate.fromJulianDay(jd)


def time(ms):
    return QTime() if ms is None else QTime.fromMSecsSinceStartOfDay(ms)


def build(value):
    t = value["t"]
    if t == "invalid":
        return None
    if t == "bool":
        return bool(value["v"])
    if t == "int":
        return int(value["v"])
    if t == "double":
        return struct.unpack(">d", bytes.fromhex(value["v"]))[0]
    if t == "str":
        return text(value["v"])
    if t == "ba":
        return QByteArray(bytes.fromhex(value["v"]))
    if t == "strlist":
        return [text(s) for s in value["v"]]
    if t == "list":
        return [build(v) for v in value["v"]]
    if t == "map":
        return {text(k): build(v) for k, v in value["v"]}
    if t == "date":
        return date(value["jd"])
    if t == "time":
        return time(value["ms"])
    if t == "datetime":
        spec = value["spec"]
        if spec == "local":
            zone = QTimeZone(QTimeZone.Initialization.LocalTime)
        elif spec == "utc":
            zone = QTimeZone(QTimeZone.Initialization.UTC)
        elif spec == "offset":
            zone = QTimeZone.fromSecondsAheadOfUtc(value["offset"])
        else:
            zone = QTimeZone(value["zone"].encode())
        if value["jd"] is None and value["ms"] is None:
            return QDateTime()
        return QDateTime(date(value["jd"]), time(value["ms"]), zone)
    if t == "url":
        return QUrl(value["v"])
    if t == "uuid":
        return QUuid.fromRfc4122(QByteArray(bytes.fromhex(value["v"])))
    raise ValueError("unknown value type " + t)


def stream_over(data, case, mode):
    ds = QDataStream(data, mode)
    setup(ds, case)
    return ds


def encode(case, fill):
    """The bytes fill(stream) writes with the case's settings."""
    data = QByteArray()
    ds = stream_over(data, case, QIODevice.OpenModeFlag.WriteOnly)
    fill(ds)
    del ds
    return bytes(data)


def read_item(case, data):
    buffer = QByteArray(data)  # the stream keeps a pointer: keep it alive
    ds = stream_over(buffer, case, QIODevice.OpenModeFlag.ReadOnly)
    item = QStandardItem()
    item.read(ds)
    result = item, ds.status().value, "1" if ds.atEnd() else "0"
    del ds
    return result


def reread(case):
    head = encode(case, lambda ds: (ds.writeUInt32(1), ds.writeInt32(ROLE)))
    flags = encode(case, lambda ds: ds.writeInt32(0))
    item, status, at_end = read_item(case, head + bytes.fromhex(case["hex"]) + flags)
    blank, _, _ = read_item(case, encode(case, lambda ds: ds.writeUInt32(0)) + flags)
    out = encode(case, item.write)
    tail = encode(case, blank.write)[4:]
    ok = status == 0 and out.endswith(tail) and out[4:len(head)] == head[4:]
    body = out[len(head):len(out) - len(tail)].hex() if ok else ""
    return f"{case['id']}\t{status}\t{at_end}\t{body}"


def write(case):
    data = QByteArray()
    ds = stream_over(data, case, QIODevice.OpenModeFlag.WriteOnly)
    ds.writeQVariant(build(case["value"]))
    status = ds.status().value
    del ds
    return f"{case['id']}\t{status}\t{bytes(data).hex()}"


def main():
    mode = sys.argv[1]
    for line in sys.stdin.read().splitlines():
        if not line.strip():
            continue
        case = json.loads(line)
        if mode == "write":
            print(write(case))
        elif mode == "reread":
            print(reread(case))
        else:
            raise SystemExit("unknown mode " + mode)


if __name__ == "__main__":
    main()
