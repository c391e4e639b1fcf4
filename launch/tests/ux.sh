# What a person sees: the main job on a terminal, logs, help text, flags and config keys.
# Sourced by launch/test (uses mpi_case, run_job, pass, fail, $BIN, $LOG_DIR).
U="$LOG_DIR/ux"
mkdir -p "$U"

# The main job through a pseudo-terminal (as a person runs it): one live progress line per run,
# and the whole job — progress, table, headline, verdict, report path — on one screen.
if command -v script >/dev/null; then
  mapfile -t margs < <(mpi_args 4)
  ( cd "$U" && timeout -s KILL 400 script -qec "mpirun ${margs[*]} $BIN --out $U/main" /dev/null > "$U/pty.txt" 2>&1 )
  rc=$?
  screen_lines=$(grep -c '' "$U/pty.txt")
  progress=$(tr '\r' '\n' < "$U/pty.txt" | grep -cE '^(shallow|deep|multilevel) s[123]  epoch [0-9]+/1000  level [12]  loss [0-9.]+  err [0-9.]+  [0-9]+ samples/s  ETA ')
  finished=$(grep -cE 'epoch 1000/1000 .* done in ' "$U/pty.txt")
  if [ $rc -eq 0 ] && [ "$screen_lines" -le 40 ] && [ "$progress" -ge 9 ] && [ "$finished" -eq 9 ] \
     && grep -q "^report: .*index.html" <(tr -d '\r' < "$U/pty.txt"); then
    pass "main job on a terminal: $screen_lines lines (≤ 40), one live line per run (9 runs), the report's path"
  else
    fail "main job on a terminal: exit $rc, $screen_lines lines, $progress progress redraws, $finished finished runs"
    tr '\r' '\n' < "$U/pty.txt" | tail -15 | sed 's/^/    | /'
  fi
else
  fail "main job on a terminal: no 'script' command (util-linux) to give it a pseudo-terminal"
fi

# Off a terminal, a 1000-epoch run logs a bounded number of lines, and an epoch of the
# regression (milliseconds) does not show as 0.00s.
run_job 1 "$U/log.txt" train --experiment regression --variant shallow --out "$U/log"; rc=$?
n=$(grep -c '' "$U/log.txt")
if [ $rc -eq 0 ] && [ "$n" -le 40 ] && [ "$(grep -c '^epoch ' "$U/log.txt")" -eq 26 ] \
   && grep -q '^epoch 1000/1000 ' "$U/log.txt" && ! grep -q ' 0\.00s ' "$U/log.txt" && grep -qE '^epoch 40/1000 .* [0-9.]+ms ' "$U/log.txt" \
   && grep -q ': 1 rank, ' "$U/log.txt" && grep -q ' on 1 rank: ' "$U/log.txt"; then
  pass "a 1000-epoch run off a terminal logs $n lines (epochs 1, 40, 80, …, 1000), epoch times in ms, '1 rank'"
else
  fail "bounded log: exit $rc, $n lines"; head -5 "$U/log.txt" | sed 's/^/    | /'
fi
run_job 1 "$U/every.txt" train --experiment regression --variant shallow --epochs 30 --log-every 10 --out "$U/every"
if [ "$(grep '^epoch ' "$U/every.txt" | cut -d' ' -f2 | tr '\n' ' ')" = "1/30 10/30 20/30 30/30 " ]; then
  pass "--log-every 10: epochs 1, 10, 20, 30"
else fail "--log-every 10: $(grep '^epoch ' "$U/every.txt" | cut -d' ' -f2 | tr '\n' ' ')"; fi

# A run too short to learn says so and names the flags that fix it.
mpi_case "too few steps to learn: a warning naming --epochs" ok 1 \
  'grep -q "warning .*only 24 training steps (8 per epoch × 3 epochs) — too few to learn much; for at least 200 use --epochs 25" <<<"$out"' \
  -- train --experiment regression --variant shallow --epochs 3 --out "$U/short"

# eval of a --subset run says that it scored a subset of the test set.
run_job 1 "$U/sub.txt" train --experiment regression --variant shallow --epochs 2 --subset 600 --quiet --out "$U/sub"
if run_job 1 "$U/sub-eval.txt" eval --checkpoint "$(ls -d "$U"/sub/*/ | head -1)" \
   && grep -q "error norm [0-9.]* on the first 100 test samples only (the run's --subset 600)$" "$U/sub-eval.txt"; then
  pass "eval of a --subset run says it scored the first 100 test samples only"
