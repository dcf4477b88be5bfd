#!/usr/bin/env bash
# Extracts the shared corpora once into target/corpora and prints the directory.
#   scripts/corpora.sh lore-linux-man   → path of the extracted maildir root
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${RAPPORT_SHARED:-$root/../shared}
name=${1:?usage: corpora.sh lore-linux-man|small-nasty}
archive="$shared/corpora/$name.tar.zst"
dest="$root/target/corpora/$name"
if [ ! -f "$archive" ]; then
  echo "no $name corpus ($archive): ../shared is not beside this clone (or set RAPPORT_SHARED)" >&2
  exit 3
fi
if [ ! -f "$dest/.extracted" ]; then
  rm -rf "$dest"; mkdir -p "$dest"
  zstd -dc "$archive" | tar -x -C "$dest"
  touch "$dest/.extracted"
fi
echo "$dest"
