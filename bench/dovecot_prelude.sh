# Sourced by the server benchmarks (bench/imap.sh, bench/pop3.sh): builds the release binary,
# loads the linux-man corpus into a private Dovecot on 127.0.0.1 (tests/harness/dovecot.sh) and
# sets R (the binary), corpus, work (a scratch directory removed on exit), the harness's
# DV_* ports and DV_CA, and RAPPORT_CONFIG / BENCH_PW for a `bench` account.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
cargo build --locked --release -p rapport-cli >/dev/null 2>&1 || cargo build --locked --release -p rapport-cli
source tests/lib.sh
R=$(target_dir)/release/rapport
corpus=$("$root/scripts/corpora.sh" lore-linux-man)/lore-linux-man/cur
work=$(mktemp -d "/tmp/rapport-$(basename "$0" .sh)-bench.XXXXXX"); chmod 755 "$work"
export DV_DIR=$work/dovecot
export RAPPORT_CONFIG=$work/accounts.toml BENCH_PW=alice-pw
trap '"$root/tests/harness/dovecot.sh" stop >/dev/null 2>&1; rm -rf "$work"' EXIT
"$root/tests/harness/dovecot.sh" start "$corpus" > "$work/start.log" 2>&1
. "$DV_DIR/env"   # the free ports the harness picked
