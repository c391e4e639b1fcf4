# Sourced by launch/test: sizes checked before allocating, checkpoints signed over their header,
# history in metrics.jsonl only and a bounded number of checkpoints, resumable comparisons, and
# plain messages for odd input. Uses mpi_args, mpi_case, lines, $BIN, $LOG_DIR and the counters.

L="$LOG_DIR/limits"; rm -rf "$L"; mkdir -p "$L"
resign() { python3 "$here/tests/resign_checkpoint.py" "$@"; }
# refused DESCRIPTION EXPECTED-MESSAGE ARGS…: one line "resnet-dist: error: …EXPECTED…", exit 1,
# within 20 seconds.
refused() {
  local what=$1 expect=$2; shift 2
  local out rc
  out=$(timeout -s KILL 20 "$BIN" "$@" 2>&1); rc=$?
  if [ $rc -eq 1 ] && [ "$(grep -c . <<<"$out")" -eq 1 ] && grep -q "^resnet-dist: error: .*$expect" <<<"$out"; then
    pass "$what: $(cut -c1-150 <<<"$out")"
  else fail "$what: exit $rc"; head -3 <<<"$out" | cut -c1-300; fi
}
metric() { grep -o '"testMetric" : [^,]*' "$1/summary.json" | tail -1; }

# --- Sizes before allocating -----------------------------------------------------------------
mpi_case "--blocks 1000000: refused before allocating, saying how much memory it needs" fail 2 \
  'lines "rank [01]: error: .*needs about [0-9.]+ (GB|TB) per rank .* but this machine has" 2' \
  -- train --experiment regression --variant deep --blocks 1000000 --epochs 1 --quiet --out "$L/runs"
refused "fashion with 10^6 channels per group" "needs about [0-9.]* TB per rank" \
  train --experiment fashion --variant deep --channels 1000000,1000000 --subset 60 --batch-size 60 --epochs 1 --quiet --out "$L/runs"
refused "--epochs 999999999999" "invalid --epochs: must be at most 100000000, got 999999999999" \
  train --experiment regression --variant deep --epochs 999999999999 --quiet --out "$L/runs"
refused "--batch-size larger than the training set" "invalid --batch-size: 10000000 is larger than the training set (2000 samples)" \
  train --experiment regression --variant deep --epochs 1 --batch-size 10000000 --quiet --out "$L/runs"
refused "--subset larger than the data" "invalid --subset: 99999999 is more than the 2000 training samples" \
  train --experiment regression --variant deep --epochs 1 --subset 99999999 --quiet --out "$L/runs"
# Runs refused after their directory was made leave none behind.
left=$(find "$L/runs" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l)
if [ "$left" -eq 0 ]; then pass "refused runs leave no run directory under --out"
else fail "refused runs left $left directories under --out: $(ls "$L/runs" | head -3 | tr '\n' ' ')"; fi
: > "$L/empty.yaml"; printf '# nothing but a comment\n' > "$L/comment.yaml"
refused "an empty YAML file" "empty.yaml: it holds no config keys" train --config "$L/empty.yaml" --quiet --out "$L/runs"
refused "a YAML file of comments only" "comment.yaml: it holds no config keys" train --config "$L/comment.yaml" --quiet --out "$L/runs"

# --out naming directories that do not exist yet, relative to the working directory.
mkdir -p "$L/cwd"
if (cd "$L/cwd" && timeout -s KILL 60 "$BIN" train --experiment regression --variant deep --epochs 2 --quiet --out new/nested/runs > out.txt 2>&1) \
   && [ -e "$(run_dir "$L/cwd/new/nested/runs")summary.json" ]; then
  pass "--out new/nested/runs (relative, none of it existing): made, run finished there"
else fail "--out new/nested/runs: $(grep -m1 -i 'error\|crash' "$L/cwd/out.txt")"; fi

# eval --checkpoint runs/ (the directory of runs, not a run): names the runs to choose from.
refused "eval --checkpoint on a directory of runs" "is a directory of runs, not a run; give one of them: .*new/nested/runs/regression-deep-" \
  eval --checkpoint "$L/cwd/new/nested/runs"

