# Sourced by launch/test: resnet-dist on a cluster, for real, on one machine.
#   1. Across hosts: two hosts made of network namespaces (launch/cluster/netns-hosts) joined by a
#      bridge on 10.77.0.0/24, mpirun started inside node1 with hostfiles/netns and
#      launch/cluster/rsh-agent in place of ssh, Open MPI bound to TCP on that subnet.
#   2. Slurm: a one-node Slurm cluster (munged, slurmctld, slurmd) inside its own namespace, and
#      launch/slurm.sbatch submitted to it with sbatch.
# Uses $BIN, $LOG_DIR, $here and the passed/failed counters of launch/test. A test that cannot run
# here prints "MPI test SKIPPED: ... (reason)" and counts neither way.

cluster_pass() { passed=$((passed + 1)); echo "MPI test passed: $1"; }
cluster_fail() { failed=$((failed + 1)); echo "MPI test FAILED: $1"; [ -n "${2:-}" ] && [ -f "$2" ] && tail -25 "$2" | sed 's/^/    | /'; return 0; }
cluster_skip() { echo "MPI test SKIPPED: $1 ($2)"; }
# Empty if this machine lets us create a network namespace, else why not.
netns_unavailable() {
  [ "$(id -u)" -eq 0 ] || { echo "needs root"; return; }
  command -v ip >/dev/null && command -v unshare >/dev/null && command -v nsenter >/dev/null || { echo "needs iproute2 and util-linux"; return; }
  local probe="rdprobe$$" err
  if err=$(ip netns add "$probe" 2>&1); then ip netns del "$probe"; else echo "cannot create network namespaces here: $err"; fi
}

# ---------------------------------------------------------------- across hosts (netns) ----
NETNS_PREFIX="rdist$$"          # unique per test run: other jobs on this machine may do the same
NETNS_SUBNET=10.77.0
NETNS_HOSTS=(node1 node2)       # as in hostfiles/netns

netns_cleanup() { "$here/cluster/netns-hosts" down "$NETNS_PREFIX" "${NETNS_HOSTS[@]}"; }

# netns_mpirun SECONDS OUTFILE MPIRUN-ARGS... -- RESNET-DIST-ARGS...
# mpirun inside node1 with the hostfile of both hosts; killed after SECONDS whatever happens.
# Keepalive: a daemon whose host vanished is declared lost after about 2 + 1*3 seconds.
# --bind-to none: the "hosts" share this machine's cores, and each host's daemon would bind its
# first rank to core 0 — ranks of different hosts on one core, taking turns in whole time slices.
netns_mpirun() {
  local secs=$1 outfile=$2; shift 2
  local mopts=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do mopts+=("$1"); shift; done
  shift
  RESNET_DIST_NETNS_PREFIX="$NETNS_PREFIX" timeout -s KILL "$secs" \
    "$here/cluster/netns-hosts" exec "$NETNS_PREFIX" node1 \
    mpirun --hostfile "$here/../hostfiles/netns" \
      --mca plm_rsh_agent "$here/cluster/rsh-agent" --mca plm_rsh_no_tree_spawn 1 \
      --mca btl tcp,self --mca btl_tcp_if_include "$NETNS_SUBNET.0/24" --mca oob_tcp_if_include "$NETNS_SUBNET.0/24" \
      --mca oob_tcp_keepalive_time 2 --mca oob_tcp_keepalive_intvl 1 --mca oob_tcp_keepalive_probes 3 \
      -x OPENBLAS_NUM_THREADS=1 -x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM --bind-to none \
      "${mopts[@]}" "$BIN" "$@" > "$outfile" 2>&1
}

# The step losses of a trace file, one "step N loss X" per line.
steps_of() { grep '^step ' "$1"; }
# Largest relative difference between the losses of two step files (column 4).
max_rel_diff() { paste "$1" "$2" | awk '{ d = $4 - $8; if (d < 0) d = -d; r = d / ($4 < 0 ? -$4 : $4); if (r > m) m = r } END { printf "%.3g", m }'; }

