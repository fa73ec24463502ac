#!/usr/bin/env bash
# Install what the project needs on a fresh Debian machine: the C libraries the CPU engine
# links (ISA-L, zlib headers for the C tests), and the reference tools the interop tests and
# the benchmark comparison use; arguments name more Debian packages. Idempotent.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# libssl-dev: libcrypto's MD5 for UADK's own test program (tests/conformance).
pkgs=(libisal-dev isal libdeflate-tools pigz gzip lz4 zstd zlib1g-dev libnuma-dev libssl-dev pkg-config gcc g++ make
      python3 python3-pip unzip "$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The reference LZ4 library's Python binding, for the lz4 interop tests.
python3 -c 'import lz4.block' 2>/dev/null || python3 -m pip install -q lz4 2>/dev/null \
  || python3 -m pip install -q --break-system-packages lz4
command -v cargo >/dev/null || { echo "setup: cargo (Rust stable) is required: https://rustup.rs" >&2; exit 1; }
