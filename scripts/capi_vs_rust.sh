#!/usr/bin/env bash
# The C ABI's cost, single-threaded: the QEMU-pattern page loop through libwd_comp
# (tests/c/qemu_pattern.c, built through pkg-config against a scratch install) and the same
# loop through the Rust API (crates/uadk/examples/page_loop.rs): same page generator, same
# 4000 pages, one channel (QEMU_PATTERN_CHANNELS=1). Builds release, installs to a temporary
# prefix, runs the two alternately RUNS times each (default 5), and prints each run, the
# medians and the ratio C / Rust. Run it on an otherwise idle machine.
#
#   bash scripts/capi_vs_rust.sh          RUNS=9 bash scripts/capi_vs_rust.sh
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
target=${CARGO_TARGET_DIR:-target}

cargo build --release -q -p uadk --example page_loop
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
make -s install PREFIX="$prefix" > /dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
export LD_LIBRARY_PATH="$prefix/lib"
# shellcheck disable=SC2046
gcc -O2 -o "$prefix/qemu_pattern" tests/c/qemu_pattern.c \
	$(pkg-config --cflags --libs libwd_comp) -lz -lpthread
export QEMU_PATTERN_CHANNELS=1

pages_per_s() { grep -o '[0-9]* pages/s' | grep -o '^[0-9]*'; }
c_runs=()
rust_runs=()
for i in $(seq 1 "$runs"); do
	c=$("$prefix/qemu_pattern" 2>/dev/null | pages_per_s)
	r=$("$target/release/examples/page_loop" | pages_per_s)
	printf 'run %d: C ABI %s pages/s, Rust API %s pages/s\n' "$i" "$c" "$r"
	c_runs+=("$c")
	rust_runs+=("$r")
done

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
	print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mc=$(median "${c_runs[@]}")
mr=$(median "${rust_runs[@]}")
echo
echo "| loop (1 channel, 4000 pages) | median pages/s ($runs runs) |"
echo "| --- | ---: |"
echo "| C ABI: tests/c/qemu_pattern.c via libwd_comp.so.2 | $mc |"
echo "| Rust API: examples/page_loop.rs | $mr |"
awk -v c="$mc" -v r="$mr" 'BEGIN { printf "| ratio C / Rust | %.3f |\n", c / r }'
