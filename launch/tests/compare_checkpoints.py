#!/usr/bin/env python3
"""Compares the tensors of two resnet-dist checkpoints byte for byte (standard library only).

  compare_checkpoints.py A B [--skip NAME ...]

Prints "N of M tensors differ" (and the first few names with their largest absolute difference);
exits 0 when both files hold the same tensor names, shapes and bytes, 1 otherwise.
"""
import json, struct, sys

def tensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    data = raw[8 + n:]
    return {name: (t["shape"], data[t["data_offsets"][0]:t["data_offsets"][1]]) for name, t in header.items()}

def main(argv):
    a, b = tensors(argv[1]), tensors(argv[2])
    skip = set(argv[argv.index("--skip") + 1:]) if "--skip" in argv else set()
    names = sorted((set(a) | set(b)) - skip)
    differing = []
    for name in names:
        if name not in a or name not in b:
            differing.append((name, "only in one file"))
        elif a[name][0] != b[name][0]:
            differing.append((name, "shapes %s / %s" % (a[name][0], b[name][0])))
        elif a[name][1] != b[name][1]:
            fa = struct.unpack("<%df" % (len(a[name][1]) // 4), a[name][1])
            fb = struct.unpack("<%df" % (len(b[name][1]) // 4), b[name][1])
            differing.append((name, "max abs diff %.3g" % max(abs(x - y) for x, y in zip(fa, fb))))
    print("%d of %d tensors differ" % (len(differing), len(names)) +
          "".join("; %s: %s" % d for d in differing[:3]))
    return 1 if differing else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv))
