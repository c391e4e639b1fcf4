#!/usr/bin/env python3
"""Converts a resnet-dist run's metrics.jsonl into CSV: epoch, level, blocks, h, integrator,
train_loss, test_error_norm, epoch_seconds, wall_seconds (cumulative epoch seconds, i.e. training
time without evaluation), peak_rss_mb. resnet-dist writes no per-epoch CSV itself.

    python3 metrics_to_csv.py RUN_DIR/metrics.jsonl OUT.csv
"""
import csv
import json
import sys


def main(src, dst):
    with open(src) as f:
        records = [json.loads(line) for line in f if line.strip()]
    wall = 0.0
    with open(dst, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["epoch", "level", "blocks", "h", "integrator", "train_loss", "test_error_norm",
                    "epoch_seconds", "wall_seconds", "peak_rss_mb"])
        for r in records:
            wall += r["epochSeconds"]
            w.writerow([r["epoch"], r["level"], "+".join(map(str, r["blocks"])), r["h"], r["integrator"],
                        "%.9g" % r["trainLoss"], "%.9g" % r["testMetric"], "%.6f" % r["epochSeconds"],
                        "%.4f" % wall, "%.1f" % (r["peakRSSBytes"] / 2**20)])
    print(f"{dst}: {len(records)} epochs", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
