#!/usr/bin/env bash
# Installs the Debian packages the tests need, when they are missing. Node and Python packages
# are installed by the tiers that use them (npm ci from committed lock files, pip).
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have zstd || need+=(zstd)
have dovecot || need+=(dovecot-imapd dovecot-pop3d)
[ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd dovecot-pop3d)
[ -x /usr/sbin/pop3d ] || need+=(mailutils-pop3d)   # a second POP3 server (tests/e2e/pop3.sh)
have readpst || need+=(pst-utils)   # the PST oracle (tests/e2e/pst.sh)
have openssl || need+=(openssl)
have curl || need+=(curl)      # the Exchange double's control API (tests/e2e/exchange.sh)
have notmuch || need+=(notmuch)
have mu || need+=(maildir-utils)
have thunderbird || need+=(thunderbird)
have node || need+=(nodejs)
have npm || need+=(npm)
have chromium || need+=(chromium)
have certutil || need+=(libnss3-tools)
have xmllint || need+=(libxml2-utils)
have secret-tool || need+=(libsecret-tools)            # Graph tokens in the keyring (exchange.sh)
have gnome-keyring-daemon || need+=(gnome-keyring)     # …a real Secret Service to keep them
have dbus-daemon || need+=(dbus-daemon)                # …on a session bus of the test's own
have zip || need+=(zip)
have unzip || need+=(unzip)
have sqlite3 || need+=(sqlite3)
have c++ || need+=(g++)            # libFuzzer (scripts/fuzz.sh)
[ -f /usr/share/java/jna.jar ] || need+=(libjna-java)
have java || need+=(openjdk-17-jdk-headless)   # kotlinc and the Kotlin smoke test (bindings)
if [ ${#need[@]} -gt 0 ]; then
  # shellcheck disable=SC2207
  need=($(printf '%s\n' "${need[@]}" | sort -u))
  echo "setup: installing ${need[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
