#!/usr/bin/env python3
"""Checks a resnet-dist run against a fixture written by launch/pytorch_peer.py (PyTorch).

usage: pytorch_fixture_check.py EXPECTED.json TRACE CHECKPOINT [--export FILE] [--tolerance 1e-4]

TRACE holds the run's `step N loss X` lines (--trace-steps), CHECKPOINT its final checkpoint.
Losses: |a - b| / |b| per step. Weights and BatchNorm statistics, per tensor:
max_i |a_i - b_i| / max(max_i |b_i|, 1e-6), where b is PyTorch's. The test metric after each
epoch (metrics.jsonl beside the checkpoint) as the losses. All must be within the tolerance.
With --export (a `resnet-dist export-peer` file of the same config) it also checks that
resnet-dist still builds the initial weights and takes the batches the fixture was made from,
so that a failure says whether the start, the data order or the training changed.
Standard library only (no numpy, no torch). Prints one line per check; exits 1 when any fails.
"""
import argparse
import hashlib
import json
import os
import re
import struct
import sys

FLOOR = 1e-6


def read_safetensors(path):
    """name -> (dtype, shape, raw bytes), and the metadata."""
    with open(path, "rb") as f:
        blob = f.read()
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + length])
    meta = header.pop("__metadata__", {})
    data = blob[8 + length:]
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        out[name] = (info["dtype"], info["shape"], data[begin:end])
    return out, meta


def values(entry):
    dtype, _, raw = entry
    code = {"F32": "f", "I32": "i", "I64": "q"}[dtype]
    return struct.unpack("<%d%s" % (len(raw) // struct.calcsize(code), code), raw)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("expected")
    parser.add_argument("trace")
    parser.add_argument("checkpoint")
    parser.add_argument("--export")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()
    with open(args.expected) as f:
        fx = json.load(f)
    ok = True

    if args.export:
        tensors, _ = read_safetensors(args.export)
        h = hashlib.sha256()
        for name in sorted(n for n in tensors if not n.startswith("data.")):
            h.update(name.encode())
            h.update(tensors[name][2])
        same_init = h.hexdigest() == fx["initial_sha256"]
        dtype, shape, _ = tensors["data.permutation"]
        order = values(tensors["data.permutation"])
        n = shape[1]
        batch = len(fx["batches"][0])
        steps_per_epoch = (n + batch - 1) // batch
        batches = []
        for step in range(fx["steps"]):
            epoch, k = divmod(step, steps_per_epoch)
            row = order[epoch * n:(epoch + 1) * n]
            batches.append(list(row[k * batch:(k + 1) * batch]))
        same_order = batches == fx["batches"]
        print(f"initial weights as in the fixture: {'yes' if same_init else 'NO'}; "
              f"data order as in the fixture: {'yes' if same_order else 'NO'}")
        ok = ok and same_init and same_order

    with open(args.trace) as f:
        losses = [float(m.group(1)) for m in (re.match(r"^step \d+ loss (\S+)", l) for l in f) if m]
    expected = fx["losses"]
    if len(losses) != len(expected):
        print(f"losses: the run printed {len(losses)} step losses, the fixture has {len(expected)}")
        ok = False
    else:
        rel = [abs(a - b) / max(abs(b), FLOOR) for a, b in zip(losses, expected)]
        worst = max(range(len(rel)), key=rel.__getitem__)
        good = rel[worst] <= args.tolerance
        print(f"losses: {len(losses)} steps, max rel diff {rel[worst]:.3g} at step {worst + 1} "
              f"(resnet-dist {losses[worst]:.9g}, PyTorch {expected[worst]:.9g}) {'ok' if good else 'FAIL'}")
        ok = ok and good

    metrics_path = os.path.join(os.path.dirname(os.path.abspath(args.checkpoint)), "metrics.jsonl")
    if os.path.exists(metrics_path):
        with open(metrics_path) as f:
            records = [json.loads(line) for line in f if line.strip()]
        want = fx["epochs"]
        if [(r["epoch"], r["level"]) for r in records] != [(e["epoch"], e["level"]) for e in want]:
            print("test metrics: the run's epochs and levels differ from the fixture's")
            ok = False
        else:
            rel = [abs(r["testMetric"] - e["value"]) / max(abs(e["value"]), FLOOR) for r, e in zip(records, want)]
            good = max(rel) <= args.tolerance
            print(f"test metric ({want[0]['metric']}) after each of {len(rel)} epochs: max rel diff {max(rel):.3g} "
                  f"{'ok' if good else 'FAIL'}")
            ok = ok and good

    tensors, _ = read_safetensors(args.checkpoint)
    model = {n for n in tensors if not n.startswith("optimizer.")}
    missing, extra = sorted(set(fx["final"]) - model), sorted(model - set(fx["final"]))
    if missing or extra:
        print(f"weights: tensors only in the fixture {missing[:5]}, only in the checkpoint {extra[:5]}")
        ok = False
    worst_name, worst_rel, worst_abs = None, -1.0, 0.0
    for name, want in sorted(fx["final"].items()):
        if name not in tensors:
            continue
        dtype, shape, _ = tensors[name]
        if dtype != "F32" or shape != want["shape"]:
            print(f"weights: {name} is {dtype} {shape}, the fixture has F32 {want['shape']}")
            ok = False
            continue
        got = values(tensors[name])
        diff = max(abs(a - b) for a, b in zip(got, want["values"]))
        rel = diff / max(max(abs(b) for b in want["values"]), FLOOR)
        if rel > worst_rel:
            worst_name, worst_rel, worst_abs = name, rel, diff
    good = worst_rel <= args.tolerance
    print(f"weights: {len(fx['final'])} tensors, max rel diff {worst_rel:.3g} in {worst_name} "
          f"(max abs diff {worst_abs:.3g}) {'ok' if good else 'FAIL'}")
    ok = ok and good
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
