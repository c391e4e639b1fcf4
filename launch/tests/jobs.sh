# Sourced by launch/test: batch-job safety — simultaneous starts, stop signals, choosing the newest
# checkpoint. Uses mpi_args, pass, fail, run_job, run_dir, $BIN and $LOG_DIR of launch/test.

# --- Jobs started at the same moment: one consistent run directory each -----------------------
J="$LOG_DIR/jobs-race"; rm -rf "$J"; gate="$LOG_DIR/jobs-gate"; rm -f "$gate"; mkfifo "$gate"
for seed in 1 2 3 4 5 6 7 8; do
  (read -r _ < "$gate"; exec "$BIN" train --experiment regression --variant deep --epochs 4 --checkpoint-every 2 \
     --seed "$seed" --quiet --out "$J" > "$J-$seed.txt" 2>&1) &
done
sleep 0.3; echo go > "$gate"; wait
consistent=0
for d in "$J"/*/; do
  seed=$(sed -n 's/^seed: //p' "$d/config.yaml")
  # The checkpoints' metadata records the seed of the run that wrote them.
  if [ -f "$d/summary.json" ] && [ "$(ls "$d" | grep -c checkpoint-epoch)" -eq 2 ] \
     && grep -aq "\"data_order_seed\":\"$seed\"" "$d/checkpoint-epoch-0002.safetensors" \
     && grep -aq "\"data_order_seed\":\"$seed\"" "$d/checkpoint-epoch-0004.safetensors"; then
    consistent=$((consistent + 1))
  fi
done
if [ "$(ls -d "$J"/*/ | wc -l)" -eq 8 ] && [ $consistent -eq 8 ]; then
  pass "8 jobs started at once with seeds 1–8: 8 run directories, each with its own seed's config and checkpoints"
else fail "8 simultaneous jobs: $(ls -d "$J"/*/ 2>/dev/null | wc -l) directories, $consistent consistent"; fi
rm -f "$gate"
# The name a run started in the next few seconds would take is taken already (by a run of the
# same job id started in that second), whatever the clock says when the run starts.
now=$(date +%s)
for t in 0 1 2 3 4 5 6 7 8 9; do mkdir -p "$J-slurm/regression-deep-$(date -u -d "@$((now + t))" +%Y%m%d-%H%M%S)-j4242"; done
SLURM_JOB_ID=4242 "$BIN" train --experiment regression --variant deep --epochs 1 --quiet --out "$J-slurm" > /dev/null 2>&1
made=$(ls "$J-slurm"/*/config.yaml 2>/dev/null | xargs -r -n1 dirname | xargs -r -n1 basename | tr '\n' ' ')
if [[ "$made" =~ ^regression-deep-[0-9]{8}-[0-9]{6}-j4242-2\ $ ]]; then
  pass "run directories carry Slurm's job id, and a run whose name is taken gets -2: $made"
else fail "run directory names under SLURM_JOB_ID=4242: '$made'"; fi

# --- Stop signals under mpirun: checkpoint, message, non-zero exit, exact resume ----------------
S="$LOG_DIR/stop"; rm -rf "$S"
stopjob=(--experiment regression --variant deep --epochs 3000 --batch-size 64 --checkpoint-every 50 --quiet)
run_job 2 "$S-ref.txt" train "${stopjob[@]}" --out "$S/ref"
# stop_case SIGNAL NAME: starts the job, sends SIGNAL to mpirun once checkpoint 50 exists.
stop_case() {
  local sig=$1 name=$2 job rc t0 secs
  mapfile -t margs < <(mpi_args 2)
  timeout -s KILL 150 mpirun --timeout 120 "${margs[@]}" "$BIN" train "${stopjob[@]}" --out "$S/$name" > "$S-$name.txt" 2>&1 &
  job=$!
  for _ in $(seq 1 300); do ls "$S/$name"/*/checkpoint-epoch-0050.safetensors >/dev/null 2>&1 && break; sleep 0.1; done
  # The signal goes to mpirun itself (the child of timeout), as a batch system sends it.
  t0=$(date +%s.%N); kill "-$sig" "$(pgrep -P $job -x mpirun)"; wait $job; rc=$?
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  local dir newest periodic
  dir=$(run_dir "$S/$name")
  newest=$(ls "$dir" | grep -- '-step-' | tail -1)
  periodic=$(ls "$dir" | grep -E 'checkpoint-epoch-[0-9]+\.safetensors' | sort | tail -1)
  # mpirun ends the job OMPI_MCA_odls_base_sigkill_timeout (launch/mpi-env.sh: 4 s) after a
  # SIGTERM to it and exits as long again later, whenever the ranks stopped.
  if [ $rc -ne 0 ] && [ $rc -lt 124 ] && awk -v s="$secs" 'BEGIN { exit !(s < 15) }' && [ -n "$newest" ] \
     && [ "${newest:17:4}" -ge "${periodic:17:4}" ] \
     && grep -q "stopped by SIG$sig[^;]* after step [0-9]* of 32 in epoch [0-9]*; checkpoint .*$newest; continue with: resnet-dist train --resume " "$S-$name.txt"; then
    pass "$sig to mpirun (np 2): exit $rc after ${secs}s, checkpoint $newest after the periodic $periodic, resume command printed"
  else fail "$sig to mpirun: exit $rc after ${secs}s, newest '$newest', periodic '$periodic'"; tail -4 "$S-$name.txt"; return; fi
  if run_job 2 "$S-$name-resume.txt" train --resume "$dir" --quiet --out "$S/$name-resumed"; then
    local ref res
    ref=$(grep -o '"testMetric" : [^,]*' "$(run_dir "$S/ref")/summary.json" | tail -1)
    res=$(grep -o '"testMetric" : [^,]*' "$(run_dir "$S/$name-resumed")/summary.json" | tail -1)
    if [ -n "$ref" ] && [ "$ref" = "$res" ]; then pass "resume after $sig from $newest ends at the uninterrupted run's metric ($ref)"
    else fail "resume after $sig: '$res' vs uninterrupted '$ref'"; fi
  else fail "resume after $sig"; tail -4 "$S-$name-resume.txt"; fi
}
stop_case TERM term
stop_case USR1 usr1
if grep -Eq 'Exit code: *75$' "$S-usr1.txt"; then
  pass "SIGUSR1 (what sbatch --signal sends): the ranks exit with the documented code 75"
