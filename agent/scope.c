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
#include <json-c/json.h>

#include "agent_metrics.h"
#include "canonjson.h"
#include "cgroup.h"
#include "cri.h"
#include "podman.h"
#include "diag.h"
#include "maps.h"
#include "ocimeta.h"
#include "scope.h"

enum scope_kind { SCOPE_ALL, SCOPE_CGROUP, SCOPE_CONTAINERS };

/* Attribution stops being retried after this many ticks: the bundle will not appear. */
#define META_TRIES 10

struct container {
	uint64_t cgid;
	char *cgroup_path;
	struct tcl_cgroup_info info;
	/* from the OCI bundle; NULL until read */
	char *pod, *namespace_, *name, *image, *image_digest, *runtime, *start_record;
	int meta_tries;
	bool reported; /* container_start sent */
	bool deny_image; /* its image failed verification: no image set */
	bool revoked; /* its image (or the key that verified it) is revoked */
	bool told; /* the revocation state was decided (and told) by this agent */
	uint32_t image_idx;
};

struct image_slot {
	char *key; /* policy image key: a reference or a digest */
	uint32_t idx;
	bool in_policy;
	bool verified; /* set by image verification, not by the policy */
};

struct tcl_scope {
	enum scope_kind kind;
	char cgroup_root[PATH_MAX];
	char cgroup_path[PATH_MAX]; /* SCOPE_CGROUP: relative path */
	uint64_t cgroup_id;
	struct tcl_bpf *bpf;
	struct container *containers;
	size_t n_containers, cap_containers;
	struct image_slot *images;
	size_t n_images;
	uint32_t next_idx;
	tcl_container_fn on_container;
	void *ctx;
	tcl_revoked_fn revoked_of;
	tcl_revoke_applied_fn on_applied;
	void *revoke_ctx;
	tcl_reverify_fn reverify;
	void *reverify_ctx;
	bool scanning; /* tcl_scope_attach's walk: containers found are verified again */
};

int tcl_scope_new(const char *arg, const char *cgroup_root, struct tcl_scope **out)
{
	struct tcl_scope *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->next_idx = 1;
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

static void container_free(struct container *c)
{
	free(c->cgroup_path);
	free(c->pod);
	free(c->namespace_);
	free(c->name);
	free(c->image);
	free(c->image_digest);
	free(c->runtime);
	free(c->start_record);
}

void tcl_scope_free(struct tcl_scope *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_containers; i++)
		container_free(&s->containers[i]);
	free(s->containers);
	for (size_t i = 0; i < s->n_images; i++)
		free(s->images[i].key);
	free(s->images);
	free(s);
}

void tcl_scope_on_container(struct tcl_scope *s, tcl_container_fn fn, void *ctx)
{
	s->on_container = fn;
	s->ctx = ctx;
}

void tcl_scope_on_reverify(struct tcl_scope *s, tcl_reverify_fn fn, void *ctx)
{
	s->reverify = fn;
	s->reverify_ctx = ctx;
}

static struct container *find(struct tcl_scope *s, uint64_t cgid)
{
	for (size_t i = 0; i < s->n_containers; i++)
		if (s->containers[i].cgid == cgid)
			return &s->containers[i];
	return NULL;
}

static void view_of(const struct container *c, struct tcl_container_view *v)
{
	memset(v, 0, sizeof(*v));
	v->cgid = c->cgid;
	v->cgroup_path = c->cgroup_path;
	v->runtime = c->runtime ? c->runtime : tcl_runtime_name(c->info.runtime);
	v->image_idx = c->image_idx;
	v->meta.container_id = c->info.container_id;
	v->meta.pod_uid = c->info.pod_uid;
	v->meta.pod = c->pod;
	v->meta.namespace_ = c->namespace_;
	v->meta.container = c->name;
	v->meta.image = c->image;
	v->meta.image_digest = c->image_digest;
	v->start_record = c->start_record;
}

/* The image set of a container: a policy key naming its image reference, its digest, or
 * "<anything>@<its digest>". */
