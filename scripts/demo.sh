#!/usr/bin/env bash
# The main job on the embedded default (CPU engine): compress and decompress a Silesia file
# in every format, check the round trip, then benchmark 4 KiB and 64 KiB packets.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release -q -p uadk-tool
tool=target/release/uadk_tool
work=${SCRATCH:-scratch}
mkdir -p "$work"
corpus=../shared/corpus/silesia
if [ -f "$corpus/dickens.zip" ]; then
  unzip -o -q -d "$work" "$corpus/dickens.zip"
  file="$work/dickens"
else
  # Without the shared corpus, any large text file will do.
  file="$work/sample.txt"
  find /usr/share/doc -name '*.txt' -o -name 'copyright' 2>/dev/null | head -2000 | xargs cat > "$file" 2>/dev/null || true
fi
for alg in gzip zlib deflate lz4; do
  $tool compress -f -a "$alg" -o "$work/demo.$alg" "$file"
  $tool decompress -f -a "$alg" -o "$work/demo.$alg.out" "$work/demo.$alg"
  cmp "$file" "$work/demo.$alg.out"
  echo "$alg: $(stat -c %s "$file") -> $(stat -c %s "$work/demo.$alg") bytes, round trip OK"
done
for pkt in 4096 65536; do
  for mode in --sync --async; do
    $tool benchmark --alg gzip --opt 0 $mode --pktlen $pkt --seconds 2 --file "$file"
  done
done
