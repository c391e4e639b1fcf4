# Sourced by launch/test: checkpoints, exact resume, faults. Uses mpi_case, lines, $BIN, $LOG_DIR.


# --- Exact resume across a level switch: same np bit-identical, other np within 1e-4 ---------
R="$LOG_DIR/resume"; rm -rf "$R"
common=(--experiment regression --variant multilevel --subset 512 --batch-size 64 --epochs 6 --switch-epochs 4)
run_job 2 "$R-full.txt" train "${common[@]}" --checkpoint-every 1 --keep-checkpoints 0 --trace-steps 100 --quiet --out "$R/full"
full=$(run_dir "$R/full")
ckpt="$full/checkpoint-epoch-0002.safetensors"
if [ -f "$ckpt" ]; then
  run_job 2 "$R-same.txt" train --resume "$ckpt" --trace-steps 100 --quiet --out "$R/same"
  run_job 4 "$R-other.txt" train --resume "$ckpt" --trace-steps 100 --quiet --out "$R/other"
  grep '^step' "$R-full.txt" | tail -32 > "$R-full.steps"
  if [ "$(grep -c '^step' "$R-same.txt")" -eq 32 ] && diff -q "$R-full.steps" <(grep '^step' "$R-same.txt") >/dev/null; then
    pass "resume from epoch 2 (switch at epoch 4) at the same np: 32 step losses bit-identical"
  else fail "resume at the same np differs from the uninterrupted run"; diff "$R-full.steps" <(grep '^step' "$R-same.txt") | head -5; fi
  worst=$(paste "$R-full.steps" <(grep '^step' "$R-other.txt") | awk 'NF == 8 { n++; d = $4 - $8; if (d < 0) d = -d; r = d / ($4 < 0 ? -$4 : $4); if (r > m) m = r } END { if (n != 32) m = 1; printf "%.3g", m }')
  if awk -v w="$worst" 'BEGIN { exit !(w <= 1e-4) }'; then pass "resume at np 4 from an np 2 checkpoint: max rel diff $worst over 32 steps"
  else fail "resume at np 4 from an np 2 checkpoint: max rel diff $worst"; fi
else
  fail "no checkpoint written at epoch 2 ($(tail -3 "$R-full.txt"))"; fail "resume at another np (no checkpoint)"
fi

# --- A stop mid-epoch, resumed at the same and at another np ---------------------------------
# stop_mid_epoch DIR TRACE ARGS...: an np-2 run that gets SIGTERM (to its ranks) once it has
# printed step 25 of 60 (epoch 2 of 3, 20 steps an epoch); prints its step checkpoint.
stop_mid_epoch() {
  local dir=$1 trace=$2; shift 2
  mapfile -t margs < <(mpi_args 2)
  timeout -s KILL 150 mpirun --timeout 120 "${margs[@]}" "$BIN" train "$@" --out "$dir" > "$trace" 2>&1 &
  local job=$! k
  for k in $(seq 1 600); do grep -q '^step 25 ' "$trace" 2>/dev/null && break; sleep 0.1; done
  kill -TERM $(pgrep -f "^$BIN train .*$dir") 2>/dev/null; wait $job
  ls "$(run_dir "$dir")"checkpoint-epoch-0001-step-*.safetensors 2>/dev/null | head -1
}
S="$LOG_DIR/midstop"; rm -rf "$S"
# Synchronised BatchNorm (the default): the same trajectory at any np, from a step checkpoint too.
mid=(--experiment fashion --variant multilevel --subset 960 --batch-size 48 --epochs 3 --switch-epochs 2 --lr 0.0005
     --checkpoint-every 1 --keep-checkpoints 0 --quiet --trace-steps 60)