# --- Checkpoints: header signed, no history, bounded in number ---------------------------------
"$BIN" train --experiment regression --variant deep --epochs 40 --checkpoint-every 10 --keep-checkpoints 0 --quiet --out "$L/size" > /dev/null 2>&1
sdir=$(run_dir "$L/size")
s10=$(stat -c %s "$sdir/checkpoint-epoch-0010.safetensors" 2>/dev/null); s40=$(stat -c %s "$sdir/checkpoint-epoch-0040.safetensors" 2>/dev/null)
# The header's figures (level seconds, step counts) change length by a few digits from one
# checkpoint to the next; a history kept in the header would add hundreds of bytes per epoch.
if [ -n "$s10" ] && [ -n "$s40" ] && [ $(( s40 - s10 )) -le 64 ] && [ $(( s10 - s40 )) -le 64 ] \
   && ! grep -aq '"history"' "$sdir/checkpoint-epoch-0040.safetensors" \
   && [ "$(grep -c . "$sdir/metrics.jsonl")" -eq 40 ]; then
  pass "checkpoints do not grow with the epochs: $s10 bytes at epoch 10, $s40 at 40 (within 64); the history is in metrics.jsonl (40 lines)"
else fail "checkpoint sizes $s10 (epoch 10) vs $s40 (epoch 40), history in header: $(grep -ac '"history"' "$sdir/checkpoint-epoch-0040.safetensors")"; fi
refused "a checkpoint whose model spec says 10^8 blocks" "describes [0-9.e+]* values but the file holds only [0-9]*" \
  eval --checkpoint "$(resign "$sdir/checkpoint-epoch-0010.safetensors" "$L/huge.safetensors" 'model_spec:blocks=[100000000]'; echo "$L/huge.safetensors")"
resign "$sdir/checkpoint-epoch-0010.safetensors" "$L/nan.safetensors" --nan head.weight
resign "$sdir/checkpoint-epoch-0010.safetensors" "$L/blocks0.safetensors" 'model_spec:blocks=[0]'
refused "a checkpoint whose model has 0 blocks (not its config's)" "its model has \[0\] blocks per group, but its config has \[3\] at level 1" \
  eval --checkpoint "$L/blocks0.safetensors"
resign "$sdir/checkpoint-epoch-0010.safetensors" "$L/foreign.safetensors" experiment=cifar
refused "a checkpoint whose metadata names another experiment than its config" "its metadata 'experiment' is 'cifar' but its config's experiment is 'regression'" \
  eval --checkpoint "$L/foreign.safetensors"
refused "eval of a validly signed checkpoint holding NaN" "the test error norm is nan: 1 of the checkpoint's [0-9]* weights" eval --checkpoint "$L/nan.safetensors"

"$BIN" train --experiment regression --variant multilevel --epochs 12 --switch-epochs 3 --checkpoint-every 1 --quiet --out "$L/keep" > /dev/null 2>&1
kept=$(ls "$(run_dir "$L/keep")" | grep checkpoint | sed -E 's/checkpoint-epoch-0*([0-9]+).*/\1/' | sort -n | tr '\n' ' ')
if [ "$kept" = "3 10 11 12 " ]; then pass "--checkpoint-every 1 over 12 epochs keeps the newest 3 and the level switch's: epochs $kept"
else fail "checkpoints kept: '$kept', expected '3 10 11 12 '"; fi
"$BIN" train --experiment regression --variant deep --epochs 6 --checkpoint-every 1 --keep-checkpoints 2 --quiet --out "$L/keep2" > /dev/null 2>&1
kept=$(ls "$(run_dir "$L/keep2")" | grep -c checkpoint)
if [ "$kept" -eq 2 ]; then pass "--keep-checkpoints 2: 2 checkpoints left of 6"; else fail "--keep-checkpoints 2 left $kept"; fi

