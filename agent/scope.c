// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cgroup.h"
#include "diag.h"
#include "maps.h"
#include "scope.h"

enum scope_kind { SCOPE_ALL, SCOPE_CGROUP, SCOPE_CONTAINERS };

struct container {
	uint64_t cgid;
	struct tcl_cgroup_info info;
	uint32_t image_idx;
};

struct tcl_scope {
	enum scope_kind kind;
	char cgroup_root[PATH_MAX];
	char cgroup_path[PATH_MAX]; /* SCOPE_CGROUP: relative path */
	uint64_t cgroup_id;
	struct tcl_bpf *bpf;
	struct container *containers;
	size_t n_containers, cap_containers;
};

int tcl_scope_new(const char *arg, const char *cgroup_root, struct tcl_scope **out)
{
	struct tcl_scope *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	snprintf(s->cgroup_root, sizeof(s->cgroup_root), "%s", cgroup_root);
	if (!strcmp(arg, "all")) {
		s->kind = SCOPE_ALL;
	} else if (!strcmp(arg, "containers")) {
		s->kind = SCOPE_CONTAINERS;
	} else if (!strncmp(arg, "cgroup:", 7) && arg[7]) {
		const char *p = arg + 7;
		size_t rl = strlen(cgroup_root);

		/* Accept both "/sys/fs/cgroup/x" and "/x" or "x". */
		if (!strncmp(p, cgroup_root, rl) && (p[rl] == '/' || !p[rl]))
			p += rl;
		while (*p == '/')
			p++;
		if (strstr(p, "..")) {
			pr_err("scope", "--scope cgroup:PATH must not contain '..': %s", arg);
			free(s);
			return -EINVAL;
		}
		s->kind = SCOPE_CGROUP;
		snprintf(s->cgroup_path, sizeof(s->cgroup_path), "/%s", p);
	} else {
		pr_err("scope", "bad --scope '%s': expected containers, all or cgroup:PATH", arg);
		free(s);
		return -EINVAL;
	}
	*out = s;
	return 0;
}

void tcl_scope_free(struct tcl_scope *s)
{
	if (!s)
		return;
	free(s->containers);
	free(s);
}

static int add_container(struct tcl_scope *s, uint64_t cgid, const struct tcl_cgroup_info *info)
{
	if (s->n_containers == s->cap_containers) {
		size_t cap = s->cap_containers ? s->cap_containers * 2 : 64;
		struct container *nc = realloc(s->containers, cap * sizeof(*nc));

		if (!nc)
			return -ENOMEM;
		s->containers = nc;
		s->cap_containers = cap;
	}
	s->containers[s->n_containers++] = (struct container){ .cgid = cgid, .info = *info };
	return tcl_scope_add(s->bpf, cgid, 0, TCL_SCOPE_CONTAINER);
}

/* Depth-first walk of the cgroup tree; a container's own sub-cgroups are covered by it. */
static void scan(struct tcl_scope *s, const char *rel, int depth)
{
	char abs[PATH_MAX], child[PATH_MAX];
	struct tcl_cgroup_info info;
	struct dirent *de;
	uint64_t cgid;
	DIR *d;
	int ret;

	if (depth > TCL_MAX_CGROUP_DEPTH)
		return;
	ret = tcl_cgroup_parse(rel, &info);
	if (snprintf(abs, sizeof(abs), "%s%s", s->cgroup_root, rel) >= (int)sizeof(abs))
		return;
	if (ret == 0 || ret == -EPROTO) {
		if (tcl_cgroup_id_of_path(abs, &cgid) == 0) {
			if (ret == -EPROTO)
				pr_warn("scope", "unknown container layout %s: in scope, unattributed",
					rel);
			add_container(s, cgid, &info);
		}
		return;
	}
	d = opendir(abs);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (snprintf(child, sizeof(child), "%s/%s", strcmp(rel, "/") ? rel : "",
			     de->d_name) >= (int)sizeof(child))
			continue;
		scan(s, child, depth + 1);
	}
	closedir(d);
}

/* Remove scope entries a previous agent left that are not in the current set. */
static void prune(struct tcl_scope *s)
{
	int fd = s->bpf->map_fd[TCL_MAP_SCOPE];
	uint64_t k, next, stale[256];
	size_t n;

	do {
		int ret = bpf_map_get_next_key(fd, NULL, &next);

		n = 0;
		while (ret == 0 && n < 256) {
			bool keep = s->kind == SCOPE_CGROUP && next == s->cgroup_id;

			for (size_t i = 0; !keep && i < s->n_containers; i++)
				keep = s->containers[i].cgid == next;
			if (!keep)
				stale[n++] = next;
			k = next;
			ret = bpf_map_get_next_key(fd, &k, &next);
		}
		for (size_t i = 0; i < n; i++)
			tcl_scope_del(s->bpf, stale[i]);
	} while (n == 256);
}

int tcl_scope_attach(struct tcl_scope *s, struct tcl_bpf *b, struct tcl_config *cfg)
{
	char abs[PATH_MAX];
	int ret;

	s->bpf = b;
	cfg->scope_all = s->kind == SCOPE_ALL;
	switch (s->kind) {
	case SCOPE_ALL:
		break;
	case SCOPE_CGROUP:
		if (snprintf(abs, sizeof(abs), "%s%s", s->cgroup_root, s->cgroup_path) >=
		    (int)sizeof(abs))
			return -ENAMETOOLONG;
		ret = tcl_cgroup_id_of_path(abs, &s->cgroup_id);
		if (ret) {
			pr_err("scope", "cgroup %s: %s", abs,
			       ret == -EMEDIUMTYPE ? "not on a cgroup2 file system" : strerror(-ret));
			return ret;
		}
		ret = tcl_scope_add(b, s->cgroup_id, 0, 0);
		if (ret)
			return ret;
		break;
	case SCOPE_CONTAINERS:
		scan(s, "/", 0);
		pr_info("scope", "%zu running containers in scope", s->n_containers);
		break;
	}
	prune(s);
	return 0;
}

int tcl_scope_apply_images(struct tcl_scope *s, const struct tcl_policy *p, size_t *added,
			   size_t *removed)
{
	*added = *removed = 0;
	for (size_t i = 0; i < p->n_images; i++) {
		const struct tcl_policy_image *im = &p->images[i];
		uint8_t(*d)[32] = malloc((im->n_allow + 1) * 32);
		size_t a, r;
		int ret;

		if (!d)
			return -ENOMEM;
		for (size_t j = 0; j < im->n_allow; j++)
			memcpy(d[j], im->allow[j].sha256, 32);
		ret = tcl_allow_sync(s->bpf, (uint32_t)i + 1, (const uint8_t(*)[32])d, im->n_allow,
				     &a, &r);
		free(d);
		if (ret)
			return ret;
		*added += a;
		*removed += r;
	}
	return 0;
}

void tcl_scope_meta(struct tcl_scope *s, uint64_t scope_cgid, struct tcl_event_meta *m)
{
	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < s->n_containers; i++) {
		if (s->containers[i].cgid != scope_cgid)
			continue;
		m->container_id = s->containers[i].info.container_id;
		m->pod_uid = s->containers[i].info.pod_uid;
		return;
	}
}

int tcl_scope_pollfds(struct tcl_scope *s, struct pollfd *fds, int max)
{
	return 0;
}

void tcl_scope_handle(struct tcl_scope *s)
{
}