else fail "SIGUSR1: ranks' exit code is not 75"; grep -i "exit code" "$S-usr1.txt"; fi

# --- The newest checkpoint is chosen by its epoch as a number ----------------------------------
C="$LOG_DIR/newest"; rm -rf "$C"
"$BIN" train --experiment regression --variant deep --epochs 3 --checkpoint-every 1 --quiet --out "$C" > /dev/null 2>&1
cdir=$(run_dir "$C")
mv "$cdir/checkpoint-epoch-0002.safetensors" "$cdir/checkpoint-epoch-9999.safetensors"
mv "$cdir/checkpoint-epoch-0003.safetensors" "$cdir/checkpoint-epoch-10000.safetensors"
if run_job 1 "$C-eval.txt" eval --checkpoint "$cdir" && grep -q "after epoch 3," "$C-eval.txt"; then
  pass "checkpoint-epoch-10000 is newer than checkpoint-epoch-9999: eval of the directory takes it"
else fail "newest checkpoint by number: $(tail -1 "$C-eval.txt")"; fi

# --- launch/slurm.sbatch outside Slurm: stop → exit 75; RESUME=auto continues only this job's run
Q="$LOG_DIR/sbatch"; rm -rf "$Q"
sbatch_run() {  # sbatch_run JOBID OUTFILE ARGS… (the script as Slurm would run it, one node)
  local id=$1 outfile=$2; shift 2
  SLURM_JOB_ID=$id RUNS_DIR="$Q" RESNET_DIST="$BIN" OMPI_MCA_rmaps_base_oversubscribe=1 \
    timeout -s KILL 120 bash "$here/slurm.sbatch" "$@" > "$outfile" 2>&1
}
SLURM_JOB_ID=111 RUNS_DIR="$Q" RESNET_DIST="$BIN" OMPI_MCA_rmaps_base_oversubscribe=1 \
  timeout -s KILL 120 bash "$here/slurm.sbatch" --experiment regression --variant deep --epochs 300 --batch-size 64 \
  --checkpoint-every 50 --quiet > "$Q-111.txt" 2>&1 &
