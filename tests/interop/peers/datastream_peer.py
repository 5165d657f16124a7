#!/usr/bin/env python3
"""Qt's side of tests/interop_datastream.rs: a real QDataStream (PySide6).

The Rust test runs this with .venv/bin/python (PySide6-Essentials, pinned by
.ci/run) and talks to it over stdin/stdout only; no network.

    datastream_peer.py version   prints "<PySide6 version> <qVersion()>"
    datastream_peer.py write     Qt writes each case; prints
                                 "<id>\t<status>\t<hex>" per case
    datastream_peer.py read      Qt reads each case's hex; prints
                                 "<id>\t<status>\t<atEnd 0|1>\t<canonical values>"

Cases come on stdin, one JSON object per line:

    {"id": "...", "version": 19, "order": "BE" | "LE",
     "precision": "double" | "single", "hex": "<bytes, read mode>",
     "ops": [[kind, value], ...]}

Values are strings (decimal integers, hex bit patterns for floats, UTF-8
hex for text) so that nothing is lost in JSON. The canonical form printed
in read mode is "kind=value" per op, joined by ";"; the Rust test builds the
same form from the values it wrote.

Everything is written and read by QDataStream itself, except the containers
PySide6 does not bind (QList<int>, QMap<QString,int>, QPair<QString,int>,
the const char* overload): those are written and read field by field with
QDataStream's primitives, following Qt's documented layout (quint32 count +
elements; a QMap in ascending key order, which for QString keys is UTF-16
code-unit order; a pair as first then second; a const char* as writeBytes
of the bytes plus the trailing NUL; a non-ASCII QChar as its quint16, see
write_op). QStringList uses Qt's own writeQStringList/readQStringList.
"""

import json
import struct
import sys

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QByteArray, QDataStream, QIODevice, qVersion

VERSIONS = {v.value: v for v in QDataStream.Version}


def text(hex_utf8):
    return bytes.fromhex(hex_utf8).decode("utf-8")


def utf8_hex(s):
    return s.encode("utf-8", "surrogatepass").hex()


def f32(bits_hex):
    return struct.unpack(">f", bytes.fromhex(bits_hex))[0]


def f64(bits_hex):
    return struct.unpack(">d", bytes.fromhex(bits_hex))[0]


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


INT_WRITERS = {
    "i8": "writeInt8",
    "u8": "writeUInt8",
    "i16": "writeInt16",
    "u16": "writeUInt16",
    "i32": "writeInt32",
    "u32": "writeUInt32",
    "i64": "writeInt64",
    "u64": "writeUInt64",
}
INT_READERS = {k: "read" + v[len("write"):] for k, v in INT_WRITERS.items()}


def write_op(ds, kind, v):
    if kind in INT_WRITERS:
        getattr(ds, INT_WRITERS[kind])(int(v))
    elif kind == "bool":
        ds.writeBool(v == "1")
    elif kind == "f32":
        ds.writeFloat(f32(v))
    elif kind == "f64":
        ds.writeDouble(f64(v))
    elif kind == "qchar":
        code = int(v, 16)
        if code < 0x80:
            ds.writeQChar(chr(code))
        else:
            # PySide6 6.11's writeQChar passes the character through a C
            # char (U+00E9 comes out as ffc3, the sign-extended first UTF-8
            # byte), so write QChar's layout, a quint16, directly.
            ds.writeUInt16(code)
    elif kind in ("str", "optstr"):
        ds.writeQString(text(v))
    elif kind == "strnull":
        ds.writeQString(None)  # a null QString
    elif kind == "ba":
        ds << QByteArray(bytes.fromhex(v))
    elif kind == "banull":
        ds << QByteArray()  # a null QByteArray
    elif kind == "bytes":
        ds.writeBytes(bytes.fromhex(v))
    elif kind == "cstr":
        # operator<<(const char *) is not bound: it is writeBytes of the
        # string and its NUL.
        ds.writeBytes(bytes.fromhex(v) + b"\0")
    elif kind == "raw":
        ds.writeRawData(bytes.fromhex(v))
    elif kind == "strlist":
        ds.writeQStringList([text(s) for s in v])
    elif kind == "list_i32":
        # QList<int>: quint32 count + qint32 elements (not bound by PySide6).
        ds.writeUInt32(len(v))
        for x in v:
            ds.writeInt32(int(x))
    elif kind == "map_str_i32":
        # QMap<QString,int>: count + (key, value) in QMap order, i.e. by
        # UTF-16 code units (not bound by PySide6).
        entries = sorted(((text(k), int(x)) for k, x in v),
                         key=lambda e: e[0].encode("utf-16-be"))
        ds.writeUInt32(len(entries))
        for k, x in entries:
            ds.writeQString(k)
            ds.writeInt32(x)
    elif kind == "pair_str_i32":
        # QPair<QString,int>: first, second (not bound by PySide6).
        ds.writeQString(text(v[0]))
        ds.writeInt32(int(v[1]))
    else:
        raise ValueError("unknown kind " + kind)