# Resume rebuilds the history from metrics.jsonl: a plateau schedule (which reads the history)
# switches at the same epochs and the run ends at the same metric, with its whole history.
plateau=(--experiment regression --variant multilevel --switch plateau --patience 2 --min-improvement 0.05 --epochs 30 --checkpoint-every 1 --keep-checkpoints 0 --quiet)
"$BIN" train "${plateau[@]}" --out "$L/plateau" > /dev/null 2>&1
pdir=$(run_dir "$L/plateau")
"$BIN" train --resume "$pdir/checkpoint-epoch-0007.safetensors" --quiet --out "$L/plateau-resumed" > "$L/plateau-resumed.txt" 2>&1
rdir=$(run_dir "$L/plateau-resumed")
sw() { tr -d ' \n' < "$1/summary.json" | grep -o '"switchEpochs":\[[^]]*\]'; }
hist() { python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["history"]))' "$1/summary.json" 2>/dev/null; }
if [ -n "$rdir" ] && [ "$(metric "$pdir")" = "$(metric "$rdir")" ] && [ "$(sw "$pdir")" = "$(sw "$rdir")" ] && [ "$(hist "$rdir")" = 30 ] \
   && [ "$(grep -c . "$rdir/metrics.jsonl")" -eq 30 ]; then
  pass "resume of a plateau run at epoch 7 (its switch, at 8, reads the losses of epochs 1–8): same switches ($(sw "$rdir")), same metric ($(metric "$rdir")), 30 epochs of history"
else fail "plateau resume: switches '$(sw "$rdir")' vs '$(sw "$pdir")', metric '$(metric "$rdir")' vs '$(metric "$pdir")', history $(hist "$rdir")"; tail -2 "$L/plateau-resumed.txt"; fi
mkdir -p "$L/alone"; cp "$pdir/checkpoint-epoch-0007.safetensors" "$L/alone/"
refused "resume of a checkpoint without its metrics.jsonl" "resuming needs the run's metrics.jsonl beside the checkpoint" \
  train --resume "$L/alone" --quiet --out "$L/runs"
# A checkpoint of the first format (history in the header, checksum over the tensors) still
# resumes, without any metrics.jsonl.
hist7=$(head -7 "$pdir/metrics.jsonl" | python3 -c 'import json,sys; print(json.dumps([json.loads(l) for l in sys.stdin], separators=(",", ":")))')
resign "$pdir/checkpoint-epoch-0007.safetensors" "$L/alone/old-format.safetensors" format=resnet-dist-checkpoint-1 "history=$hist7" --tensors-only
rm -f "$L/alone/checkpoint-epoch-0007.safetensors"
"$BIN" train --resume "$L/alone/old-format.safetensors" --quiet --out "$L/old-resumed" > "$L/old-resumed.txt" 2>&1
odir=$(run_dir "$L/old-resumed")
if [ -n "$odir" ] && [ "$(metric "$pdir")" = "$(metric "$odir")" ] && [ "$(hist "$odir")" = 30 ]; then
  pass "a checkpoint of the first format (history in its header) resumes exactly: $(metric "$odir")"
else fail "old-format checkpoint: '$(metric "$odir")' vs '$(metric "$pdir")'"; tail -2 "$L/old-resumed.txt"; fi
# Stale temporary files of a killed write are removed when the run continues in its directory
# (made an interrupted run first: a checkpoint older than the run's newest is not continued in
# place).
touch "$pdir/.checkpoint-epoch-0016.safetensors.tmp-999999-12345"
rm -f "$pdir/summary.json"
for f in "$pdir"/checkpoint-epoch-*.safetensors; do [[ "${f##*/}" > checkpoint-epoch-0025.safetensors ]] && rm -f "$f"; done
"$BIN" train --resume "$pdir/checkpoint-epoch-0025.safetensors" --resume-in-place --quiet > /dev/null 2>&1; rc=$?
if [ $rc -eq 0 ] && ! ls -a "$pdir" | grep -q '\.tmp-' && [ "$(grep -c . "$pdir/metrics.jsonl")" -eq 30 ]; then
  pass "resume in place removes a killed write's hidden temporary file and keeps metrics.jsonl whole (30 lines)"
else fail "stale temporary file: exit $rc, $(ls -a "$pdir" | grep -c '\.tmp-') left, $(grep -c . "$pdir/metrics.jsonl") metrics lines"; fi

# --- compare says what it will train: --seeds N is a count, which --quiet does not hide ----------
err=$(timeout 60 "$BIN" compare --experiment regression --epochs 2 --seeds 2 --variants deep --quiet --out "$L/plan" 2>&1 >/dev/null)
quiet1=$(timeout 60 "$BIN" compare --experiment regression --epochs 2 --seed 2 --variants deep --quiet --out "$L/plan" 2>&1 >/dev/null)
if grep -q "^compare: regression: deep × seeds 1, 2 (2 runs) in $L/plan/regression-compare-[0-9p-]* (--seeds 2 is a count; --seed 2 trains seed 2 alone)$" <<<"$err" \
   && ! grep -q "^compare:" <<<"$quiet1" && [ "$(ls -d "$L"/plan/*/seed-*/regression-deep-*/ | wc -l)" -eq 2 ]; then
  pass "compare --seeds 2 says it trains seeds 1 and 2 and how to train seed 2 alone, even with --quiet"