# The pid of the resnet-dist rank inside host $1's namespace (empty if none yet).
netns_rank_pid() {
  local p
  for p in $(ip netns pids "$NETNS_PREFIX$1" 2>/dev/null); do
    [ "$(cat /proc/$p/comm 2>/dev/null)" = resnet-dist ] && { echo "$p"; return; }
  done
}

# A long training across both hosts (one rank per host), disturbed by the command $2 once the
# remote rank runs; the job must end with a non-zero exit within $3 seconds — never hang.
netns_disturb() {
  local name=$1 action=$2 limit=$3 log="$LOG_DIR/netns-$4.txt"
  local start rc secs pid waited=0
  start=$(date +%s.%N)
  netns_mpirun $((limit + 30)) "$log" -np 2 --map-by node -- \
    train --experiment regression --epochs 100000 --quiet --out "$LOG_DIR/runs-netns" &
  local job=$!
  while [ -z "$(netns_rank_pid node2)" ] && [ $waited -lt 100 ]; do sleep 0.1; waited=$((waited + 1)); done
  pid=$(netns_rank_pid node2)
  if [ -z "$pid" ]; then
    kill -KILL $job 2>/dev/null; wait $job
    cluster_fail "$name (the remote rank never started)" "$log"; return
  fi
  sleep 1                                   # let it train (and the connections settle)
  start=$(date +%s.%N)
  eval "$action"
  wait $job; rc=$?
  secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  # (137 is a legitimate answer: mpirun reports a rank killed by signal 9 as 128 + 9; the test
  # timeout is limit + 30 s, so a hang shows as too many seconds.)
  if [ $rc -ne 0 ] && awk -v s="$secs" -v l="$limit" 'BEGIN { exit !(s <= l) }'; then
    cluster_pass "$name (exit $rc after ${secs}s, limit ${limit}s)"
  else
    cluster_fail "$name (exit $rc after ${secs}s, limit ${limit}s)" "$log"
  fi
}

