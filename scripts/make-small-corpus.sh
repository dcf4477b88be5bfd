#!/usr/bin/env bash
# Builds tests/corpus/linux-man-small from the shared linux-man archive (lore.kernel.org's public
# linux-man list, in ../shared/corpora): whole threads, picked deterministically, then asks the
# real notmuch for the answer the tests check (tests/corpus/linux-man-small/expected.json).
#
#   scripts/make-small-corpus.sh            rebuild the corpus and expected.json
#   scripts/make-small-corpus.sh --expected recompute expected.json for the committed files only
#
# Needs ../shared (or RAPPORT_SHARED), notmuch, python3, zstd. Same input, same output.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/tests/corpus/linux-man-small
command -v notmuch >/dev/null || { echo "notmuch is not installed (apt-get install notmuch)" >&2; exit 1; }

if [ "${1:-}" != "--expected" ]; then
  src=$("$root/scripts/corpora.sh" lore-linux-man)/lore-linux-man || exit 1
  rm -rf "$out/maildir"
  mkdir -p "$out/maildir/cur"
  # Threads are connected components over Message-ID, In-Reply-To and References (what notmuch
  # does), so the selection never cuts a thread. Threads of 2-40 messages, none over 16 KiB (no
  # big patches), are ordered by a hash of their smallest Message-ID and taken until 250
  # messages; threads holding a Message-ID seen in two files come first (duplicates are a case).
  python3 - "$src/cur" "$out/maildir/cur" <<'PY' || exit 1
import email.parser, hashlib, os, re, shutil, sys
src, dst = sys.argv[1:]
ids_re = re.compile(r"<([^<>\s]+)>")
parser = email.parser.BytesHeaderParser()
parent = {}
def find(x):
    while parent.setdefault(x, x) != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x
def union(a, b):
    ra, rb = find(a), find(b)
    if ra != rb:
        parent[max(ra, rb)] = min(ra, rb)
files = {}   # name -> (message id, size)
seen = {}
for name in sorted(os.listdir(src)):
    path = os.path.join(src, name)
    with open(path, "rb") as f:
        h = parser.parse(f)
    mid = ids_re.findall(str(h.get("Message-ID", "")))
    if not mid:
        continue   # notmuch would invent an id; keep the set unambiguous
    mid = mid[0]
    files[name] = (mid, os.path.getsize(path))
    seen[mid] = seen.get(mid, 0) + 1
    find(mid)
    for field in ("In-Reply-To", "References"):
        for ref in ids_re.findall(" ".join(str(v) for v in h.get_all(field, []))):
            union(mid, ref)
threads = {}
for name, (mid, size) in files.items():
    threads.setdefault(find(mid), []).append((name, mid, size))
def key(members):
    dup = any(seen[m] > 1 for _, m, _ in members)
    return (not dup, hashlib.sha256(min(m for _, m, _ in members).encode()).hexdigest())
chosen = []
for members in sorted(threads.values(), key=key):
    if not 2 <= len(members) <= 40 or max(s for _, _, s in members) > 16 * 1024:
        continue
    if len(chosen) + len(members) > 250:
        continue
    chosen += [n for n, _, _ in members]
for name in sorted(chosen):
    shutil.copyfile(os.path.join(src, name), os.path.join(dst, name))
print(f"selected {len(chosen)} files")
PY
fi

# The answer: notmuch on a private copy with its own configuration.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$out/maildir" "$work/mail"
printf '[database]\npath=%s/db\nmail_root=%s/mail\n[new]\ntags=inbox;\n[maildir]\nsynchronize_flags=false\n' \
  "$work" "$work" > "$work/notmuch.conf"
export NOTMUCH_CONFIG=$work/notmuch.conf
mkdir -p "$work/db"
notmuch new --quiet || exit 1
python3 - "$out/expected.json" "$(find "$out/maildir" -type f | wc -l)" <<'PY' || exit 1
import json, subprocess, sys
path, files = sys.argv[1], int(sys.argv[2])
def nm(*args):
    return subprocess.run(["notmuch", *args], check=True, capture_output=True, text=True).stdout
threads = []
for tid in nm("search", "--output=threads", "--sort=oldest-first", "*").split():
    ids = json.loads(nm("search", "--format=json", "--output=messages", tid))
    threads.append(sorted(ids))
threads.sort()
expected = {
    "source": "notmuch " + nm("--version").split()[-1] + " over maildir/ (scripts/make-small-corpus.sh)",
    "files": files,
    "messages": int(nm("count", "--output=messages", "*")),
    "threads": int(nm("count", "--output=threads", "*")),
    "thread_message_ids": threads,
}
assert expected["threads"] == len(threads)
with open(path, "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
print(f"{expected['files']} files, {expected['messages']} messages, {expected['threads']} threads -> {path}")
PY
du -sh "$out/maildir"
