/* SPDX-License-Identifier: GPL-2.0 */
/* String-keyed hash map (chained, FNV-1a, power-of-two buckets, load factor at most 3/4).
 * Keys are copied; values are the caller's and never NULL (NULL from get means absent).
 * Not thread safe: callers lock, or are one event loop like the attestor. */
#ifndef TCL_HASHMAP_H
#define TCL_HASHMAP_H

#include <stddef.h>

struct tcl_map_ent;

struct tcl_map {
	struct tcl_map_ent **b;
	size_t nb;	/* buckets, a power of two (0 before the first put) */
	size_t n;	/* entries */
};

void *tcl_map_get(const struct tcl_map *m, const char *key);
/* 0, -EEXIST when the key is present (nothing changed), -ENOMEM. */
int tcl_map_put(struct tcl_map *m, const char *key, void *val);
/* Removes the key and returns its value (NULL when absent). */
void *tcl_map_del(struct tcl_map *m, const char *key);
/* The values in key order (bytewise); *vals malloc'd (NULL when empty), caller frees the array. */
int tcl_map_sorted(const struct tcl_map *m, void ***vals, size_t *n);
/* Calls fn on every value in no particular order; fn must not change the map. */
void tcl_map_each(const struct tcl_map *m, void (*fn)(void *val, void *arg), void *arg);
/* Frees the table; free_val (may be NULL) is called on every value. */
void tcl_map_free(struct tcl_map *m, void (*free_val)(void *val));

#endif