static uint32_t image_idx_for(struct tcl_scope *s, const struct container *c)
{
	for (size_t i = 0; i < s->n_images; i++) {
		const struct image_slot *im = &s->images[i];
		const char *at;

		if (!im->in_policy && !im->verified)
			continue;
		if (c->deny_image)
			return 0;
		if (im->in_policy && c->image && !strcmp(im->key, c->image))
			return im->idx;
		if (c->image_digest && *c->image_digest) {
			if (!strcmp(im->key, c->image_digest))
				return im->idx;
			at = strrchr(im->key, '@');
			if (at && !strcmp(at + 1, c->image_digest))
				return im->idx;
		}
	}
	return 0;
}

static char *dup_or_null(const char *v)
{
	return v && *v ? strdup(v) : NULL;
}

static void fill_from_meta(struct container *c, const struct tcl_container_meta *m)
{
	char *path = c->cgroup_path;
	json_object *rec;
	size_t len;

	c->cgroup_path = NULL;
	container_free(c);
	c->cgroup_path = path;
	c->start_record = NULL;
	c->pod = dup_or_null(m->pod);
	c->namespace_ = dup_or_null(m->namespace_);
	c->name = dup_or_null(m->container);
	c->image = dup_or_null(m->image);
	c->image_digest = dup_or_null(m->image_digest);
	c->runtime = dup_or_null(m->runtime);
	if (!c->info.pod_uid[0] && strlen(m->pod_uid) < sizeof(c->info.pod_uid))
		strcpy(c->info.pod_uid, m->pod_uid);
	rec = tcl_ocimeta_start_record(m);
	if (rec) {
		if (tcl_canon_json(rec, &c->start_record, &len))
			c->start_record = NULL;
		json_object_put(rec);
	}
}

/* Read the container's OCI bundle. Returns 0, or -ENOENT while it is not there yet. */
static int attribute(struct tcl_scope *s, struct container *c)
{
	struct tcl_container_meta *m = calloc(1, sizeof(*m));
	int ret;

	if (!m)
		return -ENOMEM;
	ret = tcl_ocimeta_load(NULL, c->info.container_id, m);
	if (!ret && !strcmp(m->runtime, "containerd")) {
		char err[512];

		/* containerd's bundle names the image, not the digest it pulled: ask its CRI */
		if (tcl_cri_fill_meta(NULL, m, err, sizeof(err)))
			pr_warn("scope", "container %.12s: image digest unknown: %s",
				c->info.container_id, err);
	}
	if (!ret && !strcmp(m->runtime, "podman")) {
		char err[512];

		/* podman's bundle names no image: containers/storage does */
		if (tcl_podman_fill_meta(m->bundle, m, err, sizeof(err)))
			pr_warn("scope", "container %.12s: podman metadata: %s",
				c->info.container_id, err);
	}
	if (!ret)
		fill_from_meta(c, m);
	free(m);
	return ret;
}

/* The container's scope entry: its image set, and whether its image is revoked. */
static int put_entry(struct tcl_scope *s, const struct container *c)
{
	return tcl_scope_add(s->bpf, c->cgid, c->image_idx,
			     TCL_SCOPE_CONTAINER | (c->revoked ? TCL_SCOPE_REVOKED : 0));
}

static const struct tcl_revocation *revocation_of(struct tcl_scope *s, const struct container *c)
{
	return s->revoked_of && c->image_digest ? s->revoked_of(s->revoke_ctx, c->image_digest) :
						  NULL;
}

/*
 * Bring c->revoked in line with the revocations; true when it changed (the entry is then
 * rewritten and the change told, with the revocation, or NULL when lifted).  A container
 * found with a revoked entry (a previous agent's) starts revoked, and the first decision is
 * told even when it confirms that; one whose image digest is unknown keeps what it has.
 */
static bool apply_revocation(struct tcl_scope *s, struct container *c)
{
	const struct tcl_revocation *r;
	struct tcl_container_view v;

	if (!c->image_digest)
		return false;
	r = revocation_of(s, c);
	if (c->revoked == (r != NULL) && (c->told || !r))
		return false;
	c->revoked = r != NULL;
	c->told = true;
	put_entry(s, c);
	view_of(c, &v);
	if (s->on_applied)
		s->on_applied(s->revoke_ctx, &v, r);
	return true;
}

