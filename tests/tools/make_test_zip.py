#!/usr/bin/env python3
"""Writes the ZIP archives the mdsctl server test publishes or expects refused.

    make_test_zip.py KIND OUT

KIND is one of: good, slip, absolute, backslash, symlink, duplicate, size-lie.
"""
import stat
import struct
import sys
import zipfile


def regular(archive, name, data, compress=zipfile.ZIP_DEFLATED):
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.create_system = 3  # Unix, so that the mode below is read
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    info.compress_type = compress
    archive.writestr(info, data)


def write(kind, out):
    with zipfile.ZipFile(out, "w") as archive:
        regular(archive, "index.html", b"<html>zip</html>\n")
        regular(archive, "static/app.js", b"console.log('zip');\n" * 50)
        if kind == "slip":
            regular(archive, "../evil.txt", b"outside\n")
        elif kind == "absolute":
            regular(archive, "/tmp/evil.txt", b"outside\n")
        elif kind == "backslash":
            regular(archive, "a\\..\\..\\evil.txt", b"outside\n")
        elif kind == "symlink":
            info = zipfile.ZipInfo("static/link.js", date_time=(2026, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, b"/etc/passwd")
        elif kind == "duplicate":
            import warnings
            warnings.simplefilter("ignore")
            regular(archive, "index.html", b"<html>twin</html>\n")
        elif kind == "size-lie":
            regular(archive, "big.txt", b"A" * 4096)
    if kind == "size-lie":
        lie_about_size(out, b"big.txt", 100)


def lie_about_size(path, name, declared):
    """Rewrites the uncompressed size of entry `name` in both of its headers."""
    data = bytearray(open(path, "rb").read())
    local = data.find(b"PK\x03\x04" + b"\x00" * 0)  # first local header
    while local != -1:
        name_length, = struct.unpack_from("<H", data, local + 26)
        if data[local + 30:local + 30 + name_length] == name:
            struct.pack_into("<I", data, local + 22, declared)
        local = data.find(b"PK\x03\x04", local + 4)
    central = data.find(b"PK\x01\x02")
    while central != -1:
        name_length, = struct.unpack_from("<H", data, central + 28)
        if data[central + 46:central + 46 + name_length] == name:
            struct.pack_into("<I", data, central + 24, declared)
        central = data.find(b"PK\x01\x02", central + 4)
    open(path, "wb").write(bytes(data))


if __name__ == "__main__":
    write(sys.argv[1], sys.argv[2])
