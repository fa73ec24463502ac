#!/usr/bin/env bash
# uadk-rs: real UADK v2.10 on this project's modelled hisi_zip devices.
#
#   tests/reference/run.sh            build UADK from ../shared/uadk into a scratch folder, run
#                                     its own programs with its own libraries and its own
#                                     libhisi_zip.so on the device model (through the preload
#                                     library crates/uadk-model-preload), check what they did
#   REF_SCRATCH=DIR ...               build and run in DIR, and keep it (a second run reuses
#                                     the build)
#
# UADK's programs: sample/uadk_comp (gzip, zlib, deflate; round trips, output read by Python's
# zlib, input made by it), uadk_tool test --m zip --verify (block, stream, async, SGL; both
# directions), uadk_tool benchmark (zlib, gzip, deflate: block and stream, sync and async;
# lz4, lz77_zstd, lz77_only: compression), and tests/reference/probe.c (ours, built against
# UADK's headers: UADK's return codes and statuses under injected faults). Each case checks
# the model's counters: requests executed, none rejected.
#
# Skips with one line when ../shared/uadk is absent. The last line is `N passed, N failed`.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
archive="$root/../shared/uadk/uadk-2.10.tar.gz"
if [ ! -f "$archive" ]; then
	echo "reference: skipped (../shared/uadk/uadk-2.10.tar.gz is absent)"
	exit 0
fi
if [ "$(uname -m)" != x86_64 ]; then
	echo "reference: skipped (the preload library decodes trapped MMIO stores on x86-64 only)"
	exit 0
fi

if [ -n "${REF_SCRATCH:-}" ]; then
	scratch=$REF_SCRATCH
	mkdir -p "$scratch"
else
	scratch=$(mktemp -d /tmp/uadk-ref.XXXXXX)
	trap 'rm -rf "$scratch"' EXIT
fi
scratch=$(cd "$scratch" && pwd)
log="$scratch/log"
mkdir -p "$log"
pass=0
fail=0
failed=()
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); failed+=("$1"); echo "FAIL $1${2:+ ($2)}"; }
show() { sed 's/^/     /' "$1" | tail -n "${2:-15}"; }
t0=$(date +%s)

# --- Build: UADK (autotools, into a scratch prefix), its uadk_tool with the test command,
# our probe, the preload library.
prefix="$scratch/uadk-real"
src="$scratch/uadk-2.10"
if [ ! -x "$prefix/bin/uadk_comp" ]; then
	rm -rf "$src" "$prefix"
	tar xzf "$archive" -C "$scratch"
	if ! (cd "$src" && ./autogen.sh && ./configure --prefix="$prefix" && make -j2 && make install) \
		> "$log/build.log" 2>&1; then
		echo "reference: building UADK failed"
		show "$log/build.log" 30
		echo "0 passed, 1 failed"
		exit 1
	fi
fi
# configure builds `uadk_tool test` only with libcrypto < 3: build UADK's own sources of
# uadk_tool directly, with the test sources and libcrypto 3's MD5 (deprecated, not removed).
tool="$scratch/uadk_tool"
if [ ! -x "$tool" ]; then
	t="$src/uadk_tool"
	if ! gcc -DHAVE_CONFIG_H -DHAVE_CRYPTO -DUSE_ZLIB -I"$t" -I"$src" -I"$src/include" \
		-I"$t/benchmark/include" -Wall -Werror -Wno-deprecated-declarations \
		-fno-strict-aliasing -pthread -O2 -g \
		"$t"/uadk_tool.c "$t"/dfx/uadk_dfx.c "$t"/benchmark/uadk_benchmark.c \
		"$t"/benchmark/sec_uadk_benchmark.c "$t"/benchmark/sec_wd_benchmark.c \
		"$t"/benchmark/hpre_uadk_benchmark.c "$t"/benchmark/hpre_wd_benchmark.c \
		"$t"/benchmark/zip_uadk_benchmark.c "$t"/benchmark/zip_wd_benchmark.c \
		"$t"/test/uadk_test.c "$t"/test/test_sec.c "$t"/benchmark/sec_soft_benchmark.c \
		"$t"/test/comp_main.c "$t"/test/comp_lib.c -o "$tool" -L"$prefix/lib" \
		-l:libwd.so.2 -l:libwd_crypto.so.2 -l:libwd_comp.so.2 -lnuma -lm -lz -lcrypto \
		> "$log/tool.log" 2>&1; then
		echo "reference: building uadk_tool failed"
		show "$log/tool.log" 30
		echo "0 passed, 1 failed"
		exit 1
	fi
