#!/usr/bin/env bash
# The project's test command: formatting, lints, then every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo fmt --all -- --check
# Layers import downward only, and no modules import each other in a circle.
python3 scripts/check-layers.py
cargo clippy --workspace --all-targets -- -D warnings
# Doc comments whose links resolve (a renamed or private item fails here).
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps -q
# CI-sized property tests; raise PROPTEST_CASES for a deeper run.
PROPTEST_CASES="${PROPTEST_CASES:-32}" cargo test --workspace
# The C ABI: install into a scratch prefix, build the C tests there through pkg-config, run
# them, then once more under AddressSanitizer.
make check-c
ASAN=1 bash tests/c/run.sh target/c-prefix
# UADK v2.10's own programs (uadk_tool, sample, mempool test) built unmodified against that
# prefix, on the CPU engine and the hisi_zip driver over modelled devices; skips with one
# line without ../shared/uadk. Results: target/conformance.tsv (docs/compatibility.md).
CONF_RESULTS=target/conformance.tsv bash tests/conformance/run.sh target/c-prefix
# Real UADK v2.10, built from ../shared/uadk, runs its own programs and driver on the
# strict device model; then UADK's sample and our probe over target/c-prefix on the same
# model (about 2 minutes on 2 cores; skips when ../shared/uadk is absent).
bash tests/reference/run.sh
# Every fuzz target of fuzz/ for a few seconds (docs/reliability.md): a crash, sanitizer
# report, leak or hang fails, and its input is printed.
bash scripts/fuzz-smoke.sh
