#!/usr/bin/env bash
# uadk-rs conformance suite: UADK v2.10's own compression clients, built unmodified from its
# release archive with UADK's own flags (-Wall -Werror) against an installed prefix of this
# project through pkg-config, and run on the CPU engine and on the hisi_zip driver over
# modelled devices (UADK_ZIP_MODEL=2@0).
#
#   tests/conformance/run.sh PREFIX     PREFIX/lib holds libwd*.so.2 and pkgconfig/*.pc
#
#   UADK_SHARED=DIR      where uadk-2.10.tar.gz is (default: ../shared/uadk beside the project)
#   CONF_SECONDS=N       seconds per benchmark case (default 1)
#   CONF_ENGINES="cpu hw"  which engines to run
#   CONF_ONLY=REGEX      run only the cases whose name matches
#   CONF_RESULTS=FILE    also write the results as TSV (engine, case, result, perf KiB/s,
#                        Kops, CPU %, seconds) for docs/compatibility.md
#   CONF_KEEP=1          keep the scratch folder (its path is printed)
#
# Programs: uadk_tool (benchmark, test --m zip, dfx; its crypto and v1 parts are our stubs,
# tests/conformance/stubs), sample/uadk_comp, test/wd_mempool_test. uadk_tool exits 0 even
# when a case fails, so each case is judged by its output: no "fail"/"error"/"unmatched",
# no signal, no timeout, the figures or success lines the program prints on success, and
# the driver UADK_LOG=info names (cpu, or hisi_zip over modelled devices). The programs are
# linked with an rpath to PREFIX/lib only (as a program built against a non-system prefix
# is) and run without LD_LIBRARY_PATH: libwd_comp.so.2 must find libwd.so.2 by itself.
#
# Left out, UADK's own bugs (docs/compatibility.md): `test --loop N` (N > 1) and `--self`
# (comp_lib.c never clears its malloc'd request array, so later passes fail with any
# library), `test --alg 0 --verify` (it inflates raw deflate with windowBits 15+32).
# The last line is `N passed, N failed`; the exit status is non-zero when anything failed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=${UADK_SHARED:-$root/../shared/uadk}
archive=$shared/uadk-2.10.tar.gz
if [ ! -f "$archive" ]; then
	echo "conformance: skipped: UADK v2.10 source not found ($archive; ../shared/uadk/ is absent)"
	exit 0
fi
prefix=$(cd "${1:?usage: run.sh PREFIX}" && pwd) || exit 2
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
unset LD_LIBRARY_PATH UADK_ZIP_MODEL UADK_ZIP_MODEL_FAULTS WD_COMP_CTX_NUM WD_COMP_ASYNC_POLL_EN \
	WD_COMP_ASYNC_POLL_NUM WD_COMP_EPOLL_EN UADK_HW_STRICT
seconds=${CONF_SECONDS:-1}
engines=${CONF_ENGINES:-cpu hw}
only=${CONF_ONLY:-}
results=${CONF_RESULTS:-}
cc=${CC:-gcc}
t_start=$SECONDS

if [ -f "$shared/SHA256SUMS" ] && ! (cd "$shared" && sha256sum --quiet -c SHA256SUMS); then
	echo "conformance: $archive does not match $shared/SHA256SUMS"
	echo "0 passed, 1 failed"
	exit 1
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/uadk-conf.XXXXXX")
if [ "${CONF_KEEP:-0}" = 1 ]; then
	echo "conformance: scratch folder $scratch"
else
	trap 'rm -rf "$scratch"' EXIT
fi
[ -n "$results" ] && : > "$results"

pass=0
fail=0
failed=()
ok() { pass=$((pass + 1)); echo "ok   $1${2:+  $2}"; }
bad() { fail=$((fail + 1)); failed+=("$1"); echo "FAIL $1${2:+ ($2)}"; }
show() { sed 's/^/     /' "$1" | tail -n "${2:-15}"; }
record() { # FIELDS...: one TSV line
	[ -n "$results" ] || return 0
	local IFS=$'\t'
	printf '%s\n' "$*" >> "$results"
}

