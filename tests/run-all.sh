#!/usr/bin/env bash
# run-all.sh - libmemlane's whole test suite, from a fresh clone.
#
# Installs the Debian packages (tests/deps.sh), regenerates the build
# system, then builds in separate directories under _ci/:
#   gcc      gcc --enable-werror: make, make check, make distcheck,
#            make install into _ci/prefix; then the README example and
#            ../shared/contract/symbols.c (when present) are built
#            against the installed library with pkg-config; the cmocka
#            unit tests run again under valgrind memcheck (no leaks,
#            no memory errors)
#   clang    clang --enable-werror: make check
#   asan     gcc --enable-sanitizers (ASan+UBSan): make check
#   tsan     --enable-tsan: make check TESTS="test_threads test_pager_threads
#            test_stress test_lock"
#   fuzz     clang --enable-fuzzing: every libFuzzer harness once over its
#            seed corpus (make check in tests/fuzz), then each fuzzing for
#            $FUZZ_TIME seconds (default 60; two at a time on two CPUs) on
#            a copy of its corpus; a crash or a failed invariant fails
#            the step and leaves the input in _ci/fuzz/findings/
#
# The last line is "N passed, N failed": the tests counted from the
# automake summaries of every make check (ERROR and XPASS count as
# failed), plus one for each other step (distcheck, install checks) and
# one for a build that breaks before its tests run. The exit status is 0
# only when nothing failed. On a failing make check the test-suite.log
# files (the failing tests' logs) are printed.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
ci=$top/_ci
jobs=$(nproc 2>/dev/null || echo 2)
start=$SECONDS
passed=0
failed=0
failures=()

export AM_COLOR_TESTS=no
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-second_deadlock_stack=1}

finish() {
	local rc=$?
	if ((rc != 0 && failed == 0)); then
		failed=1
		failures+=("run-all.sh stopped early (exit status $rc)")
	fi
	echo
	echo "==== summary ($((SECONDS - start)) s)"
	local f
	for f in "${failures[@]}"; do
		echo "FAILED: $f"
	done
	echo "$passed passed, $failed failed"
	exit $((failed > 0))
}
trap finish EXIT

step() {
	echo
	echo "==== $* ($((SECONDS - start)) s)"
}

ok() {
	passed=$((passed + 1))
	echo "---- ok: $1"
}

ko() {
	failed=$((failed + 1))
	failures+=("$1")
	echo "---- FAILED: $1"
}

# print_test_logs DIR: every test-suite.log under DIR (the logs of the
# tests that failed).
print_test_logs() {
	local log
	while IFS= read -r -d '' log; do
		echo "==== $log"
		cat "$log"
	done < <(find "$1" -name test-suite.log -print0)
}

# configure_in NAME ARGS...: configure a fresh build directory _ci/NAME.
configure_in() {
	local name=$1
	shift
	rm -rf "${ci:?}/$name"
	mkdir -p "$ci/$name"
	echo "configure $*"
	if (cd "$ci/$name" && "$top/configure" "$@") >"$ci/$name/configure.out" 2>&1; then
		return 0
	fi
	tail -n 40 "$ci/$name/configure.out"
	ko "$name: configure $*"
	return 1
}

# build_in NAME: make in _ci/NAME.
build_in() {
	if (cd "$ci/$1" && make -j"$jobs"); then
		return 0
	fi
	ko "$1: make"
	return 1
}

# check_in NAME LABEL COMMAND...: run a make check COMMAND in _ci/NAME
# and add up its automake test summaries.
check_in() {
	local name=$1 label=$2
	shift 2
	local out=$ci/$name/$label.out rc=0 p f
	(cd "$ci/$name" && "$@") 2>&1 | tee "$out" || rc=$?
	p=$(awk '/^# PASS:/ { n += $3 } END { print n + 0 }' "$out")
	f=$(awk '/^# (FAIL|ERROR|XPASS):/ { n += $3 } END { print n + 0 }' "$out")
	passed=$((passed + p))
	failed=$((failed + f))
	if ((rc == 0 && f == 0)); then
		echo "---- $name $label: $p passed"
		return 0
	fi
	print_test_logs "$ci/$name"
	if ((f == 0)); then
		failed=$((failed + 1)) # broke before any test could fail
	fi
	failures+=("$name: $label (exit status $rc, $f failed tests)")
	return 1
}

