#!/usr/bin/env bash
# build-lambda.sh: the Lambda package SAM deploys, target/lambda/bootstrap.zip (its CodeUri): one
# executable `bootstrap` at the root of the zip, built for provided.al2023 with the `lambda` profile.
# `make lambda` runs it after installing zig into $LAMBDA_VENV. Settings (the Makefile passes them):
#   ARCH                    x86_64 (default) or arm64: the function's Architectures
#   LAMBDA_GLIBC            the newest glibc the binary may need (provided.al2023 has 2.34)
#   LAMBDA_VENV             the Python venv that holds the pinned `ziglang` (requirements-lambda.txt)
#   LAMBDA_TOOLS            cargo install root for cargo-zigbuild (default .tools, ignored by git)
#   CARGO_ZIGBUILD_VERSION  the cargo-zigbuild installed there when missing or of another version
# cargo-zigbuild links with `zig cc` against glibc $LAMBDA_GLIBC's symbol versions, whatever
# glibc this machine has; scripts/check-glibc.sh then proves the binary needs nothing newer.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

ARCH=${ARCH:-x86_64}
LAMBDA_GLIBC=${LAMBDA_GLIBC:-2.34}
LAMBDA_VENV=${LAMBDA_VENV:-.venv-lambda}
LAMBDA_TOOLS=${LAMBDA_TOOLS:-.tools}
CARGO_ZIGBUILD_VERSION=${CARGO_ZIGBUILD_VERSION:?set CARGO_ZIGBUILD_VERSION (make lambda does)}
CARGO=${CARGO:-cargo}

case $ARCH in
x86_64 | amd64) triple=x86_64-unknown-linux-gnu machine='X86-64' ;;
arm64 | aarch64) triple=aarch64-unknown-linux-gnu machine='AArch64' ;;
*)
    echo "build-lambda: ARCH must be x86_64 or arm64 (Lambda's Architectures), not '$ARCH'" >&2
    exit 2
    ;;
esac

step() { echo "build-lambda: $*" >&2; }

# cargo-zigbuild, into a root of the project's (cargo install builds it in a temporary folder of
# its own: unset CARGO_TARGET_DIR so that it neither uses nor fills the project's build folder).
tools=$(mkdir -p "$LAMBDA_TOOLS" && cd "$LAMBDA_TOOLS" && pwd)
zigbuild=$tools/bin/cargo-zigbuild
if [[ $("$zigbuild" --version 2>/dev/null) != "cargo-zigbuild $CARGO_ZIGBUILD_VERSION" ]]; then
    step "installing cargo-zigbuild $CARGO_ZIGBUILD_VERSION into $tools"
    env -u CARGO_TARGET_DIR -u CARGO_BUILD_TARGET_DIR \
        "$CARGO" install --locked --quiet --force --version "$CARGO_ZIGBUILD_VERSION" --root "$tools" cargo-zigbuild
fi

# zig, from the pinned ziglang wheel: cargo-zigbuild runs `$CARGO_ZIGBUILD_PYTHON_PATH -m ziglang`.
python=$root/$LAMBDA_VENV/bin/python
if ! zig_version=$("$python" -m ziglang version 2>/dev/null); then
    echo "build-lambda: no ziglang in $LAMBDA_VENV: run 'make lambda', which installs it" >&2
    exit 2
fi
export CARGO_ZIGBUILD_PYTHON_PATH=$python

# The Rust standard library for the target (the host's is always there).
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$triple"; then
    step "adding the Rust target $triple"
    rustup target add "$triple"
fi

zip=$root/target/lambda/bootstrap.zip
rm -f "$zip" # never leave an old package behind a failed build

step "cargo zigbuild --profile lambda --target $triple.$LAMBDA_GLIBC (zig $zig_version)"
PATH=$tools/bin:$PATH "$CARGO" zigbuild --locked --profile lambda --target "$triple.$LAMBDA_GLIBC" --bin bootstrap

# Where cargo put it: target/ here, or $CARGO_TARGET_DIR (CI keeps it outside the clone).
target_dir=$("$CARGO" metadata --locked --no-deps --format-version 1 |
    "$python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bin=$target_dir/$triple/lambda/bootstrap

if ! LC_ALL=C readelf --file-header "$bin" | grep -q "Machine:.*$machine"; then
    echo "build-lambda: $bin is not an $machine executable" >&2
    exit 1
fi
scripts/check-glibc.sh "$bin" "$LAMBDA_GLIBC"

# The zip, with Python's zipfile (no `zip` package needed): mode 0755 recorded as Unix
# (create_system 3) so Lambda can execute it, and a fixed timestamp so that the same binary gives
# the same zip (SAM uploads only what changed).
mkdir -p "$(dirname "$zip")"
"$python" - "$bin" "$zip" <<'EOF'
import os, sys, zipfile
binary, out = sys.argv[1], sys.argv[2]
info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
info.create_system = 3
info.external_attr = 0o100755 << 16
info.compress_type = zipfile.ZIP_DEFLATED
with open(binary, "rb") as f, zipfile.ZipFile(out + ".tmp", "w") as z:
    z.writestr(info, f.read(), compresslevel=9)
os.replace(out + ".tmp", out)
EOF
step "$zip: $(stat -c %s "$zip") bytes (bootstrap $(stat -c %s "$bin") bytes, $ARCH, glibc <= $LAMBDA_GLIBC)"
