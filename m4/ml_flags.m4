# ml_flags.m4 - compiler and linker flag probes for libmemlane.
#
# A small replacement for autoconf-archive's AX_CHECK_COMPILE_FLAG and
# AX_CHECK_LINK_FLAG, which may not be installed. Each flag is tried
# together with -Werror, so a compiler that merely warns about an
# unknown option (clang does) counts as not supporting it.

# ML_CHECK_CFLAG(FLAG, [ACTION-IF-SUPPORTED], [ACTION-IF-NOT])
# ------------------------------------------------------------
# Does $CC compile a trivial program with FLAG added to CFLAGS?
AC_DEFUN([ML_CHECK_CFLAG], [
	AS_VAR_PUSHDEF([ml_cv], [ml_cv_cflag_$1])
	AC_CACHE_CHECK([whether $CC accepts $1], [ml_cv], [
		ml_save_CFLAGS=$CFLAGS
		CFLAGS="$CFLAGS -Werror $1"
		AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
			[AS_VAR_SET([ml_cv], [yes])], [AS_VAR_SET([ml_cv], [no])])
		CFLAGS=$ml_save_CFLAGS])
	AS_VAR_IF([ml_cv], [yes], [$2], [$3])
	AS_VAR_POPDEF([ml_cv])
])

# ML_ADD_CFLAG(VARIABLE, FLAG)
# ----------------------------
# Append FLAG to the shell VARIABLE when $CC accepts it.
AC_DEFUN([ML_ADD_CFLAG], [ML_CHECK_CFLAG([$2], [$1="$$1 $2"])])

# ML_CHECK_LINK_FLAG(FLAGS, [ACTION-IF-SUPPORTED], [ACTION-IF-NOT])
# ----------------------------------------------------------------
# Does $CC compile and link a trivial program with FLAGS added to both
# CFLAGS and LDFLAGS (sanitizers need their runtime at link time)?
AC_DEFUN([ML_CHECK_LINK_FLAG], [
	AS_VAR_PUSHDEF([ml_cv], [ml_cv_ldflag_$1])
	AC_CACHE_CHECK([whether $CC compiles and links with $1], [ml_cv], [
		ml_save_CFLAGS=$CFLAGS
		ml_save_LDFLAGS=$LDFLAGS
		CFLAGS="$CFLAGS -Werror $1"
		LDFLAGS="$LDFLAGS $1"
		AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
			[AS_VAR_SET([ml_cv], [yes])], [AS_VAR_SET([ml_cv], [no])])
		CFLAGS=$ml_save_CFLAGS
		LDFLAGS=$ml_save_LDFLAGS])
	AS_VAR_IF([ml_cv], [yes], [$2], [$3])
	AS_VAR_POPDEF([ml_cv])
])

# ML_REQUIRE_LIB(PREFIX, HEADER, PROLOGUE, BODY, MESSAGE)
# -------------------------------------------------------
# Check that HEADER compiles and that BODY links with $PREFIX_CFLAGS and
# $PREFIX_LIBS; stop with MESSAGE when either fails.
AC_DEFUN([ML_REQUIRE_LIB], [
	ml_save_CPPFLAGS=$CPPFLAGS
	ml_save_LIBS=$LIBS
	CPPFLAGS="$CPPFLAGS $$1_CFLAGS"
	LIBS="$$1_LIBS $LIBS"
	AC_CHECK_HEADER([$2], [], [AC_MSG_ERROR([$5])])
	AC_MSG_CHECKING([whether $1 links with $$1_LIBS])
	AC_LINK_IFELSE([AC_LANG_PROGRAM([$3], [$4])],
		[AC_MSG_RESULT([yes])],
		[AC_MSG_RESULT([no])
		 AC_MSG_ERROR([$5])])
	CPPFLAGS=$ml_save_CPPFLAGS
	LIBS=$ml_save_LIBS
])