tar xzf "$archive" -C "$scratch" || { echo "conformance: cannot unpack $archive"; exit 1; }
src=$scratch/uadk-2.10
tool=$src/uadk_tool
bin=$scratch/bin
mkdir -p "$bin" "$scratch/inc" "$scratch/crypto"

# UADK's sources include our installed headers as "wd_comp.h" (sample, test) and
# "include/wd_comp.h" (uadk_tool, from its source tree's root): both name PREFIX/include/uadk.
incdir=$(pkg-config --variable=includedir libwd_comp)/uadk
ln -s "$incdir" "$scratch/inc/include"
cp "$here/stubs/config.h" "$scratch/inc/config.h"
# The cipher API is not ours: wd_mempool_test compiles against UADK's own wd_cipher.h
# (alone in a folder, so that its "wd_alg_common.h" is ours) and links our stubs.
cp "$src/include/wd_cipher.h" "$scratch/crypto/"

comp_cflags=$(pkg-config --cflags libwd_comp)
libs="$(pkg-config --libs libwd_comp libwd) -Wl,-rpath,$prefix/lib"
# uadk_tool/Makefile.am's AM_CFLAGS (with HAVE_ZLIB's -DUSE_ZLIB).
tool_cflags=(-Wall -Werror -fno-strict-aliasing -pthread -fPIC -fPIE -pie -fstack-protector-strong
	     -D_FORTIFY_SOURCE=2 -O2 -ftrapv -Wl,-z,now -Wl,-s -DUSE_ZLIB
	     -I"$scratch/inc" -I"$tool" -I"$tool/benchmark/include")
build() { # NAME LOG CMD...
	local name=$1 log=$2
	shift 2
	if "$@" > "$log" 2>&1; then
		ok "build $name"
		return 0
	fi
	bad "build $name"
	show "$log" 30
	return 1
}

# uadk_tool: UADK's compression translation units, unmodified, and our stubs for the rest.
# The test's MD5 comes from libcrypto 3, whose MD5_* are deprecated (../shared/uadk/README.md).
tool_srcs=(uadk_tool.c dfx/uadk_dfx.c benchmark/uadk_benchmark.c benchmark/zip_uadk_benchmark.c
	   test/uadk_test.c test/comp_main.c test/comp_lib.c)