netns_tests() {
  local why; why=$(netns_unavailable)
  if [ -n "$why" ]; then cluster_skip "across hosts (network namespaces)" "$why"; return; fi
  if ! "$here/cluster/netns-hosts" up "$NETNS_PREFIX" "$NETNS_SUBNET" "${NETNS_HOSTS[@]}" 2>"$LOG_DIR/netns-up.txt"; then
    netns_cleanup
    cluster_skip "across hosts (network namespaces)" "cannot create network namespaces here: $(head -1 "$LOG_DIR/netns-up.txt")"; return
  fi
  trap 'netns_cleanup' EXIT; trap 'netns_cleanup; exit 130' INT TERM

  # 1. Ranks really run on different hosts: each reports its processor name (= its hostname).
  local log="$LOG_DIR/netns-hosts.txt" names
  if netns_mpirun 60 "$log" -np 4 -- selftest hosts; then
    names=$(sed -nE 's/^rank [0-9]+ host (.*)$/\1/p' "$log" | sort | uniq -c | awk '{ printf "%s%s×%s", sep, $2, $1; sep = ", " }')
    if [ "$(grep -cE '^rank [0-9]+ host ' "$log")" -eq 4 ] && [ "$(grep -E '^rank [0-9]+ host ' "$log" | awk '{ print $4 }' | sort -u | wc -l)" -ge 2 ]; then
      cluster_pass "ranks on two hosts over TCP (np 4: $names)"
    else
      cluster_fail "ranks on two hosts over TCP (np 4: ${names:-no host lines})" "$log"
    fi
  else
    cluster_fail "ranks on two hosts over TCP (mpirun exited non-zero)" "$log"
  fi

  # 2. np-invariance across hosts: the first 20 step losses of the regression run on 2 hosts
  #    (1 and 2 ranks each) equal those of one process on one host to 1e-4 relative.
  local args=(train --experiment regression --variant multilevel --subset 512 --batch-size 64
              --epochs 3 --switch-epochs 2 --trace-steps 20 --quiet)
  local ok=1 detail="" ref="$LOG_DIR/netns-steps-ref.txt" np worst
  mapfile -t margs < <(mpi_args 1)
  timeout -s KILL 60 mpirun "${margs[@]}" "$BIN" "${args[@]}" --out "$LOG_DIR/runs-netns" > "$LOG_DIR/netns-trace-ref.txt" 2>&1 || { ok=0; detail="one-host np 1 failed;"; }
  steps_of "$LOG_DIR/netns-trace-ref.txt" > "$ref"
  for np in 2 4; do
    log="$LOG_DIR/netns-trace-$np.txt"
    netns_mpirun 90 "$log" -np $np --map-by node -- "${args[@]}" --out "$LOG_DIR/runs-netns" || { ok=0; detail="$detail np $np across hosts exited non-zero;"; }
    steps_of "$log" > "$LOG_DIR/netns-steps-$np.txt"
    if [ "$(wc -l < "$LOG_DIR/netns-steps-$np.txt")" -ne 20 ] || [ "$(wc -l < "$ref")" -ne 20 ]; then
      ok=0; detail="$detail np $np: $(wc -l < "$LOG_DIR/netns-steps-$np.txt") step losses, reference $(wc -l < "$ref"), want 20;"
      continue
    fi
    worst=$(max_rel_diff "$ref" "$LOG_DIR/netns-steps-$np.txt")
    detail="$detail 1-host np1 vs 2-host np$np max rel diff $worst;"
    awk -v w="$worst" 'BEGIN { exit !(w <= 1e-4) }' || ok=0
  done
  if [ $ok -eq 1 ]; then cluster_pass "np-invariance regression across hosts ($detail)"
  else cluster_fail "np-invariance regression across hosts ($detail)" "$log"; fi

  # 3. Failures end the job, never hang: the remote rank killed; the remote host's link cut.
  # (mpirun ends the other ranks with SIGCONT, SIGTERM and SIGKILL odls_base_sigkill_timeout
  # apart — 4 s from launch/mpi-env.sh, so that a stop can finish its step — hence 8 s of it.)
  netns_disturb "remote rank killed: job ends non-zero" 'kill -KILL $pid' 25 kill
  netns_disturb "link to the remote host down: job ends non-zero (keepalive)" \
    '"$here/cluster/netns-hosts" link "$NETNS_PREFIX" node2 down' 45 linkdown

  netns_cleanup
  trap - EXIT INT TERM
  if ip netns list | grep -q "^$NETNS_PREFIX"; then
    cluster_fail "network namespaces cleaned up ($(ip netns list | grep "^$NETNS_PREFIX" | tr '\n' ' '))"
  fi
}

# ---------------------------------------------------------------- Slurm ----
SLURM_NAME="rdslurm$$"
SLURM_DIR=""
slurm_jobs=0
slurm_cleanup() { [ -n "$SLURM_DIR" ] && "$here/cluster/slurm-one-node" stop "$SLURM_DIR" "$SLURM_NAME"; }
slurm_client() { "$here/cluster/slurm-one-node" run "$SLURM_DIR" "$SLURM_NAME" "$@"; }

# A top-level number of summary.json (pretty-printed: '  "key" : value,').
json_top() { sed -nE 's/^  "'"$1"'" : ([^,]*),?$/\1/p' "$2" | head -1; }

