#!/usr/bin/env bash
# Builds librapport_ffi.so and the workspace's pinned uniffi-bindgen, then generates the Python,
# Kotlin and Swift bindings into target/bindings/{python,kotlin,swift} (not committed).
#
#   bindings/uniffi/generate.sh            debug library (tests)
#   bindings/uniffi/generate.sh --release  release library (benchmarks, packaging)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
source tests/lib.sh   # target_dir: $CARGO_TARGET_DIR, else target/
target=$(target_dir)
# One command builds both the debug library and the bindgen, so uniffi's features are unified
# once. The bindings only depend on the library's metadata, which a release build shares.
cargo build --locked -p rapport-ffi --features bindgen --lib --bin uniffi-bindgen
lib="$target/debug/librapport_ffi.so"
bindgen="$target/debug/uniffi-bindgen"
if [ "${1:-}" = "--release" ]; then
  cargo build --locked --release -p rapport-ffi --lib --no-default-features
  lib="$target/release/librapport_ffi.so"
fi
out=${RAPPORT_BINDINGS_OUT:-target/bindings}
rm -rf "$out/python" "$out/kotlin" "$out/swift"
for lang in python kotlin swift; do
  "$bindgen" generate "$lib" --language "$lang" --out-dir "$out/$lang" >/dev/null
done
cp "$lib" "$out/python/"
cp "$lib" "$out/kotlin/"
echo "$out"
