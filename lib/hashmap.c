// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"

struct tcl_map_ent {
	struct tcl_map_ent *next;
	void *val;
	char key[];
};

static uint64_t hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;	/* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ull;
	return h;
}

void *tcl_map_get(const struct tcl_map *m, const char *key)
{
	struct tcl_map_ent *e;

	if (!m->nb)
		return NULL;
	for (e = m->b[hash(key) & (m->nb - 1)]; e; e = e->next)
		if (!strcmp(e->key, key))
			return e->val;
	return NULL;
}

static int grow(struct tcl_map *m)
{
	size_t nb = m->nb ? m->nb * 2 : 16;
	struct tcl_map_ent **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < m->nb; i++) {
		struct tcl_map_ent *e = m->b[i], *next;

		for (; e; e = next) {
			size_t k = hash(e->key) & (nb - 1);

			next = e->next;
			e->next = b[k];
			b[k] = e;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
	return 0;
}

int tcl_map_put(struct tcl_map *m, const char *key, void *val)
{
	size_t len = strlen(key), k;
	struct tcl_map_ent *e;

	if (tcl_map_get(m, key))
		return -EEXIST;
	if (m->n + 1 > m->nb / 4 * 3 && grow(m))	/* load factor at most 3/4 */
		return -ENOMEM;
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return -ENOMEM;
	memcpy(e->key, key, len + 1);
	e->val = val;
	k = hash(key) & (m->nb - 1);
	e->next = m->b[k];
	m->b[k] = e;
	m->n++;
	return 0;
}

void *tcl_map_del(struct tcl_map *m, const char *key)
{
	struct tcl_map_ent **pp, *e;
	void *val;

	if (!m->nb)
		return NULL;
	for (pp = &m->b[hash(key) & (m->nb - 1)]; (e = *pp); pp = &e->next) {
		if (strcmp(e->key, key))
			continue;
		*pp = e->next;
		val = e->val;
		free(e);
		m->n--;
		return val;
	}
	return NULL;
}

static int cmp_ent(const void *a, const void *b)
{
	const struct tcl_map_ent *x = *(const struct tcl_map_ent *const *)a;
	const struct tcl_map_ent *y = *(const struct tcl_map_ent *const *)b;

	return strcmp(x->key, y->key);
}

int tcl_map_sorted(const struct tcl_map *m, void ***vals, size_t *n)
{
	struct tcl_map_ent **ents;
	size_t k = 0;

	*vals = NULL;
	*n = 0;
	if (!m->n)
		return 0;
	ents = malloc(m->n * sizeof(*ents));
	if (!ents)
		return -ENOMEM;
	for (size_t i = 0; i < m->nb; i++)
		for (struct tcl_map_ent *e = m->b[i]; e; e = e->next)
			ents[k++] = e;
	qsort(ents, k, sizeof(*ents), cmp_ent);
	*vals = malloc(k * sizeof(**vals));
	if (!*vals) {
		free(ents);
		return -ENOMEM;
	}
	for (size_t i = 0; i < k; i++)
		(*vals)[i] = ents[i]->val;
	free(ents);
	*n = k;
	return 0;
}

void tcl_map_each(const struct tcl_map *m, void (*fn)(void *val, void *arg), void *arg)
{
	for (size_t i = 0; i < m->nb; i++)
		for (struct tcl_map_ent *e = m->b[i]; e; e = e->next)
			fn(e->val, arg);
}

void tcl_map_free(struct tcl_map *m, void (*free_val)(void *val))
{
	for (size_t i = 0; i < m->nb; i++) {
		struct tcl_map_ent *e = m->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			if (free_val)
				free_val(e->val);
			free(e);
		}
	}
	free(m->b);
	memset(m, 0, sizeof(*m));
}