else fail "eval of a --subset run: $(cat "$U/sub-eval.txt")"; fi

# Every config key has the flag of the same name (the union of the keys four configs print
# covers every key), and the flags set what the keys set.
keys=$( { "$BIN" train --experiment regression --print-config
          "$BIN" train --experiment fashion --print-config
          "$BIN" train --switch plateau --optimizer sgd --print-config
          "$BIN" train --keep-checkpoints 3 --h-rule halve --print-config; } 2>/dev/null | cut -d: -f1 | sort -u)
help=$(COLUMNS=1000 "$BIN" train --help)
missing=""
for k in $keys; do grep -qE -- "^ +--$k[ ,]" <<<"$help" || missing="$missing $k"; done
printed=$("$BIN" train --optimizer sgd --momentum 0.5 --weight-decay 0.01 --optimizer-state-on-switch reset --noise 0.01 --print-config 2>&1)
if [ "$(wc -w <<<"$keys")" -ge 40 ] && [ -z "$missing" ] && grep -q "^momentum: 0.5$" <<<"$printed" \
   && grep -q "^weight-decay: 0.01$" <<<"$printed" && grep -q "^optimizer-state-on-switch: reset$" <<<"$printed" \
   && grep -q "^noise: 0.01$" <<<"$printed" && grep -q "^lr: 0.005$" <<<"$printed" && grep -q "^h: 1$" <<<"$printed"; then
  pass "every one of the $(wc -w <<<"$keys") config keys is a flag of the same name; --print-config writes plain numbers"
else fail "keys without a flag:${missing:- none}; printed: $(grep -E '^(momentum|weight-decay|lr|h|noise):' <<<"$printed" | tr '\n' ' ')"; fi

# `experiments` lists every variant by its whole name (the names an unknown --variant offers).
listing=$("$BIN" experiments 2>&1); cut_names=""
for e in $(grep -oE '^[a-z0-9-]+ ' <<<"$listing"); do
  for v in $("$BIN" train --experiment "$e" --variant no-such-variant --print-config 2>&1 | sed -n 's/.*choose one of //p' | tr -d ','); do
    grep -qE "^  [* ] $v( |$)" <<<"$listing" || cut_names="$cut_names $e/$v"
  done
done
if [ -z "$cut_names" ] && grep -q "multilevel-lr-half" <<<"$listing"; then
  pass "experiments lists every variant of every experiment by its whole name"
else fail "experiments: variants missing or cut:${cut_names:- none}"; fi

# Help: the defaults of --epochs, --batch-size and --lr; compare's --resume is a comparison
# directory; selftest names the same checks everywhere; examples are not wrapped mid-command at
# 80 columns (a wrapped example continues at column 0).
help=$(COLUMNS=1000 "$BIN" train --help)
chelp=$(COLUMNS=1000 "$BIN" compare --help)
checks="collectives length-mismatch mpi-error hosts determinism precise-bn"
shelp=$(COLUMNS=1000 "$BIN" selftest --help); serr=$("$BIN" selftest nonsense 2>&1)
sok=1
for c in $checks; do
  grep -q "^  $c " <<<"$shelp" && grep -q "$c" <<<"$(grep 'The check to run' <<<"$shelp")" && grep -q "$c" <<<"$serr" || sok=0
done
wrapped=""
for c in "" train compare eval results bench selftest export-peer experiments; do
  w=$(COLUMNS=80 "$BIN" $c --help 2>&1 | awk 'prev ~ /^  +(mpirun|resnet-dist|OPENBLAS)/ && prev !~ /\\$/ && $0 ~ /^[^ ]/ { print } { prev = $0 }')
  [ -n "$w" ] && wrapped="$wrapped [$c: $w]"
done
if grep -qE -- "--epochs <epochs> .*Default: 1000 \(regression, rk2-regression\), 50 \(fashion" <<<"$help" \
   && grep -A1 -- "--batch-size <batch-size>" <<<"$help" | grep -q "Default: 256 (regression" \
   && grep -qE -- "--lr <lr> .*Default: 0.005 \(regression" <<<"$help" \
   && grep -q -- "compare: continue the comparison in this directory" <<<"$chelp" && [ $sok -eq 1 ] && [ -z "$wrapped" ]; then
  pass "help: defaults of --epochs/--batch-size/--lr, --resume for compare, selftest's 6 checks alike, examples whole at 80 columns"
else fail "help: selftest consistent $sok, wrapped examples:${wrapped:- none}"; fi