# slurm_job NAME NTASKS [SBATCH-OPTIONS...]: submit launch/slurm.sbatch with the regression
# experiment, wait for it (deadline 90 s), then check the job state and the run it wrote: a
# summary.json of the right experiment, NTASKS ranks, 10 epochs, a finite final loss below the
# first epoch's, and a finite test error.
slurm_job() {
  local name=$1 ntasks=$2; shift 2
  slurm_jobs=$((slurm_jobs + 1))
  local runs="$SLURM_DIR/runs-$slurm_jobs" id state="" start=$(date +%s) secs summary detail="" ok=1
  id=$(cd "$here/.." && RUNS_DIR="$runs" RESNET_DIST="$BIN" slurm_client \
    sbatch --parsable --time=5 --ntasks="$ntasks" --output="$SLURM_DIR/job-%j.out" "$@" \
    "$here/slurm.sbatch" --experiment regression --variant multilevel --epochs 10 --switch-epochs 5 2>&1)
  if ! [[ "$id" =~ ^[0-9]+$ ]]; then cluster_fail "$name (sbatch: $id)"; return; fi
  while [ $(( $(date +%s) - start )) -lt 90 ]; do
    state=$(slurm_client scontrol show job "$id" 2>/dev/null | sed -nE 's/.*JobState=([A-Z_]+).*/\1/p')
    case "$state" in PENDING|RUNNING|CONFIGURING|COMPLETING|"") sleep 0.5 ;; *) break ;; esac
  done
  secs=$(( $(date +%s) - start ))
  summary=$(ls "$runs"/regression-multilevel-*/summary.json 2>/dev/null | head -1)
  if [ "$state" != COMPLETED ]; then
    ok=0; detail="job $id state ${state:-unknown} after ${secs}s"
    [ "$state" = RUNNING ] || [ "$state" = PENDING ] && slurm_client scancel "$id"
  elif [ -z "$summary" ]; then
    ok=0; detail="job $id completed but wrote no summary.json under $runs"
  else
    local ranks epochs loss first metric
    ranks=$(json_top ranks "$summary"); epochs=$(json_top epochs "$summary")
    loss=$(json_top finalTrainLoss "$summary"); metric=$(json_top testMetric "$summary")
    first=$(sed -nE 's/^ +"trainLoss" : ([^,]*),?$/\1/p' "$summary" | head -1)
    detail="job $id COMPLETED in ${secs}s: ranks $ranks, epochs $epochs, loss ${first:-?} → ${loss:-?}, test error norm ${metric:-?}"
    [ "$ranks" = "$ntasks" ] && [ "$epochs" = 10 ] && [ "$(json_top experiment "$summary")" = '"regression"' ] || ok=0
    awk -v l="$loss" -v f="$first" -v m="$metric" 'BEGIN { exit !(l + 0 == l && f + 0 == f && m + 0 == m && l > 0 && l < f && m > 0) }' || ok=0
  fi
  if [ $ok -eq 1 ]; then cluster_pass "$name ($detail)"
  else cluster_fail "$name ($detail)" "$SLURM_DIR/job-$id.out"; fi
}

