#!/usr/bin/env bash
# Side-by-side performance comparison (issue 4): our engine, in-process and as uadk_tool,
# beside igzip (ISA-L), libdeflate-gzip, pigz -p 1 (zlib), lz4 and zstd, on the Silesia
# files of ../shared/corpus (each, and all concatenated) and a synthetic VM memory image,
# on one core.
#
# Installs the peers (idempotent), builds release, unzips the corpus into scratch/corpus,
# runs `uadk_tool compare --out results/`, and writes the machine and the report into
# docs/performance.md below its marker line (results/compare.png goes to
# docs/performance.png, results/frontier.png, the 4 KiB page frontier, to
# docs/frontier.png). Extra arguments go to `uadk_tool compare`; with --quick or
# --frontier (the page frontier alone) the docs are left alone. OUT=DIR changes the
# results folder.
set -euo pipefail
cd "$(dirname "$0")/.."
# Beyond setup.sh's own list: a TrueType font for the chart's text.
bash scripts/setup.sh fonts-dejavu-core

cargo build --release -q -p uadk-tool

corpus=scratch/corpus
src=../shared/corpus/silesia
mkdir -p "$corpus"
shopt -s nullglob
for z in "$src"/*.zip; do
  name=$(basename "$z" .zip)
  [ -s "$corpus/$name" ] || unzip -o -q -d "$corpus" "$z"
done
shopt -u nullglob

out=${OUT:-results}
target/release/uadk_tool compare --corpus "$corpus" --out "$out" "$@"

for a in "$@"; do
  if [ "$a" = "--quick" ] || [ "$a" = "--frontier" ]; then
    echo "compare.sh: $a run; docs/performance.md left as it is (report in $out/)"
    exit 0
  fi
done

doc=docs/performance.md
marker='<!-- scripts/compare.sh writes everything below this line -->'
if ! grep -qxF "$marker" "$doc" 2>/dev/null; then
  echo "compare.sh: $doc has no marker line; report left in $out/" >&2
  exit 1
fi
field() { lscpu | sed -n "s/^$1:[[:space:]]*//p" | head -1; }
machine="$(field 'Model name'), $(field 'CPU(s)') CPUs ($(field 'Socket(s)') socket(s) x \
$(field 'Core(s) per socket') core(s) x $(field 'Thread(s) per core') thread(s)), \
$(free -g | awk '/^Mem:/ {print $2}') GiB, Linux $(uname -r)"
tmp=$(mktemp)
awk -v m="$marker" '{ print } $0 == m { exit }' "$doc" > "$tmp"
{
  echo
  echo "Run of $(date -u +%Y-%m-%d) by \`bash scripts/compare.sh\` on: $machine."
  echo
  sed 's/](compare.png)/](performance.png)/' "$out/compare.md"
} >> "$tmp"
mv "$tmp" "$doc"
if [ -f "$out/compare.png" ]; then
  cp "$out/compare.png" docs/performance.png
fi
if [ -f "$out/frontier.png" ]; then
  cp "$out/frontier.png" docs/frontier.png
fi
echo "compare.sh: wrote $doc"
