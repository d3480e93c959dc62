#!/usr/bin/env bash
# check-glibc.sh BINARY MAX: fail if the ELF file BINARY needs a glibc symbol version newer than MAX
# (for example 2.34, the glibc of Lambda's provided.al2023). It reads the version-needs section
# (.gnu.version_r) with readelf, which reads an ELF of any architecture, and on failure names the
# symbols that need the newer versions. Prints the highest GLIBC_ version needed on success.
# A binary that needs no glibc version (static, or not linked against glibc) passes.
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 BINARY MAX_GLIBC_VERSION (e.g. 2.34)" >&2
    exit 2
fi
bin=$1
max=$2
if [[ ! $max =~ ^[0-9]+(\.[0-9]+)+$ ]]; then
    echo "check-glibc: MAX must be a version like 2.34, not '$max'" >&2
    exit 2
fi
if [[ ! -f $bin ]]; then
    echo "check-glibc: no such file: $bin" >&2
    exit 2
fi
if ! command -v readelf >/dev/null; then
    echo "check-glibc: readelf not found (Debian package binutils)" >&2
    exit 2
fi

# readelf -V prints, under "Version needs section '.gnu.version_r'", one line per needed version:
#   0x0010:   Name: GLIBC_2.34  Flags: none  Version: 5
# Only that section counts: ".gnu.version_d" lists versions the file defines, not needs.
if ! versions=$(LC_ALL=C readelf --version-info --wide "$bin" 2>&1); then
    echo "check-glibc: readelf failed on $bin: $versions" >&2
    exit 2
fi
needed=$(awk '
    /^Version needs section/ { in_needs = 1; next }
    /^Version (definition|symbols) section/ { in_needs = 0 }
    in_needs {
        for (i = 1; i < NF; i++)
            if ($i == "Name:" && $(i + 1) ~ /^GLIBC_/) print substr($(i + 1), 7)
    }' <<<"$versions" | sort -u -V)

if [[ -z $needed ]]; then
    echo "check-glibc: $bin needs no glibc symbol version (<= $max: ok)"
    exit 0
fi

# Versions compare numerically (2.4 < 2.34), so sort -V, not a string comparison. GLIBC_PRIVATE
# is glibc-internal and not stable across releases: it fails too.
too_new=()
while read -r v; do
    if [[ $v == PRIVATE ]] || [[ $(printf '%s\n%s\n' "$v" "$max" | sort -V | tail -n 1) != "$max" ]]; then
        too_new+=("$v")
    fi
done <<<"$needed"
highest=$(grep -v PRIVATE <<<"$needed" | tail -n 1 || true)

if [[ ${#too_new[@]} -eq 0 ]]; then
    echo "check-glibc: $bin needs at most GLIBC_$highest (<= $max: ok)"
    exit 0
fi

echo "check-glibc: $bin needs glibc newer than $max: ${too_new[*]/#/GLIBC_}" >&2
# The dynamic symbols that carry those versions, e.g. "__libc_start_main@GLIBC_2.34 (2)".
syms=$(LC_ALL=C readelf --dyn-syms --wide "$bin" 2>/dev/null || true)
for v in "${too_new[@]}"; do
    grep -oE "[^ ]+@GLIBC_${v//./\\.}( |$)" <<<"$syms" | sed "s/ *$//; s/^/  /" | sort -u >&2 || true
done
exit 1