# tsan_probe CC: can CC's ThreadSanitizer run here? A racy two-thread
# program must be reported and a locked one must pass. On kernels with
# high mmap ASLR entropy (vm.mmap_rnd_bits > 28) older TSan runtimes die
# with "unexpected memory mapping"; running without address space
# randomization (setarch -R) avoids that. Sets tsan_run to the prefix
# that works (empty when none is needed).
tsan_probe() {
	local cc=$1 d=$ci/tsan-probe
	mkdir -p "$d"
	cat >"$d/race.c" <<-'EOF'
		#include <pthread.h>
		static int counter;
		static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
		static void *run(void *p)
		{
			for (int i = 0; i < 100000; i++) {
				if (p) pthread_mutex_lock(&lock);
				counter++;
				if (p) pthread_mutex_unlock(&lock);
			}
			return NULL;
		}
		int main(int argc, char **argv)
		{
			pthread_t t[2];
			void *locked = argc > 1 ? argv[1] : NULL;
			for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, run, locked);
			for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
			return counter > 200000;
		}
	EOF
	"$cc" -std=gnu11 -g -O1 -fsanitize=thread -pthread "$d/race.c" -o "$d/race-$cc" >"$d/build.out" 2>&1 || {
		cat "$d/build.out"
		return 1
	}
	local -a runners=("" "setarch $(uname -m) -R")
	local r
	for r in "${runners[@]}"; do
		local -a run=()
		[[ -n $r ]] && read -r -a run <<<"$r"
		if "${run[@]}" "$d/race-$cc" locked >"$d/locked.out" 2>&1 &&
			! "${run[@]}" "$d/race-$cc" >"$d/racy.out" 2>&1 &&
			grep -q 'WARNING: ThreadSanitizer: data race' "$d/racy.out"; then
			tsan_run=("${run[@]}")
			return 0
		fi
		echo "$cc TSan ${r:-without a wrapper}: does not work here:"
		head -n 5 "$d/locked.out" "$d/racy.out"
	done
	return 1
}

