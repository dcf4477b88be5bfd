#!/usr/bin/env bash
# Exchange's first sync (issue #12): 10,000 messages of linux-man (else the shipped corpus, copied
# with new ids) served by the EWS double (tests/e2e/exchange/server.py, Basic over TLS), pulled by
# `rapport sync` — headers parsed, threaded and stored — and by a bare client making the same
# requests and nothing more (bench/ews_bare.py). Both in one run, three times each, alternating;
# prints the medians and the ratio (budget: within 2x of the bare client). A report, not a test.
#
#   bash bench/exchange.sh [MESSAGES]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
n=${1:-10000}
cargo build --locked --release -p rapport-cli > /dev/null 2>&1 || cargo build --locked --release -p rapport-cli
source tests/lib.sh
R=$(target_dir)/release/rapport
python3 -c 'import spnego, lxml' 2>/dev/null || python3 -m pip install --quiet pyspnego lxml 2>/dev/null ||
  python3 -m pip install --quiet --break-system-packages pyspnego lxml
work=$(mktemp -d /tmp/rapport-exchange-bench.XXXXXX)
trap 'kill "${server_pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
export RAPPORT_CONFIG=$work/accounts.toml PW=bench-pw
me=dana@corp.localhost

t=$work/tls
mkdir -p "$t"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=bench CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$t/ca.key" -out "$t/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=mail.corp.localhost \
  -keyout "$t/key.pem" -out "$t/leaf.csr" 2>/dev/null
printf '%s\n' basicConstraints=CA:FALSE extendedKeyUsage=serverAuth "subjectAltName=DNS:mail.corp.localhost" > "$t/leaf.ext"
openssl x509 -req -in "$t/leaf.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial -days 2 \
  -extfile "$t/leaf.ext" -out "$t/cert.pem" 2>/dev/null

src=$(big_mailbox "$work")
python3 tests/e2e/exchange/make_mailbox.py "$src" "$work/mailbox" "$me" "$n" > "$work/mailbox.txt"
total=$(find "$work/mailbox" -type f | wc -l)
python3 tests/e2e/exchange/server.py --cert "$t/cert.pem" --key "$t/key.pem" --mailbox "$work/mailbox" \
  --owner "$me" --password "$PW" --auth basic --ready-file "$work/port" > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 600); do [ -s "$work/port" ] && break; sleep 0.1; done
url=https://mail.corp.localhost:$(cat "$work/port")/EWS/Exchange.asmx
"$R" --quiet account add work --exchange --email "$me" --ews-url "$url" --ca-file "$t/ca.pem" --password-env PW > /dev/null 2>&1

echo "Exchange first sync: $total messages ($(cat "$work/mailbox.txt")), EWS double on 127.0.0.1, Basic over TLS"
bare=()
ours=()
for round in 1 2 3; do
  bare+=("$(python3 bench/ews_bare.py "$url" "$t/ca.pem" "$me" "$PW" | awk '{print $6}')")
  rm -f "$work/ews.db"*
  start=$(date +%s.%N)
  "$R" --db "$work/ews.db" --quiet sync work > /dev/null
  ours+=("$(python3 -c "import sys,time; print(round(time.time() - float(sys.argv[1]), 3))" "$start")")
done
stored=$("$R" --db "$work/ews.db" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["messages"])')
div() { python3 -c 'import sys; print(float(sys.argv[1]) / float(sys.argv[2]))' "$1" "$2"; }
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
b=$(median "${bare[@]}")
o=$(median "${ours[@]}")
printf '  bare EWS client (same requests, no storing)  %6.2f s  %7.0f msg/s   runs: %s\n' "$b" "$(div "$total" "$b")" "${bare[*]}"
printf '  rapport sync (parse, thread, store %s)    %6.2f s  %7.0f msg/s   runs: %s\n' "$stored" "$o" "$(div "$total" "$o")" "${ours[*]}"
printf '  ratio rapport / bare: %.2f (budget: 2.00)\n' "$(div "$o" "$b")"