# scancel of a running job (Slurm's SIGTERM to the batch shell, mpirun and every rank): a step
# checkpoint newer than the last periodic one, and the run resubmitted with --resume finishes in
# its own directory at the loss of an uninterrupted run (mpirun -np 2 outside Slurm).
slurm_scancel() {
  local runs="$SLURM_DIR/runs-scancel" id state start dir step periodic detail ok=1
  local args=(--experiment regression --variant deep --epochs 200 --batch-size 64 --checkpoint-every 25 --keep-checkpoints 0 --quiet)
  id=$(cd "$here/.." && RUNS_DIR="$runs" RESNET_DIST="$BIN" slurm_client \
    sbatch --parsable --time=5 --ntasks=2 --output="$SLURM_DIR/job-%j.out" "$here/slurm.sbatch" "${args[@]}" 2>&1)
  if ! [[ "$id" =~ ^[0-9]+$ ]]; then cluster_fail "scancel keeps a checkpoint (sbatch: $id)"; return; fi
  start=$(date +%s)
  while [ $(( $(date +%s) - start )) -lt 90 ] && ! ls "$runs"/*/checkpoint-epoch-0025.safetensors >/dev/null 2>&1; do sleep 0.2; done
  slurm_client scancel "$id"
  start=$(date +%s)
  while [ $(( $(date +%s) - start )) -lt 60 ]; do
    state=$(slurm_client scontrol show job "$id" 2>/dev/null | sed -nE 's/.*JobState=([A-Z_]+).*/\1/p')
    case "$state" in RUNNING|COMPLETING|CONFIGURING|"") sleep 0.5 ;; *) break ;; esac
  done
  dir=$(ls -d "$runs"/*/ 2>/dev/null | head -1); dir=${dir%/}
  step=$(ls "$dir" 2>/dev/null | grep -- '-step-' | head -1)
  periodic=$(ls "$dir" 2>/dev/null | grep -E '^checkpoint-epoch-[0-9]+\.safetensors$' | sort | tail -1)
  detail="job $id $state, step checkpoint '${step}', newest periodic '${periodic}'"
  if [ -z "$step" ] || [ -z "$periodic" ] || [ "${step:17:4}" -lt "${periodic:17:4}" ]; then
    cluster_fail "scancel keeps a checkpoint newer than the periodic one ($detail)" "$SLURM_DIR/job-$id.out"; return
  fi
  cluster_pass "scancel keeps a checkpoint newer than the periodic one ($detail)"
  id=$(cd "$here/.." && RUNS_DIR="$runs" RESNET_DIST="$BIN" slurm_client \
    sbatch --parsable --time=5 --ntasks=2 --output="$SLURM_DIR/job-%j.out" "$here/slurm.sbatch" --resume "$dir" --resume-in-place --quiet 2>&1)
  start=$(date +%s)
  while [ $(( $(date +%s) - start )) -lt 120 ]; do
    state=$(slurm_client scontrol show job "$id" 2>/dev/null | sed -nE 's/.*JobState=([A-Z_]+).*/\1/p')
    case "$state" in PENDING|RUNNING|CONFIGURING|COMPLETING|"") sleep 0.5 ;; *) break ;; esac
  done
  run_job 2 "$SLURM_DIR/scancel-ref.txt" train "${args[@]}" --out "$SLURM_DIR/runs-scancel-ref"
  local ref res
  ref=$(grep -o '"finalTrainLoss" : [^,]*' "$(run_dir "$SLURM_DIR/runs-scancel-ref")/summary.json" 2>/dev/null)
  res=$(grep -o '"finalTrainLoss" : [^,]*' "$dir/summary.json" 2>/dev/null)
  if [ "$state" = COMPLETED ] && [ -n "$ref" ] && [ "$res" = "$ref" ] && [ "$(ls -d "$runs"/*/ | wc -l)" -eq 1 ]; then
    cluster_pass "resubmitted with --resume $step: finishes in its own directory at the uninterrupted loss ($ref)"
  else cluster_fail "resubmitted after scancel: job $id ${state:-?}, '$res' vs uninterrupted '$ref'" "$SLURM_DIR/job-$id.out"; fi
}

slurm_tests() {
  local tool
  for tool in munged slurmctld slurmd sbatch sinfo scontrol; do
    if ! command -v "$tool" >/dev/null; then
      cluster_skip "Slurm batch jobs" "$tool not installed (launch/setup installs munge, slurmctld, slurmd, slurm-client)"; return
    fi
  done
  local why; why=$(netns_unavailable)
  if [ -n "$why" ]; then cluster_skip "Slurm batch jobs (one-node cluster in a network namespace)" "$why"; return; fi
  # The test node offers 2 CPUs (launch/cluster/slurm-one-node), which needs 2 real ones.
  if [ "$(nproc)" -lt 2 ]; then cluster_skip "Slurm batch jobs" "needs at least 2 cores, this machine has $(nproc)"; return; fi
  SLURM_DIR=$(mktemp -d /tmp/resnet-dist-slurm.XXXXXX)
  trap 'slurm_cleanup' EXIT; trap 'slurm_cleanup; exit 130' INT TERM
  local start=$(date +%s.%N)
  if ! "$here/cluster/slurm-one-node" start "$SLURM_DIR" "$SLURM_NAME" > "$SLURM_DIR/start.txt" 2>&1; then
    cluster_fail "one-node Slurm cluster starts (node idle)" "$SLURM_DIR/start.txt"
    tail -5 "$SLURM_DIR"/slurm*.log 2>/dev/null | sed 's/^/    | /'
  else
    echo "    (one-node Slurm cluster idle after $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s)"
    slurm_job "sbatch launch/slurm.sbatch, 2 tasks, mpirun" 2
    slurm_job "sbatch launch/slurm.sbatch, 4 tasks on the 2-CPU node (--overcommit), mpirun" 4 --overcommit
    LAUNCHER=srun slurm_job "sbatch launch/slurm.sbatch, 2 tasks, srun --mpi=pmix" 2
    slurm_scancel
    # EnforcePartLimits=ALL: more tasks than cores without --overcommit is refused at submission
    # rather than pending forever.
    local out
    out=$(cd "$here/.." && slurm_client sbatch --parsable --time=5 --ntasks=3 "$here/slurm.sbatch" --experiment regression 2>&1)
    if grep -q "More processors requested than permitted" <<<"$out"; then
      cluster_pass "sbatch: 3 tasks on the 2-CPU node without --overcommit refused at once"
    else
      cluster_fail "sbatch: 3 tasks on the 2-CPU node without --overcommit refused at once (got: $out)"
    fi
  fi
  slurm_cleanup
  trap - EXIT INT TERM
  if ip netns list | grep -q "^$SLURM_NAME\b"; then cluster_fail "Slurm namespace cleaned up"; fi
  rm -rf "$SLURM_DIR"
}

