#!/usr/bin/env bash
# Run every cargo-fuzz target of fuzz/ briefly (CI's fuzz smoke; docs/reliability.md):
# seeds from fuzz/seeds.py, one build of all targets, then FUZZ_SECONDS (default 15) of
# each. A crash, sanitizer report, leak or hang fails the run and its input is printed.
#
#   scripts/fuzz-smoke.sh [TARGET...]     FUZZ_SECONDS=N for longer runs
#
# cargo-fuzz needs unstable compiler flags: RUSTC_BOOTSTRAP=1 lets the stable toolchain
# accept them (a nightly one works the same). cargo-fuzz itself is installed from
# crates.io when missing.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-15}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
	echo "fuzz-smoke: installing cargo-fuzz from crates.io"
	cargo install -q --locked cargo-fuzz || { echo "fuzz-smoke: cannot install cargo-fuzz" >&2; exit 1; }
fi

start=$(date +%s)
python3 fuzz/seeds.py fuzz/corpus >/dev/null || exit 1
if ! (cd fuzz && cargo fuzz build 2>&1 | tail -n 3); then
	echo "fuzz-smoke: build failed" >&2
	exit 1
fi
built=$(date +%s)
echo "fuzz-smoke: seeds and build in $((built - start)) s"

targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cd fuzz && cargo fuzz list)
failed=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "${targets[@]}"; do
	art="fuzz/artifacts/$t"
	rm -rf "$art"
	mkdir -p "$art" "fuzz/corpus/$t"
	# -timeout: a single input running 10 s is a hang; leaks are reported by default.
	(cd fuzz && cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1) >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	if [ $rc -eq 0 ]; then
		echo "ok   $t (${execs:-?} executions in ${secs} s)"
		continue
	fi
	failed+=("$t")
	echo "FAIL $t (exit $rc)"
	grep -E "panicked at|disagrees|^  [a-zA-Z0-9 ]+: |ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|SUMMARY" "$log" \
		| head -n 30 | sed 's/^/     /'
	for f in "$art"/*; do
		[ -f "$f" ] || continue
		echo "     input $f ($(wc -c <"$f") bytes), as hex:"
		od -An -tx1 -v "$f" | head -n 64 | sed 's/^/     /'
		echo "     reproduce: (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run $t ${f#fuzz/})"
	done
done
echo "fuzz-smoke: $((${#targets[@]} - ${#failed[@]})) of ${#targets[@]} targets clean in $(($(date +%s) - start)) s${failed:+; failed: ${failed[*]}}"
[ ${#failed[@]} -eq 0 ]
