# Sourced by launch/test: stop requests that arrive by several routes, during start-up or during
# long steps; checkpoint names slurm.sbatch must not trust; ranks started with different command
# lines; usage errors under mpirun. Uses mpi_args, pass, fail, run_dir, $BIN, $here and $LOG_DIR.

G="$LOG_DIR/signals"; rm -rf "$G"; mkdir -p "$G"
# The script as Slurm would run it on one node.
sbatch_plain() {  # sbatch_plain JOBID RUNS OUTFILE ARGS…
  local id=$1 runs=$2 outfile=$3; shift 3
  SLURM_JOB_ID=$id RUNS_DIR="$runs" RESNET_DIST="$BIN" OMPI_MCA_rmaps_base_oversubscribe=1 OPENBLAS_NUM_THREADS=1 \
    timeout -s KILL 150 bash "$here/slurm.sbatch" "$@" > "$outfile" 2>&1
}
final_loss() { grep -o '"finalTrainLoss" : [^,]*' "$1/summary.json" 2>/dev/null; }

# --- One stop by every route at once (what scancel does): a checkpoint, not "exit at once" ---
# Slurm sends SIGTERM to the batch shell, mpirun and the ranks; the shell forwards SIGUSR1 and
# mpirun relays its own. The ranks must take all of them as one request and write a step
# checkpoint; run again under the same job id, the script continues it exactly.
args=(--experiment regression --variant deep --epochs 200 --batch-size 64 --checkpoint-every 25 --keep-checkpoints 0 --quiet)
sbatch_plain 990 "$G/ref" "$G/ref.txt" "${args[@]}"
ref=$(final_loss "$(run_dir "$G/ref")")
( SLURM_JOB_ID=991 RUNS_DIR="$G/stop" RESNET_DIST="$BIN" OMPI_MCA_rmaps_base_oversubscribe=1 OPENBLAS_NUM_THREADS=1 \
    exec bash "$here/slurm.sbatch" "${args[@]}" > "$G/stop.txt" 2>&1 ) &
script=$!
for _ in $(seq 1 600); do ls "$G"/stop/*/checkpoint-epoch-0050.safetensors >/dev/null 2>&1 && break; sleep 0.1; done
mpirun_pid=$(pgrep -P $script -x mpirun)
kill -TERM $script $mpirun_pid $(pgrep -P "$mpirun_pid") 2>/dev/null
wait $script; rc=$?
sdir=$(run_dir "$G/stop"); sdir=${sdir%/}
step_ckpt=$(ls "$sdir" | grep -- '-step-' | head -1)
if [ -n "$step_ckpt" ] && [ "${step_ckpt:17:4}" -ge 50 ] && ! grep -q "second" "$G/stop.txt" \
   && grep -q "stopped by SIGTERM[^;]* after step" "$G/stop.txt"; then
  pass "TERM to the batch shell, mpirun and the ranks at once: one stop, checkpoint $step_ckpt (exit $rc)"
else fail "TERM by every route: exit $rc, step checkpoint '${step_ckpt}'"; tail -5 "$G/stop.txt"; fi
sbatch_plain 991 "$G/stop" "$G/stop-again.txt" "${args[@]}"; rc=$?
res=$(final_loss "$sdir")
if [ $rc -eq 0 ] && [ -n "$step_ckpt" ] && grep -q "resuming this job's run from $sdir/$step_ckpt" "$G/stop-again.txt" && [ -n "$ref" ] && [ "$res" = "$ref" ]; then
  pass "the same job started again continues from $step_ckpt and ends at the uninterrupted run's loss ($ref)"
else fail "continue after the stop by every route: exit $rc, '$res' vs uninterrupted '$ref'"; tail -3 "$G/stop-again.txt"; fi

# --- SIGTERM to mpirun during a step of seconds: the ranks finish it and write a checkpoint ----
# Open MPI passes the stop on as SIGTERM odls_base_sigkill_timeout seconds later and kills the
# ranks as long after that (launch/mpi-env.sh: 4 s; Open MPI's own 1 s killed them mid-step).
mapfile -t margs < <(mpi_args 2)
timeout -s KILL 150 mpirun --timeout 120 "${margs[@]}" "$BIN" train --experiment fashion --variant deep --subset 2048 \
  --batch-size 256 --epochs 50 --checkpoint-every 0 --quiet --out "$G/long" > "$G/long.txt" 2>&1 &
job=$!
for _ in $(seq 1 600); do ls "$G"/long/*/config.yaml >/dev/null 2>&1 && break; sleep 0.1; done
sleep 2
kill -TERM "$(pgrep -P $job -x mpirun)"; wait $job; rc=$?
ldir=$(run_dir "$G/long")
long_ckpt=$(ls "$ldir" 2>/dev/null | grep -- '-step-' | head -1)
if [ -n "$long_ckpt" ] && grep -q "stopped by SIGTERM[^;]* after step [0-9]* of 8 in epoch" "$G/long.txt"; then
  pass "SIGTERM to mpirun during Fashion steps of batch 256 (np 2): checkpoint $long_ckpt (exit $rc)"