else fail "compare's plan line: '$err' / '$quiet1'"; fi

# --- A killed compare: results skip it, compare --resume finishes it ---------------------------
# The killed comparison and a complete one of the same experiment share one --out, as when a
# user starts the comparison again after a kill.
cmp=(--experiment regression --epochs 200 --seeds 2 --checkpoint-every 20 --quiet --out "$L/cmp")
"$BIN" compare "${cmp[@]}" > /dev/null 2>&1 &
job=$!
for _ in $(seq 1 400); do ls "$L"/cmp/*/seed-1/regression-deep-*/checkpoint-epoch-*.safetensors >/dev/null 2>&1 && break; sleep 0.05; done
kill -9 $job 2>/dev/null; wait $job 2>/dev/null
cdir=$(run_dir "$L/cmp"); cdir=${cdir%/}
"$BIN" compare "${cmp[@]}" > /dev/null 2>&1
refdir=$(ls -d "$L"/cmp/*/ | grep -v "^$cdir/")
out=$(timeout 20 "$BIN" results "$L/cmp" 2>&1)
if grep -q "results: skipping the unfinished comparison $cdir (no comparison.md; --unfinished counts its [0-9]* finished runs*); continue it with: resnet-dist compare --resume $cdir" <<<"$out" \
   && [ "$(grep -c '^| regression | ' <<<"$out")" -eq 3 ]; then
  pass "results skips the killed comparison (naming it and how to continue): each variant counted once"
else fail "results with a killed comparison beside a complete one"; echo "$out" | head -6; fi
out=$(timeout 20 "$BIN" results "$cdir" --unfinished 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q "results: counting the [0-9]* finished runs* of the unfinished comparison $cdir; continue it with" <<<"$out" \
   && grep -q '^| regression | ' <<<"$out"; then
  pass "results --unfinished counts the finished runs of the killed comparison (the seeds done so far)"
else fail "results --unfinished: exit $rc"; echo "$out" | head -4; fi
if timeout 60 "$BIN" compare --resume "$cdir" --quiet > "$L/cmp-resume.txt" 2>&1 && [ -e "$cdir/comparison.md" ]; then
  ref=$(cut -d'|' -f2,5 "$refdir/comparison.md"); got=$(cut -d'|' -f2,5 "$cdir/comparison.md")
  if [ "$ref" = "$got" ] && [ "$(ls -d "$cdir"/seed-*/regression-*/ | wc -l)" -eq 6 ]; then
    pass "compare --resume (2 seeds): finished variants kept, the killed one continued, the rest trained; same test metrics as an uninterrupted compare"
  else fail "compare --resume metrics differ: $got vs $ref"; fi
else fail "compare --resume: $(tail -2 "$L/cmp-resume.txt")"; fi
refused "compare --resume on the directory holding comparisons" "it holds the comparisons .*regression-compare-.*; give one of them" \
  compare --resume "$L/cmp"
# A damaged compare-configs.json or summary.json: a one-line error naming the file, not a decoder dump.
cp -r "$refdir" "$L/cmp-damaged"; head -c 40 "$refdir/compare-configs.json" > "$L/cmp-damaged/compare-configs.json"
refused "compare --resume of a comparison whose compare-configs.json is truncated" "cmp-damaged/compare-configs.json is damaged (not valid JSON).*still reads its finished runs" \
  compare --resume "$L/cmp-damaged"
cp -r "$refdir" "$L/cmp-damaged2"; rm "$L/cmp-damaged2/comparison.md"
victim=$(ls -d "$L"/cmp-damaged2/seed-1/regression-deep-*/ | head -1); printf '{"experiment": ' > "${victim}summary.json"
refused "compare --resume past a run whose summary.json is truncated" "regression-deep-[^/]*/summary.json is damaged (not valid JSON); move that run out of" \
  compare --resume "$L/cmp-damaged2" --quiet