tool_ok=1
for f in "${tool_srcs[@]}"; do
	extra=()
	case $f in test/*) extra=(-Wno-deprecated-declarations) ;; esac
	o=$scratch/$(basename "$f" .c).o
	# shellcheck disable=SC2086
	"$cc" "${tool_cflags[@]}" "${extra[@]}" $comp_cflags -c "$tool/$f" -o "$o" \
		> "$scratch/build.$(basename "$f" .c).log" 2>&1 || {
		tool_ok=0
		bad "build uadk_tool: $f"
		show "$scratch/build.$(basename "$f" .c).log" 30
	}
done
# shellcheck disable=SC2086
"$cc" "${tool_cflags[@]}" -I"$tool/benchmark" -I"$tool/test" $comp_cflags \
	-c "$here/stubs/tool_stubs.c" -o "$scratch/tool_stubs.o" > "$scratch/build.stubs.log" 2>&1 || {
	tool_ok=0
	bad "build uadk_tool: stubs"
	show "$scratch/build.stubs.log" 30
}
if [ $tool_ok = 1 ]; then
	# shellcheck disable=SC2086
	build uadk_tool "$scratch/build.link.log" "$cc" "${tool_cflags[@]}" -o "$bin/uadk_tool" \
		"$scratch"/*.o $libs -lnuma -lm -lz -lcrypto || tool_ok=0
fi
# sample/Makefile.am's flags (-Wall; the brief's -Werror too).
# shellcheck disable=SC2086
build uadk_comp "$scratch/build.sample.log" "$cc" -Wall -Werror -fno-strict-aliasing \
	$comp_cflags -I"$incdir" "$src/sample/uadk_comp.c" -o "$bin/uadk_comp" $libs -lpthread -lnuma \
	&& sample_ok=1 || sample_ok=0
# test/Makefile.am's flags; the cipher calls link our stubs.
# shellcheck disable=SC2086
build wd_mempool_test "$scratch/build.mempool.log" "$cc" -Wall -O0 -Werror -fno-strict-aliasing \
	$comp_cflags -I"$scratch/crypto" -I"$incdir" "$src/test/wd_mempool_test.c" \
	"$here/stubs/cipher_stubs.c" -o "$bin/wd_mempool_test" $libs -ldl -lnuma -lpthread \
	&& mempool_ok=1 || mempool_ok=0

# The installed libraries find each other: a program linked against libwd_comp alone (as
# QEMU is), with an rpath to PREFIX/lib, starts without LD_LIBRARY_PATH: libwd_comp.so.2
# finds libwd.so.2 beside it.
printf '#include "uadk/wd_comp.h"\nint main(void) { return wd_comp_init2("zlib", 0, TASK_HW) < 0; }\n' \
	> "$scratch/alone.c"
# shellcheck disable=SC2086
if "$cc" -Wall -Werror $comp_cflags "$scratch/alone.c" -o "$bin/alone" \
	$(pkg-config --libs libwd_comp) -Wl,-rpath,"$prefix/lib" > "$scratch/alone.log" 2>&1 \
	&& env -u LD_LIBRARY_PATH "$bin/alone" >> "$scratch/alone.log" 2>&1; then
	ok "a program linked against libwd_comp alone starts without LD_LIBRARY_PATH"
else
	bad "a program linked against libwd_comp alone starts without LD_LIBRARY_PATH"
	show "$scratch/alone.log"
fi
if [ $tool_ok = 1 ]; then
	if env -u LD_LIBRARY_PATH "$bin/uadk_tool" dfx --version > "$scratch/start.log" 2>&1 \
		&& grep -q "UADK version" "$scratch/start.log"; then
		ok "starts without LD_LIBRARY_PATH" "$(head -1 "$scratch/start.log")"
	else
		bad "starts without LD_LIBRARY_PATH"
		show "$scratch/start.log"
	fi
fi

# Silesia's ooffice (6 MB, compresses about 2:1; sample/uadk_comp gives its output 4x the
# input) for the sample's round trips; a generated file when the corpus is absent.
corpus=$root/../shared/corpus/silesia/ooffice.zip
data=$scratch/ooffice
if [ -f "$corpus" ] && unzip -q -o -d "$scratch" "$corpus" ooffice 2> /dev/null; then
	:
else
	python3 -c 'import random,sys; r=random.Random(9); w=[bytes(r.choice(b"abcdefgh ") for _ in range(r.randint(2,9))) for _ in range(900)]; sys.stdout.buffer.write(b" ".join(r.choice(w) for _ in range(700000)))' > "$data"
fi

fails_in() { # FILE...: the lines that say something went wrong. Our library's one-time
	# notice that TASK_HW found no accelerator (and what to set to fail instead) is not one.
	grep -aHiE "fail|error|unmatch|segmentation|aborted|killed by sig|core dumped|bad input|invalid" "$@" \
		| grep -av "uadk: no hardware accelerator serves"
}

# Run one case: NAME TIMEOUT CMD... in $work, with the engine's environment. Sets $out,
# $err and $rc; judges what every case shares (exit, signal, timeout, failure lines, driver).
run() {
	local name=$1 limit=$2
	shift 2
	out=$work/$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_').out
	err=${out%.out}.err
	(cd "$work" && "${eng_env[@]}" timeout -k 5 "$limit" "$@" > "$out" 2> "$err" < "${stdin:-/dev/null}")
	rc=$?
	why=""
	if [ $rc = 124 ] || [ $rc = 137 ]; then
		why="timed out after $limit s"
	elif [ $rc -gt 128 ]; then
		why="killed by signal $((rc - 128))"
	elif [ $rc != 0 ]; then
		why="exit $rc"
	elif fails_in "$err" $([ "${binary_out:-0}" = 1 ] || echo "$out") > "$work/why" 2>&1; then
		why="$(head -1 "$work/why" | sed 's|^.*/||')"
	elif [ -n "$want_driver" ] && ! grep -q "wd_comp ready: driver $want_driver" "$err"; then
		why="UADK_LOG=info does not name driver $want_driver"
	fi
	[ -z "$why" ]
}
case_fail() { # NAME WHY
	bad "$1" "$2"
	if [ "${binary_out:-0}" = 1 ]; then
		cp "$err" "$work/last.log"
	else
		cat "$out" "$err" > "$work/last.log" 2> /dev/null
	fi
	binary_out=0
	show "$work/last.log"
	record "$engine" "${1#"$engine: "}" FAIL
}
wanted() { [ -z "$only" ] || [[ $1 =~ $only ]]; }

