#!/usr/bin/env python3
"""Runs launch/pytorch_peer.py on one resnet-dist run's config.yaml for all its epochs and writes
the peer's per-epoch curve as CSV (epoch, level, blocks, train_loss, test_error_norm, wall_seconds).

    ~/torchenv/bin/python peer_curve.py RUN_DIR OUT.csv

wall_seconds is the time since the peer was started (it includes `resnet-dist export-peer`),
taken when each epoch line arrives on the peer's stdout.
"""
import csv
import os
import re
import subprocess
import sys
import time

LINE = re.compile(r"^epoch (\d+) level (\d+) blocks (\S+) train loss (\S+) test error norm (\S+)$")


def main(run_dir, out_csv):
    here = os.path.dirname(os.path.abspath(__file__))
    peer = os.path.join(here, "..", "..", "pytorch_peer.py")
    cmd = [sys.executable, peer, "--config", os.path.join(run_dir, "config.yaml"), "--quiet"]
    start = time.monotonic()
    rows = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as proc:
        for line in proc.stdout:
            m = LINE.match(line.strip())
            if not m:
                print(line, end="", file=sys.stderr)
                continue
            rows.append([int(m[1]), int(m[2]), m[3].replace(",", "+"), m[4], m[5],
                         "%.3f" % (time.monotonic() - start)])
    if proc.returncode != 0 or not rows:
        sys.exit(f"peer_curve: {' '.join(cmd)} failed (exit {proc.returncode}, {len(rows)} epochs)")
    with open(out_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["epoch", "level", "blocks", "train_loss", "test_error_norm", "wall_seconds"])
        w.writerows(rows)
    print(f"{out_csv}: {len(rows)} epochs, final test error norm {rows[-1][4]}, {rows[-1][5]} s")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
