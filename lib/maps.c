// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "diag.h"
#include "maps.h"

static int cmp_digest(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static int cmp_set_idx(const void *a, const void *b)
{
	const struct tcl_allow_set *x = a, *y = b;

	return x->image_idx < y->image_idx ? -1 : x->image_idx > y->image_idx;
}

int tcl_allow_sync_sets(struct tcl_bpf *b, const struct tcl_allow_set *sets, size_t n_sets,
			size_t *added, size_t *removed)
{
	int fd = b->map_fd[TCL_MAP_ALLOW];
	struct tcl_allow_key k, next, *stale = NULL;
	struct tcl_allow_set *sorted;
	size_t n_stale = 0, cap = 0;
	uint8_t one = 1;
	int ret = 0;

	*added = *removed = 0;
	/* sets sorted by index, each with a sorted copy of its digests */
	sorted = calloc(n_sets ? n_sets : 1, sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	for (size_t i = 0; i < n_sets; i++) {
		uint8_t(*d)[32] = malloc((sets[i].n ? sets[i].n : 1) * 32);

		if (!d) {
			ret = -ENOMEM;
			goto out;
		}
		if (sets[i].n)
			memcpy(d, sets[i].digests, sets[i].n * 32);
		qsort(d, sets[i].n, 32, cmp_digest);
		sorted[i] = (struct tcl_allow_set){ sets[i].image_idx, (const uint8_t(*)[32])d,
						    sets[i].n };
	}
	qsort(sorted, n_sets, sizeof(*sorted), cmp_set_idx);

	memset(&k, 0, sizeof(k));
	for (size_t i = 0; i < n_sets; i++) {
		k.image_idx = sorted[i].image_idx;
		for (size_t j = 0; j < sorted[i].n; j++) {
			memcpy(k.sha256, sorted[i].digests[j], 32);
			/* one syscall a digest: present ones answer EEXIST */
			if (!bpf_map_update_elem(fd, &k, &one, BPF_NOEXIST)) {
				(*added)++;
			} else if (errno != EEXIST) {
				ret = -errno;
				pr_err("maps", "cannot add digest to allow map: %s%s",
				       strerror(errno), errno == E2BIG ? " (map full)" : "");
				goto out;
			}
		}
	}

	/* One walk for all the sets (not one per set: a policy of many images would cost
	 * images x entries). Collect first, delete after: deleting while iterating restarts
	 * the walk. */
	if (bpf_map_get_next_key(fd, NULL, &next) == 0) {
		do {
			struct tcl_allow_set key_set = { .image_idx = next.image_idx };
			const struct tcl_allow_set *set;

			k = next;
			set = bsearch(&key_set, sorted, n_sets, sizeof(*sorted), cmp_set_idx);
			if (!set || bsearch(k.sha256, set->digests, set->n, 32, cmp_digest))
				continue;
			if (n_stale == cap) {
				struct tcl_allow_key *ns;

				cap = cap ? cap * 2 : 256;
				ns = realloc(stale, cap * sizeof(*ns));
				if (!ns) {
					ret = -ENOMEM;
					goto out;
				}
				stale = ns;
			}
			stale[n_stale++] = k;
		} while (bpf_map_get_next_key(fd, &k, &next) == 0);
	}
	for (size_t i = 0; i < n_stale; i++)
		*removed += bpf_map_delete_elem(fd, &stale[i]) == 0;
out:
	for (size_t i = 0; i < n_sets; i++)
		free((void *)sorted[i].digests);
	free(sorted);
	free(stale);
	return ret;
}

int tcl_allow_sync(struct tcl_bpf *b, uint32_t image_idx, const uint8_t (*digests)[32], size_t n,
		   size_t *added, size_t *removed)
{
	struct tcl_allow_set set = { image_idx, digests, n };

	return tcl_allow_sync_sets(b, &set, 1, added, removed);
}

int tcl_scope_add(struct tcl_bpf *b, uint64_t cgid, uint32_t image_idx, uint32_t flags)
{
	struct tcl_scope_val v = { .image_idx = image_idx, .flags = flags };

	if (bpf_map_update_elem(b->map_fd[TCL_MAP_SCOPE], &cgid, &v, BPF_ANY)) {
		pr_err("maps", "cannot add cgroup %llu to scope: %s", (unsigned long long)cgid,
		       strerror(errno));
		return -errno;
	}
	return 0;
}

int tcl_scope_get(struct tcl_bpf *b, uint64_t cgid, struct tcl_scope_val *v)
{
	return bpf_map_lookup_elem(b->map_fd[TCL_MAP_SCOPE], &cgid, v) ? -errno : 0;
}

bool tcl_scope_has(struct tcl_bpf *b, uint64_t cgid)
{
	struct tcl_scope_val v;

	return bpf_map_lookup_elem(b->map_fd[TCL_MAP_SCOPE], &cgid, &v) == 0;
}

int tcl_scope_del(struct tcl_bpf *b, uint64_t cgid)
{
	if (bpf_map_delete_elem(b->map_fd[TCL_MAP_SCOPE], &cgid) && errno != ENOENT)
		return -errno;
	return 0;
}

size_t tcl_scope_count(struct tcl_bpf *b)
{
	uint64_t k, next;
	size_t n = 0;
	int ret = bpf_map_get_next_key(b->map_fd[TCL_MAP_SCOPE], NULL, &next);

	while (ret == 0) {
		n++;
		k = next;
		ret = bpf_map_get_next_key(b->map_fd[TCL_MAP_SCOPE], &k, &next);
	}
	return n;
}

size_t tcl_allow_count(struct tcl_bpf *b, uint32_t image_idx)
{
	struct tcl_allow_key k, next;
	size_t n = 0;
	int ret = bpf_map_get_next_key(b->map_fd[TCL_MAP_ALLOW], NULL, &next);

	while (ret == 0) {
		n += next.image_idx == image_idx;
		k = next;
		ret = bpf_map_get_next_key(b->map_fd[TCL_MAP_ALLOW], &k, &next);
	}
	return n;
}
