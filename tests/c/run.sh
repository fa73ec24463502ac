#!/usr/bin/env bash
# Build every C test of this folder against an installed prefix (through pkg-config, as a
# UADK user would) and run it. Usage: tests/c/run.sh PREFIX   (ASAN=1 for AddressSanitizer)
set -uo pipefail
prefix=$(cd "${1:?usage: run.sh PREFIX}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
cflags=(-Wall -Werror -O2 -g)
if [ "${ASAN:-0}" = 1 ]; then
  cflags+=(-fsanitize=address -fno-omit-frame-pointer)
  # The Rust core keeps process-lifetime state (session slabs, thread pools) on purpose.
  export ASAN_OPTIONS=detect_leaks=0
fi
pass=0
fail=0
# Every header compiles as C++ too.
printf '#include "uadk/wd_comp.h"\n#include "uadk/wd_sched.h"\n#include "uadk/wd_zlibwrapper.h"\n' > "$build/all.cc"
if g++ -Wall -Werror -fsyntax-only $(pkg-config --cflags libwd_comp) "$build/all.cc"; then
  pass=$((pass + 1)); echo "ok   headers compile as C++"
else
  fail=$((fail + 1)); echo "FAIL headers compile as C++"
fi
for src in "$here"/*.c; do
  name=$(basename "$src" .c)
  [ "$name" = abi_check ] && continue  # run by crates/uadk-capi/tests/abi.rs
  if ! cc "${cflags[@]}" $(pkg-config --cflags libwd_comp) "$src" -o "$build/$name" \
      $(pkg-config --libs libwd_comp libwd) -lz -lpthread -lnuma; then
    fail=$((fail + 1)); echo "FAIL $name (build)"; continue
  fi
  if (cd "$build" && timeout 300 "./$name"); then
    pass=$((pass + 1)); echo "ok   $name"
  else
    fail=$((fail + 1)); echo "FAIL $name"
  fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
