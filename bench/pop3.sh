#!/usr/bin/env bash
# POP3 benchmark against a local Dovecot (POP3S) loaded with the linux-man corpus (17,885
# messages): `rapport sync` of a POP3 account (its first poll: UIDL, then the header section of
# every message by pipelined `TOP n 0`, into a fresh database) against a bare `TOP n 0` loop in
# Python's poplib over the same connection kind, best of 3 each, taken in turn. Prints the
# figures and the ratio.
source "$(dirname "$0")/dovecot_prelude.sh"
"$R" account add bench --pop3 --host 127.0.0.1 --port "$DV_POP3S_PORT" --user alice \
  --password-env BENCH_PW --ca-file "$DV_CA" > /dev/null 2>&1
bare() { python3 "$root/tests/e2e/pop3/pop3_tool.py" top-all "$DV_POP3S_PORT" alice "$DV_CA"; }
bare > /dev/null   # warms Dovecot's index and the page cache for both sides
for i in 1 2 3; do
  read -r n b < <(bare)
  rm -f "$work"/poll.db*
  record_run "bare TOP loop" "$b" "$(python3 "$root/bench/measure.py" "$R" --db "$work/poll.db" --quiet sync bench)"
done
stored=$("$R" --db "$work/poll.db" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["sources"])')
printf '%-48s %6.2f s  (best of 3)\n' "bare TOP n 0 loop over $n messages (poplib)" "$bare_s"
printf '%-48s %6.2f s  (%.0f msg/s, %s stored, peak RSS %s MB)\n' "rapport sync of the POP3 account, first poll" "$rapport_s" \
  "$(python3 -c "print($n/$rapport_s)")" "$stored" "$(echo "$rapport_best" | python3 -c 'import json,sys; print(json.load(sys.stdin)["max_rss_mb"])')"
printf 'ratio rapport / bare TOP loop: %.2fx the best times; %sx the median of the runs'"'"' ratios\n' \
  "$(python3 -c "print($rapport_s/$bare_s)")" "$(median_ratio)"