run_job 2 "$S-full.txt" train "${mid[@]}" --out "$S/full"
step_ckpt=$(stop_mid_epoch "$S/stop" "$S-stop.txt" "${mid[@]}")
if [ -n "$step_ckpt" ]; then
  for np in 1 3; do
    run_job $np "$S-np$np.txt" train --resume "$step_ckpt" --trace-steps 60 --quiet --out "$S/np$np"
    n=$(grep -c '^step' "$S-np$np.txt")
    worst=$(join <(grep '^step' "$S-full.txt" | awk '{ print $2, $4 }' | sort) <(grep '^step' "$S-np$np.txt" | awk '{ print $2, $4 }' | sort) |
      awk '{ n++; d = $2 - $3; if (d < 0) d = -d; r = d / ($2 < 0 ? -$2 : $2); if (r > m) m = r } END { printf "%d %.3g", n, m }')
    acc_full=$(grep -o '"testMetric" : [^,]*' "$(run_dir "$S/full")summary.json")
    acc=$(grep -o '"testMetric" : [^,]*' "$(run_dir "$S/np$np")summary.json" 2>/dev/null)
    if [ "$n" -gt 0 ] && [ "${worst%% *}" -eq "$n" ] && awk -v w="${worst#* }" 'BEGIN { exit !(w <= 1e-4) }' && [ "$acc" = "$acc_full" ]; then
      pass "resume at np $np from an np-2 step checkpoint (${step_ckpt##*/}): $n step losses within ${worst#* } of the uninterrupted run, same final accuracy"
    else fail "resume at np $np from an np-2 step checkpoint: steps/max rel diff '$worst', accuracy '$acc' vs '$acc_full'"; tail -3 "$S-np$np.txt"; fi
  done
else fail "sync BN: no step checkpoint after SIGTERM mid-epoch"; tail -3 "$S-stop.txt"; fail "resume at np 1 (no step checkpoint)"; fi
# BatchNorm statistics no run produces are refused on load.
if [ -f "$(run_dir "$S/full")checkpoint-epoch-0003.safetensors" ]; then
  python3 "$here/tests/resign_checkpoint.py" "$(run_dir "$S/full")checkpoint-epoch-0003.safetensors" "$S/negvar.safetensors" --first groups.0.blocks.0.bn1.running_var=-1
  mpi_case "a checkpoint with a negative running variance is refused" fail 1 \
    'lines "error: .*negvar.safetensors is not a usable resnet-dist checkpoint: its BatchNorm statistic .groups.0.blocks.0.bn1.running_var. holds -1.0 at index 0" 1' -- eval --checkpoint "$S/negvar.safetensors"
else fail "a checkpoint with a negative running variance (no checkpoint to edit)"; fi
# --local-bn: every rank's own statistics are kept in a step checkpoint, so a resume at the same
# np ends bit-identical (before, ranks ≥ 1 took rank 0's statistics: 30 of 207 tensors differed);
# at another np the ranks start from their average, and the run says so.
local_bn=("${mid[@]}" --local-bn)
run_job 2 "$S-lfull.txt" train "${local_bn[@]}" --out "$S/lfull"
step_ckpt=$(stop_mid_epoch "$S/lstop" "$S-lstop.txt" "${local_bn[@]}")
if [ -n "$step_ckpt" ] && run_job 2 "$S-lsame.txt" train --resume "$step_ckpt" --quiet --out "$S/lsame" &&
   msg=$(python3 "$here/tests/compare_checkpoints.py" "$(run_dir "$S/lfull")checkpoint-epoch-0003.safetensors" "$(run_dir "$S/lsame")checkpoint-epoch-0003.safetensors"); then
  pass "--local-bn resume from a step checkpoint at the same np: final checkpoint bit-identical ($msg)"
else fail "--local-bn resume at the same np: ${msg:-no step checkpoint or the resume failed}"; tail -3 "$S-lsame.txt" 2>/dev/null; fi
if [ -n "$step_ckpt" ] && run_job 3 "$S-lother.txt" train --resume "$step_ckpt" --quiet --out "$S/lother" &&
   grep -q "local-bn statistics of 2 ranks; at 3 ranks each starts from their average" "$S-lother.txt"; then
  pass "--local-bn resume at np 3 from an np-2 step checkpoint: runs, and says the statistics start from the 2 ranks' average"
else fail "--local-bn resume at np 3: $(tail -2 "$S-lother.txt" 2>/dev/null)"; fi

