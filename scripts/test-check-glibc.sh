#!/usr/bin/env bash
# Tests scripts/check-glibc.sh on binaries with known needs, so that `make lambda` can trust its
# pass: it must fail on a binary that needs a newer glibc than allowed, compare versions as numbers
# (2.5 < 2.34), and refuse bad input. The binaries are built here with the machine's C compiler
# (cc); a case whose binary cannot be built (no cc, or a host glibc older than 2.36) is skipped
# and says so (rustc links with cc, so it is there wherever this crate builds).
set -uo pipefail
cd "$(dirname "$0")/.."
check=${CHECK_GLIBC:-scripts/check-glibc.sh}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok=0
bad=0
skipped=0
# expect CODE DESCRIPTION -- ARGS...: run the check, compare its exit code, keep its output.
expect() {
    local want=$1 what=$2
    shift 3
    local got
    "$check" "$@" >"$tmp/out" 2>&1
    got=$?
    if [[ $got == "$want" ]]; then
        ok=$((ok + 1))
    else
        bad=$((bad + 1))
        echo "FAIL: $what: exit $got, expected $want; output:" >&2
        sed 's/^/    /' "$tmp/out" >&2
    fi
}
# expect_output PATTERN DESCRIPTION: the last run's output matches PATTERN (grep -E).
expect_output() {
    if grep -qE "$1" "$tmp/out"; then
        ok=$((ok + 1))
    else
        bad=$((bad + 1))
        echo "FAIL: $2: output does not match /$1/:" >&2
        sed 's/^/    /' "$tmp/out" >&2
    fi
}

# A dynamic executable of this machine: every glibc since 2.34 gives __libc_start_main@GLIBC_2.34.
cat >"$tmp/hello.c" <<'EOF'
#include <stdio.h>
int main(void) { puts("hello"); return 0; }
EOF
if cc -o "$tmp/hello" "$tmp/hello.c" 2>/dev/null; then
    host_max=$("$check" "$tmp/hello" 999.0 | grep -oE 'GLIBC_[0-9.]+' | tail -n 1)
    host_max=${host_max#GLIBC_}
    expect 0 "hello passes at its own maximum $host_max" -- "$tmp/hello" "$host_max"
    expect 1 "hello fails at 2.0" -- "$tmp/hello" 2.0
    # String comparison would call 2.34 older than 2.5; the check must not.
    expect 1 "versions compare as numbers (needs $host_max > 2.5)" -- "$tmp/hello" 2.5
    expect_output "__libc_start_main@GLIBC_" "names the symbols that need a newer glibc"
else
    echo "skipped: no C compiler (cc) to build a dynamic test binary" >&2
    skipped=$((skipped + 3))
fi

# arc4random is new in glibc 2.36 (a newer glibc than Lambda's provided.al2023 has).
cat >"$tmp/new.c" <<'EOF'
#include <stdlib.h>
int main(void) { return (int)(arc4random() & 1); }
EOF
if cc -o "$tmp/new" "$tmp/new.c" 2>/dev/null; then
    expect 1 "a binary using arc4random (glibc 2.36) fails at 2.34" -- "$tmp/new" 2.34
    expect_output "arc4random@GLIBC_2\.36" "names arc4random@GLIBC_2.36"
    expect 0 "the same binary passes at 2.36" -- "$tmp/new" 2.36
else
    echo "skipped: cannot build a binary needing glibc 2.36 (no cc, or host glibc < 2.36)" >&2
    skipped=$((skipped + 3))
fi

# A static executable needs no glibc symbol version.
if cc -static -o "$tmp/static" "$tmp/hello.c" 2>/dev/null; then
    expect 0 "a static binary passes" -- "$tmp/static" 2.17
else
    echo "skipped: no static libc (libc.a) to build a static test binary" >&2
    skipped=$((skipped + 1))
fi

# Bad input is an error (2), never a pass.
echo "not an ELF file" >"$tmp/text"
expect 2 "a non-ELF file" -- "$tmp/text" 2.34
expect 2 "a missing file" -- "$tmp/missing" 2.34
expect 2 "a malformed version" -- "$check" 2.x
expect 2 "missing arguments" --

if ((ok == 0)); then
    echo "check-glibc self-test: nothing ran" >&2
    exit 1
fi
echo "check-glibc self-test: $ok checks ok, $bad failed, $skipped skipped"
((bad == 0))
