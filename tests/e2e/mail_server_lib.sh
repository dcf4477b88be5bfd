# Shared by the mail-server tiers (tests/e2e/imap.sh, tests/e2e/pop3.sh): starting the private
# Dovecot, and comparing databases. Source it after tests/lib.sh, with R (the binary), work (the
# scratch directory), DOVECOT (tests/harness/dovecot.sh) and DV_DIR set.

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
