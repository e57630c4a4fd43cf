#!/usr/bin/env bash
# Builds every C test (Tests/c/*.c) and C example (examples/c/*.c) against include/mfkit.h,
# links it with .build/release/libmfkit.so and runs it; a non-zero exit fails the run.
set -uo pipefail
cd "$(dirname "$0")/../.."
LIBDIR="$PWD/.build/release"
[ -f "$LIBDIR/libmfkit.so" ] || { echo "missing $LIBDIR/libmfkit.so: run swift build -c release"; exit 1; }
CC=${CC:-cc}
mkdir -p Tests/c/bin
passed=0; failed=0
for src in Tests/c/*.c examples/c/*.c; do
    [ -f "$src" ] || continue
    bin="Tests/c/bin/$(basename "${src%.c}")"
    if ! $CC -std=c11 -O2 -Wall -Wextra -Werror -Iinclude "$src" -o "$bin" -L"$LIBDIR" -lmfkit -lm -Wl,-rpath,"$LIBDIR"; then
        echo "FAIL (build) $src"; failed=$((failed + 1)); continue
    fi
    if "$bin" > "$bin.out" 2>&1; then
        echo "ok   $src"; passed=$((passed + 1))
    else
        echo "FAIL $src"; cat "$bin.out"; failed=$((failed + 1))
    fi
done
echo "C: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
