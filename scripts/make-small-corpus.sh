#!/usr/bin/env bash
# Builds tests/corpus/notmuch-default from notmuch's own test corpus (`test/corpora/default`, in
# ../shared/corpora/small-nasty.tar.zst: 53 files of the notmuch mailing list, 2009, GPL-3.0+),
# then asks the real notmuch for the answer the tests check (expected.json).
#
#   scripts/make-small-corpus.sh            rebuild the corpus and expected.json
#   scripts/make-small-corpus.sh --expected recompute expected.json for the committed files only
#
# Needs ../shared (or RAPPORT_SHARED) for the first form, notmuch and python3. Same input, same
# output.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/tests/corpus/notmuch-default
command -v notmuch >/dev/null || { echo "notmuch is not installed (apt-get install notmuch)" >&2; exit 1; }

if [ "${1:-}" != "--expected" ]; then
  src=$("$root/scripts/corpora.sh" small-nasty)/notmuch/test/corpora/default || exit 1
  rm -rf "$out/maildir"
  mkdir -p "$out/maildir/cur"
  # notmuch's `default` corpus keeps mail in cur/, new/ and two folders (bar/, foo/): one flat
  # cur/ here, each file named after where it was (`bar-18:2,`), byte for byte.
  (cd "$src" && find . -type f | sort) | while read -r f; do
    name=$(echo "${f#./}" | sed -e 's#/cur/#-#; s#/new/#-#; s#^cur/##; s#^new/##; s#/#-#g')
    cp "$src/$f" "$out/maildir/cur/$name"
  done
  echo "copied $(ls "$out/maildir/cur" | wc -l) files"
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