bench_case() { # ALG OPT MODE(sync|async) PKTLEN THREADS INIT2(0|1)
	local alg=$1 opt=$2 mode=$3 pkt=$4 thr=$5 init2=$6
	local name="benchmark $alg --opt $opt --$mode --pktlen $pkt --thread $thr"
	[ "$init2" = 1 ] && name="$name --init2"
	wanted "$name" || return 0
	local args=(benchmark --alg "$alg" --mode sva --opt "$opt" "--$mode" --pktlen "$pkt"
		    --seconds "$seconds" --thread "$thr")
	[ "$init2" = 1 ] && args+=(--init2)
	# The engine's lz77 formats have levels 8 and 9 only (fill_comp_level_lz77_zstd): the
	# tool's default level 0 is refused, as on hardware.
	case $alg in lz77_*) args+=(--complevel 8) ;; esac
	local t0=$SECONDS saved_env=("${eng_env[@]}")
	# UADK's async benchmark frees its buffers while its last request may still be in the
	# device (zip_uadk_benchmark.c:1722-1741, then free_uadk_bd_pool before the uninit).
	# Real hardware would then write freed memory; the model faults on pages that are not
	# mapped, so glibc is told to map each buffer of 4 KiB and more on its own: a late
	# request then fails in the device instead of corrupting the program's heap. (The CPU
	# engine works on copies and writes the caller's buffers only when it is polled.)
	[ "$engine" = hw ] && [ "$mode" = async ] && eng_env+=(GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4096)
	if ! run "$engine: $name" $((seconds + 60)) "$bin/uadk_tool" "${args[@]}"; then
		eng_env=("${saved_env[@]}")
		case_fail "$engine: $name" "$why"
		return
	fi
	eng_env=("${saved_env[@]}")
	# algname:  length:  perf:  iops:  CPU_rate:   then   zlib  4096Bytes  123.45KiB/s  1.2Kops  99.00%
	local row perf iops cpu note=""
	figures() {
		row=$(grep -aE "^$alg[[:space:]]+${pkt}Bytes" "$out" | tail -1)
		perf=$(sed -nE 's/.*Bytes[[:space:]]+([0-9.]+)KiB\/s.*/\1/p' <<< "$row")
		iops=$(sed -nE 's/.*KiB\/s[[:space:]]+([0-9.]+)Kops.*/\1/p' <<< "$row")
		cpu=$(sed -nE 's/.*Kops[[:space:]]+([0-9.]+)%.*/\1/p' <<< "$row")
		[ -n "$perf" ] && awk -v p="$perf" 'BEGIN { exit !(p > 0) }'
	}
	if ! figures; then
		# The tool's timer (SIGALRM after --seconds) runs from before its threads start:
		# on a starved machine they can find the time already up and send nothing. Once
		# more; twice nothing is a failure.
		note=" (second run: the first measured '$row')"
		[ "$engine" = hw ] && [ "$mode" = async ] && eng_env+=(GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4096)
		if ! run "$engine: $name" $((seconds + 60)) "$bin/uadk_tool" "${args[@]}" || ! figures; then
			eng_env=("${saved_env[@]}")
			case_fail "$engine: $name" "${why:-no figures, or zero perf: '$row'}"
			return
		fi
		eng_env=("${saved_env[@]}")
	fi
	ok "$engine: $name" "$perf KiB/s, $iops Kops, CPU $cpu%$note"
	record "$engine" "$name" ok "$perf" "$iops" "$cpu" $((SECONDS - t0))
}

