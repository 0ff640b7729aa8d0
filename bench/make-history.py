#!/usr/bin/env python3
"""Writes a git fast-import stream of COMMITS commits, each replacing one of 100 files
with BLOB_BYTES of random (incompressible) bytes, so the repository's pack is about
COMMITS x BLOB_BYTES in size. Usage: make-history.py COMMITS BLOB_BYTES | git fast-import"""
import os
import sys

commits = int(sys.argv[1])
blob_bytes = int(sys.argv[2])
out = sys.stdout.buffer
for n in range(1, commits + 1):
    data = os.urandom(blob_bytes)
    message = f"commit {n}\n".encode()
    out.write(b"commit refs/heads/main\n")
    out.write(f"mark :{n}\n".encode())
    out.write(f"committer Bench <bench@example.com> {1700000000 + n} +0000\n".encode())
    out.write(f"data {len(message)}\n".encode() + message)
    if n > 1:
        out.write(f"from :{n - 1}\n".encode())
    out.write(f"M 100644 inline data/file{n % 100:02d}.bin\n".encode())
    out.write(f"data {len(data)}\n".encode() + data + b"\n")
    if n % 1000 == 0:
        out.write(f"progress {n} commits\n".encode())
out.write(b"done\n")
