#!/usr/bin/env bash
# The project's test command: formatting, lints, then every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
# CI-sized property tests; raise PROPTEST_CASES for a deeper run.
PROPTEST_CASES="${PROPTEST_CASES:-32}" cargo test --workspace