test_case() { # NAME ARGS... (uadk_tool test --m zip ARGS): a verified round trip
	local name="test --m zip $*"
	wanted "$name" || return 0
	local t0=$SECONDS
	if ! run "$engine: $name" 120 "$bin/uadk_tool" test --m zip "$@"; then
		case_fail "$engine: $name" "$why"
		return
	fi
	# On success it prints the run's time: "... with N send threads [at X MB/s] in T usec (BLK:B)".
	local line
	line=$(grep -aE " in [0-9.]+ usec \(BLK:" "$out" | head -1)
	if [ -z "$line" ]; then
		case_fail "$engine: $name" "no result line"
		return
	fi
	ok "$engine: $name" "$line"
	record "$engine" "$name" ok "" "" "" $((SECONDS - t0))
}

sample_case() { # ALG: compress with the sample, check it with zlib, and back
	local alg=$1 name="sample/uadk_comp --alg $1"
	wanted "$name" || return 0
	local t0=$SECONDS z=$work/data.$alg
	binary_out=1
	stdin=$data
	if ! run "$engine: $name --optype 0" 120 "$bin/uadk_comp" --alg "$alg" --optype 0; then
		stdin=""
		case_fail "$engine: $name (compress)" "$why"
		return
	fi
	cp "$out" "$z"
	# Its output read by the reference: gzip -d for gzip, Python's zlib for each format.
	local wbits
	case $alg in zlib) wbits=15 ;; gzip) wbits=31 ;; deflate) wbits=-15 ;; esac
	if ! python3 -c 'import sys,zlib; d=zlib.decompressobj(int(sys.argv[3])); o=d.decompress(open(sys.argv[1],"rb").read()); sys.exit(0 if d.eof and o==open(sys.argv[2],"rb").read() else 1)' \
		"$z" "$data" "$wbits" || { [ "$alg" = gzip ] && ! gzip -dc < "$z" | cmp -s - "$data"; }; then
		stdin=""
		case_fail "$engine: $name" "its $alg output is not the input to zlib/gzip"
		return
	fi
	# The reference's output read by it, and its own output read back.
	python3 -c 'import sys,zlib; c=zlib.compressobj(6,zlib.DEFLATED,int(sys.argv[3])); open(sys.argv[2],"wb").write(c.compress(open(sys.argv[1],"rb").read())+c.flush())' \
		"$data" "$work/ref.$alg" "$wbits"
	local from
	for from in "$z" "$work/ref.$alg"; do
		stdin=$from
		if ! run "$engine: $name --optype 1" 120 "$bin/uadk_comp" --alg "$alg" --optype 1 \
			|| ! cmp -s "$out" "$data"; then
			stdin=""
			case_fail "$engine: $name (decompress $(basename "$from"))" "${why:-output differs}"
			return
		fi
	done
	stdin=""
	binary_out=0
	ok "$engine: $name" "round trip of ooffice ($(stat -c %s "$data") -> $(stat -c %s "$z") bytes), zlib agrees both ways"
	record "$engine" "$name" ok "" "" "" $((SECONDS - t0))
}

mempool_case() { # PERF
	local name="wd_mempool_test --perf $1"
	wanted "$name" || return 0
	local t0=$SECONDS
	# --perf 0 waits for a key per thread (it asks to check the pages' node meanwhile).
	printf '1\n1\n' > "$work/keys"
	stdin=$work/keys
	local saved=$want_driver
	want_driver="" # memory pools only: no wd_comp framework to name a driver
	if ! run "$engine: $name" 60 "$bin/wd_mempool_test" --perf "$1" --mp_size 16777216 \
		--blk_size_array "4096 8192" --blk_num_array "512 256" --multi 2; then
		stdin=""
		want_driver=$saved
		case_fail "$engine: $name" "$why"
		return
	fi
	stdin=""
	want_driver=$saved
	local expect
	case $1 in 0) expect="test mempool successful" ;; 1) expect="alloc_free_thread successful" ;; esac
	if [ "$(grep -ac "$expect" "$out")" != 2 ]; then
		case_fail "$engine: $name" "not two '$expect' lines"
		return
	fi
	ok "$engine: $name"
	record "$engine" "$name" ok "" "" "" $((SECONDS - t0))
}

dfx_case() {
	local name="dfx --version"
	wanted "$name" || return 0
	local saved=$want_driver
	want_driver=""
	if run "$engine: $name" 30 "$bin/uadk_tool" dfx --version && grep -q "UADK version" "$out"; then
		ok "$engine: $name" "$(head -1 "$out")"
		record "$engine" "$name" ok
	else
		case_fail "$engine: $name" "${why:-no version line}"
	fi
	want_driver=$saved
}

