#!/usr/bin/env bash
# The resnet-dist half of this comparison: every variant of the three regression experiments,
# full scale (fit preset), 2 ranks, one OpenBLAS thread each. Run from the repository root.
set -euo pipefail
source launch/mpi-env.sh
mapfile -t margs < <(mpi_args 2)       # -np 2 -x OPENBLAS_NUM_THREADS=1
mkdir -p runs
for exp in regression rk2-regression rk2-multilevel; do
  # --experiment, not --config launch/experiments/$exp.yaml: see this directory's README
  # (compare --config runs the YAML's one network under every variant's name).
  nice -n 10 mpirun "${margs[@]}" .build/release/resnet-dist compare --experiment "$exp" --out runs \
    > "runs/$exp-compare.log" 2>&1
  tail -n 20 "runs/$exp-compare.log"
done