script=$!
for _ in $(seq 1 300); do ls "$Q"/*-j111/checkpoint-epoch-0050.safetensors >/dev/null 2>&1 && break; sleep 0.1; done
kill -USR1 "$(pgrep -P $script -x bash)" 2>/dev/null  # the batch shell, as --signal=B:USR1 does
wait $script; rc=$?
if [ $rc -eq 75 ] && ls "$Q"/*-j111/ | grep -q -- '-step-'; then
  pass "slurm.sbatch: SIGUSR1 to the batch shell reaches the ranks; checkpoint written, exit 75 (requeue)"
else fail "slurm.sbatch stop: exit $rc, $(ls "$Q"/*-j111/ 2>/dev/null | tr '\n' ' ')"; tail -4 "$Q-111.txt"; fi
sbatch_run 222 "$Q-222.txt" --experiment regression --variant shallow --epochs 3 --quiet
if ls -d "$Q"/regression-shallow-*-j222 >/dev/null 2>&1 && [ -e "$(ls -d "$Q"/regression-shallow-*-j222 | head -1)/summary.json" ] \
   && [ ! -e "$(ls -d "$Q"/*-j111 | head -1)/summary.json" ]; then
  pass "slurm.sbatch RESUME=auto: another job with other arguments starts its own run, the stopped run of job 111 is left alone"
else fail "slurm.sbatch RESUME=auto with another job id: $(ls "$Q" | tr '\n' ' ')"; tail -3 "$Q-222.txt"; fi
sbatch_run 111 "$Q-111b.txt" --experiment regression --variant shallow --epochs 3 --quiet; rc=$?
d111=$(ls -d "$Q"/*-j111* | tr '\n' ' ')
if [ $rc -eq 0 ] && [ "$(ls -d "$Q"/*-j111* | wc -l)" -eq 1 ] && [ -e "$(ls -d "$Q"/*-j111 | head -1)/summary.json" ] \
   && grep -q '"epochs" : 300' "$(ls -d "$Q"/*-j111 | head -1)/summary.json"; then
  pass "slurm.sbatch requeued (same job id): continues its own run in place, which gets its summary.json"
else fail "slurm.sbatch requeue: exit $rc, directories $d111"; tail -3 "$Q-111b.txt"; fi

# --- An argument or file that fails on one rank only: every rank reports, nobody hangs ----------
"$BIN" train --experiment regression --variant deep --epochs 2 --print-config > "$LOG_DIR/one-rank.yaml" 2>/dev/null
for bad in "--config /nonexistent/config.yaml" "--print-config" "--resume /nonexistent/run"; do
  out=$(OMPI_MCA_rmaps_base_oversubscribe=1 timeout -s KILL 60 mpirun --timeout 30 -x OPENBLAS_NUM_THREADS=1 \
    -np 1 "$BIN" train --config "$LOG_DIR/one-rank.yaml" --quiet --out "$LOG_DIR/one-rank" \
    : -np 1 "$BIN" train --config "$LOG_DIR/one-rank.yaml" $bad --quiet --out "$LOG_DIR/one-rank" 2>&1); rc=$?
  # The ranks compare their command lines before anything else: one message, every rank leaves.
  if [ $rc -eq 64 ] && ! grep -q "time limit for job execution" <<<"$out" \
     && [ "$(grep -c -E '^resnet-dist: error: the ranks were started with different subcommands or arguments: rank 1 differs' <<<"$out")" -eq 1 ]; then
    pass "'$bad' on rank 1 only: one error naming rank 1, every rank exits 64 (exit $rc)"
  else fail "'$bad' on rank 1 only (exit $rc)"; echo "$out" | head -4; fi
done

# --- User input that used to trap: one-line error, exit 1, no backtrace -------------------------
V="$LOG_DIR/inputs"; rm -rf "$V"
"$BIN" train --experiment regression --variant deep --epochs 3 --checkpoint-every 1 --quiet --out "$V" > /dev/null 2>&1
vck="$(run_dir "$V")/checkpoint-epoch-0002.safetensors"
# The checksum covers the header: an edited epoch or level is refused as corrupt. Re-signed
# (launch/tests/resign_checkpoint.py recomputes the checksum), the same edits reach the checks
# of the position itself.
sed 's/"epoch":"2"/"epoch":"9"/' "$vck" > "$V/epoch9-edited.safetensors"
sed 's/"level":"1"/"level":"9"/' "$vck" > "$V/level9-edited.safetensors"
resign() { python3 "$here/tests/resign_checkpoint.py" "$vck" "$@"; }
resign "$V/epoch9.safetensors" epoch=9
resign "$V/level9.safetensors" level=9
resign "$V/level0.safetensors" level=0
bad_input() {  # bad_input DESCRIPTION EXPECTED-MESSAGE ARGS…
  local what=$1 expect=$2; shift 2
  local out rc
  out=$(timeout -s KILL 60 "$BIN" "$@" --quiet --out "$V/out" 2>&1); rc=$?
  if [ $rc -eq 1 ] && [ "$(grep -c . <<<"$out")" -eq 1 ] && grep -q "^resnet-dist: error: .*$expect" <<<"$out"; then
    pass "$what: one-line error ($(cut -c1-110 <<<"$out"))"
  else fail "$what: exit $rc"; head -3 <<<"$out"; fi
}
bad_input "--seed=-1" "invalid --seed: must be ≥ 0" train --experiment regression --variant deep --seed=-1
bad_input "--switch plateau --max-levels 1000" "invalid --max-levels: 1000 levels would need more than" \
  train --experiment regression --variant multilevel --switch plateau --max-levels 1000
bad_input "resume of a checkpoint whose epoch was edited in place" "checksum mismatch: .*(corrupted or modified checkpoint)" train --resume "$V/epoch9-edited.safetensors"
bad_input "resume of a checkpoint whose level was edited in place" "checksum mismatch: .*(corrupted or modified checkpoint)" train --resume "$V/level9-edited.safetensors"
bad_input "resume of a checkpoint whose epoch is past the end" "its epoch 9 is outside 0...3" train --resume "$V/epoch9.safetensors"
bad_input "resume of a checkpoint at level 9" "its level 9 is outside 1...1" train --resume "$V/level9.safetensors"
bad_input "resume of a checkpoint at level 0" "its level 0 is outside 1...1" train --resume "$V/level0.safetensors"
