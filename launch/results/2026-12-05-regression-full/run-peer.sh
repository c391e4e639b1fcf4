#!/usr/bin/env bash
# The PyTorch half: launch/pytorch_peer.py on every run's own config.yaml (all epochs), one after
# another, one thread each. Run from the repository root after run-resnet-dist.sh.
set -euo pipefail
here=launch/results/2026-12-05-regression-full
PY=${PY:-$HOME/torchenv/bin/python}
for exp in regression rk2-regression rk2-multilevel; do
  cmp=$(ls -d runs/$exp-compare-* | tail -n 1)
  for run in "$cmp"/$exp-*/; do
    run=${run%/}; name=$(basename "$run"); variant=${name#$exp-}; variant=${variant%-2026*}
    mkdir -p "$here/$exp/$variant"
    nice -n 10 "$PY" "$here/peer_curve.py" "$run" "$here/$exp/$variant/peer-epochs.csv"
  done
done