usage_case() { # this project's uadk_tool: v2.10's dfx has no --usage (UADK added it after)
	local name="dfx --usage (uadk-rs uadk_tool)"
	wanted "$name" || return 0
	local saved=$want_driver
	want_driver=""
	if run "$engine: $name" 30 "$prefix/bin/uadk_tool" dfx --usage --device hisi_zip-0 \
		--alg_name zlib --op_type 0 \
		&& grep -qE "^hisi_zip-0 zlib op type 0 usage is [0-9]+$" "$out"; then
		ok "$engine: $name" "$(head -1 "$out")"
		record "$engine" "$name" ok
	else
		case_fail "$engine: $name" "${why:-no usage line}"
	fi
	want_driver=$saved
}

for engine in $engines; do
	work=$scratch/run-$engine
	mkdir -p "$work"
	case $engine in
	cpu) eng_env=(env UADK_LOG=info); want_driver=cpu ;;
	hw) eng_env=(env UADK_ZIP_MODEL=2@0 UADK_LOG=info); want_driver=hisi_zip ;;
	*) echo "conformance: unknown engine $engine"; continue ;;
	esac
	echo "== engine $engine"
	if [ $tool_ok = 1 ]; then
		dfx_case
		[ "$engine" = hw ] && usage_case
		# Every --opt the tool allows for the alg (lz4: block compression only), sync and
		# async (streams: sync only; the tool refuses "Stream mode can't support async
		# mode!"), with and without --init2; packet size and threads go round all four
		# pairs along both the alg/opt cases and the mode/init pairs. Compression (--opt 0)
		# runs first: it writes the ./zip_<pktlen>.<alg> file decompression reads.
		pairs=("4096 1" "65536 2" "4096 2" "65536 1")
		j=0
		for ao in "zlib 0" "zlib 1" "zlib 2" "zlib 3" "gzip 0" "gzip 1" "gzip 2" "gzip 3" \
			  "deflate 0" "deflate 1" "deflate 2" "deflate 3" "lz4 0" \
			  "lz77_zstd 0" "lz77_zstd 2" "lz77_only 0" "lz77_only 2"; do
			read -r alg opt <<< "$ao"
			k=0
			modes=("sync 0" "async 0" "sync 1" "async 1")
			[ "$opt" -ge 2 ] && modes=("sync 0" "sync 1" "sync 0" "sync 1")
			for mi in "${modes[@]}"; do
				read -r mode init2 <<< "$mi"
				read -r pkt thr <<< "${pairs[$(((j + k) % 4))]}"
				bench_case "$alg" "$opt" "$mode" "$pkt" "$thr" "$init2"
				k=$((k + 1))
			done
			j=$((j + 1))
		done
		test_case --verify
		test_case --verify --inf
		test_case --verify --stream
		test_case --verify --stream --inf
		test_case --verify --mode 1
		test_case --verify --sgl
		test_case --verify --alg 1
		test_case --verify --alg 2
		test_case --verify --thread 2 --qnum 2
		# UADK's environment init: WD_COMP_CTX_NUM for sync; async needs the library's
		# poll threads (WD_COMP_ASYNC_POLL_EN=1), as UADK documents.
		saved_env=("${eng_env[@]}")
		eng_env+=(WD_COMP_CTX_NUM=sync-comp:2@0,sync-decomp:2@0)
		test_case --verify --env
		test_case --verify --env --inf
		eng_env=("${saved_env[@]}" WD_COMP_CTX_NUM=async-comp:2@0,async-decomp:2@0
			 WD_COMP_ASYNC_POLL_EN=1 WD_COMP_ASYNC_POLL_NUM=1@0)
		test_case --verify --env --mode 1
		test_case --verify --env --mode 1 --inf
		eng_env=("${saved_env[@]}")
	fi
	if [ $sample_ok = 1 ]; then
		for alg in zlib gzip deflate; do
			sample_case "$alg"
		done
	fi
	if [ $mempool_ok = 1 ]; then
		mempool_case 0
		mempool_case 1
	fi
done

echo "conformance: $((SECONDS - t_start)) s"
[ $fail -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
