#!/bin/sh
# test_contract.sh - lib/memlane.h declares every name that the shared
# contract (../shared/CONTRACT.md) promises, with a compatible shape:
# ../shared/contract/symbols.c must compile against it. Nothing is run.
#
# Needs top_srcdir, top_builddir and CC (set by make check through
# AM_TESTS_ENVIRONMENT). Exit status: 0 the header matches, 1 it does
# not, 77 (skip) when symbols.c is not there (as in make distcheck, whose
# tree has no ../shared next to it), 99 when the check cannot run.

me=test_contract.sh
top_srcdir=${top_srcdir:-${srcdir:-.}/..}
top_builddir=${top_builddir:-..}
CC=${CC:-cc}
symbols=$top_srcdir/../shared/contract/symbols.c

if [ ! -f "$symbols" ]; then
	echo "$me: SKIP: $symbols not found"
	exit 77
fi
if [ ! -r "$top_srcdir/lib/memlane.h" ]; then
	echo "$me: cannot read $top_srcdir/lib/memlane.h" >&2
	exit 99
fi

# $CC may carry flags (e.g. "gcc -std=gnu11"): split it on purpose.
# shellcheck disable=SC2086
if $CC -std=gnu11 -fsyntax-only -Werror=implicit-function-declaration \
	-I"$top_srcdir/lib" -I"$top_builddir/lib" "$symbols"; then
	echo "$me: ok: lib/memlane.h declares everything $symbols uses"
	exit 0
fi
echo "$me: FAIL: lib/memlane.h does not match the contract ($symbols)" >&2
exit 1
