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

int tcl_allow_sync(struct tcl_bpf *b, uint32_t image_idx, const uint8_t (*digests)[32], size_t n,
		   size_t *added, size_t *removed)
{
	int fd = b->map_fd[TCL_MAP_ALLOW];
	struct tcl_allow_key k, next, *stale = NULL;
	uint8_t (*sorted)[32] = NULL;
	size_t n_stale = 0, cap = 0;
	uint8_t one = 1, v;
	int ret = 0;

	*added = *removed = 0;
	sorted = malloc((n ? n : 1) * 32);
	if (!sorted)
		return -ENOMEM;
	if (n) {
		memcpy(sorted, digests, n * 32);
		qsort(sorted, n, 32, cmp_digest);
	}

	memset(&k, 0, sizeof(k));
	k.image_idx = image_idx;
	for (size_t i = 0; i < n; i++) {
		memcpy(k.sha256, sorted[i], 32);
		if (bpf_map_lookup_elem(fd, &k, &v) == 0)
			continue;
		if (bpf_map_update_elem(fd, &k, &one, BPF_ANY)) {
			ret = -errno;
			pr_err("maps", "cannot add digest to allow map: %s%s", strerror(errno),
			       errno == E2BIG ? " (map full)" : "");
			goto out;
		}
		(*added)++;
	}

	/* Collect first, delete after: deleting while iterating restarts the walk. */
	if (bpf_map_get_next_key(fd, NULL, &next) == 0) {
		do {
			k = next;
			if (k.image_idx != image_idx ||
			    bsearch(k.sha256, sorted, n, 32, cmp_digest))
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
	free(stale);
	free(sorted);
	return ret;
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
