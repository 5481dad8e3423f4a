#!/bin/sh
# test_man_options.sh - the man pages and the library agree.
#
#  1. memlane-options(7) documents exactly the options of the library's
#     descriptor table: every name that list_options prints (one per
#     memlane_config_key(i)) has an entry in the OPTIONS section of
#     man/memlane-options.7 (a ".TP" line followed by ".B name"), and
#     every such entry is an option of the table.
#  2. Every public function of lib/memlane.h (a "MEMLANE_API ...
#     memlane_xxx(" declaration) and every function-like macro
#     ("#define MEMLANE_XXX(") has a link page man/NAME.3 that holds
#     exactly ".so man3/memlane.3" and is listed in man/Makefile.am, and
#     appears in memlane(3): in NAME, in SYNOPSIS and in the text. A link
#     page for a name the header no longer has is an error too.
#
# Run by `make check` from the tests/ build directory. Overrides, for
# running it by hand or against a changed copy of a page:
#   top_srcdir    source tree (default: $srcdir/.., or .. )
#   top_builddir  build tree (default: ..)
#   LIST_OPTIONS  command that prints the option names
#                 (default: ./list_options, else $top_builddir/tests/list_options)
#   OPTIONS_PAGE  the options page (default: $top_srcdir/man/memlane-options.7)
#   API_PAGE      the API page (default: $top_srcdir/man/memlane.3)
#   MAN_DIR       where the link pages are (default: $top_srcdir/man)
#   MEMLANE_H     the public header (default: $top_srcdir/lib/memlane.h)
#
# Exit status: 0 all agree, 1 a mismatch (each one named on stderr),
# 99 the check itself could not run.

LC_ALL=C
export LC_ALL

me=test_man_options.sh
top_srcdir=${top_srcdir:-${srcdir:-.}/..}
top_builddir=${top_builddir:-..}
OPTIONS_PAGE=${OPTIONS_PAGE:-$top_srcdir/man/memlane-options.7}
API_PAGE=${API_PAGE:-$top_srcdir/man/memlane.3}
MAN_DIR=${MAN_DIR:-$top_srcdir/man}
MEMLANE_H=${MEMLANE_H:-$top_srcdir/lib/memlane.h}
if [ -z "$LIST_OPTIONS" ]; then
	if [ -x ./list_options ]; then
		LIST_OPTIONS=./list_options
	else
		LIST_OPTIONS=$top_builddir/tests/list_options
	fi
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_man_options.XXXXXX") || {
	echo "$me: cannot make a temporary directory" >&2
	exit 99
}
trap 'rm -rf "$tmp"' 0
trap 'exit 99' 1 2 15

hard_error() {
	echo "$me: $*" >&2
	exit 99
}

for f in "$OPTIONS_PAGE" "$API_PAGE" "$MEMLANE_H" "$MAN_DIR/Makefile.am"; do
	[ -r "$f" ] || hard_error "cannot read $f"
done

failed=0
fail() {
	echo "$me: FAIL: $*" >&2
	failed=1
}

# ---- 1. options: the library's table against memlane-options(7) ------

$LIST_OPTIONS > "$tmp/table.raw" || hard_error "$LIST_OPTIONS failed"
[ -s "$tmp/table.raw" ] || hard_error "$LIST_OPTIONS printed no option"

