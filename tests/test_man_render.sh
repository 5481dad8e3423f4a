#!/bin/sh
# test_man_render.sh - every man page renders without a warning, and
# memlane-dump(1) documents every option memlane-dump has.
#
#  1. Every page in man/ (*.1 *.3 *.5 *.7) is formatted with
#     `groff -man -ww -z` (all warnings on, output thrown away), once
#     with groff's default device and once with -Tutf8 (what man(1) uses
#     on a terminal); any message at all is a failure. A link page
#     (one line ".so manN/page.N", as the per-function pages of
#     memlane(3) are) must name a page of man/ of that section, and is
#     formatted through a temporary manN/ tree so that groff follows the
#     link as man(1) does after installation.
#  2. Every page in man/ is listed in dist_man_MANS of man/Makefile.am
#     (else make install and the tarball leave it out), and every page
#     listed there exists.
#  3. man/memlane-dump.1 has, in its OPTIONS section, an entry (the tag
#     line after ".TP") for every option line of `memlane-dump --help`,
#     naming its long option and its short one, if any; and no entry for
#     a long option that --help does not print.
#
# Run by `make check` from the tests/ build directory, with top_srcdir,
# top_builddir and srcdir from tests/Makefile.am. Overrides, for running
# it by hand:
#   top_srcdir    source tree (default: $srcdir/.., or ..)
#   top_builddir  build tree (default: ..)
#   MAN_DIR       the pages (default: $top_srcdir/man)
#   MEMLANE_DUMP  the memlane-dump to ask for --help
#                 (default: $top_builddir/tools/memlane-dump)
#   GROFF         the groff to run (default: groff)
#
# Exit status: 0 all fine, 1 a failure (each one named on stderr),
# 77 (skipped) when groff is not installed (Debian: groff-base),
# 99 the check itself could not run.

LC_ALL=C
export LC_ALL

me=test_man_render.sh
top_srcdir=${top_srcdir:-${srcdir:-.}/..}
top_builddir=${top_builddir:-..}
MAN_DIR=${MAN_DIR:-$top_srcdir/man}
MEMLANE_DUMP=${MEMLANE_DUMP:-$top_builddir/tools/memlane-dump}
GROFF=${GROFF:-groff}

hard_error() {
	echo "$me: $*" >&2
	exit 99
}

if ! command -v "$GROFF" >/dev/null 2>&1; then
	echo "$me: SKIP: $GROFF not found (Debian package groff-base)"
	exit 77
fi
[ -d "$MAN_DIR" ] || hard_error "no man directory $MAN_DIR"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_man_render.XXXXXX") || hard_error "cannot make a temporary directory"
trap 'rm -rf "$tmp"' 0
trap 'exit 99' 1 2 15

failed=0
fail() {
	echo "$me: FAIL: $*" >&2
	failed=1
}

# The devices to format for: groff's default (PostScript, what the
# issue's `groff -man -ww -z` uses) and utf8 (man on a terminal). A
# device whose description files are not installed is left out, with
# a note; none at all is a skip.
devices=
for dev in default utf8; do
	if [ "$dev" = default ]; then
		msg=$("$GROFF" -z </dev/null 2>&1)
	else
		msg=$("$GROFF" -T"$dev" -z </dev/null 2>&1)
	fi
	if [ -z "$msg" ]; then
		devices="$devices $dev"
	else
		echo "$me: note: groff device $dev unusable, not checked: $msg"
	fi
done
if [ -z "$devices" ]; then
	echo "$me: SKIP: no groff device works"
	exit 77
fi

# The pages, one a line, by file name.
(cd "$MAN_DIR" && ls) | grep -E '\.[1357]$' | sort > "$tmp/pages"
[ -s "$tmp/pages" ] || hard_error "no man pages (*.1 *.3 *.5 *.7) in $MAN_DIR"

