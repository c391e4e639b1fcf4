# Sourced by launch/test: resnet-dist against PyTorch. Uses $BIN, $LOG_DIR, mpi_args, passed/failed.
#
# Each directory in launch/tests/fixtures/ holds a config and what launch/pytorch_peer.py (an
# independent PyTorch implementation, started from resnet-dist's initial weights and data order)
# computed for it: 20 step losses across one level switch, the test metric after each epoch and
# the final weights and BatchNorm statistics. resnet-dist must reproduce them at np 1 and np 2 to
# 1e-4 relative (per step for losses and metrics; per tensor max |a−b| / max |b| for weights).
# Torch is not needed here: the fixtures are plain JSON, checked by a standard-library script.
# Regenerate one with: launch/pytorch_peer.py --config DIR/config.yaml --write-fixture DIR
pytorch_exact() {
  local fixture=$1 np=$2 name dir run ckpt detail ok=1
  name=$(basename "$fixture")
  dir="$LOG_DIR/pytorch-$name-np$np"
  mkdir -p "$dir"
  mapfile -t margs < <(mpi_args "$np")
  "$BIN" export-peer "$dir/export.safetensors" --config "$fixture/config.yaml" > "$dir/export.txt" 2>&1 || ok=0
  timeout -s KILL 150 mpirun --timeout 120 "${margs[@]}" "$BIN" train --config "$fixture/config.yaml" \
    --trace-steps 20 --quiet --out "$dir/runs" > "$dir/trace.txt" 2>&1 || ok=0
  run=$(ls -d "$dir"/runs/*/ 2>/dev/null | head -1)
  ckpt=$(ls "$run"checkpoint-epoch-*.safetensors 2>/dev/null | sort | tail -1)
  if [ $ok -eq 1 ] && [ -n "$ckpt" ]; then
    detail=$(python3 "$here/tests/pytorch_fixture_check.py" "$fixture/expected.json" "$dir/trace.txt" "$ckpt" \
      --export "$dir/export.safetensors" --tolerance 1e-4 2>&1) || ok=0
  else
    ok=0; detail="resnet-dist did not run to the end: $(tail -3 "$dir/trace.txt" "$dir/export.txt")"
  fi
  if [ $ok -eq 1 ]; then
    passed=$((passed + 1)); echo "MPI test passed: PyTorch-exact $name (np $np)"
  else
    failed=$((failed + 1)); echo "MPI test FAILED: PyTorch-exact $name (np $np)"
  fi
  echo "$detail" | sed 's/^/    | /'
}

for fixture in "$here"/tests/fixtures/*/; do
  [ -e "$fixture/expected.json" ] || continue
  for np in 1 2; do pytorch_exact "${fixture%/}" $np; done
done