fi
gcc -Wall -Werror -O2 -I"$prefix/include" "$here/probe.c" -o "$scratch/probe" \
	-L"$prefix/lib" -lwd_comp -lwd || { echo "0 passed, 1 failed"; exit 1; }
gcc -Wall -Werror -O2 -shared -fPIC "$here/numa_nodes.c" -o "$scratch/numa_nodes.so" \
	|| { echo "0 passed, 1 failed"; exit 1; }
(cd "$root" && cargo build --release -q -p uadk-model-preload) || { echo "0 passed, 1 failed"; exit 1; }
preload="$root/target/release/libuadk_model_preload.so"
echo "reference: built in $(( $(date +%s) - t0 )) s"
export LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# --- Input: Silesia text and binary when the corpus is there, else text and random bytes.
# uadk_comp decompresses into 4 times its input (uadk_comp.c), so the data must not
# compress better than 4:1.
data="$scratch/data"
corpus="$root/../shared/corpus/silesia"
if [ ! -s "$data" ]; then
	if [ -f "$corpus/dickens.zip" ] && [ -f "$corpus/ooffice.zip" ]; then
		{ unzip -p "$corpus/dickens.zip" | head -c 3000000; unzip -p "$corpus/ooffice.zip" | head -c 1500000; } > "$data"
	else
		for _ in 1 2 3 4 5 6 7 8; do cat "$root"/docs/*.md "$root"/README.md; done > "$data"
		head -c 1000000 /dev/urandom >> "$data"
	fi
fi
page="$scratch/page"
head -c 200000 "$data" > "$page"

# run NAME CMD...: run one program on the model with the preload; its output in
# $log/NAME.out, the model's counters in $log/NAME.report. MODEL, FAULTS and PRELOAD_EXTRA
# tune it.
run() {
	local name=$1
	shift
	rm -f "$log/$name.report"
	UADK_ZIP_MODEL="${MODEL:-1@0}" UADK_ZIP_MODEL_FAULTS="${FAULTS:-}" \
		UADK_ZIP_MODEL_REPORT="$log/$name.report" \
		LD_PRELOAD="$preload${PRELOAD_EXTRA:+ $PRELOAD_EXTRA}" \
		timeout "${LIMIT:-60}" "$@" > "$log/$name.out" 2>&1
}

# served NAME MIN: the model executed at least MIN requests and rejected none.
served() {
	local r="$log/$1.report"
	[ -f "$r" ] || { echo "no model report"; return 1; }
	local ex rj
	ex=$(awk '{for (i = 1; i <= NF; i++) if ($i ~ /^executed=/) { sub(/executed=/, "", $i); s += $i } } END { print s + 0 }' "$r")
	rj=$(awk '{for (i = 1; i <= NF; i++) if ($i ~ /^rejected=/) { sub(/rejected=/, "", $i); s += $i } } END { print s + 0 }' "$r")
	if [ "$ex" -lt "$2" ]; then echo "the model executed $ex requests (< $2)"; return 1; fi
	if [ "$rj" -ne 0 ]; then echo "the model rejected $rj requests"; return 1; fi
	echo "$ex"
}

zcheck() { # zcheck ALG FILE ORIG: Python's zlib reads FILE back to ORIG
	python3 - "$1" "$2" "$3" <<'EOF'
import sys, zlib
alg, packed, orig = sys.argv[1:]
wbits = {"gzip": 31, "zlib": 15, "deflate": -15}[alg]
d = zlib.decompressobj(wbits)
out = d.decompress(open(packed, "rb").read()) + d.flush()
sys.exit(0 if d.eof and out == open(orig, "rb").read() and not d.unused_data else 1)
EOF
}

zmake() { # zmake ALG ORIG OUT: Python's zlib compresses ORIG
	python3 - "$1" "$2" "$3" <<'EOF'
import sys, zlib
alg, orig, out = sys.argv[1:]
wbits = {"gzip": 31, "zlib": 15, "deflate": -15}[alg]
c = zlib.compressobj(6, zlib.DEFLATED, wbits)
open(out, "wb").write(c.compress(open(orig, "rb").read()) + c.flush())
EOF
}

# --- sample/uadk_comp: wd_comp_init over four contexts it requests itself, wd_do_comp_sync2.
# It asks wd_sched_rr_alloc for two NUMA nodes (uadk_comp.c:148), which wd_sched.c refuses
# on a one-node machine: numa_nodes.so reports two nodes to it (and to uadk_tool test, which
# does the same).
comp=$prefix/bin/uadk_comp
for alg in gzip zlib deflate; do
	name="uadk_comp-$alg"
	PRELOAD_EXTRA="$scratch/numa_nodes.so" run "$name-c" sh -c "'$comp' --alg $alg < '$data' > '$scratch/d.$alg'"
	rc=$?
	why=""
	[ $rc = 0 ] || why="compress exit $rc"
	[ -z "$why" ] && { zcheck $alg "$scratch/d.$alg" "$data" || why="Python's zlib does not read it back"; }
	[ -z "$why" ] && { s=$(served "$name-c" 2) || why="compress: $s"; }
	[ -z "$why" ] && { PRELOAD_EXTRA="$scratch/numa_nodes.so" run "$name-d" sh -c \
		"'$comp' --alg $alg --optype 1 < '$scratch/d.$alg' > '$scratch/u.$alg'" || why="decompress exit $?"; }
	[ -z "$why" ] && { cmp -s "$data" "$scratch/u.$alg" || why="round trip differs"; }
	[ -z "$why" ] && { s=$(served "$name-d" 2) || why="decompress: $s"; }
	zmake $alg "$data" "$scratch/z.$alg"
	[ -z "$why" ] && { PRELOAD_EXTRA="$scratch/numa_nodes.so" run "$name-z" sh -c \
		"'$comp' --alg $alg --optype 1 < '$scratch/z.$alg' > '$scratch/v.$alg'" || why="decompress of zlib's exit $?"; }
	[ -z "$why" ] && { cmp -s "$data" "$scratch/v.$alg" || why="zlib's stream decompressed wrong"; }
	if [ -z "$why" ]; then ok "$name: compress, read by Python zlib; decompress its own and zlib's"
	else bad "$name" "$why"; show "$log/$name-c.out" 5; fi
done
# The same with WD_COMP_EPOLL_EN=1: sync requests wait in poll() on the queue.
WD_COMP_EPOLL_EN=1 PRELOAD_EXTRA="$scratch/numa_nodes.so" run uadk_comp-epoll sh -c \
	"'$comp' --alg gzip < '$page' > '$scratch/e.gz'"
why=""
zcheck gzip "$scratch/e.gz" "$page" || why="output wrong"
polls=$(sed -n 's/.*polls=\([0-9]*\).*/\1/p' "$log/uadk_comp-epoll.report" 2>/dev/null | head -1)
[ -z "$why" ] && [ "${polls:-0}" -gt 0 ] || why="${why:-no poll() reached a queue}"
[ -z "$why" ] && { s=$(served uadk_comp-epoll 1) || why="$s"; }
[ -z "$why" ] && ok "uadk_comp-gzip with WD_COMP_EPOLL_EN=1 ($polls polls)" || bad "uadk_comp-epoll" "$why"

