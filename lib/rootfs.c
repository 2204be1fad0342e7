// SPDX-License-Identifier: GPL-2.0
/* The in-memory model of an image's root file system: a tree of nodes under a hash table keyed
 * by (parent, name); contracts in rootfs.h.  Layers change it through layer.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "rootfs_internal.h"

#define DEF_MAX_TOTAL	(16ULL << 30)
#define DEF_MAX_ENTRIES	1000000ULL
#define DEF_MAX_NODES	2000000ULL
#define DEF_MAX_JSON	(4U << 20)
#define DEF_MAX_LAYERS	256U

/* ---- SipHash-2-4: the model is keyed by attacker-chosen names, so the hash must be keyed. */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND							\
	do {								\
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;			\
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;			\
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

static uint64_t siphash(uint64_t k0, uint64_t k1, const unsigned char *in, size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i, left = len & 7, end = len - left;
	int r;

	for (i = 0; i < end; i += 8) {
		memcpy(&m, in + i, 8);
		v3 ^= m;
		for (r = 0; r < 2; r++)
			SIPROUND;
		v0 ^= m;
	}
	for (i = 0; i < left; i++)
		b |= (uint64_t)in[end + i] << (8 * i);
	v3 ^= b;
	for (r = 0; r < 2; r++)
		SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	for (r = 0; r < 4; r++)
		SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- rootfs model */

static uint32_t key_hash(const struct tcl_rootfs *fs, const struct node *parent,
			 const char *name, size_t len)
{
	return (uint32_t)siphash(fs->key[0] ^ (uint64_t)(uintptr_t)parent, fs->key[1],
				 (const unsigned char *)name, len);
}

struct node *rootfs_find_child(const struct tcl_rootfs *fs, const struct node *dir,
			       const char *name, size_t len)
{
	uint32_t h = key_hash(fs, dir, name, len);
	struct node *n;

	for (n = fs->tab[h & fs->mask]; n; n = n->hnext)
		if (n->hash == h && n->parent == dir && n->namelen == len &&
		    !memcmp(n->name, name, len))
			return n;
	return NULL;
}

static int grow(struct tcl_rootfs *fs)
{
	size_t nsz = (fs->mask + 1) * 2, i;
	struct node **nt, *n, *next;

	nt = calloc(nsz, sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	for (i = 0; i <= fs->mask; i++) {
		for (n = fs->tab[i]; n; n = next) {
			next = n->hnext;
			n->hnext = nt[n->hash & (nsz - 1)];
			nt[n->hash & (nsz - 1)] = n;
		}
	}
	free(fs->tab);
	fs->tab = nt;
	fs->mask = nsz - 1;
	return 0;
}

int rootfs_add_child(struct tcl_rootfs *fs, struct node *dir, const char *name, size_t len,
		     struct node **out)
{
	struct node *n;
	size_t b;

	if (fs->count >= fs->o.max_nodes) {
		pr_err("oci", "image has more than %" PRIu64 " files", fs->o.max_nodes);
		return -E2BIG;
	}
	if (fs->count >= fs->mask && grow(fs))
		return -ENOMEM;
	n = calloc(1, sizeof(*n) + len + 1);
	if (!n)
		return -ENOMEM;
	memcpy(n->name, name, len);
	n->namelen = (uint16_t)len;
	n->parent = dir;
	n->layer = fs->cur_layer;
	n->hash = key_hash(fs, dir, name, len);
	b = n->hash & fs->mask;
	n->hnext = fs->tab[b];
	fs->tab[b] = n;
	n->next = dir->child;
	if (dir->child)
		dir->child->prev = n;
	dir->child = n;
	fs->count++;
	*out = n;
	return 0;
}

static void hash_remove(struct tcl_rootfs *fs, struct node *n)
{
	struct node **pp = &fs->tab[n->hash & fs->mask];

	while (*pp && *pp != n)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = n->hnext;
	fs->count--;
}

/* Remove n and everything below it; iterative, the tree can be thousands deep. */
void rootfs_unlink_subtree(struct tcl_rootfs *fs, struct node *n)
{
	struct node *cur, *up;

	if (n->prev)
		n->prev->next = n->next;
	else if (n->parent)
		n->parent->child = n->next;
	if (n->next)
		n->next->prev = n->prev;
	cur = n;
	for (;;) {
		while (cur->child)
			cur = cur->child;
		if (cur == n)
			break;
		up = cur->parent;
		up->child = cur->next;
		if (cur->next)
			cur->next->prev = NULL;
		hash_remove(fs, cur);
		free(cur->link);
		free(cur);
		cur = up;
	}
	if (n->parent)
		hash_remove(fs, n);
	free(n->link);
	free(n);
}

static struct node *next_up(struct node *c, const struct node *top)
{
	while (c != top) {
		if (c->next)
			return c->next;
		c = c->parent;
	}
	return NULL;
}

/* Drop what earlier layers put below top; the current layer's entries stay. Because an entry
 * of the current layer marks all its ancestors as current, a subtree rooted at an earlier
 * layer's node holds no current entries. */
void rootfs_purge_lower(struct tcl_rootfs *fs, struct node *top)
{
	struct node *c = top->child, *next;

	while (c) {
		if (c->layer < fs->cur_layer) {
			next = next_up(c, top);
			rootfs_unlink_subtree(fs, c);
			c = next;
		} else if (c->child) {
			c = c->child;
		} else {
			c = next_up(c, top);
		}
	}
}

/* Normalise p (relative, single '/', no "."); ".." and oversize parts are refused. */
int rootfs_norm_path(const char *p, char *out, const char **why)
{
	const char *s = p, *c;
	size_t n = 0, len;

	if (strlen(p) > TCL_OCI_MAX_PATH) {
		*why = "path longer than 4096 bytes";
		return -ENAMETOOLONG;
	}
	while (*s) {
		while (*s == '/')
			s++;
		if (!*s)
			break;
		c = s;
		while (*s && *s != '/')
			s++;
		len = (size_t)(s - c);
		if (len == 1 && c[0] == '.')
			continue;
		if (len == 2 && c[0] == '.' && c[1] == '.') {
			*why = "path has a '..' component";
			return -EINVAL;
		}
		if (len > MAX_NAME) {
			*why = "path component longer than 255 bytes";
			return -ENAMETOOLONG;
		}
		if (n)
			out[n++] = '/';
		memcpy(out + n, c, len);
		n += len;
	}
	out[n] = '\0';
	return 0;
}

/* Walk the first len bytes of a normalised path as directories. create: make missing ones and
 * mark every one as touched by the current layer. -ENOTDIR: *bad = length of the offending
 * prefix. */
int rootfs_resolve_dir(struct tcl_rootfs *fs, const char *path, size_t len, bool create,
		       struct node **out, size_t *bad)
{
	struct node *cur = fs->root, *ch;
	size_t i = 0, j;
	int rc;

	while (i < len) {
		for (j = i; j < len && path[j] != '/'; j++)
			;
		ch = rootfs_find_child(fs, cur, path + i, j - i);
		if (!ch) {
			if (!create)
				return -ENOENT;
			rc = rootfs_add_child(fs, cur, path + i, j - i, &ch);
			if (rc)
				return rc;
			ch->type = TCL_FS_DIR;
			ch->mode = 0755;
		} else if (ch->type != TCL_FS_DIR) {
			*bad = j;
			return -ENOTDIR;
		} else if (create) {
			ch->layer = fs->cur_layer;
		}
		cur = ch;
		i = j + 1;
	}
	*out = cur;
	return 0;
}

struct node *rootfs_lookup_node(struct tcl_rootfs *fs, const char *path)
{
	const char *base = strrchr(path, '/');
	struct node *dir;
	size_t bad;

	if (!*path)
		return fs->root;
	base = base ? base + 1 : path;
	if (rootfs_resolve_dir(fs, path, base == path ? 0 : (size_t)(base - path - 1), false, &dir,
			       &bad))
		return NULL;
	return rootfs_find_child(fs, dir, base, strlen(base));
}

int tcl_rootfs_new(const struct tcl_oci_opts *opts, struct tcl_rootfs **out)
{
	struct tcl_rootfs *fs;

	*out = NULL;
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	if (opts)
		fs->o = *opts;
	if (!fs->o.max_total_bytes)
		fs->o.max_total_bytes = DEF_MAX_TOTAL;
	if (!fs->o.max_file_bytes)
		fs->o.max_file_bytes = fs->o.max_total_bytes;
	if (!fs->o.max_layer_entries)
		fs->o.max_layer_entries = DEF_MAX_ENTRIES;
	if (!fs->o.max_nodes)
		fs->o.max_nodes = DEF_MAX_NODES;
	if (!fs->o.max_json_bytes)
		fs->o.max_json_bytes = DEF_MAX_JSON;
	if (!fs->o.max_layers)
		fs->o.max_layers = DEF_MAX_LAYERS;
	if (!fs->o.os)
		fs->o.os = "linux";
	if (!fs->o.arch)
		fs->o.arch = "amd64";
	if (getrandom(fs->key, sizeof(fs->key), GRND_NONBLOCK) != sizeof(fs->key)) {
		/* only hash flooding resistance depends on this, never the result */
		fs->key[0] = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
		fs->key[1] = (uint64_t)(uintptr_t)fs;
	}
	fs->mask = 1023;
	fs->tab = calloc(fs->mask + 1, sizeof(*fs->tab));
	fs->root = calloc(1, sizeof(*fs->root) + 1);
	if (!fs->tab || !fs->root) {
		tcl_rootfs_free(fs);
		return -ENOMEM;
	}
	fs->root->type = TCL_FS_DIR;
	fs->root->mode = 0755;
	*out = fs;
	return 0;
}

void tcl_rootfs_free(struct tcl_rootfs *fs)
{
	struct node *c;

	if (!fs)
		return;
	if (fs->root) {
		while ((c = fs->root->child))
			rootfs_unlink_subtree(fs, c);
		free(fs->root);
	}
	free(fs->tab);
	free(fs);
}
size_t tcl_rootfs_count(const struct tcl_rootfs *fs)
{
	return fs->count;
}

static void fill_entry(const struct node *n, const char *path, struct tcl_fs_entry *e)
{
	e->path = path;
	e->type = (enum tcl_fs_type)n->type;
	e->mode = n->mode;
	e->size = n->size;
	memcpy(e->sha256, n->sha256, sizeof(e->sha256));
	e->elf = n->elf;
	e->link = n->link;
}

int tcl_rootfs_walk(const struct tcl_rootfs *fs,
		    int (*cb)(const struct tcl_fs_entry *e, void *arg), void *arg)
{
	char path[TCL_OCI_MAX_PATH + 2];
	struct tcl_fs_entry ent;
	struct node *c = fs->root->child;
	size_t plen = 0;
	int rc;

	while (c) {
		if (plen + 1 + c->namelen > TCL_OCI_MAX_PATH + 1)
			return -ENAMETOOLONG;	/* cannot happen: paths were bounded */
		path[plen] = '/';
		memcpy(path + plen + 1, c->name, c->namelen);
		path[plen + 1 + c->namelen] = '\0';
		fill_entry(c, path, &ent);
		rc = cb(&ent, arg);
		if (rc)
			return rc;
		if (c->child) {
			plen += 1 + c->namelen;
			c = c->child;
			continue;
		}
		while (c != fs->root && !c->next) {
			c = c->parent;
			if (c != fs->root)
				plen -= 1 + c->namelen;
		}
		c = c == fs->root ? NULL : c->next;
	}
	return 0;
}

int tcl_rootfs_lookup(const struct tcl_rootfs *fs, const char *path, struct tcl_fs_entry *e)
{
	char norm[TCL_OCI_MAX_PATH + 1];
	const char *why;
	struct node *n;

	if (rootfs_norm_path(path, norm, &why))
		return -ENOENT;
	n = rootfs_lookup_node((struct tcl_rootfs *)fs, norm);
	if (!n)
		return -ENOENT;
	fill_entry(n, path, e);
	return 0;
}

const struct tcl_oci_opts *tcl_rootfs_opts(const struct tcl_rootfs *fs)
{
	return &fs->o;
}
