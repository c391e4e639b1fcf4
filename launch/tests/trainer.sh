# Sourced by launch/test: the trainer under mpirun. Uses mpi_case, lines, $BIN, $LOG_DIR.

# The same training on np = 1, 2, 4 must follow the same trajectory: the loss of each of the
# first 20 steps agrees to 1e-4 relative, across a level switch inside those steps.
np_invariance() {
  local name=$1; shift
  local np ref="" ok=1 detail=""
  for np in 1 2 4; do
    mapfile -t margs < <(mpi_args "$np")
    timeout -s KILL 200 mpirun --timeout 180 "${margs[@]}" "$BIN" train "$@" --trace-steps 20 --quiet \
      --out "$LOG_DIR/runs" > "$LOG_DIR/trace-$name-$np.txt" 2>&1 || { ok=0; detail="np $np exited non-zero"; }
    grep '^step ' "$LOG_DIR/trace-$name-$np.txt" > "$LOG_DIR/steps-$name-$np.txt"
    if [ "$(wc -l < "$LOG_DIR/steps-$name-$np.txt")" -ne 20 ]; then ok=0; detail="np $np printed $(wc -l < "$LOG_DIR/steps-$name-$np.txt") step losses, not 20"; fi
    if [ -n "$ref" ] && [ $ok -eq 1 ]; then
      worst=$(paste "$ref" "$LOG_DIR/steps-$name-$np.txt" | awk '{ d = $4 - $8; if (d < 0) d = -d; r = d / ($4 < 0 ? -$4 : $4); if (r > m) m = r } END { printf "%.3g", m }')
      detail="$detail np1-vs-np$np max rel diff $worst;"
      awk -v w="$worst" 'BEGIN { exit !(w <= 1e-4) }' || ok=0
    fi
    ref="$LOG_DIR/steps-$name-1.txt"
  done
  if [ $ok -eq 1 ]; then passed=$((passed + 1)); echo "MPI test passed: $name ($detail)"
  else failed=$((failed + 1)); echo "MPI test FAILED: $name ($detail)"; tail -n 5 "$LOG_DIR/trace-$name-"*.txt | sed 's/^/    | /'; fi
}

# Regression MLP: 512 points, batch 64 = 8 steps per epoch, switch 2→3 blocks after epoch 2 (step 16).
np_invariance "np-invariance regression MLP (np 1, 2, 4)" --experiment regression --variant multilevel \
  --subset 512 --batch-size 64 --epochs 3 --switch-epochs 2
# Fashion-MNIST CNN with synchronised BatchNorm: 240 images, batch 48 = 5 steps per epoch,
# switch 2→3 blocks per group after epoch 2 (step 10); RK2 blocks on the second level. At the
# experiment's lr 0.005 the first steps swing the loss from 2.4 to 38, which amplifies the last-bit
# differences of summing in another order past 1e-4 on some CPUs (2.9e-4 on an AVX-512 machine);
# lr 0.0005 keeps the trajectory smooth, so the comparison measures the summation, not the chaos.
np_invariance "np-invariance Fashion-MNIST CNN, sync BN, Euler→RK2 (np 1, 2, 4)" --experiment fashion --variant multilevel \
  --subset 240 --batch-size 48 --epochs 4 --switch-epochs 2 --integrator euler,midpoint --lr 0.0005

# --local-bn still trains: the loss falls over 4 epochs.
mpi_case "local BatchNorm trains (loss falls)" ok 2 \
  'awk "/ loss /{ for (i = 1; i <= NF; i++) if (\$i == \"loss\") l[++n] = \$(i + 1) } END { exit !(n >= 4 && l[n] < l[1]) }"' \
  -- train --experiment fashion --subset 600 --batch-size 60 --epochs 4 --switch-epochs 2 --local-bn --out "$LOG_DIR/runs"

# Bad input: a clear error before training, said once (every rank found it alike), non-zero
# exit, no hang.
bad_input() {
  local name=$1 pattern=$2; shift 2
  mpi_case "bad input: $name" fail 2 'lines "error: .*'"$pattern"'" 1' -- "$@" --out "$LOG_DIR/runs"
}
bad_input "unknown experiment" "unknown experiment 'mnist'" train --experiment mnist
bad_input "unknown variant" "has no variant 'wide'" train --experiment regression --variant wide
bad_input "lr = 0" "invalid --lr" train --lr 0
bad_input "negative h" "invalid --h" train --h=-1
bad_input "batch size 0" "invalid --batch-size" train --batch-size 0
bad_input "switch epochs not increasing" "not strictly increasing" train --experiment cifar --switch-epochs 30,15 --data-dir /nonexistent
bad_input "switch epoch beyond the last" "switch-epochs: epoch 60" train --epochs 50 --switch-epochs 60
bad_input "block counts that do not grow" "must grow" train --variant multilevel --levels 2,2
# Errors found during the job (not in the command line) are said by every rank that found them.
mpi_case "bad input: batch smaller than the ranks" fail 2 'lines "error: .*smaller than the number of ranks" 2' -- train --batch-size 1 --out "$LOG_DIR/runs"
printf 'epochs: 3\nbatchsize: 12\n' > "$LOG_DIR/unknown-key.yaml"
bad_input "YAML unknown key" "unknown key 'batchsize'" train --config "$LOG_DIR/unknown-key.yaml"
printf 'epochs: three\n' > "$LOG_DIR/wrong-type.yaml"
bad_input "YAML wrong type" "key 'epochs' must be an integer" train --config "$LOG_DIR/wrong-type.yaml"
mpi_case "bad input: missing data directory" fail 2 'lines "error: .*fashion-mnist-missing" 2' -- train --experiment fashion --data-dir /tmp/fashion-mnist-missing --out "$LOG_DIR/runs"

