#!/usr/bin/env bash
# uadk-rs: UADK's own `uadk_tool benchmark` (its compression benchmark, built unmodified
# from ../shared/uadk/uadk-2.10.tar.gz with our stubs.c) against an installed prefix of
# this library, for lz77_zstd and lz77_only: block and stream, sync and async. (Its
# contexts come from wd_request_ctx and wd_comp_init, which this library serves with the
# CPU engine; its --init2 path is not covered here.) Skips with one line when the archive
# is absent.
#
#   tests/uadk-bench/run.sh PREFIX
set -uo pipefail
prefix=$(cd "${1:?usage: run.sh PREFIX}" && pwd) || exit 2
here=$(cd "$(dirname "$0")" && pwd)
archive="$here/../../../shared/uadk/uadk-2.10.tar.gz"
if [ ! -f "$archive" ]; then
	echo "uadk-bench: skipped (no $archive)"
	exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar xzf "$archive" -C "$work" uadk-2.10/uadk_tool/benchmark || exit 1
b="$work/uadk-2.10/uadk_tool/benchmark"
# UADK's sources include "include/wd_comp.h": point that at our installed headers.
mkdir -p "$work/inc" && ln -s "$prefix/include/uadk" "$work/inc/include"
if ! ${CC:-gcc} -O2 -w -I"$work/inc" -I"$b" -o "$work/uadk_bench" "$b/uadk_benchmark.c" \
	"$b/zip_uadk_benchmark.c" "$here/stubs.c" -L"$prefix/lib" -lwd_comp -lwd -lnuma \
	-lpthread -lm -Wl,-rpath,"$prefix/lib" 2> "$work/cc.log"; then
	tail -20 "$work/cc.log"
	echo "0 passed, 1 failed"
	exit 1
fi
pass=0
fail=0
cd "$work" || exit 1
for alg in lz77_zstd lz77_only; do
	for run in "0 --sync" "2 --sync" "0 --async"; do
		set -- $run
		name="$alg opt $1 $2"
		# UADK's benchmark exits 0 whatever happens: judge its result line.
		timeout 60 ./uadk_bench --alg "$alg" --mode sva --opt "$1" "$2" --pktlen 65536 \
			--seconds 1 --thread 1 --multi 1 --ctxnum 1 --complevel 8 > out.txt 2>&1
		if grep -qE "^$alg[[:space:]]+65536Bytes[[:space:]]+[1-9][0-9.]*KiB/s" out.txt; then
			pass=$((pass + 1))
			echo "ok   $name: $(grep -E "^$alg" out.txt | tr -s '\t ' ' ')"
		else
			fail=$((fail + 1))
			echo "FAIL $name"
			tail -5 out.txt | sed 's/^/     /'
		fi
	done
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