else fail "SIGTERM to mpirun during long steps: exit $rc, no step checkpoint in '$ldir'"; tail -5 "$G/long.txt"; fi

# --- Checkpoint file names are never evaluated by slurm.sbatch ----------------------------------
N="$G/names"; rm -f "$G/PWNED"
sbatch_plain 992 "$N" "$G/names.txt" --experiment regression --variant deep --epochs 3 --checkpoint-every 1 --keep-checkpoints 0 --quiet
ndir=$(run_dir "$N"); ndir=${ndir%/}
reference=$(final_loss "$ndir")
rm -f "$ndir/summary.json" "$ndir/checkpoint-epoch-0003.safetensors"
cp "$ndir/checkpoint-epoch-0001.safetensors" "$ndir/checkpoint-epoch-0011-copy.safetensors"
cp "$ndir/checkpoint-epoch-0001.safetensors" "$ndir/checkpoint-epoch-0012.safetensors.bak"
cp "$ndir/checkpoint-epoch-0001.safetensors" "$ndir/checkpoint-epoch-99999999999999999999.safetensors"
cp "$ndir/checkpoint-epoch-0001.safetensors" "$ndir/"'checkpoint-epoch-0+PATH[$(touch PWNED)0].safetensors'
head -c 1000 "$ndir/checkpoint-epoch-0002.safetensors" > "$ndir/checkpoint-epoch-0050.safetensors"  # truncated
# (From $G, where the command in the name above would leave its file.)
(cd "$G" && sbatch_plain 992 "$N" "$G/names-again.txt" --experiment regression --variant deep --epochs 3 --checkpoint-every 1 --quiet); rc=$?
if [ $rc -eq 0 ] && [ ! -e "$G/PWNED" ] && grep -q "resuming this job's run from $ndir/checkpoint-epoch-0002.safetensors" "$G/names-again.txt" \
   && grep -q "passing over .*checkpoint-epoch-0050.safetensors" "$G/names-again.txt" && [ "$(final_loss "$ndir")" = "$reference" ]; then
  pass "slurm.sbatch with hostile and broken checkpoint names: nothing run, truncated 0050 passed over, resumed from 0002 to the same loss"
else fail "slurm.sbatch with hostile checkpoint names: exit $rc, PWNED $( [ -e "$G/PWNED" ] && echo created || echo absent)"; tail -4 "$G/names-again.txt"; fi

# --- A stop during start-up: handled, not fatal, not lost ----------------------------------------
# SIGUSR1 to both ranks while they start MPI and read the data (before the first step).
timeout -s KILL 150 mpirun --timeout 120 "${margs[@]}" "$BIN" train --experiment fashion --variant deep --subset 2048 \
  --epochs 2 --quiet --out "$G/early" > "$G/early.txt" 2>&1 &
job=$!
for _ in $(seq 1 600); do [ "$(pgrep -P "$(pgrep -P $job -x mpirun)" | wc -l)" -eq 2 ] && break; sleep 0.01; done
sleep 0.3
kill -USR1 $(pgrep -P "$(pgrep -P $job -x mpirun)") 2>/dev/null; wait $job; rc=$?
if [ $rc -eq 75 ] && grep -q "stopped by SIGUSR1 before the first step; nothing to save" "$G/early.txt" \
   && [ -z "$(ls "$G"/early/*/ 2>/dev/null | grep checkpoint)" ]; then
  pass "SIGUSR1 0.3 s after the ranks start: 'stopped before the first step; nothing to save', exit 75"
elif [ $rc -eq 75 ] && grep -q "stopped by SIGUSR1 after step" "$G/early.txt"; then
  pass "SIGUSR1 0.3 s after the ranks start (they had started training): checkpoint, exit 75"
else fail "SIGUSR1 during start-up: exit $rc"; tail -4 "$G/early.txt"; fi

