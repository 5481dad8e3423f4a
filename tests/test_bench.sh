#!/bin/sh
# test_bench.sh - memlane-bench runs every workload and reports them in
# well-formed CSV and JSON. Timings are never asserted: only the form of
# the output and the arithmetic that is independent of the machine.
#
# `memlane-bench --smoke --csv` (tiny sizes, one repetition, a few
# seconds) on a small trace made here must
#  - exit 0 and print the CSV header, then rows of exactly 9 fields;
#  - have machine rows (libmemlane as `memlane-bench -V` prints it) and at
#    least one result row of every workload: traces (with rows for the
#    trace given, against glibc), access, spill, faultin, ltr, compact,
#    ratio, threads;
#  - have numbers where numbers belong, a ratio equal to memlane over
#    baseline (zstd over memlane for the compression ratio), and a mark
#    that agrees with the goal: pass when the ratio meets it, MISS when
#    not, - when the row has no goal;
#  - say in a note why jemalloc or mimalloc were skipped, when they were.
# `--json` of one workload must be JSON (checked with jq, when installed)
# with as many rows as the CSV of the same workload.
# Bad input: an unknown command, -r 0, a trace that is not a trace (exit
# 1 naming the line), a trace that does not exist: errors, with a message.
#
# Run by make check with top_builddir set; BENCH overrides the program.
# Exit status: 0 pass, 1 fail (each failure on stderr), 99 could not run.

LC_ALL=C
export LC_ALL
unset MEMLANE_OPTIONS

me=test_bench.sh
top_builddir=${top_builddir:-..}
BENCH=${BENCH:-$top_builddir/tools/memlane-bench}

hard_error() {
	echo "$me: ERROR: $*" >&2
	exit 99
}
[ -x "$BENCH" ] || hard_error "$BENCH is not built"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_bench.XXXXXX") || hard_error "cannot make a temporary directory"
trap 'rm -rf "$tmp"' 0
trap 'exit 99' 1 2 15

failed=0
fail() {
	echo "$me: FAIL: $*" >&2
	failed=1
}

# A small trace in the format of shared/data/README.md: objects made,
# some resized (one to 0 bytes, some across pages), some freed, some
# left live at the end.
awk 'BEGIN {
	for (i = 0; i < 3000; i++) {
		printf "a %d %d\n", i, (i * 37) % 600 + (i % 50 == 0 ? 9000 : 0)
		if (i % 7 == 3) printf "r %d %d\n", i, (i % 70 == 3) ? 0 : (i * 13) % 5000
		if (i >= 10 && i % 3 == 0) printf "f %d\n", i - 10
	}
}' > "$tmp/tiny.trace" || hard_error "cannot write the trace"

# ---- the CSV of a whole smoke run ------------------------------------------

"$BENCH" --smoke --csv -d "$tmp" -t "$tmp/tiny.trace" > "$tmp/out.csv" 2> "$tmp/err"
rc=$?
if [ "$rc" -ne 0 ]; then
	fail "memlane-bench --smoke --csv exited with status $rc"
	sed 's/^/    /' "$tmp/err" >&2
fi
[ "$(head -n 1 "$tmp/out.csv")" = "workload,metric,unit,memlane,baseline,ratio,goal,pass,note" ] ||
	fail "the CSV header is not workload,metric,unit,memlane,baseline,ratio,goal,pass,note"

# Split each line into its fields (RFC 4180: quoted fields may hold
# commas and doubled quotes), one line "N<TAB>f1<TAB>...<TAB>f9" a row.
awk '
function split_csv(line, f,    n, i, c, q, cur) {
	n = 0; q = 0; cur = ""
	for (i = 1; i <= length(line); i++) {
		c = substr(line, i, 1)
		if (q) {
			if (c == "\"" && substr(line, i + 1, 1) == "\"") { cur = cur "\""; i++ }
			else if (c == "\"") q = 0
			else cur = cur c
		} else if (c == "\"") q = 1
		else if (c == ",") { f[++n] = cur; cur = "" }
		else cur = cur c
	}
	f[++n] = cur
	return q ? -1 : n
}
NR > 1 {
	n = split_csv($0, f)
	out = n
	for (i = 1; i <= n; i++) out = out "\t" f[i]
	print out
}' "$tmp/out.csv" > "$tmp/fields"

