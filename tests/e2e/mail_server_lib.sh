# Shared by the mail-server tiers (tests/e2e/imap.sh, tests/e2e/pop3.sh): the binary, the
# private Dovecot (tests/harness/dovecot.sh), a scratch directory, and comparing databases.
#
#   source tests/e2e/mail_server_lib.sh NAME   (with root set to the checkout)
#
# sets R (the rapport binary), DOVECOT (the harness), small (the shipped corpus's messages),
# work (/tmp/rapport-NAME-e2e.*), DV_DIR, RAPPORT_CONFIG, CA (the harness's CA) and run_user
# (the servers' unprivileged user); exits 2 when the binary or Dovecot is missing.
source "$root/tests/lib.sh"
R=$(rapport_bin) || exit 2
[ -x "$R" ] || { echo "no rapport binary at $R (cargo build --release -p rapport-cli)"; exit 2; }
DOVECOT="$root/tests/harness/dovecot.sh"
[ -x /usr/sbin/dovecot ] || { echo "dovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d)"; exit 2; }
small=$(small_corpus)/maildir/cur
work=$(mktemp -d "/tmp/rapport-$1-e2e.XXXXXX")
chmod 755 "$work"   # the servers run their sessions as an unprivileged user
export DV_DIR=$work/dovecot
export RAPPORT_CONFIG=$work/accounts.toml
CA=$DV_DIR/tls/ca.pem
run_user=nobody; [ "$(id -u)" = 0 ] || run_user=$(id -un)

dovecot_start() { # MAILDIR: fresh instance loaded with MAILDIR (output to a file: the daemon keeps pipes open)
  "$DOVECOT" start "$1" > "$work/dovecot-start.log" 2>&1 || return 1
  # Later instances keep the first one's free ports: the accounts point at them.
  # shellcheck disable=SC1091
  . "$DV_DIR/env"
  export DV_IMAP_PORT DV_IMAPS_PORT DV_POP3_PORT DV_POP3S_PORT
}
check() { step "$@"; }
stats() { "$R" --db "$1" stats --json; }
counts() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps(d, sort_keys=True))'; }
same_stats() { [ "$(stats "$1" | counts)" = "$(stats "$2" | counts)" ]; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# Starts `rapport sync ACCOUNT` into DB in the background, SIGKILLs the whole Dovecot once DB
# records AT_LEAST sources (as a crash mid-sync would), and returns the sync's exit code.
sync_then_crash_dovecot() { # db, account, at_least, log
  "$R" --db "$1" --quiet sync "$2" > "$4" 2>&1 &
  local pid=$! n
  for _ in $(seq 400); do
    n=$(sqlite3 "$1" "SELECT count(*) FROM source" 2>/dev/null || echo 0)
    [ "${n:-0}" -ge "$3" ] && break
    sleep 0.05
  done
  "$DOVECOT" kill
  wait "$pid"
}
