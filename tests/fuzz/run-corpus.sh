#!/bin/sh
# run-corpus.sh - make check with --enable-fuzzing: every harness runs
# once over each file of its seed corpus (corpus/HARNESS/), which holds
# the regression inputs of every finding fixed so far. A crash or a
# failed invariant fails the test; libFuzzer prints the input's name.
# No fuzzing here: tests/run-all.sh does that, for a bounded time.
set -u
: "${srcdir:=.}"
: "${fuzzers:=fuzz_options fuzz_record fuzz_dump fuzz_ops fuzz_restore}"
status=0
for f in $fuzzers; do
	dir=$srcdir/corpus/$f
	if [ ! -x "./$f" ]; then
		echo "run-corpus.sh: ./$f is not built" >&2
		status=1
		continue
	fi
	set -- "$dir"/*
	if [ ! -f "$1" ]; then
		echo "run-corpus.sh: no seed inputs in $dir" >&2
		status=1
		continue
	fi
	# Files as arguments: each runs once, and nothing is written.
	if ./"$f" -rss_limit_mb=2048 -timeout=30 "$@" >"$f.corpus.out" 2>&1; then
		echo "ok: $f over $# inputs of $dir"
	else
		cat "$f.corpus.out"
		echo "FAILED: $f on an input of $dir (the last 'Running:' line above)"
		status=1
	fi
done
exit $status