static void report_start(struct tcl_scope *s, struct container *c)
{
	struct tcl_container_view v;
	uint32_t idx = image_idx_for(s, c);
	bool put = idx != c->image_idx || !c->reported;

	c->image_idx = idx;
	if (!apply_revocation(s, c) && put)
		put_entry(s, c);
	if (c->reported)
		return;
	c->reported = true;
	view_of(c, &v);
	if (s->on_container)
		s->on_container(s->ctx, true, &v);
}

static int add_container_quiet(struct tcl_scope *s, uint64_t cgid, const char *path,
			       const struct tcl_cgroup_info *info)
{
	struct tcl_scope_val old;
	struct container *c;

	if (s->n_containers == s->cap_containers) {
		size_t cap = s->cap_containers ? s->cap_containers * 2 : 64;
		struct container *nc = realloc(s->containers, cap * sizeof(*nc));

		if (!nc)
			return -ENOMEM;
		s->containers = nc;
		s->cap_containers = cap;
	}
	c = &s->containers[s->n_containers++];
	*c = (struct container){ .cgid = cgid, .info = *info, .cgroup_path = strdup(path) };
	/* a revoked entry (left by a previous agent) stays revoked until decided again */
	c->revoked = !tcl_scope_get(s->bpf, cgid, &old) && (old.flags & TCL_SCOPE_REVOKED);
	return put_entry(s, c);
}

/* A container that ran before this agent: its image is verified again before it is pointed at
 * any set, so it gets its own image's set back, or the global allowlist only. */
static void reverify(struct tcl_scope *s, struct container *c)
{
	char digest[80] = "";
	int r = s->reverify(s->reverify_ctx, c->image ? c->image : "",
			    c->image_digest ? c->image_digest : "", digest, sizeof(digest));

	if (r < 0)
		return;
	c->deny_image = r == 0;
	if (r == 1 && !c->image_digest && digest[0])
		c->image_digest = strdup(digest);
}

/* Track a container cgroup; ret is tcl_cgroup_parse's verdict (0 or -EPROTO). */
static int add_container(struct tcl_scope *s, uint64_t cgid, const char *path,
			 const struct tcl_cgroup_info *info)
{
	struct container *c = find(s, cgid);

	if (c)
		return 0;
	if (add_container_quiet(s, cgid, path, info))
		return -ENOMEM;
	c = find(s, cgid);
	if (!info->container_id[0] || attribute(s, c) == 0) {
		if (s->scanning && s->reverify && (c->image || c->image_digest))
			reverify(s, c);
		report_start(s, c);
	}
	return 0;
}

