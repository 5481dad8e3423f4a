#!/usr/bin/env bash
# test_dump.sh - memlane-dump(1) against stores whose contents are known.
#
# tests/mkstore builds stores through the public API and writes down what
# each holds (DIR.manifest: handle, size, tag of every object, and the
# roots; DIR.expected/HANDLE: the exact bytes). Then, for
#   - a closed persistent store,
#   - a persistent store held open by a running arena (mkstore live),
#     whose changes after its last checkpoint must not show,
#   - a scratch store held open by a running arena (mkstore live-scratch),
#   - the store the persistent arena leaves when it closes (the scratch
#     one leaves none),
# every mode of memlane-dump, as text and as JSON (parsed with jq), must
# agree with the manifest: the summary's counts and byte totals, --list,
# --roots, --stats, --hex (against a hex dump made here with od) and
# --raw (byte for byte with cmp; base64 in JSON), --verify.
# Also: a dump never writes data.mdb; a dump holding a read transaction
# does not hold up the arena's checkpoint; a dump killed by a signal
# inside its transaction leaves no stale reader slot in lock.mdb; damaged copies (a record's
# payload or header, a missing record, a handle table entry or the size
# in it; made by
# mkstore through LMDB directly) make --verify exit 1 naming the handle
# and --raw of that handle exit 1, while every other object still reads
# back exact; and bad input (missing, foreign or cut-short stores, bad
# handles and options) is exit 2 with a message, never a crash or a hang.
#
# Needs bash, jq (skipped with status 77 without it), od, cmp, base64,
# timeout, sha256sum, mkfifo. Run by make check with top_builddir set;
# DUMP and MKSTORE override the programs' paths.
# Exit status: 0 pass, 1 fail (each failure on stderr), 77 skip, 99 the
# test could not run.

# jq filters use $variables in single quotes on purpose (SC2016);
# cleanup runs from a trap (SC2317).
# shellcheck disable=SC2016,SC2317

LC_ALL=C
export LC_ALL
unset MEMLANE_OPTIONS

me=test_dump.sh
top_builddir=${top_builddir:-..}
DUMP=${DUMP:-$top_builddir/tools/memlane-dump}
MKSTORE=${MKSTORE:-$top_builddir/tests/mkstore}
LIMIT=10 # seconds any one memlane-dump run may take

hard_error() {
	echo "$me: ERROR: $*" >&2
	exit 99
}

if ! command -v jq >/dev/null 2>&1; then
	echo "$me: SKIP: jq is not installed (tests/deps.sh installs it)"
	exit 77
fi
for t in od cmp base64 timeout sha256sum mkfifo stat; do
	command -v "$t" >/dev/null 2>&1 || hard_error "'$t' is not installed"