# The shipped configs resolve.
for f in "$here"/experiments/*.yaml; do
  mpi_case "config $(basename "$f") resolves" ok 1 'grep -q "^experiment: " <<<"$out"' -- train --config "$f" --print-config
done
# A shipped config restates its default variant: another --variant trains that variant's own
# network, and keys the file changes (here epochs, given after it as a file would) still apply.
mpi_case "config regression.yaml --variant deep: 3 blocks, no switch" ok 1 \
  'grep -q "^blocks: \[3\]$" <<<"$out" && grep -q "^switch-epochs: \[\]" <<<"$out" && grep -q "^variant: deep" <<<"$out"' \
  -- train --config "$here/experiments/regression.yaml" --variant deep --print-config
printf 'experiment: regression\nvariant: multilevel\nepochs: 60\n' > "$LOG_DIR/regression-60.yaml"
mpi_case "config with epochs 60, --variant shallow: 2 blocks, 60 epochs, no switch" ok 1 \
  'grep -q "^blocks: \[2\]$" <<<"$out" && grep -q "^epochs: 60" <<<"$out" && grep -q "^switch-epochs: \[\]" <<<"$out"' \
  -- train --config "$LOG_DIR/regression-60.yaml" --variant shallow --print-config
mpi_case "config rk2-regression.yaml --variant deep: Euler blocks" ok 1 \
  'grep -q "^integrator: \[euler\]$" <<<"$out"' \
  -- train --config "$here/experiments/rk2-regression.yaml" --variant deep --print-config

# The main job: `mpirun -np 4 resnet-dist` with no subcommand compares the regression variants
# and writes the report.
# The deep and multilevel networks must have learned over all three seeds: mean test error norms
# at most 15 % of the mean predictor's (the table's last column); the headline gives mean ±
# spread and the seeds, and the verdict its interval and the seeds it rests on.
learned_main() {
  local v pct
  for v in deep multilevel; do
    pct=$(grep -E "^\| $v \| 1,2,3 \|" <<<"$out" | grep -oE "[0-9.]+ % of mean predictor" | cut -d' ' -f1)
    [ -n "$pct" ] && awk -v p="$pct" 'BEGIN { exit !(p <= 15) }' || return 1
  done
  grep -Eq "^multilevel: [0-9.]+ ± [0-9.]+ test error norm; deep: [0-9.]+ ± [0-9.]+ test error norm \(mean predictor [0-9.]+\) — multilevel took [0-9]+ % (less|more) training-step time \(3 seeds\)$" <<<"$out" \
    && grep -Eq "^thesis: .*: (holds|refuted|undecided) \(3 seeds; .*95 % interval \[" <<<"$out"
}
MPI_CASE_TIMEOUT=300 mpi_case "main job: compare regression on 4 ranks over 3 seeds, deep and multilevel learn, interval verdict, report" ok 4 \
  'learned_main && f=$(grep -o "report: .*index.html" <<<"$out" | cut -c9-) && grep -q "<svg" "$f" && ls "$(dirname "$f")"/fit.svg && ls -d "$(dirname "$f")"/seed-3/regression-deep-*/' \
  -- --out "$LOG_DIR/main" --quiet

# Plateau switching: rank 0 decides from the reduced loss; np 1 and np 2 switch at the same epochs.
plateau_switches() {
  local np=$1 dir="$LOG_DIR/plateau-$1"
  mapfile -t margs < <(mpi_args "$np")
  timeout -s KILL 100 mpirun --timeout 90 "${margs[@]}" "$BIN" train --experiment regression --variant shallow \
    --switch plateau --patience 2 --min-improvement 0.05 --max-levels 3 --epochs 40 --quiet --out "$dir" >/dev/null 2>&1 || return
  tr -d ' \n' < "$(ls -d "$dir"/*/ | head -1)summary.json" | grep -o '"switchEpochs":\[[0-9,]*\]'
}
p1=$(plateau_switches 1); p2=$(plateau_switches 2)
if [ -n "$p1" ] && [ "$p1" = "$p2" ] && [ "$p1" != '"switchEpochs":[]' ]; then
  passed=$((passed + 1)); echo "MPI test passed: plateau switching on rank 0's decision, same epochs on np 1 and 2 ($p1)"
else failed=$((failed + 1)); echo "MPI test FAILED: plateau switching (np 1: '$p1', np 2: '$p2')"; fi

# compare with a shorter run: the multi-level variant's switch scales (25 of 50 → 5 of 10) and
# --switch-epochs applies to it alone; the baselines stay single-level.
mpi_case "compare --epochs 10: switch scaled, baselines single-level" ok 2 \
  'grep -q "^| shallow | 2 |" <<<"$out" && grep -q "^| deep | 3 |" <<<"$out" && grep -Eq "^\| multilevel \| 3 \|.*\| [0-9.]+ / [0-9.]+ \|" <<<"$out"' \
  -- compare --experiment regression --epochs 10 --seed 1 --quiet --out "$LOG_DIR/cmp10"
mpi_case "compare --switch-epochs 4 leaves the baselines single-level" ok 2 \
  'grep -q "^| shallow | 2 |" <<<"$out" && grep -q "^| deep | 3 |" <<<"$out"' \
  -- compare --experiment regression --epochs 10 --switch-epochs 4 --seed 1 --quiet --out "$LOG_DIR/cmp10s"
