/* root.c - named roots: entry points into an arena's objects by name.
 * Held in memory; checkpoints write them to the store (pager.c) and a
 * reopen brings them back. Owns a->roots. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define ML_ROOT_NAME_MAX 255

static int check_name(const char *what, const char *name)
{
	if (!name)
		return ml_err(MEMLANE_EINVAL, "%s: name is NULL", what);
	size_t n = strlen(name);
	if (n == 0 || n > ML_ROOT_NAME_MAX)
		return ml_err(MEMLANE_EINVAL, "%s: root name must be 1 to %d bytes, not %zu", what, ML_ROOT_NAME_MAX, n);
	return 0;
}

static struct ml_root *find_root(memlane_arena *a, const char *name)
{
	for (size_t i = 0; i < a->nroots; i++)
		if (!strcmp(a->roots[i].name, name))
			return &a->roots[i];
	return NULL;
}

static void drop_root(memlane_arena *a, struct ml_root *r)
{
	free(r->name);
	*r = a->roots[--a->nroots];
}

/* Set root @name to @h (the caller checked both), replacing any. */
int ml_root_add(memlane_arena *a, const char *name, memlane_handle h)
{
	struct ml_root *r = find_root(a, name);
	if (r) {
		r->h = h;
		return 0;
	}
	if (a->nroots == a->roots_cap) {
		size_t cap = a->roots_cap ? a->roots_cap * 2 : 8;
		struct ml_root *n = realloc(a->roots, cap * sizeof(*n));
		if (!n)
			return ml_err(MEMLANE_ENOMEM, "memlane_root_set: out of memory");
		a->roots = n;
		a->roots_cap = cap;
	}
	char *copy = strdup(name);
	if (!copy)
		return ml_err(MEMLANE_ENOMEM, "memlane_root_set: out of memory");
	a->roots[a->nroots++] = (struct ml_root){copy, h};
	return 0;
}

int memlane_root_set(memlane_arena *a, const char *name, memlane_handle h)
{
	int rc;
	if (!a)
		return ml_err(MEMLANE_EINVAL, "memlane_root_set: arena is NULL");
	if ((rc = check_name("memlane_root_set", name)) != 0)
		return rc;
	ml_lock(a);
	if (!ml_lookup(a, h))
		rc = ml_handle_error(a, h, "memlane_root_set");
	else
		rc = ml_root_add(a, name, h);
	ml_unlock(a);
	return rc;
}

int memlane_root_get(memlane_arena *a, const char *name, memlane_handle *out)
{
	int rc;
	if (!a || !out)
		return ml_err(MEMLANE_EINVAL, "memlane_root_get: %s is NULL", a ? "out" : "arena");
	if ((rc = check_name("memlane_root_get", name)) != 0)
		return rc;
	ml_lock(a);
	struct ml_root *r = find_root(a, name);
	if (!r) {
		rc = ml_err(MEMLANE_ENOTFOUND, "memlane_root_get: no root named '%s'", name);
	} else if (!ml_lookup(a, r->h)) {
		rc = ml_err(MEMLANE_EHANDLE, "memlane_root_get: root '%s' named handle 0x%016" PRIx64
		                             ", which was freed; the root is dropped",
		            name, r->h);
		drop_root(a, r);
	} else {
		*out = r->h;
	}
	ml_unlock(a);
	return rc;
}

int memlane_root_del(memlane_arena *a, const char *name)
{
	int rc;
	if (!a)
		return ml_err(MEMLANE_EINVAL, "memlane_root_del: arena is NULL");
	if ((rc = check_name("memlane_root_del", name)) != 0)
		return rc;
	ml_lock(a);
	struct ml_root *r = find_root(a, name);
	if (r)
		drop_root(a, r);
	else
		rc = ml_err(MEMLANE_ENOTFOUND, "memlane_root_del: no root named '%s'", name);
	ml_unlock(a);
	return rc;
}

void ml_roots_fini(memlane_arena *a)
{
	for (size_t i = 0; i < a->nroots; i++)
		free(a->roots[i].name);
	free(a->roots);
	a->roots = NULL;
	a->nroots = a->roots_cap = 0;
}