# A tree man1/ man3/ man5/ man7/ of links to the pages, where the .so
# requests of link pages resolve (groff -I), as in an installed tree.
for page in $(cat "$tmp/pages"); do
	sect=${page##*.}
	mkdir -p "$tmp/tree/man$sect" || hard_error "cannot make $tmp/tree/man$sect"
	ln -s "$(cd "$MAN_DIR" && pwd)/$page" "$tmp/tree/man$sect/$page" || hard_error "cannot link $page"
done

# ---- 1. every page renders without a message ---------------------------

n_pages=0
n_links=0
for page in $(cat "$tmp/pages"); do
	file=$MAN_DIR/$page
	n_pages=$((n_pages + 1))
	# A link page: one .so line (comments and blank lines aside).
	so=$(grep -v -e '^\.\\"' -e '^[[:blank:]]*$' "$file" | sed -n 's/^\.so[[:blank:]][[:blank:]]*//p')
	if [ -n "$so" ]; then
		n_links=$((n_links + 1))
		lines=$(grep -c -v -e '^\.\\"' -e '^[[:blank:]]*$' "$file")
		[ "$lines" -eq 1 ] || fail "$page: a .so link page must hold nothing but the .so line"
		case $so in
		man[1-9]/*) [ -f "$tmp/tree/$so" ] || fail "$page: .so $so: no such page in $MAN_DIR" ;;
		*) fail "$page: .so $so: expected .so manN/page.N" ;;
		esac
	fi
	for dev in $devices; do
		if [ "$dev" = default ]; then
			set -- "$GROFF" -man -ww -z
		else
			set -- "$GROFF" -man -ww -z -T"$dev"
		fi
		# From inside the tree, so that a .so finds its target however
		# this groff treats -I.
		out=$(cd "$tmp/tree" && "$@" -I"$tmp/tree" "$file" 2>&1) ||
			fail "$page: $* exited with status $?"
		if [ -n "$out" ]; then
			fail "$page: $* (device $dev) printed:"
			printf '%s\n' "$out" | sed 's/^/    /' >&2
		fi
	done
done

# ---- 2. the pages and dist_man_MANS agree --------------------------------

if [ -r "$MAN_DIR/Makefile.am" ]; then
	sed -n '/^dist_man_MANS[[:blank:]]*=/,/[^\\]$/p' "$MAN_DIR/Makefile.am" |
		sed 's/^dist_man_MANS[[:blank:]]*=//; s/\\$//' | tr ' \t' '\n\n' | grep . | sort -u > "$tmp/dist"
	for page in $(comm -23 "$tmp/pages" "$tmp/dist"); do
		fail "$page is in $MAN_DIR but not in dist_man_MANS of $MAN_DIR/Makefile.am (not installed, not shipped)"
	done
	for page in $(comm -13 "$tmp/pages" "$tmp/dist"); do
		fail "dist_man_MANS of $MAN_DIR/Makefile.am lists $page, which $MAN_DIR does not have"
	done
else
	hard_error "cannot read $MAN_DIR/Makefile.am"
fi

# ---- 3. memlane-dump(1) against memlane-dump --help ----------------------

dump_page=$MAN_DIR/memlane-dump.1
if [ ! -f "$dump_page" ]; then
	fail "$dump_page does not exist: memlane-dump has no man page"
elif [ ! -x "$MEMLANE_DUMP" ]; then
	hard_error "$MEMLANE_DUMP not found or not executable (build tools/ first)"
else
	"$MEMLANE_DUMP" --help > "$tmp/help" 2>&1 || hard_error "$MEMLANE_DUMP --help exited with status $?"
	# Option lines of --help: "  -l, --list ..." or "      --verify ...":
	# one "SHORT LONG" pair a line, SHORT "-" when there is none.
	sed -n 's/^[[:blank:]][[:blank:]]*\(-[A-Za-z0-9]\), \(--[A-Za-z0-9][A-Za-z0-9-]*\).*/\1 \2/p
	        s/^[[:blank:]][[:blank:]]*\(--[A-Za-z0-9][A-Za-z0-9-]*\).*/- \1/p' "$tmp/help" > "$tmp/help.opts"
	[ -s "$tmp/help.opts" ] || hard_error "found no option lines in $MEMLANE_DUMP --help"

	# The tag lines of the OPTIONS section (the line after each .TP),
	# as plain text: font escapes and macro names dropped, \- made -.
	awk '
	/^\.SH[ \t]/ {
		t = $0
		sub(/^\.SH[ \t]+/, "", t)
		gsub(/"/, "", t)
		sub(/[ \t]+$/, "", t)
		in_options = (t == "OPTIONS")
		after_tp = 0
		next
	}
	!in_options { next }
	/^\.TP([ \t]|$)/ { after_tp = 1; next }
	after_tp { after_tp = 0; print }
	' "$dump_page" |
		sed 's/\\f[BIRP]//g; s/\\f(..//g; s/\\f\[[^]]*\]//g; s/\\-/-/g; s/\\&//g; s/\\%//g; s/^\.[A-Za-z]*//; s/"//g; s/,/ /g' \
			> "$tmp/tags"
	[ -s "$tmp/tags" ] || fail "$dump_page: no entries (.TP and a tag line) in its OPTIONS section"

	has_word() { # has_word LINE WORD: WORD stands alone in LINE
		printf '%s\n' "$1" | grep -Eq -- "(^|[^A-Za-z0-9-])$2([^A-Za-z0-9-]|\$)"
	}
	while read -r short long; do
		found=
		while IFS= read -r tag; do
			if has_word "$tag" "$long"; then
				found=$tag
				break
			fi
		done < "$tmp/tags"
		if [ -z "$found" ]; then
			fail "$dump_page: no OPTIONS entry for $long, which memlane-dump --help prints"
		elif [ "$short" != - ] && ! has_word "$found" "$short"; then
			fail "$dump_page: the OPTIONS entry for $long does not name $short (memlane-dump --help: $short, $long)"
		fi
	done < "$tmp/help.opts"

	# Entries for long options that --help does not print.
	for long in $(grep -oE -- '(^|[^A-Za-z0-9-])--[A-Za-z0-9][A-Za-z0-9-]*' "$tmp/tags" | sed 's/^[^-]*//' | sort -u); do
		awk -v l="$long" '$2 == l { f = 1 } END { exit !f }' "$tmp/help.opts" ||
			fail "$dump_page documents $long, which memlane-dump --help does not print"
	done
	n_opts=$(wc -l < "$tmp/help.opts")
fi

if [ "$failed" -ne 0 ]; then
	echo "$me: the man pages have problems (see above)" >&2
	exit 1
fi
echo "$me: ok: $n_pages pages ($n_links links) render without a warning on:$devices;" \
	"memlane-dump(1) documents all $n_opts options of --help"
exit 0