# --- Ranks started with different command lines end at once, one message -----------------------
mpmd() {  # mpmd NAME ARGS-OF-RANK-0 -- ARGS-OF-RANK-1
  local name=$1; shift
  local a=() b=()
  while [ "$1" != "--" ]; do a+=("$1"); shift; done; shift; b=("$@")
  local t0 out rc secs
  t0=$(date +%s.%N)
  out=$(OMPI_MCA_rmaps_base_oversubscribe=1 timeout -s KILL 60 mpirun --timeout 40 -x OPENBLAS_NUM_THREADS=1 \
    -np 1 "$BIN" "${a[@]}" : -np 1 "$BIN" "${b[@]}" 2>&1); rc=$?
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  if [ $rc -eq 64 ] && awk -v s="$secs" 'BEGIN { exit !(s < 10) }' \
     && [ "$(grep -c "error: the ranks were started with different subcommands or arguments: rank 1 differs" <<<"$out")" -eq 1 ]; then
    pass "$name: one message, exit 64 after ${secs}s"
  else fail "$name: exit $rc after ${secs}s"; head -3 <<<"$out"; fi
}
mpmd "mpirun train : compare" train --experiment regression --epochs 2 --quiet --out "$G/mpmd" -- compare --quiet --out "$G/mpmd"
mpmd "mpirun train : train --help" train --experiment regression --epochs 2 --quiet --out "$G/mpmd" -- train --help
mpmd "mpirun eval --predictions p.csv : eval" eval --checkpoint "$ndir" --predictions "$G/p.csv" -- eval --checkpoint "$ndir"
mpmd "mpirun train : selftest collectives" train --experiment regression --epochs 2 --quiet --out "$G/mpmd" -- selftest collectives

# --- Usage errors, --help and --version under mpirun: printed once, one exit code --------------
mapfile -t margs4 < <(mpi_args 4)
out=$(timeout -s KILL 60 mpirun --timeout 40 "${margs4[@]}" "$BIN" train --bogus 2>&1); rc=$?
if [ $rc -eq 64 ] && [ "$(grep -c "Unknown option '--bogus'" <<<"$out")" -eq 1 ] && ! grep -q "MPI_ABORT" <<<"$out"; then
  pass "unknown option under mpirun -np 4: printed once, every rank exit 64 through MPI_Finalize"
else fail "unknown option under mpirun -np 4: exit $rc, $(grep -c "Unknown option" <<<"$out") messages"; fi
out=$(timeout -s KILL 60 mpirun --timeout 40 "${margs4[@]}" "$BIN" train --experiment regression --seed=-1 --out "$G/usage" 2>&1); rc=$?
if [ $rc -eq 1 ] && [ "$(grep -c "error: " <<<"$out")" -eq 1 ] && grep -q "^resnet-dist: error: invalid --seed: must be ≥ 0" <<<"$out"; then
  pass "config error under mpirun -np 4 (--seed=-1): printed once, exit 1"
else fail "config error under mpirun -np 4: exit $rc, $(grep -c "error: " <<<"$out") error lines"; fi
out=$(timeout -s KILL 60 mpirun --timeout 40 "${margs4[@]}" "$BIN" --version 2>&1); rc=$?
if [ $rc -eq 0 ] && [ "$out" = "resnet-dist 0.1.0" ]; then pass "--version under mpirun -np 4: one line"
else fail "--version under mpirun -np 4: exit $rc, $(wc -l <<<"$out") lines"; fi
out=$(timeout -s KILL 60 mpirun --timeout 40 "${margs4[@]}" "$BIN" experiments 2>&1); rc=$?
if [ $rc -eq 0 ] && [ "$(grep -c '^regression ' <<<"$out")" -eq 1 ]; then pass "experiments under mpirun -np 4: listed once"
else fail "experiments under mpirun -np 4: exit $rc, listed $(grep -c '^regression ' <<<"$out") times"; fi
out=$(timeout -s KILL 120 "$here/run" -np 2 --version 2>&1); rc=$?
if [ $rc -eq 0 ] && [ "$out" = "resnet-dist 0.1.0" ]; then pass "launch/run -np 2 --version (no --): mpirun's option taken as such, one line"
else fail "launch/run -np 2 --version: exit $rc: $(head -2 <<<"$out")"; fi
out=$(timeout -s KILL 120 "$here/run" --hostfile "$here/../hostfiles/localhost" -- experiments 2>&1); rc=$?
if [ $rc -eq 0 ] && [ "$(grep -c '^regression ' <<<"$out")" -eq 1 ]; then pass "launch/run --hostfile hostfiles/localhost -- experiments: the hostfile's slots decide"
else fail "launch/run --hostfile hostfiles/localhost: exit $rc: $(grep -m1 -i slots <<<"$out")"; fi