# results --charts --readme: the marked block of a Markdown file is rebuilt from the runs (text
# around it kept), with a time-to-metric chart per experiment linked relative to the file; each
# run directory holds its per-epoch CSV.
printf '# Title\n\n<!-- results:begin -->\nstale\n<!-- results:end -->\n\nafter\n' > "$L/README.md"
if timeout 20 "$BIN" results "$refdir" --charts "$L/charts" --readme "$L/README.md" > "$L/results.txt" 2>&1 \
   && ! grep -q stale "$L/README.md" && head -1 "$L/README.md" | grep -q '^# Title$' && tail -1 "$L/README.md" | grep -q '^after$' \
   && [ "$(grep -c '^| regression | ' "$L/README.md")" -eq 3 ] \
   && grep -q '](charts/regression-time.svg)' "$L/README.md" && grep -q 'training-step seconds' "$L/charts/regression-time.svg" \
   && grep -q 'target error norm 1.000' "$L/charts/regression-time.svg" \
   && [ "$(wc -l < "$(ls -d "$refdir"/seed-1/regression-deep-*/ | head -1)metrics.csv")" -eq 201 ]; then
  pass "results --readme rebuilds the marked block with a linked time-to-metric chart; metrics.csv has a row per epoch"
else fail "results --charts --readme: $(head -3 "$L/results.txt")"; fi
# One experiment kept in two directories: a chart for each, neither overwriting the other.
if timeout 20 "$BIN" results "$refdir" "$L/cmp-damaged" --charts "$L/charts2" > "$L/results2.txt" 2>&1 \
   && [ -s "$L/charts2/regression-$(basename "$refdir")-time.svg" ] && [ -s "$L/charts2/regression-cmp-damaged-time.svg" ] \
   && [ "$(grep -o -- '-time.svg)' "$L/results2.txt" | wc -l)" -eq 2 ]; then
  pass "results over one experiment in two directories: two charts, each named after its directory"
else fail "results over two directories of one experiment: $(ls "$L/charts2" 2>&1 | tr '\n' ' ')"; fi

# A comparison stopped by a signal says how to continue it (as a whole), and continues exactly.
"$BIN" compare --experiment regression --epochs 200 --seeds 2 --checkpoint-every 20 --quiet --out "$L/cmp-stop" > "$L/cmp-stop.txt" 2>&1 &
job=$!
for _ in $(seq 1 400); do ls "$L"/cmp-stop/*/seed-1/regression-deep-*/checkpoint-epoch-*.safetensors >/dev/null 2>&1 && break; sleep 0.05; done
kill -TERM $job 2>/dev/null; wait $job; rc=$?
sdir=$(run_dir "$L/cmp-stop"); sdir=${sdir%/}
if [ $rc -ne 0 ] && grep -q "^resnet-dist: stopped by SIGTERM .*; continue with: resnet-dist compare --resume $sdir\$" "$L/cmp-stop.txt" \
   && timeout 60 "$BIN" compare --resume "$sdir" --quiet > /dev/null 2>&1 \
   && [ "$(cut -d'|' -f2,5 "$sdir/comparison.md")" = "$(cut -d'|' -f2,5 "$refdir/comparison.md")" ]; then
  pass "SIGTERM to a compare: exit $rc, 'continue with: resnet-dist compare --resume …', which ends at the uninterrupted metrics"
else fail "stopped compare (exit $rc): $(tail -1 "$L/cmp-stop.txt" | cut -c1-200)"; fi

# --- Plain messages --------------------------------------------------------------------------
refused "--epochs -1" "invalid --epochs: must be at least 1, got -1" train --experiment regression --variant deep --epochs -1 --quiet --out "$L/runs"
refused "--out /dev/null/x" "cannot create the run directory /dev/null/x: /dev/null is not a directory; choose another with --out" \
  train --experiment regression --variant deep --epochs 1 --quiet --out /dev/null/x
if out=$(timeout 20 "$BIN" train --experiment regression --variant multilevel --epochs 1 --quiet --out "$L/one" 2>&1) && [ -z "$out" ] \
   && [ -e "$(run_dir "$L/one")/summary.json" ]; then
  pass "a 1-epoch multilevel run trains at its first level without a complaint about --switch-epochs"
else fail "1-epoch multilevel run: $(head -1 <<<"$out")"; fi
