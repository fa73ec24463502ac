#!/usr/bin/env bash
# uadk-rs: build every C test of this folder against an installed prefix, through pkg-config
# as a program written for UADK would be built, and run it.
#
#   tests/c/run.sh PREFIX        PREFIX/lib holds libwd*.so and pkgconfig/libwd_comp.pc
#   ASAN=1 tests/c/run.sh PREFIX AddressSanitizer on the C side (the libraries stay as built)
#   CC=clang CXX=clang++ ...     other compilers
#
# Also checks that each header compiles on its own as C and that all of them compile as C++.
# The last line is `N passed, N failed`; the exit status is non-zero when anything failed.
set -uo pipefail

prefix=$(cd "${1:?usage: run.sh PREFIX}" && pwd) || exit 2
here=$(cd "$(dirname "$0")" && pwd)
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cc=${CC:-gcc}
cxx=${CXX:-g++}
headers=(wd.h wd_bmm.h uacce.h wd_alg_common.h wd_alg.h wd_internal.h wd_comp.h wd_sched.h
	 wd_zlibwrapper.h wd_comp_ext.h)

cflags=(-Wall -Werror -O2 -g)
if [ "${ASAN:-0}" = 1 ]; then
	cflags+=(-fsanitize=address -fno-omit-frame-pointer)
	# The Rust core keeps some process-lifetime state (thread pools, session slots).
	export ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
fi

build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
pass=0
fail=0
failed=()

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); failed+=("$1"); echo "FAIL $1${2:+ ($2)}"; }
show() { sed 's/^/     /' "$1" | tail -n "${2:-20}"; }

if ! pkg-config --exists libwd_comp libwd; then
	echo "run.sh: no libwd_comp.pc / libwd.pc under $prefix/lib/pkgconfig"
	echo "0 passed, 1 failed"
	exit 1
fi
comp_cflags=$(pkg-config --cflags libwd_comp)
comp_libs=$(pkg-config --libs libwd_comp)
wd_libs=$(pkg-config --libs libwd)

# Each header on its own, as C.
hdr_ok=1
for h in "${headers[@]}"; do
	printf '#include "uadk/%s"\nint main(void) { return 0; }\n' "$h" > "$build/one.c"
	# shellcheck disable=SC2086
	if ! "$cc" -std=gnu11 -Wall -Wextra -Werror -fsyntax-only $comp_cflags "$build/one.c" \
		> "$build/hdr.log" 2>&1; then
		hdr_ok=0
		echo "     uadk/$h:"
		show "$build/hdr.log"
	fi
done
[ $hdr_ok = 1 ] && ok "headers compile one by one as C" || bad "headers compile one by one as C"

# All headers together, as C++, with their function-like macros used once.
: > "$build/all.cc"
for h in "${headers[@]}"; do
	printf '#include "uadk/%s"\n' "$h" >> "$build/all.cc"
done
cat >> "$build/all.cc" <<'EOF'
int use_macros(handle_t h)
{
	char alg[] = "zlib";
	int a[3] = { 0, 0, 0 };

	mb();
	rmb();
	wmb();
	if (unlikely(WD_IS_ERR(h)) || likely(ARRAY_SIZE(a) != 3))
		WD_DEV_ERR(h, "handle %lld", WD_HANDLE_ERR(h));
	WD_ERR("%d\n", a[0]);
	return wd_comp_init2(alg, SCHED_POLICY_RR, TASK_HW);
}
EOF
# shellcheck disable=SC2086
if "$cxx" -x c++ -Wall -Werror -fsyntax-only $comp_cflags "$build/all.cc" > "$build/cxx.log" 2>&1
then
	ok "headers compile as C++"
else
	bad "headers compile as C++"
	show "$build/cxx.log"
fi