# The resume logic of launch/slurm.sbatch, run as a plain script (outside Slurm, mpirun on this
# machine): a finished run is not resumed; an interrupted one (its last checkpoints and summary
# removed) is continued from its newest checkpoint and ends at the uninterrupted run's final loss.
sbatch_resume() {
  local d="$LOG_DIR/sbatch-resume" ok=1 detail="" out first again
  rm -rf "$d"; mkdir -p "$d"
  local args=(--experiment regression --variant multilevel --subset 256 --batch-size 64 --epochs 6 --switch-epochs 3 --checkpoint-every 2 --quiet)
  # One job id throughout, as a requeued job keeps it: the script resumes only its own job's runs.
  run_plain() { SLURM_JOB_ID=77 RUNS_DIR="$d/runs" RESNET_DIST="$BIN" OPENBLAS_NUM_THREADS=1 timeout -s KILL 120 bash "$here/slurm.sbatch" "$@" 2>&1; }
  out=$(run_plain "${args[@]}") || { ok=0; detail="first run failed;"; }
  grep -q "resuming" <<<"$out" && { ok=0; detail="$detail resumed with nothing to resume;"; }
  first=$(ls -d "$d"/runs/*/ | head -1); first=${first%/}
  local final=$(grep -o '"finalTrainLoss" : [^,]*' "$first/summary.json" 2>/dev/null)
  out=$(run_plain "${args[@]}")
  grep -q "resuming" <<<"$out" && { ok=0; detail="$detail resumed a finished run;"; }
  # Interrupt the first run after epoch 3 (the level switch wrote a checkpoint): drop what came later.
  rm -f "$first"/summary.json "$first"/checkpoint-epoch-0004.safetensors "$first"/checkpoint-epoch-0006.safetensors
  out=$(run_plain "${args[@]}")
  grep -q "resuming this job's run from $first/checkpoint-epoch-0003.safetensors" <<<"$out" || { ok=0; detail="$detail did not resume from epoch 3;"; }
  again=$(ls -td "$d"/runs/*/ | head -1)
  local resumed=$(grep -o '"finalTrainLoss" : [^,]*' "$again/summary.json" 2>/dev/null)
  [ -n "$final" ] && [ "$final" = "$resumed" ] || { ok=0; detail="$detail final loss $resumed vs $final;"; }
  if [ $ok -eq 1 ]; then cluster_pass "slurm.sbatch resumes an interrupted run from its newest checkpoint, not a finished one ($final)"
  else cluster_fail "slurm.sbatch resume ($detail)"; echo "$out" | tail -5 | sed 's/^/    | /'; fi
}
sbatch_resume

netns_tests
slurm_tests