# --- eval and the numpy reference of a checkpoint -------------------------------------------
E="$LOG_DIR/interop"; rm -rf "$E"
run_job 1 "$E-train.txt" train --experiment rk2-regression --variant rk2 --epochs 3 --quiet --out "$E"
edir=$(run_dir "$E")
if run_job 2 "$E-eval.txt" eval --checkpoint "$edir" --predictions "$E-pred.csv" && grep -q "test error norm" "$E-eval.txt"; then
  pass "eval of a checkpoint on 2 ranks: $(grep -o 'test error norm.*' "$E-eval.txt")"
  if python3 -c 'import numpy, safetensors' 2>/dev/null; then
    if msg=$(python3 "$here/tests/checkpoint_predict.py" "$edir/checkpoint-epoch-0003.safetensors" "$E-pred.csv"); then
      pass "numpy recomputes the checkpoint's predictions (midpoint RK2): $msg"
    else fail "numpy disagrees with resnet-dist eval: $msg"; fi
  else
    echo "MPI test SKIPPED: numpy/safetensors interoperability (python3 lacks numpy or safetensors; launch/setup installs them)"
  fi
else fail "eval of a checkpoint"; tail -5 "$E-eval.txt"; fi

# --- A rank killed mid-run: prompt non-zero exit, checkpoint intact, resume finishes the run --
K="$LOG_DIR/kill"; rm -rf "$K"
long=(--experiment regression --variant deep --epochs 400 --batch-size 64 --checkpoint-every 20 --keep-checkpoints 0 --quiet)
run_job 4 "$K-ref.txt" train "${long[@]}" --out "$K/ref"
mapfile -t margs < <(mpi_args 4)
timeout -s KILL 150 mpirun --timeout 120 "${margs[@]}" "$BIN" train "${long[@]}" --out "$K/killed" > "$K-killed.txt" 2>&1 &
job=$!
for _ in $(seq 1 300); do ls "$K"/killed/*/checkpoint-epoch-0100.safetensors >/dev/null 2>&1 && break; sleep 0.1; done
# The rank processes' command lines start with the binary (mpirun's and timeout's do not).
victim=$(pgrep -f "^$BIN train .*$K/killed" | sed -n 3p)
killed_at=$(date +%s.%N)
[ -n "$victim" ] && kill -9 "$victim"
wait $job; rc=$?
secs=$(awk -v a="$killed_at" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
kdir=$(run_dir "$K/killed")
# (Well inside the 120 s mpirun timeout, so the exit is the job's own reaction to the kill.)
if [ -n "$victim" ] && [ $rc -ne 0 ] && awk -v s="$secs" 'BEGIN { exit !(s < 15) }'; then
  pass "SIGKILL of one of 4 ranks ends the job: exit $rc after ${secs}s"
else fail "SIGKILL of a rank: victim '$victim', exit $rc after ${secs}s"; fi
if run_job 4 "$K-resume.txt" train --resume "$kdir" --quiet --out "$K/resumed"; then
  ref_loss=$(grep -o '"finalTrainLoss" : [^,]*' "$(run_dir "$K/ref")/summary.json")
  res_loss=$(grep -o '"finalTrainLoss" : [^,]*' "$(run_dir "$K/resumed")/summary.json")
  last=$(ls "$kdir" | grep checkpoint | tail -1)
  if [ -n "$ref_loss" ] && [ "$ref_loss" = "$res_loss" ]; then pass "resume after the kill (from $last) ends at the uninterrupted run's final loss ($ref_loss)"
  else fail "resume after the kill: '$res_loss' vs uninterrupted '$ref_loss'"; fi
else fail "resume after the kill"; tail -5 "$K-resume.txt"; fi

# --- NaN loss: stop on every rank naming epoch/step/level; the last good checkpoint is kept ---
N="$LOG_DIR/nan"; rm -rf "$N"
mpi_case "absurd learning rate: NaN detected on every rank" fail 2 \
  'lines "error: the training loss became nan at epoch 1, step [0-9]+, level 1" 2' -- train --experiment regression --lr 1e30 --out "$N/lr"
run_job 2 "$N-inj.txt" train --experiment regression --variant multilevel --epochs 6 --switch-epochs 2 --checkpoint-every 1 --inject-nan-at-epoch 4 --quiet --out "$N/inj"; rc=$?
ndir=$(run_dir "$N/inj")
if [ $rc -ne 0 ] && [ "$(grep -c 'loss became nan at epoch 4, step 1, level 2' "$N-inj.txt")" -eq 2 ] \
   && [ "$(ls "$ndir" | grep -c checkpoint-epoch)" -eq 3 ] && run_job 1 "$N-eval.txt" eval --checkpoint "$ndir"; then
  pass "NaN at epoch 4: every rank stops, checkpoints of epochs 1–3 kept and the last evaluates ($(grep -o 'error norm.*' "$N-eval.txt"))"
else fail "NaN at epoch 4 (exit $rc, checkpoints: $(ls "$ndir" 2>/dev/null | grep -c checkpoint))"; tail -4 "$N-inj.txt"; fi

# --- Output directory that cannot be written -------------------------------------------------
O="$LOG_DIR/out"; mkdir -p "$O"; echo "a file" > "$O/file"
mpi_case "run directory under a regular file: error before training" fail 2 \
  'lines "error: cannot create the run directory" 1 && ! grep -q "epoch 1/" <<<"$out"' -- train --out "$O/file/runs"
if mkdir -p "$O/ro" && mount -t tmpfs -o ro,size=1m tmpfs "$O/ro" 2>/dev/null; then
  mpi_case "read-only run directory: error before training" fail 2 \
    'grep -q "error: cannot create the run directory" <<<"$out" && ! grep -q "epoch 1/" <<<"$out"' -- train --out "$O/ro/runs"
  umount "$O/ro"
  mkdir -p "$O/full" && mount -t tmpfs -o size=160k tmpfs "$O/full"
  run_job 2 "$O-full.txt" train --experiment regression --variant deep --epochs 20 --checkpoint-every 1 --quiet --out "$O/full"; rc=$?
  fdir=$(run_dir "$O/full")
  lastok=$(ls "$fdir" | grep checkpoint-epoch | tail -1)
  if [ $rc -ne 0 ] && grep -q "cannot write the checkpoint.*the previous checkpoint is intact" "$O-full.txt" && [ -n "$lastok" ] \
     && run_job 1 "$O-eval.txt" eval --checkpoint "$fdir/$lastok"; then
    pass "disk full at a checkpoint: clear error, $lastok still loads ($(grep -o 'error norm.*' "$O-eval.txt"))"
  else fail "disk full at a checkpoint (exit $rc, last $lastok)"; tail -4 "$O-full.txt"; fi
  umount "$O/full"
else
  echo "MPI test SKIPPED: read-only and full run directories (cannot mount a tmpfs here)"
fi

# --- Ranks that disagree: a different config on one rank -------------------------------------
# The same command line (different ones are refused before parsing), run from two directories
# whose c.yaml differ, as two hosts whose files differ.
mkdir -p "$LOG_DIR/cfg-a" "$LOG_DIR/cfg-b"; echo "epochs: 3" > "$LOG_DIR/cfg-a/c.yaml"; echo "epochs: 4" > "$LOG_DIR/cfg-b/c.yaml"
out=$(OMPI_MCA_rmaps_base_oversubscribe=1 timeout -s KILL 60 mpirun --timeout 40 -x OPENBLAS_NUM_THREADS=1 \
  -np 1 --wdir "$LOG_DIR/cfg-a" "$BIN" train --variant deep --config c.yaml --out "$LOG_DIR/runs" \
  : -np 1 --wdir "$LOG_DIR/cfg-b" "$BIN" train --variant deep --config c.yaml --out "$LOG_DIR/runs" 2>&1); rc=$?
# Each rank names the key that differs and its own value (not a hash of the whole config).
if [ $rc -ne 0 ] && [ $rc -lt 124 ] && grep -q "rank 0: error: the ranks were started with different configs: 'epochs' is 3 on rank 0" <<<"$out" \
   && grep -q "rank 1: error: the ranks were started with different configs: 'epochs' is 4 on rank 1" <<<"$out"; then
  pass "ranks with different configs: both name the key that differs, 'epochs', with their own value (exit $rc)"
else fail "ranks with different configs (exit $rc)"; echo "$out" | tail -5; fi
