#!/usr/bin/env bash
# Query latencies on a 100,000-message database (synthetic: one user, 2,000 correspondents,
# threads both ways, newsletters and lists): contacts overview, awaiting reply, one contact's
# timeline. Prints medians and 95th percentiles in milliseconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
n=${1:-100000}
cargo build --locked --release -p rapport-cli -p rapport-bench >/dev/null 2>&1 || cargo build --locked --release -p rapport-cli -p rapport-bench
source tests/lib.sh
R=$(target_dir)/release/rapport
B=$(target_dir)/release/rapport-bench
work=$(mktemp -d /tmp/rapport-queries.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$B" synth "$work/mail" "$n" > /dev/null
imported=$(python3 "$root/bench/measure.py" "$R" --db "$work/q.db" --quiet import "$work/mail" --me me@northwind.example)
echo "import of $n synthetic messages: $(echo "$imported" | python3 -c "import json,sys; d=json.load(sys.stdin); print(f\"{d['seconds']:.2f} s ({$n/d['seconds']:.0f} msg/s), peak RSS {d['max_rss_mb']} MB\")")"
"$B" queries "$work/q.db" > "$work/q.json"
python3 - "$work/q.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"{d['messages']} messages, {d['contacts']} contacts (busiest contact: {d['busiest_contact_messages']} messages)")
for k, label in [("contacts_overview_ms", "contacts overview (50)"), ("awaiting_ms", "awaiting reply (both ways)"), ("timeline_ms", "timeline of the busiest contact (50)")]:
    print(f"  {label:40} median {d[k]['median']:.2f} ms   p95 {d[k]['p95']:.2f} ms")
PY