# --- Resume keeps a run in one place; a finished run says so; --epochs trains it further -------
W="$G/resume"; mkdir -p "$W/cwd1" "$W/cwd2"
rargs=(--experiment regression --variant deep --epochs 60 --batch-size 64 --checkpoint-every 10 --quiet)
"$BIN" train "${rargs[@]}" --out "$W/ref" > /dev/null 2>&1
(cd "$W/cwd1" && exec timeout -s KILL 120 "$BIN" train "${rargs[@]}" --out "$W/elsewhere" > "$W/stop.txt" 2>&1) &
job=$!
for _ in $(seq 1 600); do ls "$W"/elsewhere/*/checkpoint-epoch-0010.safetensors >/dev/null 2>&1 && break; sleep 0.05; done
kill -INT "$(pgrep -P $job)" 2>/dev/null || kill -INT $job; wait $job
rdir=$(run_dir "$W/elsewhere"); rdir=${rdir%/}
continue_args=$(sed -n 's/.*continue with: resnet-dist //p' "$W/stop.txt")
(cd "$W/cwd2" && timeout -s KILL 120 "$BIN" $continue_args --quiet) > "$W/continue.txt" 2>&1; rc=$?
if [ $rc -eq 0 ] && [ -n "$continue_args" ] && [ -z "$(ls "$W/cwd2")" ] && [ "$(ls -d "$W"/elsewhere/*/ | wc -l)" -eq 1 ] \
   && [ -n "$(final_loss "$(run_dir "$W/ref")")" ] && [ "$(final_loss "$rdir")" = "$(final_loss "$(run_dir "$W/ref")")" ]; then
  pass "Ctrl-C on a run under --out elsewhere, then its 'continue with' from another directory: finished in place with summary.json, at the uninterrupted loss"
