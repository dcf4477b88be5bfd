#!/usr/bin/env bash
# Compiles the generated Kotlin bindings with Smoke.kt and runs it on the JVM.
#   bindings/uniffi/kotlin/smoke.sh [MAILDIR]     (after bindings/uniffi/generate.sh)
# Needs: JDK 17, JNA (/usr/share/java/jna.jar, Debian libjna-java), kotlinc from the pinned npm
# package (npm ci here). Prints "N passed, M failed".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
gen=${RAPPORT_BINDINGS_OUT:-$root/target/bindings}/kotlin
jna=${JNA_JAR:-/usr/share/java/jna.jar}
kc=$here/node_modules/kotlin-compiler
[ -f "$jna" ] || { echo "JNA is missing ($jna): apt-get install libjna-java" >&2; exit 1; }
[ -d "$kc" ] || (cd "$here" && npm ci --no-audit --no-fund >/dev/null)
coroutines=$kc/lib/kotlinx-coroutines-core-jvm.jar
out=$root/target/bindings/kotlin-smoke
mkdir -p "$out"
rm -f "$out/smoke.jar"
sources=$(find "$gen" -name '*.kt')
# kotlinc's JVM wants a writable home for its caches.
bash "$kc/bin/kotlinc" -nowarn -cp "$jna:$coroutines" $sources "$here/Smoke.kt" -d "$out/smoke.jar" 2>&1 \
  | grep -v '^warning:' || true
[ -f "$out/smoke.jar" ] || { echo "kotlinc failed"; exit 1; }
java -Djna.library.path="$gen" -cp "$out/smoke.jar:$jna:$coroutines:$kc/lib/kotlin-stdlib.jar" SmokeKt "$@"