# --- uadk_tool test --m zip --verify: UADK's own verification (MD5 against system zlib).
# --alg 0 (deflate) is left out: its checker inflates with windowBits 15+32 (comp_lib.c:415),
# which cannot read raw deflate.
for alg in 1 2; do
	aname=$([ $alg = 1 ] && echo zlib || echo gzip)
	for mode in "" "--stream" "--mode 1" "--sgl" "--sgl --mode 1" "--inf" "--inf --stream" \
		"--inf --mode 1" "--inf --sgl"; do
		name="test-$aname${mode:+-$(echo "$mode" | tr -d ' -')}"
		# shellcheck disable=SC2086
		PRELOAD_EXTRA="$scratch/numa_nodes.so" run "$name" "$tool" test --m zip --alg $alg \
			--verify $mode --size 1000000
		why=""
		grep -qiE "fail|unmatched|error" "$log/$name.out" && why="$(grep -iE -m1 "fail|unmatched|error" "$log/$name.out")"
		[ -z "$why" ] && { grep -q " in .* usec" "$log/$name.out" || why="no result line"; }
		[ -z "$why" ] && { s=$(served "$name" 8) || why="$s"; }
		[ -z "$why" ] && ok "uadk_tool test --m zip --alg $alg --verify $mode ($s requests)" \
			|| { bad "$name" "$why"; show "$log/$name.out" 5; }
	done
done