bad=$(awk -F '\t' '$1 != 9' "$tmp/fields" | head -n 3)
[ -z "$bad" ] || fail "rows without exactly 9 fields: $bad"

version=$("$BENCH" -V | sed -n 's/.*(libmemlane \(.*\))$/\1/p')
[ -n "$version" ] || fail "memlane-bench -V does not name the library's version"
awk -F '\t' -v v="$version" '$2 == "machine" && $3 == "libmemlane" && $10 == v { f = 1 } END { exit !f }' \
	"$tmp/fields" || fail "no machine row libmemlane,$version"
for key in cpu cpus kernel compiler date scale command; do
	awk -F '\t' -v k="$key" '$2 == "machine" && $3 == k && $10 != "" { f = 1 } END { exit !f }' "$tmp/fields" ||
		fail "no machine row for $key"
done
awk -F '\t' '$2 == "machine" && $3 == "scale" && $10 == "smoke" { f = 1 } END { exit !f }' "$tmp/fields" ||
	fail "the machine rows do not say scale smoke"

for w in traces access spill faultin ltr compact ratio threads; do
	n=$(awk -F '\t' -v w="$w" '$2 == w' "$tmp/fields" | wc -l)
	[ "$n" -gt 0 ] || fail "no row of workload $w"
done
awk -F '\t' '$2 == "traces" && $3 == "tiny: time vs glibc" { f = 1 } END { exit !f }' "$tmp/fields" ||
	fail "no row 'tiny: time vs glibc' for the trace given with -t"
awk -F '\t' '$2 == "threads" && $3 == "tiny: 2 threads, time vs glibc" { f = 1 } END { exit !f }' "$tmp/fields" ||
	fail "no 2-thread replay row for the trace given with -t"
for peer in jemalloc mimalloc; do
	if ! awk -F '\t' -v m="tiny: time vs $peer" '$2 == "traces" && $3 == m { f = 1 } END { exit !f }' "$tmp/fields" &&
		! grep -q "^note,.*$peer.*skipped" "$tmp/out.csv"; then
		fail "neither a row against $peer nor a note saying why it was skipped"
	fi
done

# The numbers, the ratios and the marks of the result rows.
awk -F '\t' '
function num(x) { return x ~ /^-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$/ }
$2 == "machine" || $2 == "note" { next }
{
	where = $2 ": " $3
	ml = $5; base = $6; ratio = $7; goal = $8; mark = $9
	if (!num(ml)) { print where ": memlane value \"" ml "\" is not a number"; next }
	if ($4 == "") print where ": no unit"
	if (ratio == "") {
		# No ratio (no baseline, or a zero one): no verdict either.
		if (mark != "-") print where ": no ratio, but marked " mark
		next
	}
	if (!num(base) || !num(ratio)) { print where ": baseline \"" base "\" or ratio \"" ratio "\" is not a number"; next }
	if (($2 == "ratio" && $3 ~ /zstd bytes/) ? ml == 0 : base == 0) { print where ": a ratio over zero"; next }
	want = ($2 == "ratio" && $3 ~ /zstd bytes/) ? base / ml : ml / base
	if (want == 0 ? ratio != 0 : (ratio - want) / want > 0.002 || (want - ratio) / want > 0.002)
		print where ": ratio " ratio ", but the values give " want
	if (goal == "") {
		if (mark != "-") print where ": no goal, but marked " mark
		next
	}
	op = substr(goal, 1, 2); g = substr(goal, 3) + 0
	if (op != "<=" && op != ">=") { print where ": goal \"" goal "\" is not <=N or >=N"; next }
	ok = op == "<=" ? ratio <= g : ratio >= g
	if (mark != (ok ? "pass" : "MISS")) print where ": ratio " ratio " against goal " goal " is marked " mark
}' "$tmp/fields" > "$tmp/problems"
[ -s "$tmp/problems" ] && fail "$(cat "$tmp/problems")"

