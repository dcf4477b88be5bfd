#!/usr/bin/env bash
# IMAP benchmark against a local Dovecot loaded with the linux-man corpus (17,885 messages):
# `rapport sync` (initial, headers only, into a fresh database) against a minimal client's bare
# `UID FETCH 1:* BODY.PEEK[HEADER.FIELDS (...)]`, in the same run; then the no-change resync
# of 10 folders. Prints the figures and the ratio. With RAPPORT_BASELINE_BIN=path/to/an/older/rapport
# that build's initial sync is timed too, in turn with this one.
source "$(dirname "$0")/dovecot_prelude.sh"
CA=$DV_CA
"$R" account add bench --host 127.0.0.1 --port "$DV_IMAPS_PORT" --user alice --password-env BENCH_PW --ca-file "$CA" > /dev/null 2>&1

# Warm Dovecot's index and the page cache once, so both sides see the same server state.
# Best of 3 for both, taken in turn (the machine's speed drifts): a bare fetch, then a sync into
# a fresh database. The first bare fetch also warms Dovecot's index; it is not counted.
python3 "$root/bench/imap_bare_fetch.py" "$DV_IMAPS_PORT" "$CA" > /dev/null
base_s=999
baseline=${RAPPORT_BASELINE_BIN:-}
for i in 1 2 3; do
  if [ -n "$baseline" ]; then
    rm -f "$work"/baseline.db*
    bs=$(python3 "$root/bench/measure.py" "$baseline" --db "$work/baseline.db" --quiet sync bench | seconds_of)
    base_s=$(python3 -c "print(min($base_s, $bs))")
  fi
  b=$(python3 "$root/bench/imap_bare_fetch.py" "$DV_IMAPS_PORT" "$CA" | seconds_of)
  rm -f "$work"/sync.db*
  record_run "bare fetch" "$b" "$(python3 "$root/bench/measure.py" "$R" --db "$work/sync.db" --quiet sync bench)"
done
sync_s=$rapport_s
sync=$rapport_best
n=$("$R" --db "$work/sync.db" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["sources"])')
printf '%-44s %6.2f s  (best of 3)\n' "bare UID FETCH 1:* of $n headers (Python)" "$bare_s"
printf '%-44s %6.2f s  (%.0f msg/s, peak RSS %s MB)\n' "rapport sync, initial (best of 3)" "$sync_s" "$(python3 -c "print($n/$sync_s)")" "$(echo "$sync" | python3 -c 'import json,sys; print(json.load(sys.stdin)["max_rss_mb"])')"
if [ -n "$baseline" ]; then
  printf '%-44s %6.2f s  (best of 3; this build takes %sx its time)\n' "baseline build's sync, initial" "$base_s" "$(python3 -c "print(round($sync_s/$base_s, 2))")"
fi
printf 'ratio rapport / bare fetch: %.2fx the best times; %sx the median of the runs'"'"' ratios (goal: within 2x)\n' "$(python3 -c "print($sync_s/$bare_s)")" "$(median_ratio)"

# Ten folders, nothing new: the resync only asks each folder whether anything changed.
for i in $(seq 1 9); do
  python3 "$root/tests/e2e/imap/imap_tool.py" "$DV_IMAPS_PORT" "$CA" create "Folder$i" $(ls "$corpus" | sed -n "$((i*50)),$((i*50+20))p" | sed "s|^|$corpus/|")
done
"$R" --db "$work/sync.db" --quiet sync bench
best=999
for _ in 1 2 3 4 5; do
  s=$(python3 "$root/bench/measure.py" "$R" --db "$work/sync.db" --quiet sync bench | python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')
  best=$(python3 -c "print(min($best, $s))")
done
printf '%-44s %6.0f ms (goal: < 200 ms; best of 5, whole process)\n' "no-change resync of 10 folders" "$(python3 -c "print($best*1000)")"