else fail "resume of an --out run: exit $rc, cwd2 holds '$(ls "$W/cwd2")', args '$continue_args'"; tail -3 "$W/continue.txt"; fi
before=$(ls -l --time-style=full-iso "$rdir" | md5sum)
out=$(cd "$W/cwd2" && timeout -s KILL 60 "$BIN" train --resume "$rdir" 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q "is finished (60 of 60 epochs); nothing to resume. To train it further, add --epochs N" <<<"$out" \
   && [ "$before" = "$(ls -l --time-style=full-iso "$rdir" | md5sum)" ] && [ -z "$(ls "$W/cwd2")" ]; then
  pass "train --resume of a finished run: says it is finished, no directory made, nothing retrained"
else fail "train --resume of a finished run: exit $rc: $(head -2 <<<"$out")"; fi
head -60 "$rdir/metrics.jsonl" > "$W/first60.jsonl"
out=$(timeout -s KILL 120 "$BIN" train --resume "$rdir" --epochs 70 --quiet 2>&1); rc=$?
if [ $rc -eq 0 ] && [ "$(wc -l < "$rdir/metrics.jsonl")" -eq 70 ] && grep -q '"epochs" : 70' "$rdir/summary.json" \
   && [ "$(head -60 "$rdir/metrics.jsonl" | md5sum)" = "$(md5sum < "$W/first60.jsonl")" ] && [ "$(ls -d "$W"/elsewhere/*/ | wc -l)" -eq 1 ]; then
  pass "train --resume <finished run> --epochs 70: ten more epochs in the same directory, the first 60 records kept"
else fail "train --resume --epochs 70: exit $rc, $(wc -l < "$rdir/metrics.jsonl") records: $(head -2 <<<"$out")"; fi
out=$(timeout -s KILL 60 "$BIN" train --resume "$rdir/checkpoint-epoch-0050.safetensors" 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -q "checkpoint-epoch-0050.safetensors is older than its run's newest checkpoint .*checkpoint-epoch-0070.safetensors" <<<"$out" \
   && [ "$(wc -l < "$rdir/metrics.jsonl")" -eq 70 ]; then
  pass "train --resume of an older checkpoint of the run: refused in place, naming the newest and --out"
else fail "resume of an older checkpoint: exit $rc: $(head -2 <<<"$out")"; fi

# --- A checkpoint copied into another run's directory does not take that run's history ---------
F="$G/foreign"
"$BIN" train --experiment regression --variant deep --epochs 6 --checkpoint-every 1 --quiet --out "$F/deep" > /dev/null 2>&1
"$BIN" train --experiment regression --variant multilevel --epochs 6 --switch-epochs 3 --checkpoint-every 1 --quiet --out "$F/ml" > /dev/null 2>&1
fdeep=$(run_dir "$F/deep"); fml=$(run_dir "$F/ml")
cp "${fml%/}/checkpoint-epoch-0004.safetensors" "${fdeep%/}/copied.safetensors"
out=$(timeout -s KILL 60 "$BIN" train --resume "${fdeep%/}/copied.safetensors" --quiet --out "$F/x" 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -q "metrics.jsonl belongs to another run: the config.yaml beside it has variant deep, the checkpoint multilevel" <<<"$out" \
   && [ -z "$(ls "$F/x" 2>/dev/null)" ]; then
  pass "a multilevel checkpoint copied into a deep run's directory: refused, naming the variants (not merged with that history)"
else fail "foreign metrics.jsonl: exit $rc: $(head -2 <<<"$out")"; fi

# --- results skips a damaged summary.json with a warning; resume where the data moved ----------
D="$G/results"
"$BIN" train --experiment regression --variant deep --epochs 3 --quiet --out "$D" > /dev/null 2>&1
"$BIN" train --experiment regression --variant shallow --epochs 3 --quiet --out "$D" > /dev/null 2>&1
mkdir -p "$D/damaged"; head -c 100 "$(run_dir "$D")/summary.json" > "$D/damaged/summary.json"
out=$(timeout -s KILL 60 "$BIN" results "$D" 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q "results: skipping $D/damaged/summary.json: not a readable summary" <<<"$out" && grep -q "deep" <<<"$out"; then
  pass "results over runs with a truncated summary.json: one warning naming it, the other runs tabled"
else fail "results with a truncated summary.json: exit $rc: $(head -2 <<<"$out")"; fi
ln -sfn /usr/share/datasets/fashion-mnist "$G/fm-here"
if [ -d /usr/share/datasets/fashion-mnist ]; then
  "$BIN" train --experiment fashion --variant deep --subset 256 --batch-size 64 --epochs 1 --data-dir "$G/fm-here" --quiet --out "$G/moved" > /dev/null 2>&1
  mv "$G/fm-here" "$G/fm-moved"
  out=$(timeout -s KILL 120 "$BIN" train --resume "$(run_dir "$G/moved")" --epochs 2 --data-dir "$G/fm-moved" --quiet 2>&1); rc=$?
  if [ $rc -eq 0 ] && [ "$(wc -l < "$(run_dir "$G/moved")/metrics.jsonl")" -eq 2 ]; then
    pass "train --resume with --data-dir where the data are now: continues (2 epochs in place)"
  else fail "train --resume --data-dir: exit $rc: $(head -2 <<<"$out")"; fi
fi

# --- Ranks whose data differ (the same path, other files) are refused before training ----------
# The same command line on both ranks, run from two directories whose data/ differ in one label.
if [ -d /usr/share/datasets/fashion-mnist ] && python3 -c 1 2>/dev/null; then
  for side in a b; do
    mkdir -p "$G/hosts/$side/data"
    for f in /usr/share/datasets/fashion-mnist/*; do ln -sf "$f" "$G/hosts/$side/data/"; done
  done
  rm "$G/hosts/b/data/t10k-labels-idx1-ubyte.gz"
  python3 -c 'import gzip,sys; d=bytearray(gzip.open(sys.argv[1]).read()); d[8]=(d[8]+1)%10; gzip.open(sys.argv[2],"wb").write(bytes(d))' \
    /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz "$G/hosts/b/data/t10k-labels-idx1-ubyte.gz"
  out=$(OMPI_MCA_rmaps_base_oversubscribe=1 timeout -s KILL 90 mpirun --timeout 60 -x OPENBLAS_NUM_THREADS=1 \
    -np 1 --wdir "$G/hosts/a" "$BIN" train --experiment fashion --subset 512 --batch-size 64 --epochs 1 --data-dir data --quiet --out "$G/hosts/runs" \
    : -np 1 --wdir "$G/hosts/b" "$BIN" train --experiment fashion --subset 512 --batch-size 64 --epochs 1 --data-dir data --quiet --out "$G/hosts/runs" 2>&1); rc=$?
  if [ $rc -ne 0 ] && [ $rc -lt 124 ] && grep -q "a fingerprint of the training and test data" <<<"$out" && ! ls "$G"/hosts/runs/*/metrics.jsonl >/dev/null 2>&1; then
    pass "one test label differs on rank 1 (same arguments, other files): refused before training, naming the data"
  else fail "ranks with different data: exit $rc: $(grep -m2 error <<<"$out")"; fi
fi
