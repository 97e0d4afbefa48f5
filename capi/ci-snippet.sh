# Lines for .ci/run (to paste at its end; not run by anything as they stand:
# they use .ci/run's `section` helper and `set -euo pipefail`).
# ---------------------------------------------------------------------------
# capi/: the C ABI (section owned by the `capi` branch)
#
# capi/check.sh checks that the committed header capi/include/rnn_kernels.h is
# cbindgen's output for capi/src, builds the static and shared libraries,
# compiles the C and C++ tests with the system cc/c++ (-Wall -Wextra -Werror)
# and compares their results with the Rust API's. It installs nothing, so the
# tools it needs are installed here when absent: cbindgen at the version the
# header is checked against (the crate's tests, clippy and fmt run above, as a
# workspace member). `CAPI_VALGRIND=1 capi/check.sh` adds valgrind runs.
# ---------------------------------------------------------------------------
capi_start=$(date +%s)
capi_cbindgen=0.24.3
section "capi: tools (cbindgen $capi_cbindgen, cc, c++)"
if ! command -v cbindgen >/dev/null 2>&1 ||
  [ "$(cbindgen --version | awk '{print $2}')" != "$capi_cbindgen" ]; then
  cargo install cbindgen --locked --version "$capi_cbindgen"
fi
if ! command -v cc >/dev/null 2>&1 || ! command -v c++ >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y build-essential
fi

section "capi: capi/check.sh (header, C and C++ tests against the Rust API)"
capi/check.sh
echo "== capi: $(( $(date +%s) - capi_start )) s"
# ----------------------------- end of capi/ --------------------------------