done
[ -x "$DUMP" ] || hard_error "$DUMP is not built"
[ -x "$MKSTORE" ] || hard_error "$MKSTORE is not built"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_dump.XXXXXX") || hard_error "cannot make a temporary directory"
bg_pids=()
cleanup() {
	local pid
	for pid in "${bg_pids[@]}"; do
		kill "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 99' HUP INT TERM

failed=0
fail() {
	echo "$me: FAIL: $*" >&2
	failed=1
}

# dump ARGS...: memlane-dump with a time limit; standard output in
# $tmp/out, standard error in $tmp/err, exit status in $rc. A hang (124)
# or a death by signal (>= 128) fails whatever the caller expects.
dump() {
	timeout "$LIMIT" "$DUMP" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if ((rc == 124)); then
		fail "memlane-dump $*: still running after $LIMIT s"
	elif ((rc >= 128)); then
		fail "memlane-dump $*: killed by signal $((rc - 128)): $(head -c 300 "$tmp/err")"
	elif grep -Eq 'Sanitizer|runtime error:' "$tmp/err"; then
		# (a sanitizer's exit status could pass for an expected 1)
		fail "memlane-dump $*: $(grep -E -m1 'Sanitizer|runtime error:' "$tmp/err")"
	fi
}

# expect STATUS ARGS...: dump, and fail unless it exits with STATUS.
# Returns 0 when it did, so that callers go on to check the output.
expect() {
	local want=$1
	shift
	dump "$@"
	if ((rc != want)); then
		fail "memlane-dump $*: exit $rc, expected $want; stderr: $(head -c 300 "$tmp/err")"
		return 1
	fi
	return 0
}

# jcheck WHAT FILTER [jq options...]: FILTER yields true on $tmp/out.
jcheck() {
	local what=$1 filter=$2
	shift 2
	local got
	got=$(jq -e "$@" "$filter" "$tmp/out" 2>&1) ||
		fail "$what: jq '$filter' gave '${got:-nothing}' on: $(head -c 400 "$tmp/out")"
}

# The hex dump memlane-dump --hex prints, made from od: offset, 16
# bytes in two groups of eight, the printable ones between bars.
hexdump_of() {
	od -An -v -tu1 "$1" | awk '
	{
		line = sprintf("%08x  ", off)
		asc = ""
		for (i = 1; i <= 16; i++) {
			if (i <= NF) {
				b = $i + 0
				line = line sprintf("%02x ", b)
				asc = asc ((b >= 32 && b < 127) ? sprintf("%c", b) : ".")
			} else {
				line = line "   "
			}
			if (i == 8)
				line = line " "
		}
		print line " |" asc "|"
		off += NF
	}'
}

hex_of() {
	od -An -v -tx1 "$1" | tr -d ' \n'
}

# ---- one store against its manifest ----------------------------------

# check_store DIR PREFIX PERSIST LABEL EXACT FULL: every mode of
# memlane-dump on DIR agrees with PREFIX.manifest and PREFIX.expected/.
# PERSIST is true or false (the kind of store); EXACT is true when the
# store holds one record per object and nothing else (a closed store),
# so --verify must count exactly that many. Every object's bytes are
# checked with --raw; with FULL true also as JSON and both hex dumps
# (else that is done for one object: each run costs time).
check_store() {
	local dir=$1 prefix=$2 persist=$3 label=$4 exact=$5 full=$6
	local objs=$tmp/$label.objects roots=$tmp/$label.roots
	awk '$1 == "object" { print $2, $3, $4 }' "$prefix.manifest" | sort >"$objs"
	awk '$1 == "root" { h = $2; sub(/^root [^ ]+ /, ""); print h, $0 }' "$prefix.manifest" | sort >"$roots"
	local n sum nroots
	n=$(wc -l <"$objs")
	sum=$(awk '{ s += $2 } END { print s + 0 }' "$objs")
	nroots=$(wc -l <"$roots")
	((n > 0)) || hard_error "$prefix.manifest lists no object"
	if [ "$persist" = true ]; then
		((nroots == 2)) || hard_error "$prefix.manifest lists $nroots roots, not 2"
	fi

	# Summary.
	if expect 0 "$dir"; then
		grep -qx "objects: *$n" "$tmp/out" || fail "$label: summary does not say 'objects: $n': $(cat "$tmp/out")"
		grep -qx "raw bytes: *$sum" "$tmp/out" || fail "$label: summary does not say 'raw bytes: $sum'"
		grep -qx "format: *1" "$tmp/out" || fail "$label: summary does not say 'format: 1'"
		if [ "$persist" = true ]; then
			grep -q "^kind: *persistent" "$tmp/out" || fail "$label: summary does not say the store is persistent"
			grep -Eq "^last checkpoint: *[1-9][0-9]* at [0-9]{4}-" "$tmp/out" ||
				fail "$label: summary names no checkpoint"
		else
			grep -q "^kind: *scratch" "$tmp/out" || fail "$label: summary does not say the store is scratch"
			grep -qx "last checkpoint: *none" "$tmp/out" || fail "$label: summary names a checkpoint"
		fi
	fi
	local summary=$tmp/$label.summary.json
	if expect 0 --json "$dir"; then
		cp "$tmp/out" "$summary"
		jcheck "$label: summary JSON" \
			'.store == $dir and .format == 1 and .persist == $persist and .objects == $n and
			 .raw_bytes == $sum and .stored_bytes > 0 and (.arena_id | type) == "number"' \
			--arg dir "$dir" --argjson persist "$persist" --argjson n "$n" --argjson sum "$sum"
		if [ "$persist" = true ]; then
			jcheck "$label: summary JSON checkpoint" \
				'.checkpoint.sequence >= 1 and .checkpoint.time > 1500000000 and
				 (.checkpoint.time_utc | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T")) and .options.persist == 1'
		else
			jcheck "$label: summary JSON checkpoint" \
				'.checkpoint.sequence == 0 and .checkpoint.time_utc == null and .options.persist == 0'
		fi
		jcheck "$label: summary JSON options" '.options.compression == "zstd" and .options.compression_level == 3'
	else
		echo '{}' >"$summary"
	fi

	# --list: the manifest's objects, and a codec that fits the size.
	if expect 0 --list "$dir"; then
		[ "$(awk 'NR == 1 { $1 = $1; print }' "$tmp/out")" = "handle size stored codec tag seq checkpoint" ] ||
			fail "$label: --list header is '$(head -1 "$tmp/out")'"
		awk 'NR > 1 { print $1, $2, $5 }' "$tmp/out" | sort | diff "$objs" - >"$tmp/diff" ||
			fail "$label: --list (handle size tag) differs from the manifest: $(cat "$tmp/diff")"
		awk 'NR > 1 && !(($4 == "raw" && $3 > $2 + 48 && $3 <= $2 + 57 + 3 * (int($2 / 131072) + 1)) || ($4 == "zstd" && $3 < $2 + 40))' "$tmp/out" >"$tmp/bad"
		[ -s "$tmp/bad" ] && fail "$label: --list rows whose stored size does not fit the codec: $(cat "$tmp/bad")"
		grep -q ' zstd ' "$tmp/out" || fail "$label: --list shows no zstd record"
		grep -q ' raw ' "$tmp/out" || fail "$label: --list shows no raw record"
	fi
	if expect 0 --list --json "$dir"; then
		jq -r '.[] | "\(.handle) \(.size) \(.tag)"' "$tmp/out" | sort | diff "$objs" - >"$tmp/diff" ||
			fail "$label: --list --json differs from the manifest: $(cat "$tmp/diff")"
		jcheck "$label: --list --json" \
			'length == $n and all(.[]; .codec == "raw" or .codec == "zstd") and
			 ([.[].seq] | unique | length) == $n and (map(.stored) | add) == $s[0].stored_bytes' \
			--argjson n "$n" --slurpfile s "$summary"
		if [ "$persist" = true ]; then
			jcheck "$label: --list --json checkpoints" \
				'all(.[]; .checkpoint >= 1 and .checkpoint <= $s[0].checkpoint.sequence)' --slurpfile s "$summary"
		fi
	fi

	# --roots.
	if expect 0 --roots "$dir"; then
		while read -r h name; do
			printf '%-32s %s\n' "$name" "$h"
		done <"$roots" | sort >"$tmp/roots.want"
		sort "$tmp/out" | diff "$tmp/roots.want" - >"$tmp/diff" ||
			fail "$label: --roots differs from the manifest: $(cat "$tmp/diff")"
	fi
	if expect 0 --roots --json "$dir"; then
		jq -r 'to_entries[] | "\(.value) \(.key)"' "$tmp/out" | sort | diff "$roots" - >"$tmp/diff" ||
			fail "$label: --roots --json differs from the manifest: $(cat "$tmp/diff")"
	fi

	# --stats: LMDB's counts against what the store holds.
	local table=0
	[ "$persist" = true ] && table=$n
	if expect 0 --stats "$dir"; then
		grep -Eq '^page size: +[0-9]+$' "$tmp/out" || fail "$label: --stats prints no page size"
		grep -Eq "^  handles +depth [0-9]+, .*, $table entries\$" "$tmp/out" ||
			fail "$label: --stats does not count $table handle table entries: $(grep handles "$tmp/out")"
		grep -Eq "^  roots +depth [0-9]+, .*, $nroots entries\$" "$tmp/out" ||
			fail "$label: --stats does not count $nroots roots"
	fi
	if expect 0 --stats --json "$dir"; then
		jcheck "$label: --stats --json" \
			'.page_size >= 512 and .pages_used >= 2 and .pages_used <= .pages_total and .free_list_pages >= 0 and
			 .readers >= 1 and .max_readers >= .readers and .databases.objects.entries >= $n and
			 .databases.handles.entries == $table and .databases.roots.entries == $nroots and
			 .databases.meta.entries >= 4' \
			--argjson n "$n" --argjson table "$table" --argjson nroots "$nroots"
	fi

	# Every object's bytes, four ways.
	local h size tag want one
	one=$(awk '$2 > 0 && $2 % 3 == 1 { print $1; exit }' "$objs")
	while read -r h size tag; do
		want=$prefix.expected/$h
		[ -f "$want" ] || hard_error "$want is missing"
		if expect 0 --raw "$h" "$dir"; then
			cmp -s "$tmp/out" "$want" || fail "$label: --raw $h: bytes differ from what was written"
		fi
		[ "$full" = true ] || [ "$h" = "$one" ] || continue
		if expect 0 --json --raw "$h" "$dir"; then
			jcheck "$label: --raw $h --json" '.handle == $h and .size == $size and .tag == $tag' \
				--arg h "$h" --argjson size "$size" --argjson tag "$tag"
			jq -r .base64 "$tmp/out" | base64 -d | cmp -s - "$want" ||
				fail "$label: --raw $h --json: base64 does not decode to the bytes written"
		fi
		# (awk is slow at a megabyte; JSON covers the large ones.)
		if ((size <= 70000)) && expect 0 --hex "$h" "$dir"; then
			hexdump_of "$want" | diff - "$tmp/out" >"$tmp/diff" ||
				fail "$label: --hex $h differs from the bytes written: $(head -5 "$tmp/diff")"
		fi
		if expect 0 --hex "$h" --json "$dir"; then
			jcheck "$label: --hex $h --json" '.handle == $h and .size == $size and .tag == $tag' \
				--arg h "$h" --argjson size "$size" --argjson tag "$tag"
			[ "$(jq -r .hex "$tmp/out")" = "$(hex_of "$want")" ] ||
				fail "$label: --hex $h --json: .hex is not the bytes written"
		fi
	done <"$objs"

	# HANDLE as --list prints it, in decimal (also with a leading 0,
	# which is not octal), with 0X and capitals; short options.
	h=$(sort -k2,2n "$objs" | tail -1 | cut -d' ' -f1)
	want=$prefix.expected/$h
	local dec upper
	dec=$(printf '%u' "$h")
	upper=0X$(printf '%s' "${h#0x}" | tr a-f A-F)
	for form in "$dec" "0$dec" "$upper"; do
		if expect 0 -o "$form" "$dir"; then
			cmp -s "$tmp/out" "$want" || fail "$label: -o $form (handle $h) gives other bytes"
		fi
	done
	if expect 0 -x "$dec" "$dir"; then
		hexdump_of "$want" | cmp -s - "$tmp/out" || fail "$label: -x $dec (handle $h) gives another dump"
	fi

	# --verify.
	if expect 0 --verify "$dir"; then
		grep -Eq '^verify: [0-9]+ records checked, 0 damaged' "$tmp/out" ||
			fail "$label: --verify says: $(cat "$tmp/out")"
	fi
	if expect 0 --verify --json "$dir"; then
		jcheck "$label: --verify --json" '.ok == true and .damaged == [] and .damaged_count == 0 and .records >= $n' \
			--argjson n "$n"
		if [ "$exact" = true ]; then
			jcheck "$label: --verify --json record count" '.records == $n' --argjson n "$n"
		fi
	fi
}

# ---- a closed persistent store -------------------------------------------

p=$tmp/p
"$MKSTORE" "$p" persist >"$tmp/mk.out" 2>&1 || hard_error "mkstore $p persist failed: $(cat "$tmp/mk.out")"
# What a dump must leave as it is: data.mdb's bytes and times, the files.
store_state() {
	sha256sum <"$1/data.mdb"
	stat -c '%y %z %s' "$1/data.mdb"
	find "$1" -mindepth 1 -printf '%f\n' | sort
}
before=$(store_state "$p")
check_store "$p" "$p" true closed true true
after=$(store_state "$p")
[ "$before" = "$after" ] || fail "memlane-dump changed the store: before '$before', after '$after'"

if expect 0 -V; then
	grep -q '^memlane-dump (libmemlane) .*store format 1' "$tmp/out" || fail "-V prints '$(cat "$tmp/out")'"
fi
if expect 0 --help; then
	grep -q '^usage: memlane-dump' "$tmp/out" || fail "--help prints no usage on standard output"
fi

# ---- damaged copies ----------------------------------------------------------

expect 0 --list --json "$p" || hard_error "cannot list $p"
cp "$tmp/out" "$tmp/p.list.json"
pick() { jq -r "$1" "$tmp/p.list.json"; }
h_zstd=$(pick '[.[] | select(.codec == "zstd")] | max_by(.size) | .handle')
h_raw=$(pick '[.[] | select(.codec == "raw" and .size > 0)] | max_by(.size) | .handle')
h_small=$(pick '[.[] | select(.size > 0)] | min_by(.size) | .handle')
h_mid=$(pick '[.[] | select(.codec == "zstd")] | min_by(.size) | .handle')
h_other=$(pick '[.[] | select(.codec == "raw" and .size > 0)] | min_by(.size) | .handle')
for h in "$h_zstd" "$h_raw" "$h_small" "$h_mid" "$h_other"; do
	[[ $h == 0x* ]] || hard_error "could not choose objects to damage from $p"
done

# damaged NAME LIST_STATUS HOW:HANDLE...: a copy of $p with the records
# of each HANDLE damaged as HOW; --verify names exactly those handles,
# their bytes are refused, the other objects' bytes are exact (every
# one when several are damaged, else the ones next to the damaged
# handle in the list). --list exits LIST_STATUS (it sees missing or
# unreadable records, not bad payloads).
damaged() {
	local name=$1 list_status=$2
	shift 2
	local d=$tmp/damaged-$name hs=() spec h how
	cp -a "$p" "$d" || hard_error "cannot copy $p"
	for spec in "$@"; do
		how=${spec%%:*}
		h=${spec#*:}
		"$MKSTORE" "$d" corrupt "$h" "$how" >"$tmp/mk.out" 2>&1 ||
			hard_error "mkstore $d corrupt $h $how failed: $(cat "$tmp/mk.out")"
		hs+=("$h")
	done
	local nd=${#hs[@]}
	if expect 1 --verify "$d"; then
		for h in "${hs[@]}"; do
			grep -q "^damaged: handle $h " "$tmp/out" || fail "$name: --verify does not name $h: $(cat "$tmp/out")"
		done
		[ "$(grep -c '^damaged: ' "$tmp/out")" -eq "$nd" ] ||
			fail "$name: --verify names other handles too: $(cat "$tmp/out")"
		grep -q "^verify: [0-9]* records checked, $nd damaged\$" "$tmp/out" ||
			fail "$name: --verify summary line: $(tail -1 "$tmp/out")"
	fi
	if expect 1 --verify --json "$d"; then
		jcheck "$name: --verify --json" \
			'.ok == false and .damaged_count == ($hs | length) and
			 ([.damaged[].handle] | sort) == ($hs | sort) and all(.damaged[]; (.error | length) > 0)' \
			--argjson hs "$(printf '%s\n' "${hs[@]}" | jq -R . | jq -s .)"
	fi
	for h in "${hs[@]}"; do
		if expect 1 --raw "$h" "$d"; then
			[ -s "$tmp/out" ] && fail "$name: --raw $h wrote bytes of a damaged object"
			grep -q "$h" "$tmp/err" || fail "$name: --raw $h: the message does not name the handle: $(cat "$tmp/err")"
		fi
		if expect 1 --hex "$h" --json "$d"; then
			[ -s "$tmp/out" ] && fail "$name: --hex $h --json printed output for a damaged object"
		fi
	done
	local others
	if ((nd > 1)); then
		others=$(cut -d' ' -f1 "$tmp/closed.objects")
	else
		others=$(grep -C1 "^${hs[0]} " "$tmp/closed.objects" | cut -d' ' -f1)
	fi
	for h in $others; do
		[[ " ${hs[*]} " == *" $h "* ]] && continue
		if expect 0 --raw "$h" "$d"; then
			cmp -s "$tmp/out" "$p.expected/$h" || fail "$name: --raw $h of an undamaged object differs"
		fi
	done
	expect "$list_status" --list "$d"
	if expect "$list_status" --list --json "$d"; then
		jcheck "$name: --list --json" 'type == "array"'
	fi
	expect 0 "$d"
	expect 0 --roots "$d"
}

damaged payload-zstd 0 "payload:$h_zstd"
damaged payload-raw 0 "payload:$h_raw"
damaged payload-small 0 "payload:$h_small"
damaged header 1 "header:$h_mid"
damaged missing-record 1 "delete:$h_other"
damaged table-entry 1 "table:$h_raw"
damaged table-size 0 "size:$h_mid"
damaged several 1 "payload:$h_zstd" "payload:$h_raw" "delete:$h_small"

# ---- bit flips anywhere in data.mdb: --verify against the library ----------------

# Each flip in a fresh copy of $p. mkstore check reads every object with
# the library (which checks each record's hash and size): "refused", or
# "damaged HANDLE" for each MEMLANE_ECORRUPT, never wrong bytes. Then
# memlane-dump --verify must agree: it refuses the store (exit 2) only
# when the library does, it finds it sound (exit 0) only when the library
# found no damage, and otherwise (exit 1) it names exactly the handles
# the library found damaged. Neither may crash or hang.
# MEMLANE_DUMP_FLIPS (default 24) and MEMLANE_DUMP_SEED set the loop.
flips=${MEMLANE_DUMP_FLIPS:-24}
RANDOM=${MEMLANE_DUMP_SEED:-1}
fsize=$(stat -c %s "$p/data.mdb")
n_sound=0 n_named=0 n_refused=0
for ((i = 0; i < flips; i++)); do
	off=$(((RANDOM * 32768 + RANDOM) % fsize))
	mask=$((1 << (RANDOM % 8)))
	what="flip $i (byte $off of $fsize, mask $mask)"
	d=$tmp/flip
	rm -rf "$d"
	mkdir "$d" && cp "$p/data.mdb" "$d/" || hard_error "cannot copy $p"
	"$MKSTORE" "$d" flip "$off" "$mask" >"$tmp/mk.out" 2>&1 || hard_error "mkstore flip: $(cat "$tmp/mk.out")"
	dump --verify "$d"
	vrc=$rc
	cp "$tmp/out" "$tmp/flip.verify"
	verr=$(head -c 300 "$tmp/err")
	timeout "$LIMIT" "$MKSTORE" "$d" check "$p" >"$tmp/flip.check" 2>"$tmp/flip.err"
	crc=$?
	if ((crc != 0)) || ! grep -Eq '^(ok|refused)' "$tmp/flip.check"; then
		fail "$what: the library: exit $crc: $(head -c 300 "$tmp/flip.err")"
		continue
	fi
	if grep -q '^refused' "$tmp/flip.check"; then
		n_refused=$((n_refused + 1))
		((vrc == 1 || vrc == 2)) ||
			fail "$what: the library refuses the store ($(head -c 200 "$tmp/flip.check")), memlane-dump --verify exits $vrc"
		continue
	fi
	lib=$(awk '$1 == "damaged" { print $2 }' "$tmp/flip.check" | sort -u | tr '\n' ' ')
	named=$(awk '$1 == "damaged:" && $2 == "handle" { print $3 }' "$tmp/flip.verify" | sort -u | tr '\n' ' ')
	if [ -z "$lib" ]; then
		n_sound=$((n_sound + 1))
		((vrc == 0)) || fail "$what: the library reads every object exact; memlane-dump --verify exits $vrc: $(head -c 300 "$tmp/flip.verify") $verr"
	else
		n_named=$((n_named + 1))
		((vrc == 1)) || fail "$what: the library finds $lib damaged; memlane-dump --verify exits $vrc: $verr"
		[ "$lib" = "$named" ] ||
			fail "$what: the library finds '$lib' damaged, memlane-dump --verify names '$named': $(head -c 400 "$tmp/flip.verify")"
	fi
done
echo "$me: $flips bit flips: $n_sound sound, $n_named with the damaged handles named, $n_refused refused"

# ---- bad input: exit 2 and a message, nothing on standard output -----------------

# usage_error WHAT PATTERN ARGS...: exit 2, stderr matching PATTERN
# (grep -E), standard output empty.
usage_error() {
	local what=$1 pattern=$2
	shift 2
	if expect 2 "$@"; then
		grep -Eq -- "$pattern" "$tmp/err" || fail "$what: message '$(head -c 300 "$tmp/err")' does not match '$pattern'"
		[ -s "$tmp/out" ] && fail "$what: printed on standard output: $(head -c 200 "$tmp/out")"
	fi
}

h_any=$(pick '.[0].handle')
usage_error "no directory" "no SPILL_DIR"
usage_error "two directories" "more than one SPILL_DIR" "$p" "$p"
usage_error "unknown long option" "unknown option '--bogus'" --bogus "$p"
usage_error "unknown short option" "unknown option '-z'" -z "$p"
usage_error "unknown option in a cluster" "unknown option '-z'" -lz "$p"
# A store file that is a symbolic link (LMDB would follow it, and write
# through lock.mdb): refused, and the file it points to left alone.
for f in lock.mdb data.mdb; do
	sl=$tmp/symlinked-$f
	rm -rf "$sl"
	cp -r "$p" "$sl"
	rm -f "$sl/lock.mdb"
	mv "$sl/$f" "$tmp/target-$f" 2>/dev/null || : >"$tmp/target-$f"
	ln -s "$tmp/target-$f" "$sl/$f"
	before=$(cksum <"$tmp/target-$f")
	usage_error "$f a symbolic link" "$f' is a symbolic link, not a plain file" "$sl"
	[ "$(cksum <"$tmp/target-$f")" = "$before" ] || fail "$f a symbolic link: its target was changed"
done
usage_error "--hex without a handle" "needs a HANDLE" "$p" --hex
usage_error "-o without a handle" "needs a HANDLE" "$p" -o
for pair in "-l -r" "-s --verify" "--roots --list" "--verify -l"; do
	# shellcheck disable=SC2086
	usage_error "two modes: $pair" "choose one of" $pair "$p"
done
usage_error "two modes: --hex --raw" "choose one of" --hex "$h_any" --raw "$h_any" "$p"
usage_error "two modes: --list --raw" "choose one of" --list --raw "$h_any" "$p"
for bad in zz "" 0 0x 0x0x5 -1 " 1" +1 1.5 0x1g 1e3 99999999999999999999999 0x10000000000000000 " $h_any"; do
	usage_error "handle '$bad'" "is not a handle" --raw "$bad" "$p"
	usage_error "handle '$bad' (--hex, JSON)" "is not a handle" --json --hex "$bad" "$p"
done
usage_error "handle not in the store" "holds no object" --raw 0x12345 "$p"
usage_error "handle of another generation" "holds no object" --hex "0x$(printf '%016x' $(("$h_any" + (1 << 32))))" "$p"
usage_error "bad handle, no store" "is not a handle" --raw zz "$tmp/nonexistent"

usage_error "nonexistent directory" "No such file" "$tmp/nonexistent"
[ -e "$tmp/nonexistent" ] && fail "memlane-dump created $tmp/nonexistent"
: >"$tmp/a-file"
usage_error "a file" "not a directory" "$tmp/a-file"
usage_error "a file (--list)" "not a directory" --list "$tmp/a-file"
mkdir "$tmp/empty"
usage_error "an empty directory" "not a libmemlane store" "$tmp/empty"
usage_error "an empty directory (--verify --json)" "not a libmemlane store" --verify --json "$tmp/empty"
[ -z "$(ls -A "$tmp/empty")" ] || fail "memlane-dump created files in an empty directory: $(ls -A "$tmp/empty")"
for kind in plain noformat format2; do
	"$MKSTORE" "$tmp/foreign-$kind" foreign "$kind" >"$tmp/mk.out" 2>&1 ||
		hard_error "mkstore foreign $kind failed: $(cat "$tmp/mk.out")"
done
for mode in "" --list --roots --stats --verify --json; do
	# shellcheck disable=SC2086
	usage_error "foreign LMDB environment $mode" "not a libmemlane store" $mode "$tmp/foreign-plain"
	# shellcheck disable=SC2086
	usage_error "no format record $mode" "not a libmemlane store|no format record" $mode "$tmp/foreign-noformat"
	# shellcheck disable=SC2086
	usage_error "store format 2 $mode" "format 2" $mode "$tmp/foreign-format2"
done
usage_error "foreign store, --raw" "not a libmemlane store" --raw "$h_any" "$tmp/foreign-plain"
mkdir "$tmp/garbage"
head -c 65536 /dev/urandom >"$tmp/garbage/data.mdb"
usage_error "data.mdb of random bytes" "cannot open the LMDB environment" "$tmp/garbage"
mkdir "$tmp/zero"
: >"$tmp/zero/data.mdb"
usage_error "empty data.mdb" "cannot open the LMDB environment" --verify "$tmp/zero"
for cut in 8192 16384 $(($(stat -c %s "$p/data.mdb") - 4096)); do
	rm -rf "$tmp/cut"
	mkdir "$tmp/cut"
	head -c "$cut" "$p/data.mdb" >"$tmp/cut/data.mdb"
	for mode in "" --list --stats --verify; do
		# shellcheck disable=SC2086
		usage_error "data.mdb cut to $cut bytes $mode" "cut short" $mode "$tmp/cut"
	done
done

# ---- live stores: an arena holds the directory ---------------------------------

# live_start DIR MODE: start mkstore DIR MODE in the background, reading a
# FIFO kept open on descriptor $live_fd; wait for its "ready".
live_start() {
	local dir=$1 mode=$2
	mkfifo "$dir.in" || hard_error "mkfifo $dir.in"
	"$MKSTORE" "$dir" "$mode" <"$dir.in" >"$dir.out" 2>"$dir.err" &
	live_pid=$!
	bg_pids+=("$live_pid")
	exec {live_fd}>"$dir.in"
	local i
	for ((i = 0; i < 600; i++)); do
		grep -qx ready "$dir.out" 2>/dev/null && return 0
		kill -0 "$live_pid" 2>/dev/null || break
		sleep 0.1
	done
	hard_error "mkstore $dir $mode never got ready: $(cat "$dir.err")"
}

# live_finish DIR SCRATCH: close the FIFO (mkstore carries on: more
# changes, a checkpoint or flush, close) and wait, at most 60 s, for its
# exit 0. Meanwhile memlane-dump --verify runs again and again on the
# store being written: each run must succeed; only once a scratch arena
# (SCRATCH true) has deleted its files at close may it find no store.
live_finish() {
	local dir=$1 scratch=$2 i runs=0
	exec {live_fd}>&-
	for ((i = 0; i < 600; i++)); do
		kill -0 "$live_pid" 2>/dev/null || break
		if ((runs < 10)); then
			runs=$((runs + 1))
			dump --verify --json "$dir"
			if ((rc == 0)); then
				jcheck "$dir: --verify while the arena writes" '.ok == true'
			elif ! [ "$scratch" = true ] || ((rc != 2)) || [ -e "$dir/data.mdb" ]; then
				fail "memlane-dump --verify --json $dir while the arena writes: exit $rc: $(head -c 300 "$tmp/err")"
			fi
		else
			sleep 0.1
		fi
	done
	if kill -0 "$live_pid" 2>/dev/null; then
		kill "$live_pid"
		hard_error "mkstore on $dir did not finish within 60 s of its go"
	fi
	wait "$live_pid"
	local status=$?
	((status == 0)) || fail "mkstore on $dir exited $status after the dumps: $(cat "$dir.err")"
	grep -q '^done' "$dir.out" || fail "mkstore on $dir did not finish its work: $(cat "$dir.out" "$dir.err")"
}

# Persistent: while the arena runs, the dump shows its last checkpoint
# (the manifest), not the changes made since.
lv=$tmp/live
live_start "$lv" live
check_store "$lv" "$lv" true live false false
# A dump that dies of a signal inside its read transaction gives its
# slot in lock.mdb back first: LMDB frees the slots of dead readers only
# in mdb_reader_check, and until then the running arena could not reuse
# the pages of that snapshot. One is blocked writing to a FIFO nobody
# reads and gets SIGTERM; one writes into "| head -c 100" (SIGPIPE).
big=$(sort -k2,2n "$tmp/live.objects" | tail -1 | cut -d' ' -f1)
mkfifo "$tmp/slow"
"$DUMP" --raw "$big" "$lv" >"$tmp/slow" 2>"$tmp/slow.err" {live_fd}>&- &
slow_pid=$!
bg_pids+=("$slow_pid")
exec {slow_fd}<"$tmp/slow"
head -c 4096 <&"$slow_fd" >/dev/null
kill -TERM "$slow_pid"
for ((i = 0; i < 100; i++)); do
	kill -0 "$slow_pid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$slow_pid" 2>/dev/null; then
	fail "memlane-dump --raw still runs 10 s after SIGTERM"
	kill -KILL "$slow_pid"
fi
wait "$slow_pid"
status=$?
exec {slow_fd}<&-
((status == 128 + 15)) || fail "memlane-dump --raw killed with SIGTERM: exit $status: $(cat "$tmp/slow.err")"
"$MKSTORE" "$lv" readers >"$tmp/readers" 2>&1 || hard_error "mkstore readers: $(cat "$tmp/readers")"
grep -qx 'stale 0' "$tmp/readers" ||
	fail "memlane-dump killed with SIGTERM left its reader slot in lock.mdb ($(cat "$tmp/readers"))"
"$DUMP" --raw "$big" "$lv" {live_fd}>&- 2>"$tmp/slow.err" | head -c 100 >/dev/null
[ -s "$tmp/slow.err" ] && fail "memlane-dump --raw | head: $(cat "$tmp/slow.err")"
"$MKSTORE" "$lv" readers >"$tmp/readers" 2>&1 || hard_error "mkstore readers: $(cat "$tmp/readers")"
grep -qx 'stale 0' "$tmp/readers" ||
	fail "memlane-dump --raw | head left its reader slot in lock.mdb ($(cat "$tmp/readers"))"

# A dump blocked writing a large object into a pipe keeps its read
# transaction open; the reader side drains the pipe only once mkstore has
# done its checkpoint and closed, so the arena must not wait for readers.
# Neither side may hold the FIFO that tells mkstore to go on.
(
	exec {live_fd}>&-
	timeout 120 "$DUMP" --raw "$big" "$lv"
	echo $? >"$tmp/held.rc"
) | (
	exec {live_fd}>&-
	for ((i = 0; i < 1200; i++)); do
		grep -q '^done' "$lv.out" 2>/dev/null && break
		sleep 0.05
	done
	cat >"$tmp/held.out"
) &
held_pid=$!
bg_pids+=("$held_pid")
sleep 0.2 # the dump has its transaction open and is blocked in write(2)
live_finish "$lv" false
wait "$held_pid"
[ "$(cat "$tmp/held.rc" 2>/dev/null)" = 0 ] || fail "memlane-dump --raw held open across the checkpoint: exit $(cat "$tmp/held.rc" 2>/dev/null)"
cmp -s "$tmp/held.out" "$lv.expected/$big" || fail "memlane-dump --raw held open across the checkpoint: bytes differ"
# The store as the arena left it.
check_store "$lv" "$lv.final" true live-closed true false

# Scratch: the spilled objects while the arena runs; gone at close.
ls=$tmp/scratch
live_start "$ls" live-scratch
check_store "$ls" "$ls" false scratch false false
live_finish "$ls" true
# A scratch arena deletes its LMDB files when it closes: no store left.
[ -e "$ls/data.mdb" ] && fail "a closed scratch arena left $ls/data.mdb"
usage_error "closed scratch store" "holds no store" "$ls"
usage_error "closed scratch store, --verify --json" "holds no store" --verify --json "$ls"

if ((failed)); then
	echo "$me: FAIL" >&2
	exit 1
fi
echo "$me: ok"
exit 0