# valgrind_tests BUILD: every cmocka program of tests/Makefile.am, built
# in BUILD, under valgrind memcheck: a definite or indirect leak, or any
# memory error, fails it. $jobs programs at a time (valgrind runs each
# program's threads one at a time). Skipped: test_pager_threads, which
# takes about 100 s there (four workers and a pager thread busy on one
# arena); test_stress and test_threads make the same calls from threads
# under valgrind, and TSan runs it below. Also test_faults and
# test_unload (see the skip list).
valgrind_tests() {
	local build=$1 t log rc
	local -a tests run=()
	# Not under valgrind, and why: test_pager_threads takes about 100 s
	# there (TSan runs it); test_faults preloads its own malloc shim
	# into re-executed copies of itself, which valgrind cannot follow;
	# test_unload unloads the library while a thread keeps its lock
	# record, which is then lost by design (ASan runs it, told so).
	local -A skip=([test_pager_threads]="about 100 s under valgrind; TSan runs it"
		[test_faults]="it preloads a shim of its own (malloc among others) into copies of itself"
		[test_unload]="the 16-byte lock record a thread keeps across dlclose is lost by design; ASan runs it")
	read -r -a tests <<<"$(awk '/^cmocka_tests = / { f = 1; next } f { more = /\\$/; sub(/\\$/, ""); printf "%s ", $0; if (!more) exit }' "$top/tests/Makefile.am")"
	if ((${#tests[@]} == 0)); then
		ko "valgrind: no cmocka_tests found in tests/Makefile.am"
		return
	fi
	for t in "${tests[@]}"; do
		if [[ -n ${skip[$t]:-} ]]; then
			echo "valgrind: $t skipped (${skip[$t]})"
			continue
		fi
		while (($(jobs -rp | wc -l) >= jobs)); do
			wait -n || true
		done
		log=$build/tests/valgrind-$t.log
		rm -f "$log.rc"
		(
			rc=0
			cd "$build/tests" && env -u MEMLANE_OPTIONS ../libtool --mode=execute valgrind -q --leak-check=full \
				--errors-for-leak-kinds=definite,indirect --error-exitcode=1 "./$t" >"$log" 2>&1 || rc=$?
			echo "$rc" >"$log.rc"
		) &
		run+=("$t")
	done
	wait
	for t in "${run[@]}"; do
		log=$build/tests/valgrind-$t.log
		rc=$(cat "$log.rc" 2>/dev/null || echo none)
		if [[ $rc == 0 ]]; then
			ok "valgrind: $t"
		else
			tail -n 60 "$log"
			ko "valgrind: $t (exit status $rc, log: $log)"
		fi
	done
}

step "dependencies"
bash "$top/tests/deps.sh"

step "autoreconf -fi"
# README's first command builds in the source tree; automake then
# refuses the separate build directories below, so that build goes.
if [[ -f $top/config.status ]]; then
	echo "the source tree is configured (an in-tree build): make distclean first"
	(cd "$top" && make distclean >/dev/null) || true
fi
autoreconf -fi

step "gcc --enable-werror: make, make check, make distcheck, make install"
prefix=$ci/prefix
if configure_in gcc CC=gcc --enable-werror --prefix="$prefix" && build_in gcc; then
	check_in gcc check make -j"$jobs" check || true
	if (cd "$ci/gcc" && make -j"$jobs" distcheck) 2>&1 | tee "$ci/gcc/distcheck.out"; then
		ok "gcc: make distcheck"
	else
		print_test_logs "$ci/gcc"
		ko "gcc: make distcheck"
	fi

	step "gcc: the unit tests under valgrind memcheck"
	valgrind_tests "$ci/gcc"

step "README's first command: the demo, then memlane-dump on its store"
	demo_dir=$(mktemp -d)
	if (cd "$ci/gcc" && ./tools/memlane-demo "$demo_dir" && ./tools/memlane-dump "$demo_dir" &&
		./tools/memlane-dump --verify "$demo_dir"); then
		ok "memlane-demo and memlane-dump"
	else
		ko "memlane-demo or memlane-dump on the demo's store"
	fi
	rm -rf "$demo_dir"

	step "install into $prefix, build against it with pkg-config"
	rm -rf "$prefix"
	if (cd "$ci/gcc" && make install) >"$ci/gcc/install.out" 2>&1; then
		ok "gcc: make install"
		export PKG_CONFIG_PATH=$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
		d=$ci/gcc/installcheck
		mkdir -p "$d"

		# Only memlane_* names may leave the shared library.
		leaked=$(nm -D --defined-only "$prefix/lib/libmemlane.so" | awk 'NF == 3 && $3 !~ /^memlane_/ { print $3 }')
		if [[ -z $leaked ]]; then
			ok "libmemlane.so exports only memlane_* symbols"
		else
			echo "exported but not memlane_*: $leaked"
			ko "libmemlane.so exports non-memlane_* symbols"
		fi

		if "$prefix/bin/memlane-dump" -V >/dev/null; then
			ok "installed bin/memlane-dump runs"
		else
			ko "installed bin/memlane-dump does not run"
		fi

		for page in man3/memlane.3 man5/memlane-store.5 man7/memlane-options.7 man1/memlane-dump.1; do
			if [[ -f $prefix/share/man/$page ]]; then
				ok "installed $page"
			else
				ko "make install did not install share/man/$page"
			fi
		done

		# The README's C example, with the installed header and library,
		# linked shared and fully static (the static link needs the
		# .pc file's Libs.private and Requires.private).
		awk '/^```c$/ { f = 1; next } f && /^```$/ { exit } f' "$top/README.md" >"$d/example.c"
		if [[ ! -s $d/example.c ]]; then
			ko "README.md has no \`\`\`c example"
		elif read -r -a pc <<<"$(pkg-config --cflags --libs libmemlane)" &&
			gcc -std=gnu11 -Wall -Wextra -Werror "$d/example.c" -o "$d/example" "${pc[@]}" &&
			LD_LIBRARY_PATH=$prefix/lib "$d/example"; then
			ok "README example, shared (pkg-config --cflags --libs libmemlane)"
		else
			ko "README example against the installed library"
		fi
		if [[ -s $d/example.c ]] && read -r -a pc <<<"$(pkg-config --static --cflags --libs libmemlane)" &&
			gcc -std=gnu11 -static "$d/example.c" -o "$d/example-static" "${pc[@]}" &&
			"$d/example-static"; then
			ok "README example, static (pkg-config --static)"
		else
			ko "README example linked statically with pkg-config --static"
		fi

		# The shared contract: every promised name declared and exported.
		symbols=$top/../shared/contract/symbols.c
		if [[ -f $symbols ]]; then
			if read -r -a pc <<<"$(pkg-config --cflags --libs libmemlane)" &&
				gcc -std=gnu11 -Werror=implicit-function-declaration -Werror=incompatible-pointer-types \
					-Werror=int-conversion "$symbols" -o "$d/symbols" "${pc[@]}"; then
				ok "contract symbols.c compiles and links against the installed library"
			else
				ko "contract symbols.c against the installed library"
			fi
		fi
	else
		tail -n 40 "$ci/gcc/install.out"
		ko "gcc: make install"
	fi
fi

step "clang --enable-werror: make check"
if configure_in clang CC=clang --enable-werror && build_in clang; then
	check_in clang check make -j"$jobs" check || true
fi

step "gcc --enable-sanitizers (ASan+UBSan): make check"
if configure_in asan CC=gcc --enable-sanitizers && build_in asan; then
	check_in asan check make -j"$jobs" check || true
fi

step "--enable-tsan: make check of the threaded tests"
tsan_cc=
tsan_run=()
for c in gcc clang; do
	if command -v "$c" >/dev/null 2>&1 && tsan_probe "$c"; then
		tsan_cc=$c
		break
	fi
done
if [[ -z $tsan_cc ]]; then
	ko "tsan: ThreadSanitizer works with neither gcc nor clang here"
else
	echo "ThreadSanitizer: $tsan_cc${tsan_run[*]:+, run under: ${tsan_run[*]}}"
	if configure_in tsan CC="$tsan_cc" --enable-tsan && build_in tsan; then
		check_in tsan check "${tsan_run[@]}" make -j"$jobs" -C tests check TESTS="test_threads test_pager_threads test_stress test_lock" || true
	fi
fi

step "clang --enable-fuzzing: the seed corpus, then ${FUZZ_TIME:-60} s of fuzzing per harness"
# fuzz_run NAME: fuzz harness NAME for $fuzz_time seconds on a copy of
# its seed corpus; the log is _ci/fuzz/NAME.fuzz.log, findings (crash-*,
# leak-*, timeout-*, oom-*) go to _ci/fuzz/findings/.
fuzz_run() {
	local name=$1 d=$ci/fuzz/tests/fuzz work=$ci/fuzz/work/$1
	rm -rf "$work"
	mkdir -p "$work" "$ci/fuzz/findings"
	cp "$top/tests/fuzz/corpus/$name"/* "$work"/
	(cd "$d" && TMPDIR=$fuzz_tmp "./$name" -max_total_time="$fuzz_time" -timeout=30 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$ci/fuzz/findings/$name-" "$work") >"$ci/fuzz/$name.fuzz.log" 2>&1
}
fuzz_time=${FUZZ_TIME:-60}
fuzzers=(fuzz_options fuzz_record fuzz_dump fuzz_ops fuzz_restore)
if ! command -v clang >/dev/null 2>&1; then
	ko "fuzz: clang is not installed (tests/deps.sh installs it)"
elif configure_in fuzz CC=clang --enable-fuzzing --enable-werror && build_in fuzz; then
	check_in fuzz corpus make -C tests/fuzz check || true
	# Harnesses write their stores under TMPDIR: tmpfs when there is one.
	fuzz_tmp=$(mktemp -d /dev/shm/memlane-fuzz.XXXXXX 2>/dev/null || mktemp -d)
	declare -A fuzz_pid=()
	for ((i = 0; i < ${#fuzzers[@]}; i += jobs)); do
		for name in "${fuzzers[@]:i:jobs}"; do
			fuzz_run "$name" &
			fuzz_pid[$name]=$!
		done
		for name in "${fuzzers[@]:i:jobs}"; do
			rc=0
			wait "${fuzz_pid[$name]}" || rc=$?
			log=$ci/fuzz/$name.fuzz.log
			runs=$(awk '/^stat::number_of_executed_units:/ { print $2 }' "$log")
			secs=$(awk '/^stat::average_exec_per_sec:/ { print $2 }' "$log")
			echo "$name: ${runs:-?} runs in $fuzz_time s, ${secs:-?} exec/s, corpus $(find "$ci/fuzz/work/$name" -type f | wc -l) inputs"
			if ((rc == 0)); then
				ok "fuzz: $name, $fuzz_time s"
			else
				grep -v '^#[0-9]' "$log" | tail -n 60
				ko "fuzz: $name found a crash or a failed invariant (exit status $rc; input in _ci/fuzz/findings/, log $log)"
			fi
		done
	done
	rm -rf "$fuzz_tmp"
fi