for src in "$here"/*.c; do
	name=$(basename "$src" .c)
	extra=""
	case $name in
	init_custom | init2_mask) extra="$wd_libs -lnuma" ;;	# libwd's own calls and libnuma
	sched_custom | mempool | uacce_ctx | alg_drv | usage | errors) extra="$wd_libs" ;;	# libwd's own calls
	esac
	# shellcheck disable=SC2086
	if ! "$cc" "${cflags[@]}" $comp_cflags "$src" -o "$build/$name" $comp_libs $extra \
		-lz -lpthread > "$build/$name.build.log" 2>&1; then
		bad "$name" "build"
		show "$build/$name.build.log"
		continue
	fi
	# Needs a UACCE device: run below, over a modelled one.
	[ "$name" = uacce_ctx ] && continue
	(cd "$build" && timeout 300 "./$name" > "$name.out" 2> "$name.err")
	rc=$?
	if [ "$name" = abi_check ]; then
		facts=$(grep -c ' ' "$build/$name.out")
		if [ $rc = 0 ] && [ "$facts" -gt 100 ]; then
			ok "$name ($facts facts)"
		else
			bad "$name" "exit $rc, $facts facts"
		fi
		continue
	fi
	if [ $rc = 0 ]; then
		ok "$name"
		show "$build/$name.out"
	else
		[ $rc = 124 ] && why="timed out after 300 s" || why="exit $rc"
		bad "$name" "$why"
		cat "$build/$name.out" "$build/$name.err" > "$build/$name.log"
		show "$build/$name.log" 30
	fi
done

# The same programs through the HiSilicon ZIP driver, over two modelled devices: each must
# pass again, and the library must say it chose the hardware driver.
for name in qemu_pattern live_page async async_sgl stream sync2 sgl init_custom sched_custom \
	    init2_mask zstd_ext; do
	[ -x "$build/$name" ] || continue
	(cd "$build" && UADK_ZIP_MODEL=2@0 UADK_LOG=info timeout 300 "./$name" \
		> "$name.hw.out" 2> "$name.hw.err")
	rc=$?
	if [ $rc = 0 ] && grep -q "driver hisi_zip" "$build/$name.hw.err"; then
		ok "$name (hisi_zip driver, modelled devices)"
	else
		bad "$name (hisi_zip driver, modelled devices)" "exit $rc"
		cat "$build/$name.hw.out" "$build/$name.hw.err" > "$build/$name.hw.log"
		show "$build/$name.hw.log" 30
	fi
done

# The same driver over the null engine (stored blocks, completed at once), whose output
# zlib must read back: a page another thread keeps writing, async requests. (qemu_pattern
# asks pages to shrink, which stored blocks do not.)
for name in live_page async; do
	[ -x "$build/$name" ] || continue
	(cd "$build" && UADK_ZIP_MODEL=1@0:null UADK_LOG=info timeout 300 "./$name" \
		> "$name.null.out" 2> "$name.null.err")
	rc=$?
	if [ $rc = 0 ] && grep -q "driver hisi_zip" "$build/$name.null.err"; then
		ok "$name (hisi_zip driver, null engine)"
	else
		bad "$name (hisi_zip driver, null engine)" "exit $rc"
		cat "$build/$name.null.out" "$build/$name.null.err" > "$build/$name.null.log"
		show "$build/$name.null.log" 30
	fi
done

# libwd's contexts and driver registry over one modelled device, as a driver uses them.
for name in uacce_ctx alg_drv usage; do
	[ -x "$build/$name" ] || continue
	(cd "$build" && UADK_ZIP_MODEL=1@0 timeout 300 "./$name" > "$name.hw.out" 2> "$name.hw.err")
	rc=$?
	if [ $rc = 0 ]; then
		ok "$name (modelled device)"
		show "$build/$name.hw.out"
	else
		bad "$name (modelled device)" "exit $rc"
		cat "$build/$name.hw.out" "$build/$name.hw.err" > "$build/$name.hw.log"
		show "$build/$name.hw.log" 30
	fi
done

[ $fail -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