# --- uadk_tool benchmark: requests per second from UADK's stack on the model.
bench() { # bench NAME ARGS...: one second of benchmark; a nonzero rate and served requests
	local name=$1
	shift
	(cd "$scratch/bench" && run "$name" "$tool" benchmark --mode sva --seconds 1 --thread 1 \
		--multi 1 --ctxnum 1 "$@")
	local why="" row
	row=$(grep -E "Bytes" "$log/$name.out" | tail -1)
	[ -n "$row" ] || why="no result row"
	[ -z "$why" ] && { echo "$row" | awk '{ exit !($4 + 0 > 0) }' || why="zero rate: $row"; }
	[ -z "$why" ] && { s=$(served "$name" 10) || why="$s"; }
	if [ -z "$why" ]; then ok "uadk_tool benchmark $* ($(echo "$row" | awk '{print $4}') Kops)"
	else bad "$name" "$why"; show "$log/$name.out" 4; fi
}
rm -rf "$scratch/bench"
mkdir -p "$scratch/bench"
for alg in zlib gzip deflate; do
	# Compression first: decompression reads the blocks it saved (./zip_4096.ALG).
	bench "bench-$alg-c-sync" --alg $alg --opt 0 --sync --pktlen 4096
	bench "bench-$alg-c-async" --alg $alg --opt 0 --async --pktlen 4096
	bench "bench-$alg-d-sync" --alg $alg --opt 1 --sync --pktlen 4096
	bench "bench-$alg-d-async" --alg $alg --opt 1 --async --pktlen 4096
	bench "bench-$alg-sc-sync" --alg $alg --opt 2 --sync --pktlen 65536
	bench "bench-$alg-sd-sync" --alg $alg --opt 3 --sync --pktlen 65536
done
bench bench-zlib-c-sgl --alg zlib --opt 0 --sync --pktlen 65536 --sgl
bench bench-gzip-c-init2 --alg gzip --opt 0 --sync --pktlen 4096 --init2
bench bench-lz4-c-sync --alg lz4 --opt 0 --sync --pktlen 4096
bench bench-lz4-c-async --alg lz4 --opt 0 --async --pktlen 4096
# lz77: compression only, levels 8 and 9 (fill_comp_level_lz77_zstd); block and stream.
for alg in lz77_zstd lz77_only; do
	bench "bench-$alg-c-sync" --alg $alg --opt 0 --sync --pktlen 65536 --complevel 8
	bench "bench-$alg-c-async" --alg $alg --opt 0 --async --pktlen 65536 --complevel 8
	bench "bench-$alg-sc-sync" --alg $alg --opt 2 --sync --pktlen 65536 --complevel 8
done

# --- probe.c through wd_comp_init2(TASK_HW): block requests both ways, then faults, which
# must come back as UADK's own codes.
po="$scratch/probe"
probe() { # probe NAME EXPECT ARGS...: EXPECT is a line the probe must print ($po runs)
	local name=$1 expect=$2
	shift 2
	run "$name" "$po" "$@"
	local why=""
	grep -qF "$expect" "$log/$name.out" || why="no '$expect': $(tr '\n' ';' < "$log/$name.out")"
	[ -z "$why" ] && { s=$(served "$name" 1) || why="$s"; }
	[ -z "$why" ] && ok "probe $* under '${FAULTS:-no faults}': $expect" || bad "$name" "$why"
}
for alg in gzip zlib deflate; do
	probe "probe-$alg-c" "20 ok, 0 failed" $alg comp sync 20 "$page" "$scratch/p.$alg"
	probe "probe-$alg-d" "20 ok, 0 failed" $alg decomp sync 20 "$scratch/p.$alg" "$scratch/q.$alg"
	cmp -s "$page" "$scratch/q.$alg" && ok "probe-$alg round trip" || bad "probe-$alg round trip"
	probe "probe-$alg-da" "5 ok, 0 failed" $alg decomp async 5 "$scratch/p.$alg"
done
probe probe-lz4 "5 ok, 0 failed" lz4 comp async 5 "$page"
# A stream ended by an empty last call: UADK writes the final stored block and the trailer
# itself from the checksum and ISIZE words the device reported (wd_comp.c,
# append_store_block): zlib must read the result, which holds only if the model reports
# those words in the hardware's form.
for alg in gzip zlib; do
	probe "probe-$alg-strm" " 0 failed" $alg comp stream 65536 "$page" "$scratch/s.$alg"
	zcheck $alg "$scratch/s.$alg" "$page" && ok "probe-$alg-strm: zlib reads the stream UADK ended in software" \
		|| bad "probe-$alg-strm" "zlib does not read the stream UADK ended"
