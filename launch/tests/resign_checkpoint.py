#!/usr/bin/env python3
"""Edits a resnet-dist checkpoint and signs it again, so that tests can build checkpoints that pass
the checksum but hold impossible values. Standard library only; the checksum is recomputed from the
algorithm documented in SafeTensorsFile+Checksum.swift (FNV-1a 64 over the tensors, then over the metadata).

  resign_checkpoint.py IN OUT [KEY=VALUE | KEY:FIELD=JSON | -KEY ...] [--nan TENSOR] [--first TENSOR=X] [--tensors-only]

KEY=VALUE sets a metadata entry, KEY:FIELD=JSON one field of a JSON-valued entry (model_spec:blocks=[9]),
-KEY removes an entry; --nan makes a tensor's first value NaN, --first TENSOR=X sets it to X; --tensors-only signs the tensors alone,
as the first checkpoint format did.
"""
import json, struct, sys

FNV_OFFSET, FNV_PRIME, MASK = 0xcbf29ce484222325, 0x100000001b3, (1 << 64) - 1

def fnv(h, data):
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & MASK
    return h

def main(argv):
    src, dst, rest = argv[1], argv[2], argv[3:]
    raw = open(src, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = bytearray(raw[8 + n:])
    meta = header.pop("__metadata__")
    i = 0
    while i < len(rest):
        if rest[i] == "--nan":
            start = header[rest[i + 1]]["data_offsets"][0]
            data[start:start + 4] = struct.pack("<f", float("nan"))
            i += 2
        elif rest[i] == "--first":
            name, value = rest[i + 1].split("=", 1)
            start = header[name]["data_offsets"][0]
            data[start:start + 4] = struct.pack("<f", float(value))
            i += 2
        elif rest[i] == "--tensors-only":
            i += 1
        elif rest[i].startswith("-"):
            meta.pop(rest[i][1:], None)
            i += 1
        else:
            key, value = rest[i].split("=", 1)
            if ":" in key:
                key, field = key.split(":", 1)
                obj = json.loads(meta[key])
                obj[field] = json.loads(value)
                value = json.dumps(obj, separators=(",", ":"), sort_keys=True)
            meta[key] = value
            i += 1
    h = FNV_OFFSET
    for name in sorted(header, key=lambda s: s.encode()):
        t = header[name]
        h = fnv(h, name.encode() + b"\0" + t["dtype"].encode() + b"\0")
        for d in t["shape"]:
            h = fnv(h, struct.pack("<Q", d))
        a, b = t["data_offsets"]
        h = fnv(h, b"\xff" + bytes(data[a:b]))
    tensors = "%016x" % h
    h = fnv(FNV_OFFSET, tensors.encode())
    for key in sorted(meta, key=lambda s: s.encode()):
        if key != "checksum_fnv1a64":
            h = fnv(h, key.encode() + b"\0" + meta[key].encode() + b"\xff")
    meta["checksum_fnv1a64"] = tensors if "--tensors-only" in rest else "%016x" % h
    header["__metadata__"] = meta
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    open(dst, "wb").write(struct.pack("<Q", len(text)) + text + bytes(data))

if __name__ == "__main__":
    main(sys.argv)
