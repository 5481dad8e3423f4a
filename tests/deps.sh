#!/usr/bin/env bash
# deps.sh - install what a bare Debian 12 needs to build and test
# libmemlane. Idempotent: does nothing when every package is present.
# Runs apt-get as root, or through sudo otherwise.
set -euo pipefail

packages=(
	build-essential  # gcc, make, libc6-dev; gcc's ASan/UBSan/TSan runtimes
	autoconf
	automake
	libtool
	pkg-config
	liblmdb-dev      # the spill store
	libzstd-dev      # spilled record compression
	libcmocka-dev    # the unit tests
	clang            # the second compiler in tests/run-all.sh
	libclang-rt-dev  # clang's runtimes: libFuzzer (libclang_rt.fuzzer) for configure --enable-fuzzing
	jq               # tests/test_dump.sh parses memlane-dump --json with it
	groff-base       # tests/test_man_render.sh formats the man pages with groff
	valgrind         # tests/run-all.sh runs the unit tests under memcheck
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done
if ((${#missing[@]} == 0)); then
	echo "deps.sh: all ${#packages[@]} packages already installed"
	exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
	sudo=()
elif command -v sudo >/dev/null 2>&1; then
	sudo=(sudo)
else
	echo "deps.sh: need root (or sudo) to install: ${missing[*]}" >&2
	exit 1
fi

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