static void remove_container(struct tcl_scope *s, uint64_t cgid)
{
	struct container *c = find(s, cgid);
	struct tcl_container_view v;

	if (!c)
		return;
	view_of(c, &v);
	if (s->on_container)
		s->on_container(s->ctx, false, &v);
	container_free(c);
	*c = s->containers[--s->n_containers];
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
	if (snprintf(abs, sizeof(abs), "%s%s", s->cgroup_root, rel) >= (int)sizeof(abs))
		return;
	ret = tcl_cgroup_parse(rel, &info);
	if (ret == 0 || ret == -EPROTO) {
		if (tcl_cgroup_id_of_path(abs, &cgid) == 0) {
			if (ret == -EPROTO)
				pr_warn("scope", "unknown container layout %s: in scope, unattributed",
					rel);
			add_container(s, cgid, rel, &info);
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
			bool keep = (s->kind == SCOPE_CGROUP && next == s->cgroup_id) ||
				    find(s, next);

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
	cfg->scope_containers = s->kind == SCOPE_CONTAINERS;
	/* New containers must join in the kernel from now on, before the scan. */
	ret = tcl_bpf_set_config(b, cfg);
	if (ret)
		return ret;
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
		s->scanning = true;
		scan(s, "/", 0);
		s->scanning = false;
		pr_info("scope", "%zu running containers in scope", s->n_containers);
		break;
	}
	prune(s);
	return 0;
}

void tcl_scope_cgroup_record(struct tcl_scope *s, const struct tcl_event *e)
{
	struct tcl_cgroup_info info;
	char path[PATH_MAX];
	int ret;

	if (e->hook == TCL_HOOK_CGROUP_RMDIR) {
		remove_container(s, e->cgroup_id);
		return;
	}
	if (e->hook != TCL_HOOK_CGROUP_MKDIR || s->kind != SCOPE_CONTAINERS)
		return;
	if ((e->flags & TCL_EV_F_PATH_TRUNC) || !memchr(e->path, 0, sizeof(e->path))) {
		if (tcl_cgroup_path_of_id(s->cgroup_root, e->cgroup_id, path, sizeof(path)))
			return; /* already gone */
	} else {
		snprintf(path, sizeof(path), "%s", e->path);
	}
	ret = tcl_cgroup_parse(path, &info);
	if (ret && ret != -EPROTO) {
		/* The kernel's quick name check is wider than the full parser: not a container. */
		pr_debug("scope", "%s is not a container cgroup: out of scope", path);
		tcl_scope_del(s->bpf, e->cgroup_id);
		return;
	}
	add_container(s, e->cgroup_id, path, &info);
}

void tcl_scope_tick(struct tcl_scope *s)
{
	for (size_t i = 0; i < s->n_containers; i++) {
		struct container *c = &s->containers[i];

		if (c->reported)
			continue;
		if (attribute(s, c) == 0 || ++c->meta_tries >= META_TRIES) {
			if (!c->image)
				pr_warn("scope", "container %.12s: no OCI bundle found, unattributed",
					c->info.container_id);
			report_start(s, c);
		}
	}
}

static struct image_slot *image_slot(struct tcl_scope *s, const char *key)
{
	struct image_slot *ns;

	for (size_t i = 0; i < s->n_images; i++)
		if (!strcmp(s->images[i].key, key))
			return &s->images[i];
	ns = realloc(s->images, (s->n_images + 1) * sizeof(*ns));
	if (!ns)
		return NULL;
	s->images = ns;
	ns = &s->images[s->n_images];
	*ns = (struct image_slot){ .key = strdup(key), .idx = s->next_idx };
	if (!ns->key)
		return NULL;
	s->next_idx++;
	s->n_images++;
	return ns;
}

static const char *image_key(struct tcl_scope *s, uint32_t idx)
{
	for (size_t i = 0; i < s->n_images; i++)
		if (s->images[i].idx == idx)
			return s->images[i].key;
	return "?";
}

int tcl_scope_apply_images(struct tcl_scope *s, const struct tcl_policy *p, size_t *added,
			   size_t *removed)
{
	struct tcl_allow_set *sets = NULL;
	size_t n_sets = 0, a, r;
	int ret = 0;

	*added = *removed = 0;
	for (size_t i = 0; i < s->n_images; i++)
		s->images[i].in_policy = false;
	/* Image indexes are stable for the agent's life: a reload never points a container at
	 * another image's set, not even briefly. */
	sets = calloc(p->n_images ? p->n_images : 1, sizeof(*sets));
	if (!sets)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_images; i++) {
		const struct tcl_policy_image *im = &p->images[i];
		struct image_slot *slot = image_slot(s, im->name);
		uint8_t(*d)[32] = malloc((im->n_allow + 1) * 32);

		if (!slot || !d) {
			free(d);
			ret = -ENOMEM;
			goto out;
		}
		/* two names of one image share its slot: its set is synced once */
		if (slot->in_policy) {
			free(d);
			continue;
		}
		slot->in_policy = true;
		for (size_t j = 0; j < im->n_allow; j++)
			memcpy(d[j], im->allow[j].sha256, 32);
		sets[n_sets++] = (struct tcl_allow_set){ slot->idx, (const uint8_t(*)[32])d,
							 im->n_allow };
	}
	ret = tcl_allow_sync_sets(s->bpf, sets, n_sets, &a, &r);
	if (ret)
		goto out;
	*added += a;
	*removed += r;
	agent_metrics_global_digests(p->n_allow);
	for (size_t i = 0; i < n_sets; i++)
		agent_metrics_image_digests(image_key(s, sets[i].image_idx), sets[i].n);
	for (size_t i = 0; i < s->n_containers; i++) {
		struct container *c = &s->containers[i];
		uint32_t idx = image_idx_for(s, c);

		if (c->reported && idx != c->image_idx) {
			c->image_idx = idx;
			put_entry(s, c);
		}
	}
	/* Sets of images no longer in the policy are emptied after nobody points at them. */
	for (size_t i = 0; i < n_sets; i++)
		free((void *)sets[i].digests);
	n_sets = 0;
	free(sets);
	sets = calloc(s->n_images ? s->n_images : 1, sizeof(*sets));
	if (!sets)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_images; i++)
		if (!s->images[i].in_policy && !s->images[i].verified)
			sets[n_sets++] = (struct tcl_allow_set){ .image_idx = s->images[i].idx };
	if (n_sets) {
		ret = tcl_allow_sync_sets(s->bpf, sets, n_sets, &a, &r);
		*removed += r;
		for (size_t i = 0; !ret && i < n_sets; i++)
			agent_metrics_image_digests(image_key(s, sets[i].image_idx), 0);
	}
