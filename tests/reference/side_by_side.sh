#!/usr/bin/env bash
# uadk-rs: UADK's own uadk_tool benchmark, twice on the same modelled devices, in one run:
# linked against real UADK v2.10 (its libwd, libwd_comp, libhisi_zip.so), and linked against
# this project's libwd.so.2 / libwd_comp.so.2 (whose hisi_zip driver reaches the same
# devices through the kernel path: sysfs, /dev, ioctls, mmap, trapped doorbells, all served
# by the preload library). Same binary sources, same flags, same model: the difference is
# the cost of each stack in front of the hardware.
#
#   tests/reference/side_by_side.sh [SECONDS]     3 s per case by default
#   REF_SCRATCH=DIR ...                           reuse the UADK build of tests/reference/run.sh
#
# Prints one Markdown table (requests/s and CPU per request, each stack, their ratio);
# docs/performance.md holds a run. CPU is uadk_tool's CPU_rate (the whole process, the
# model's engine threads included, which both stacks pay alike) over its request rate.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-3}
archive="$root/../shared/uadk/uadk-2.10.tar.gz"
[ -f "$archive" ] || { echo "side_by_side: skipped (../shared/uadk is absent)"; exit 0; }
if [ -n "${REF_SCRATCH:-}" ]; then
	scratch=$REF_SCRATCH
else
	scratch=$(mktemp -d /tmp/uadk-sbs.XXXXXX)
	trap 'rm -rf "$scratch"' EXIT
fi
export REF_SCRATCH=$scratch
# The reference build (and its checks) first, unless REF_SCRATCH holds one: UADK's prefix,
# its uadk_tool, the preload.
if [ ! -x "$scratch/uadk_tool" ] || [ ! -x "$scratch/uadk-real/bin/uadk_comp" ]; then
	bash "$here/run.sh" > "$scratch/run.log" 2>&1 || { tail -5 "$scratch/run.log"; exit 1; }
fi
(cd "$root" && cargo build --release -q -p uadk-model-preload)
real_prefix="$scratch/uadk-real"
src="$scratch/uadk-2.10"
preload="$root/target/release/libuadk_model_preload.so"

# This project's libraries, installed into the scratch folder.
ours="$scratch/ours"
(cd "$root" && make -s install PREFIX="$ours" > "$scratch/ours.log" 2>&1) \
	|| { tail -5 "$scratch/ours.log"; exit 1; }

# UADK's uadk_tool against ours: its own sources, with UADK's headers (the ABI is the same),
# the zip benchmark only (bench_stubs.c stands in for the crypto, v1 and no-SVA parts).
t="$src/uadk_tool"
tool_ours="$scratch/uadk_tool-ours"
gcc -DHAVE_CONFIG_H -DUSE_ZLIB -I"$t" -I"$src" -I"$src/include" -I"$t/benchmark/include" \
	-Wall -Werror -fno-strict-aliasing -pthread -O2 -g \
	"$t"/uadk_tool.c "$t"/benchmark/uadk_benchmark.c "$t"/benchmark/zip_uadk_benchmark.c \
	"$here/bench_stubs.c" -o "$tool_ours" -L"$ours/lib" -l:libwd.so.2 -l:libwd_comp.so.2 \
	-lnuma -lm -lz
tool_real="$scratch/uadk_tool"

# bench STACK ARGS: one benchmark run on the model; prints "requests/s CPU%" (the rate
# from the KiB/s column: the Kops column has one decimal)
bench() {
	local stack=$1 tool lib
	shift
	if [ "$stack" = real ]; then tool=$tool_real lib=$real_prefix/lib; else tool=$tool_ours lib=$ours/lib; fi
	(cd "$scratch/sbs-$stack" && UADK_ZIP_MODEL=1@0 LD_PRELOAD="$preload" \
		LD_LIBRARY_PATH="$lib" timeout 120 "$tool" benchmark --mode sva --seconds "$secs" \
		--thread 1 --multi 1 --ctxnum 1 "$@" 2>&1) | awk -v size="$size" '/Bytes/ {
			gsub(/KiB\/s/, "", $3); gsub(/%/, "", $5); r = ($3 * 1024 / size) " " $5 } END { print r }'
}

mkdir -p "$scratch/sbs-real" "$scratch/sbs-ours"
echo "| request | mode | size | UADK v2.10 req/s | ours req/s | ours / UADK | UADK CPU µs/req | ours CPU µs/req |"
echo "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"
for op in 0 1; do
	for size in 4096 65536; do
		for mode in sync async; do
			read -r rk rc <<< "$(bench real --alg zlib --opt $op --$mode --pktlen $size)"
			read -r ok oc <<< "$(bench ours --alg zlib --opt $op --$mode --pktlen $size)"
			awk -v op=$op -v size=$size -v mode=$mode -v rk="$rk" -v rc="$rc" -v ok="$ok" -v oc="$oc" 'BEGIN {
				name = op == 0 ? "zlib compress" : "zlib decompress"
				cpu_r = 0; cpu_o = 0; ratio = 0
				if (rk > 0) { cpu_r = rc * 1e4 / rk; ratio = ok / rk }
				if (ok > 0) cpu_o = oc * 1e4 / ok
				printf "| %s | %s | %d KiB | %.0f | %.0f | %.2f | %.1f | %.1f |\n", name, mode, size / 1024,
					rk, ok, ratio, cpu_r, cpu_o
			}'
		done
	done
done
