#!/usr/bin/env bash
# A private Dovecot (Debian's dovecot-imapd and dovecot-pop3d) for Rapport's tests: IMAP, IMAPS,
# POP3 and POP3S on 127.0.0.1 only, one user (alice / alice-pw), TLS from a throwaway CA made
# here. Run as root, Dovecot itself runs as an unprivileged user (nobody, or DV_USER).
#
#   tests/harness/dovecot.sh start [MAILDIR]   fresh instance; every regular file under MAILDIR
#                                              becomes one message in INBOX
#   tests/harness/dovecot.sh stop              stops it (SIGTERM to its master)
#   tests/harness/dovecot.sh kill              SIGKILL to its master and children, as a crash
#   tests/harness/dovecot.sh restart           new processes on the same configuration and mail
#
# Environment: DV_DIR (state, default ${TMPDIR:-/tmp}/rapport-dovecot), DV_IMAP_PORT,
# DV_IMAPS_PORT, DV_POP3_PORT, DV_POP3S_PORT (unset: free ports), DV_TLS_NAMES (more names for
# the certificate, e.g. DNS:*.example.localhost). `start` prints the ports and
# writes them to $DV_DIR/env (shell syntax); the CA is $DV_DIR/tls/ca.pem; alice's maildir is
# $DV_DIR/home/alice/Maildir. Only processes of this instance are ever signalled, by PID.
set -uo pipefail
D=${DV_DIR:-${TMPDIR:-/tmp}/rapport-dovecot}
DOVECOT=$(command -v dovecot || echo /usr/sbin/dovecot)
if [ "$(id -u)" = 0 ]; then RUN_USER=${DV_USER:-nobody}; else RUN_USER=$(id -un); fi
RUN_GROUP=$(id -gn "$RUN_USER")
as_user() { if [ "$(id -u)" = 0 ]; then runuser -u "$RUN_USER" -- "$@"; else "$@"; fi; }
master_pid() { cat "$D/run/master.pid" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_ready() { # the IMAP and POP3 listeners accept connections
  local _
  for _ in $(seq 200); do
    port_open "$DV_IMAP_PORT" && port_open "$DV_POP3S_PORT" && return 0
    sleep 0.05
  done
  echo "dovecot did not start: $(tail -n 5 "$D/log/dovecot.log" 2>/dev/null)" >&2
  return 1
}
launch() {
  # shellcheck disable=SC1091
  . "$D/env"
  as_user "$DOVECOT" -c "$D/dovecot.conf" || return 1
  wait_ready
}

make_tls() { # a CA and a leaf for localhost and 127.0.0.1 signed by it (rustls refuses a
  # self-signed certificate used as a CA and as the server's at once)
  local t=$D/tls
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Rapport test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$t/ca.key" -out "$t/ca.pem" 2>/dev/null &&
    openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout "$t/key.pem" -out "$t/leaf.csr" 2>/dev/null &&
    printf '%s\n' basicConstraints=CA:FALSE keyUsage=digitalSignature,keyEncipherment \
      extendedKeyUsage=serverAuth "subjectAltName=DNS:localhost,IP:127.0.0.1${DV_TLS_NAMES:+,$DV_TLS_NAMES}" >"$t/leaf.ext" &&
    openssl x509 -req -in "$t/leaf.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial \
      -days 2 -extfile "$t/leaf.ext" -out "$t/cert.pem" 2>/dev/null
}

# With DV_OAUTH2_INTROSPECT (a token introspection URL) and DV_OAUTH2_CA (the CA of its server),
# XOAUTH2 and OAUTHBEARER logins are checked by Dovecot's oauth2 passdb against that service.
oauth2_passdb() {
  [ -n "${DV_OAUTH2_INTROSPECT:-}" ] || return 0
  printf '%s\n' "introspection_mode = auth" "introspection_url = $DV_OAUTH2_INTROSPECT" \
    "username_attribute = username" "active_attribute = active" "active_value = true" \
    "tls_ca_cert_file = ${DV_OAUTH2_CA:-}" > "$D/oauth2.conf.ext"
  printf 'passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = %s\n}\n' "$D/oauth2.conf.ext"
}

start() { # [maildir]
  [ -x "$DOVECOT" ] || { echo "dovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d)" >&2; return 1; }
  stop >/dev/null 2>&1
  rm -rf "$D"
  mkdir -p "$D"/{run,state,log,tls} "$D/home/alice/Maildir"/{cur,new,tmp} || return 1
  # Unset ports: ask the kernel for free ones (several instances may run at once).
  local ports
  ports=$(python3 -c '
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])') || return 1
  set -- "${1:-}" $ports
  cat >"$D/env" <<EOF
DV_DIR=$D
DV_IMAP_PORT=${DV_IMAP_PORT:-$2}
DV_IMAPS_PORT=${DV_IMAPS_PORT:-$3}
DV_POP3_PORT=${DV_POP3_PORT:-$4}
DV_POP3S_PORT=${DV_POP3S_PORT:-$5}
DV_CA=$D/tls/ca.pem
EOF
  # shellcheck disable=SC1091
  . "$D/env"
  make_tls || { echo "openssl failed" >&2; return 1; }
  printf 'alice:{PLAIN}alice-pw:%s:%s::%s/home/alice\n' "$(id -u "$RUN_USER")" "$(id -g "$RUN_USER")" "$D" >"$D/users"
  cat >"$D/dovecot.conf" <<EOF
protocols = imap pop3
listen = 127.0.0.1
base_dir = $D/run
state_dir = $D/state
instance_name = rapport-test-$DV_IMAP_PORT
log_path = $D/log/dovecot.log
default_internal_user = $RUN_USER
default_internal_group = $RUN_GROUP
default_login_user = $RUN_USER
first_valid_uid = 1
# Plaintext login stays possible on loopback: the tests check that Rapport refuses it elsewhere.
disable_plaintext_auth = no
auth_mechanisms = plain login${DV_OAUTH2_INTROSPECT:+ xoauth2 oauthbearer}
ssl = yes
ssl_cert = <$D/tls/cert.pem
ssl_key = <$D/tls/key.pem
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $D/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $D/users
}
$(oauth2_passdb)
service anvil {
  chroot =
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $DV_IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $DV_IMAPS_PORT
    ssl = yes
  }
}
service pop3-login {
  chroot =
  inet_listener pop3 {
    address = 127.0.0.1
    port = $DV_POP3_PORT
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = $DV_POP3S_PORT
    ssl = yes
  }
}
protocol pop3 {
  pop3_uidl_format = %08Xu%08Xv
}
EOF
  if [ -n "$1" ]; then
    python3 "$(dirname "${BASH_SOURCE[0]}")/load_maildir.py" "$1" "$D/home/alice/Maildir/cur" || return 1
  fi
  if [ "$(id -u)" = 0 ]; then chown -R "$RUN_USER:$RUN_GROUP" "$D" || return 1; fi
  launch || return 1
  echo "dovecot ready: imap=$DV_IMAP_PORT imaps=$DV_IMAPS_PORT pop3=$DV_POP3_PORT pop3s=$DV_POP3S_PORT user=alice pass=alice-pw ca=$DV_CA"
}

stop() {
  local pid _
  pid=$(master_pid) || return 0
  kill "$pid" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  rm -f "$D/run/master.pid"
}

crash() { # SIGKILL the master and its children, found by parent PID
  local pid children
  pid=$(master_pid) || return 0
  children=$(pgrep -P "$pid")
  # shellcheck disable=SC2086
  kill -9 "$pid" $children 2>/dev/null
  sleep 0.3
  rm -f "$D/run/master.pid"
}

case "${1:-}" in
start) start "${2:-}" ;;
stop) stop ;;
kill) crash ;;
restart) launch ;;
*) echo "usage: $0 start [MAILDIR] | stop | kill | restart" >&2; exit 2 ;;
esac
