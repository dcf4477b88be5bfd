#!/usr/bin/env bash
# A private GNU Mailutils pop3d (Debian's mailutils-pop3d) for Rapport's tests: POP3 with STLS
# on 127.0.0.1 only, one user (alice@example.test / alice-pw, from a virtual-domain password
# file), her mailbox a maildir. A second POP3 server, built nothing like Dovecot, so the poller
# is held to the protocol rather than to one implementation. Run as root or as any user.
#
#   tests/harness/mailutils-pop3d.sh start [MAILDIR] [CA_DIR]  fresh instance; every regular file
#                                     under MAILDIR becomes one message (line ends made LF, as
#                                     maildir files are); TLS from CA_DIR's ca.pem, cert.pem and
#                                     key.pem (the Dovecot harness makes them), else no STLS
#   tests/harness/mailutils-pop3d.sh stop
#
# Environment: MU_DIR (state, default ${TMPDIR:-/tmp}/rapport-mailutils), MU_POP3_PORT (unset: a
# free port). `start` writes MU_POP3_PORT and MU_MAILDIR to $MU_DIR/env (shell syntax).
set -uo pipefail
D=${MU_DIR:-${TMPDIR:-/tmp}/rapport-mailutils}
POP3D=$(command -v pop3d || echo /usr/sbin/pop3d)

stop() {
  local pid
  pid=$(cat "$D/pop3d.pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -9 "$pid" 2>/dev/null
  rm -f "$D/pop3d.pid"
}

start() { # [maildir] [ca dir]
  [ -x "$POP3D" ] || { echo "GNU pop3d is not installed (apt-get install mailutils-pop3d)" >&2; return 1; }
  stop
  rm -rf "$D"
  mkdir -p "$D"/{pw,lock,mail/alice/INBOX/{cur,new,tmp}} || return 1
  local port=${MU_POP3_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
  printf 'MU_DIR=%s\nMU_POP3_PORT=%s\nMU_MAILDIR=%s\n' "$D" "$port" "$D/mail/alice/INBOX" >"$D/env"
  # The password file of the virtual domain example.test: crypt(3) hashes, passwd's layout.
  printf 'alice:%s:%s:%s::%s/mail/alice:/bin/false\n' "$(openssl passwd -6 alice-pw)" \
    "$(id -u nobody)" "$(id -g nobody)" "$D" >"$D/pw/example.test"
  local tls="tls-mode false;"
  if [ -n "${2:-}" ] && [ -f "$2/cert.pem" ]; then
    tls="tls-mode stls; tls { ssl-certificate-file $2/cert.pem; ssl-key-file $2/key.pem; };"
  fi
  cat >"$D/pop3d.conf" <<EOF
logging { syslog false; };
auth { authentication generic; authorization virtdomain; };
virtdomain { passwd-dir $D/pw; };
mandatory-locking { enable false; lock-directory $D/lock; };
tls-file-checks { key-file none; cert-file none; ca-file none; };
server 127.0.0.1:$port { $tls };
EOF
  if [ -n "${1:-}" ]; then
    python3 "$(dirname "${BASH_SOURCE[0]}")/load_maildir.py" --lf --flags "" "$1" "$D/mail/alice/INBOX/cur" >/dev/null || return 1
  fi
  # pop3d runs its sessions as the mailbox owner (nobody): it must be able to write the
  # maildir (it records UIDs in it) and the lock directory.
  chmod -R a+rwX "$D/mail" "$D/lock"
  chmod 755 "$D" "$D/pw"
  "$POP3D" --config-file="$D/pop3d.conf" --foreground --daemon >"$D/pop3d.log" 2>&1 &
  echo $! >"$D/pop3d.pid"
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && { echo "pop3d on 127.0.0.1:$port"; return 0; }
    sleep 0.05
  done
  echo "pop3d did not start: $(tail -n 5 "$D/pop3d.log")" >&2
  return 1
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop ;;
  *) echo "usage: $0 start [MAILDIR] [CA_DIR] | stop" >&2; exit 2 ;;
esac
