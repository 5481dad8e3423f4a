#!/usr/bin/env bash
# fault-sites.sh - which call sites of lib/ test_faults fails, against
# the list of call sites in the source.
#
#   tests/fault-sites.sh BUILD_DIR [LOG]
#
# Runs BUILD_DIR/tests/test_faults with FAULTS_VERBOSE=1 (or reads LOG,
# the standard error of such a run), maps each call site in
# libmemlane.so to its source line with addr2line (a -g build), and
# compares with the calls of the interposed functions found in lib/*.c
# (calls that cannot fail, such as mdb_txn_abort or ZSTD_freeCCtx, are
# not listed; nor are options.c and debug.c, which are not on the store
# path). A source line with two calls of one function (open_dbis,
# empty_txn, the cursor loops) counts twice. The calls LMDB makes for
# the library (pwrite, fdatasync, malloc, ...) are counted apart: they
# have no line in lib/. Not part of make check.
set -euo pipefail

build=${1:?usage: fault-sites.sh BUILD_DIR [LOG]}
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
so=$build/lib/.libs/libmemlane.so
log=${2:-}
if [[ -z $log ]]; then
	log=$(mktemp)
	trap 'rm -f "$log"' EXIT
	(cd "$build/tests" && FAULTS_VERBOSE=1 ./test_faults >/dev/null 2>"$log") || true
fi

fns='malloc|calloc|realloc|strdup|open_memstream|open|mkdir|stat|statvfs|flock|unlink|mmap|mdb_[a-z_]+|ZSTD_[A-Za-z_0-9]+'
skip='mdb_txn_abort|mdb_env_close|mdb_cursor_close|mdb_strerror|ZSTD_free|ZSTD_isError|ZSTD_getErrorName|ZSTD_compressBound|ZSTD_getErrorCode'

# fn file:line, one per call in the source
(cd "$top" && grep -noE "\b($fns)\(" lib/*.c) | grep -vE "$skip" | grep -vE '^lib/(options|debug)\.c:' |
	awk -F: '{ sub(/\($/, "", $3); print $3, $1 ":" $2 }' | sort >"$log.static"

# fn file:line covered|seen, one per site in the binary
grep '^test_faults: site .* libmemlane+' "$log" | while read -r _ _ fn loc state _; do
	off=$((${loc#libmemlane+} - 1))
	where=$(addr2line -i -e "$so" "$(printf '%x' "$off")" | head -n 1)
	where=lib/${where##*/lib/}
	where=${where%% *}
	echo "$fn $where $state"
done | sort >"$log.dynamic"

total=0
covered=0
while read -r n fn where; do
	c=$(awk -v f="$fn" -v w="$where" '$1 == f && $2 == w && $3 == "covered"' "$log.dynamic" | wc -l)
	((c > n)) && c=$n
	total=$((total + n))
	covered=$((covered + c))
	printf '%-24s %-22s %d/%d\n' "$fn" "$where" "$c" "$n"
done < <(uniq -c "$log.static")
lmdb=$(grep -c '^test_faults: site .* liblmdb+.* covered' "$log" || true)
lmdb_all=$(grep -c '^test_faults: site .* liblmdb+' "$log" || true)
echo "lib/ call sites: $total; failed by test_faults (and passed): $covered"
echo "calls LMDB makes for the store (liblmdb.so sites): $lmdb_all; failed and passed: $lmdb"
rm -f "$log.static" "$log.dynamic"
