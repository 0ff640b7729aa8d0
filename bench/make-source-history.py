#!/usr/bin/env python3
"""Writes a git fast-import stream of a source-code history the size of redis/redis:
COMMITS commits (default 12,000) on `main` over FILES text files (default 1,600) in 40
folders, a few of them over 5,000 lines; each commit edits a few lines of one to three
files, every 100th merges a side branch of three commits, and every 1,000th is tagged.
Deterministic (fixed seed), so runs compare. Usage:
    make-source-history.py [COMMITS] [FILES] | git fast-import"""
import random
import sys

commits = int(sys.argv[1]) if len(sys.argv) > 1 else 12000
file_count = int(sys.argv[2]) if len(sys.argv) > 2 else 1600
rng = random.Random(1)
out = sys.stdout.buffer
words = "alpha beta gamma delta value count index buffer length result error state node list map key".split()

paths = [f"src/module{n % 40:02d}/file{n:04d}.c" for n in range(file_count)]
big = set(paths[:4])  # the files over 5,000 lines
files = {}
for path in paths:
    lines = 6000 if path in big else rng.randint(20, 400)
    files[path] = [f"int {rng.choice(words)}_{n} = {rng.randint(0, 9999)}; /* {rng.choice(words)} <&> */" for n in range(lines)]

mark = 0
def blob(path):
    global mark
    mark += 1
    data = ("\n".join(files[path]) + "\n").encode()
    out.write(b"blob\n" + f"mark :{mark}\n".encode() + f"data {len(data)}\n".encode() + data + b"\n")
    return mark

def edit(path):
    lines = files[path]
    for _ in range(rng.randint(1, 4)):
        lines[rng.randrange(len(lines))] = f"int {rng.choice(words)}_{rng.randint(0, 99999)} = {rng.randint(0, 9999)};"

def commit(ref, number, parent_marks, changed, message):
    global mark
    blobs = {path: blob(path) for path in changed}
    mark += 1
    out.write(f"commit {ref}\nmark :{mark}\n".encode())
    out.write(f"author Dev {number % 17} <dev{number % 17}@example.com> {1600000000 + number * 600} +0000\n".encode())
    out.write(f"committer Dev {number % 17} <dev{number % 17}@example.com> {1600000000 + number * 600} +0000\n".encode())
    text = message.encode()
    out.write(f"data {len(text)}\n".encode() + text + b"\n")
    for index, parent in enumerate(parent_marks):
        out.write(f"{'from' if index == 0 else 'merge'} :{parent}\n".encode())
    if not parent_marks:
        out.write(b"deleteall\n")
    for path, blob_mark in blobs.items():
        out.write(f"M 100644 :{blob_mark} {path}\n".encode())
    return mark

head = commit("refs/heads/main", 0, [], paths, "Initial import\n\nEvery file of the project.\n")
for n in range(1, commits + 1):
    if n % 100 == 0:
        side = head
        for k in range(3):
            changed = rng.sample(paths, 2)
            for path in changed:
                edit(path)
            side = commit("refs/heads/side", n * 10 + k, [side], changed, f"Side work {n}.{k}\n")
        head = commit("refs/heads/main", n, [head, side], [], f"Merge branch 'side' at {n}\n")
    else:
        changed = rng.sample(paths, rng.randint(1, 3))
        for path in changed:
            edit(path)
        head = commit("refs/heads/main", n, [head], changed, f"Change {n}: {rng.choice(words)} {rng.choice(words)}\n\nA longer body for commit {n}.\n")
    if n % 1000 == 0:
        out.write(f"reset refs/tags/v{n // 1000}.0\nfrom :{head}\n\n".encode())
        out.write(f"progress {n} commits\n".encode())
out.write(b"done\n")