# ---- JSON ------------------------------------------------------------------

"$BENCH" --smoke --json -d "$tmp" compact > "$tmp/out.json" 2> "$tmp/err" || fail "--json compact exited with status $?"
"$BENCH" --smoke --csv -d "$tmp" compact > "$tmp/compact.csv" 2> "$tmp/err" || fail "--csv compact exited with status $?"
if command -v jq >/dev/null 2>&1; then
	jn=$(jq '[.rows[] | select(.workload == "compact")] | length' "$tmp/out.json" 2>&1) ||
		fail "--json output is not JSON: $jn"
	cn=$(grep -c '^compact,' "$tmp/compact.csv")
	[ "$jn" = "$cn" ] && [ "$cn" -gt 0 ] || fail "--json has $jn compact rows, --csv $cn"
	jq -e '.machine.libmemlane and (.rows | all(has("memlane") and has("baseline") and has("ratio") and has("pass")))' \
		"$tmp/out.json" >/dev/null || fail "--json rows or machine fields missing"
else
	echo "$me: note: jq not installed, --json not parsed"
fi

# Markdown: a table row for every result row of the same workload.
"$BENCH" --smoke --markdown -d "$tmp" compact > "$tmp/compact.md" 2> "$tmp/err" || fail "--markdown compact exited with status $?"
mn=$(grep -c '^| compact | ' "$tmp/compact.md")
cn=$(grep -c '^compact,' "$tmp/compact.csv")
[ "$mn" = "$cn" ] || fail "--markdown has $mn compact rows, --csv $cn"
grep -q '^| workload | metric | memlane | baseline | unit | ratio | goal | |$' "$tmp/compact.md" ||
	fail "--markdown has no table header"

# ---- bad input -------------------------------------------------------------

"$BENCH" --smoke nosuchworkload > /dev/null 2> "$tmp/err"
rc=$?
[ "$rc" -eq 2 ] && grep -q "unknown command 'nosuchworkload'" "$tmp/err" ||
	fail "an unknown command: exit $rc, message: $(cat "$tmp/err")"
"$BENCH" --smoke -r 0 traces > /dev/null 2> "$tmp/err"
rc=$?
[ "$rc" -eq 2 ] && grep -q -- "-r 0" "$tmp/err" || fail "-r 0: exit $rc, message: $(cat "$tmp/err")"
printf 'a 0 16\nx 1 2\n' > "$tmp/bad.trace"
"$BENCH" --smoke --csv -t "$tmp/bad.trace" traces > /dev/null 2> "$tmp/err"
rc=$?
[ "$rc" -eq 1 ] && grep -q "bad.trace: line 2" "$tmp/err" || fail "a bad trace line: exit $rc, message: $(cat "$tmp/err")"
printf 'a 0 16\nf 0\nf 0\n' > "$tmp/twice.trace"
"$BENCH" --smoke --csv -t "$tmp/twice.trace" traces > /dev/null 2> "$tmp/err"
rc=$?
[ "$rc" -eq 1 ] && grep -q "twice.trace: line 3: the object is not in a state" "$tmp/err" ||
	fail "a double free in a trace: exit $rc, message: $(cat "$tmp/err")"
"$BENCH" --smoke --csv -t "$tmp/none.trace" traces > /dev/null 2> "$tmp/err"
rc=$?
[ "$rc" -eq 1 ] && grep -q "none.trace: No such file" "$tmp/err" || fail "a missing trace: exit $rc, message: $(cat "$tmp/err")"

# Nothing left in the scratch directory's parent.
left=$(find "$tmp" -maxdepth 1 -name 'memlane-bench-*' | head -n 1)
[ -z "$left" ] || fail "memlane-bench left $left behind"

if [ "$failed" -ne 0 ]; then
	exit 1
fi
echo "$me: ok: $(grep -c . "$tmp/fields") CSV rows of 8 workloads well-formed, ratios and marks consistent"
exit 0