# The ".B name" lines right after ".TP" inside ".SH OPTIONS".
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
after_tp {
	after_tp = 0
	if ($1 == ".B" && NF == 2) {
		name = $2
		gsub(/"/, "", name)
		print name
	}
}
' "$OPTIONS_PAGE" > "$tmp/page.raw" || hard_error "awk failed on $OPTIONS_PAGE"
[ -s "$tmp/page.raw" ] ||
	fail "no option entries (.TP then .B name) in the OPTIONS section of $OPTIONS_PAGE"

for list in table page; do
	sort "$tmp/$list.raw" > "$tmp/$list.sorted"
	sort -u "$tmp/$list.raw" > "$tmp/$list"
done
for dup in $(uniq -d "$tmp/table.sorted"); do
	fail "option $dup is twice in the library's option table"
done
for dup in $(uniq -d "$tmp/page.sorted"); do
	fail "option $dup has two entries in $OPTIONS_PAGE"
done
for name in $(comm -23 "$tmp/table" "$tmp/page"); do
	fail "option $name (memlane_config_key) is missing from the OPTIONS section of $OPTIONS_PAGE"
done
for name in $(comm -13 "$tmp/table" "$tmp/page"); do
	fail "$OPTIONS_PAGE documents option $name, which the library's option table does not have"
done
n_table=$(wc -l < "$tmp/table")
n_page=$(wc -l < "$tmp/page")

# ---- 2. functions: lib/memlane.h against memlane(3) and its links -----

{
	sed -n 's/^MEMLANE_API[^(]*[^A-Za-z0-9_]\(memlane_[A-Za-z0-9_]*\)[[:blank:]]*(.*/\1/p' "$MEMLANE_H"
	sed -n 's/^#[[:blank:]]*define[[:blank:]][[:blank:]]*\(MEMLANE_[A-Za-z0-9_]*\)(.*/\1/p' "$MEMLANE_H"
} | sort -u > "$tmp/api"
[ -s "$tmp/api" ] || hard_error "found no MEMLANE_API function in $MEMLANE_H"

# memlane(3) split into its NAME section, its SYNOPSIS and the rest.
awk -v dir="$tmp" '
/^\.SH[ \t]/ {
	t = $0
	sub(/^\.SH[ \t]+/, "", t)
	gsub(/"/, "", t)
	sub(/[ \t]+$/, "", t)
	part = (t == "NAME") ? "name" : (t == "SYNOPSIS") ? "synopsis" : "text"
	next
}
part != "" { print > (dir "/api." part) }
' "$API_PAGE" || hard_error "awk failed on $API_PAGE"
for part in name synopsis text; do
	[ -f "$tmp/api.$part" ] || : > "$tmp/api.$part"
done
# Words of the NAME section (roff escapes such as \- dropped).
sed 's/\\-/ /g; s/[^A-Za-z0-9_]/ /g' "$tmp/api.name" | tr ' ' '\n' | grep . | sort -u > "$tmp/api.namewords"

# dist_man_MANS of man/Makefile.am, one page a line.
sed -n '/^dist_man_MANS[[:blank:]]*=/,/[^\\]$/p' "$MAN_DIR/Makefile.am" |
	sed 's/^dist_man_MANS[[:blank:]]*=//; s/\\$//' | tr ' \t' '\n\n' | grep . | sort -u > "$tmp/dist"

for fn in $(cat "$tmp/api"); do
	link=$MAN_DIR/$fn.3
	if [ ! -f "$link" ]; then
		fail "$fn (lib/memlane.h) has no link page $link"
	elif [ "$(cat "$link")" != ".so man3/memlane.3" ]; then
		fail "$link should hold exactly \".so man3/memlane.3\""
	fi
	grep -qx "$fn.3" "$tmp/dist" ||
		fail "$fn.3 is not in dist_man_MANS of $MAN_DIR/Makefile.am"
	grep -qx "$fn" "$tmp/api.namewords" ||
		fail "$fn is missing from the NAME section of $API_PAGE"
	grep -q "$fn(" "$tmp/api.synopsis" ||
		fail "$fn is missing from the SYNOPSIS of $API_PAGE"
	grep -Eq "$fn([^A-Za-z0-9_]|\$)" "$tmp/api.text" ||
		fail "$fn is not described in $API_PAGE"
done

# Link pages for names the header does not have.
for link in "$MAN_DIR"/*.3; do
	[ -f "$link" ] || continue
	page=$(basename "$link" .3)
	[ "$page" = memlane ] && continue
	grep -qx "$page" "$tmp/api" ||
		fail "$link links to memlane(3), but lib/memlane.h has no $page"
done
for page in memlane.3 memlane-options.7; do
	grep -qx "$page" "$tmp/dist" ||
		fail "$page is not in dist_man_MANS of $MAN_DIR/Makefile.am"
done
n_api=$(wc -l < "$tmp/api")

if [ "$failed" -ne 0 ]; then
	echo "$me: the man pages and the library disagree (see above)" >&2
	exit 1
fi
echo "$me: ok: $n_table options in the table, $n_page documented; $n_api functions and macros documented and linked"
exit 0
