#!/usr/bin/env bash
# capi/check.sh: the C API's checks beyond `cargo test -p capi`, run from any
# directory (it works in the repository root):
#
#   1. the committed header capi/include/rnn_kernels.h is what cbindgen
#      generates from capi/src now (byte for byte);
#   2. `cargo build -p capi`: the static and shared libraries and `rnnk-case`,
#      in the workspace's dev profile (target/debug);
#   3. tests/c/capi_test.c (cc -std=c11) linked against the static library and
#      tests/cpp/capi_test.cpp (c++ -std=c++17) against the shared one, both
#      with -Wall -Wextra -Werror;
#   4. `rnnk-case` writes the kernels' Rust API results for a 2-layer
#      bidirectional LSTM (inputs, outputs, gradients, f64 and f32); both
#      programs run it through the C API and compare; the C program must also
#      FAIL when one expected gradient is perturbed (`--corrupt`), which shows
#      that the comparison compares;
#   5. with CAPI_VALGRIND=1, both programs again under valgrind (memcheck,
#      full leak check): any memory error or a definitely/indirectly lost
#      block fails.
#
# It installs nothing: cargo, cbindgen (the version the header was made
# with, CBINDGEN_VERSION below), cc, c++ and, for CAPI_VALGRIND=1, valgrind
# must be on PATH; a missing or different one is an error that says what to
# install.
set -euo pipefail
cd "$(dirname "$0")/.."

CBINDGEN_VERSION=0.24.3

fail() {
  echo "capi/check.sh: $*" >&2
  exit 1
}
need() {
  command -v "$1" >/dev/null 2>&1 || fail "'$1' not found on PATH: $2"
}
step() { echo "== capi: $1"; }

need cargo "install a Rust toolchain (rustup)"
need cbindgen "install it: cargo install cbindgen --locked --version $CBINDGEN_VERSION (or Debian bookworm's: apt-get install cbindgen)"
need cc "install a C compiler (Debian: apt-get install build-essential)"
need c++ "install a C++ compiler (Debian: apt-get install build-essential)"
if [ "${CAPI_VALGRIND:-0}" = 1 ]; then
  need valgrind "install it (Debian: apt-get install valgrind) or unset CAPI_VALGRIND"
fi
found=$(cbindgen --version | awk '{print $2}')
[ "$found" = "$CBINDGEN_VERSION" ] ||
  fail "cbindgen $found found; the header is checked against cbindgen $CBINDGEN_VERSION's output (cargo install cbindgen --locked --version $CBINDGEN_VERSION)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

step "header capi/include/rnn_kernels.h is up to date (cbindgen $CBINDGEN_VERSION)"
cbindgen --quiet --config capi/cbindgen.toml --output "$tmp/rnn_kernels.h" capi
if ! diff -u capi/include/rnn_kernels.h "$tmp/rnn_kernels.h"; then
  fail "capi/include/rnn_kernels.h is stale; regenerate it (from the repository root):
  cbindgen --config capi/cbindgen.toml --output capi/include/rnn_kernels.h capi"
fi

step "cargo build -p capi (librnn_kernels.a, librnn_kernels.so, rnnk-case)"
cargo build -p capi
target_dir=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
lib="$target_dir/debug"
for f in librnn_kernels.a librnn_kernels.so rnnk-case; do
  [ -e "$lib/$f" ] || fail "$lib/$f was not built"
done

step "compile tests/c/capi_test.c (static) and tests/cpp/capi_test.cpp (shared)"
# The static library needs the system libraries Rust's std links
# (`rustc --print native-static-libs` on Linux/glibc).
cc -std=c11 -Wall -Wextra -Werror -O1 -g -Icapi/include capi/tests/c/capi_test.c \
  "$lib/librnn_kernels.a" -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc -o "$tmp/capi_test"
c++ -std=c++17 -Wall -Wextra -Werror -O1 -g -Icapi/include capi/tests/cpp/capi_test.cpp \
  -L"$lib" -lrnn_kernels -Wl,-rpath,"$lib" -o "$tmp/capi_test_cpp"

step "run both against the Rust API's results (rnnk-case)"
"$lib/rnnk-case" "$tmp/case.txt"
"$tmp/capi_test" "$tmp/case.txt"
"$tmp/capi_test_cpp" "$tmp/case.txt"
# Exit status 1 is "a check failed"; anything else (0, 2: broken setup) is wrong.
set +e
"$tmp/capi_test" "$tmp/case.txt" --corrupt >"$tmp/corrupt.log" 2>&1
status=$?
set -e
[ "$status" = 1 ] || { cat "$tmp/corrupt.log" >&2; fail "capi_test --corrupt exited $status, expected 1 (a mismatch)"; }
echo "ok   capi_test --corrupt fails as it must"

if [ "${CAPI_VALGRIND:-0}" = 1 ]; then
  for prog in capi_test capi_test_cpp; do
    step "valgrind $prog"
    valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=all \
      --errors-for-leak-kinds=definite,indirect --track-origins=yes \
      "$tmp/$prog" "$tmp/case.txt" >"$tmp/$prog.out" 2>"$tmp/$prog.valgrind" || {
      cat "$tmp/$prog.valgrind" >&2
      fail "valgrind $prog failed"
    }
    grep -E "(in use at exit|total heap usage|definitely lost|indirectly lost|possibly lost|still reachable|ERROR SUMMARY):" \
      "$tmp/$prog.valgrind"
  done
fi
step "all checks passed"