out:
	for (size_t i = 0; i < n_sets; i++)
		free((void *)sets[i].digests);
	free(sets);
	return ret;
}

void tcl_scope_meta(struct tcl_scope *s, uint64_t scope_cgid, struct tcl_event_meta *m)
{
	struct container *c = find(s, scope_cgid);
	struct tcl_container_view v;

	memset(m, 0, sizeof(*m));
	if (!c)
		return;
	view_of(c, &v);
	*m = v.meta;
}

size_t tcl_scope_containers(struct tcl_scope *s)
{
	return s->n_containers;
}

int tcl_scope_set_image(struct tcl_scope *s, const char *key, const uint8_t (*digests)[32],
			size_t n, uint32_t *idx)
{
	struct image_slot *slot = image_slot(s, key);
	size_t a, r;
	int ret;

	if (!slot)
		return -ENOMEM;
	ret = tcl_allow_sync(s->bpf, slot->idx, digests, n, &a, &r);
	if (ret)
		return ret;
	slot->verified = true;
	*idx = slot->idx;
	agent_metrics_image_digests(slot->key, n);
	return 0;
}

uint32_t tcl_scope_image_for(struct tcl_scope *s, const char *image, const char *digest)
{
	struct container c = { .image = (char *)image, .image_digest = (char *)digest };

	return image_idx_for(s, &c);
}

int tcl_scope_admit(struct tcl_scope *s, uint64_t cgid, const char *cgroup_path,
		    const struct tcl_container_meta *m, const char *image_digest, bool allow_image)
{
	struct tcl_cgroup_info info = {};
	struct container *c = find(s, cgid);

	if (!c) {
		if (tcl_cgroup_parse(cgroup_path, &info) != 0)
			snprintf(info.container_id, sizeof(info.container_id), "%.64s",
				 m->container_id);
		if (add_container_quiet(s, cgid, cgroup_path, &info))
			return -ENOMEM;
		c = find(s, cgid);
	}
	fill_from_meta(c, m);
	/* a layout the cgroup parser does not attribute (podman's cgroupfs manager): the hook
	 * names the container */
	if (!c->info.container_id[0])
		snprintf(c->info.container_id, sizeof(c->info.container_id), "%.64s",
			 m->container_id);
	if (image_digest && *image_digest) {
		free(c->image_digest);
		c->image_digest = strdup(image_digest);
	}
	/* A container whose image was refused keeps the global allowlist only; one already
	 * marked revoked stays so until the revocation is withdrawn. */
	c->deny_image = !allow_image;
	c->reported = false;
	report_start(s, c);
	return 0;
}

void tcl_scope_on_revoked(struct tcl_scope *s, tcl_revoked_fn revoked_of,
			  tcl_revoke_applied_fn on_applied, void *ctx)
{
	s->revoked_of = revoked_of;
	s->on_applied = on_applied;
	s->revoke_ctx = ctx;
}

size_t tcl_scope_apply_revocations(struct tcl_scope *s)
{
	size_t changed = 0;

	for (size_t i = 0; i < s->n_containers; i++)
		if (s->containers[i].reported && apply_revocation(s, &s->containers[i]))
			changed++;
	return changed;
}