done
# An engine error: the request completes with WD_IN_EPARA (67); the next ones are served.
FAULTS=hisi_zip-0:error:3 probe probe-error "3 x ret=0 status=67" gzip comp sync 10 "$page"
FAULTS=hisi_zip-0:error:2 probe probe-error-async "2 x ret=0 status=67" gzip comp async 6 "$page"
# A completion whose tag is not the request's: the sync receive fails, -WD_EINVAL.
FAULTS=hisi_zip-0:badtag:2 probe probe-badtag "2 x ret=-22 status=0" zlib comp sync 10 "$page"
# A completion that never comes: UADK polls 200,000,000 times, then -WD_ETIMEDOUT.
FAULTS=hisi_zip-0:lost:1 LIMIT=120 probe probe-lost "1 x ret=-110 status=0" deflate comp sync 3 "$page"

# --- The other half: the same sample and probe built against this project's libraries
# (OURS=PREFIX, by default target/c-prefix as `make check-c` installs it), on the same model
# through the same preload: our hisi_zip driver reaches it by its kernel path. Where UADK
# fails a request the device failed, ours retries it elsewhere or on the CPU engine, so
# injected faults end in success here.
ours=${OURS:-$root/target/c-prefix}
if [ -f "$ours/lib/libwd_comp.so.2" ]; then
	gcc -Wall -Werror -O2 -I"$ours/include/uadk" "$src/sample/uadk_comp.c" -o "$scratch/uadk_comp-ours" \
		-L"$ours/lib" -l:libwd.so.2 -l:libwd_comp.so.2 -lnuma -lm 2>> "$log/ours-build.log" \
		&& gcc -Wall -Werror -O2 -I"$ours/include" "$here/probe.c" -o "$scratch/probe-ours" \
			-L"$ours/lib" -lwd_comp -lwd 2>> "$log/ours-build.log" \
		|| { bad "building UADK's sample and the probe against $ours"; show "$log/ours-build.log"; }
	export LD_LIBRARY_PATH="$ours/lib:$LD_LIBRARY_PATH"
	for alg in gzip zlib deflate; do
		name="ours-uadk_comp-$alg"
		why=""
		PRELOAD_EXTRA="$scratch/numa_nodes.so" run "$name-c" sh -c \
			"'$scratch/uadk_comp-ours' --alg $alg < '$data' > '$scratch/od.$alg'" || why="compress exit $?"
		[ -z "$why" ] && { zcheck $alg "$scratch/od.$alg" "$data" || why="Python's zlib does not read it back"; }
		[ -z "$why" ] && { s=$(served "$name-c" 2) || why="compress: $s"; }
		[ -z "$why" ] && { PRELOAD_EXTRA="$scratch/numa_nodes.so" run "$name-d" sh -c \
			"'$scratch/uadk_comp-ours' --alg $alg --optype 1 < '$scratch/z.$alg' > '$scratch/ou.$alg'" || why="decompress exit $?"; }
		[ -z "$why" ] && { cmp -s "$data" "$scratch/ou.$alg" || why="zlib's stream decompressed wrong"; }
		[ -z "$why" ] && { s=$(served "$name-d" 2) || why="decompress: $s"; }
		[ -z "$why" ] && ok "$name: our libraries on the model: compress read by zlib, zlib's decompressed" \
			|| { bad "$name" "$why"; show "$log/$name-c.out" 5; }
	done
	po="$scratch/probe-ours"
	probe ours-probe-c "20 ok, 0 failed" gzip comp sync 20 "$page" "$scratch/po.gzip"
	probe ours-probe-d "20 ok, 0 failed" gzip decomp sync 20 "$scratch/p.gzip" "$scratch/pq.gzip"
	probe ours-probe-da "5 ok, 0 failed" zlib decomp async 5 "$scratch/p.zlib"
	for alg in gzip zlib; do
		probe "ours-probe-$alg-strm" " 0 failed" $alg comp stream 65536 "$page" "$scratch/os.$alg"
		zcheck $alg "$scratch/os.$alg" "$page" && ok "ours-probe-$alg-strm: zlib reads the stream ended by an empty call" \
			|| bad "ours-probe-$alg-strm" "zlib does not read it"
	done
	cmp -s "$page" "$scratch/pq.gzip" && ok "ours-probe round trip of UADK's gzip" || bad "ours-probe round trip"
	FAULTS=hisi_zip-0:error:3 probe ours-probe-error "10 ok, 0 failed" gzip comp sync 10 "$page"
	FAULTS=hisi_zip-0:badtag:2 probe ours-probe-badtag "10 ok, 0 failed" zlib comp sync 10 "$page"
	grep -q "injected=3" "$log/ours-probe-error.report" && ok "ours: the 3 injected errors reached our driver" \
		|| bad "ours-probe-error" "faults not injected"
else
	echo "reference: our libraries not installed at $ours (make check-c): their half is skipped"
fi

echo "reference: $(( $(date +%s) - t0 )) s in all"
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
