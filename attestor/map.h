/* SPDX-License-Identifier: GPL-2.0 */
/* String-keyed hash map for the attestor's tables (nodes, containers, golden cache).
 * Keys are copied; values are the caller's.  Not thread safe (the attestor is one event loop). */
#ifndef ATT_MAP_H
#define ATT_MAP_H

#include <stddef.h>

struct att_map_ent;

struct att_map {
	struct att_map_ent **b;
	size_t nb;	/* buckets, a power of two (0 before the first put) */
	size_t n;	/* entries */
};

void *att_map_get(const struct att_map *m, const char *key);
/* 0, -EEXIST when the key is present (nothing changed), -ENOMEM. */
int att_map_put(struct att_map *m, const char *key, void *val);
/* Removes the key and returns its value (NULL when absent). */
void *att_map_del(struct att_map *m, const char *key);
/* The values in key order (bytewise); *vals malloc'd (NULL when empty), caller frees the array. */
int att_map_sorted(const struct att_map *m, void ***vals, size_t *n);
/* Calls fn on every value in no particular order; fn must not change the map. */
void att_map_each(const struct att_map *m, void (*fn)(void *val, void *arg), void *arg);
/* Frees the table; free_val (may be NULL) is called on every value. */
void att_map_free(struct att_map *m, void (*free_val)(void *val));

#endif