def read_op(ds, kind, v):
    if kind in INT_READERS:
        return f"{kind}={getattr(ds, INT_READERS[kind])()}"
    if kind == "bool":
        return "bool=" + ("1" if ds.readBool() else "0")
    if kind == "f32":
        return "f32=" + struct.pack(">f", ds.readFloat()).hex()
    if kind == "f64":
        return "f64=" + struct.pack(">d", ds.readDouble()).hex()
    if kind == "qchar":
        return "qchar=%04x" % ord(ds.readQChar())
    if kind in ("str", "optstr", "strnull"):
        # PySide6 gives '' for both a null and an empty QString.
        return "str=" + utf8_hex(ds.readQString())
    if kind in ("ba", "banull"):
        ba = QByteArray()
        ds >> ba
        return "ba=null" if ba.isNull() else "ba=" + bytes(ba).hex()
    if kind in ("bytes", "cstr"):
        data = ds.readBytes(0)  # Qt's readBytes(char *&, len); the 0 is unused
        return "bytes=" + (b"" if data is None else bytes(data)).hex()  # None: nullptr
    if kind == "raw":
        return "raw=" + bytes(ds.readRawData(len(v) // 2)).hex()
    if kind == "strlist":
        return "strlist=[" + ",".join(utf8_hex(s) for s in ds.readQStringList()) + "]"
    if kind == "list_i32":
        n = ds.readUInt32()
        items = [str(ds.readInt32()) for _ in range(min(n, 1 << 16))]
        return "list_i32=[" + ",".join(items) + "]"
    if kind == "map_str_i32":
        n = ds.readUInt32()
        items = []
        for _ in range(min(n, 1 << 16)):
            k = ds.readQString()
            items.append(f"{utf8_hex(k)}:{ds.readInt32()}")
        return "map=[" + ",".join(items) + "]"
    if kind == "pair_str_i32":
        k = ds.readQString()
        return f"pair={utf8_hex(k)}:{ds.readInt32()}"
    raise ValueError("unknown kind " + kind)


def main():
    mode = sys.argv[1]
    if mode == "version":
        print(pyside_version, qVersion())
        return
    for line in sys.stdin.read().splitlines():
        if not line.strip():
            continue
        case = json.loads(line)
        if mode == "write":
            data = QByteArray()
            ds = QDataStream(data, QIODevice.OpenModeFlag.WriteOnly)
            setup(ds, case)
            for kind, v in case["ops"]:
                write_op(ds, kind, v)
            status = ds.status().value
            del ds
            print(f"{case['id']}\t{status}\t{bytes(data).hex()}")
        elif mode == "read":
            data = QByteArray(bytes.fromhex(case["hex"]))
            ds = QDataStream(data)
            setup(ds, case)
            canon = ";".join(read_op(ds, kind, v) for kind, v in case["ops"])
            at_end = "1" if ds.atEnd() else "0"
            print(f"{case['id']}\t{ds.status().value}\t{at_end}\t{canon}")
        else:
            raise SystemExit("unknown mode " + mode)


if __name__ == "__main__":
    main()
