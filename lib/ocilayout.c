// SPDX-License-Identifier: GPL-2.0
/* OCI image layout reader and in-memory rootfs model; contracts in ocilayout.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "canonjson.h"
#include "diag.h"
#include "ocilayout.h"

#define DEF_MAX_TOTAL	(16ULL << 30)
#define DEF_MAX_ENTRIES	1000000ULL
#define DEF_MAX_NODES	2000000ULL
#define DEF_MAX_JSON	(4U << 20)
#define DEF_MAX_LAYERS	256U
#define MAX_NAME	255
#define MAX_INDEX_DEPTH	4
#define IOBUF		65536

#define MT_OCI_INDEX	"application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST	"application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG	"application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_LIST	"application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

struct node {
	struct node *parent, *child, *next, *prev;	/* tree; children doubly linked */
	struct node *hnext;				/* hash chain, key (parent, name) */
	char *link;
	uint64_t size;
	uint32_t hash, layer, mode;
	uint8_t type, elf;
	uint16_t namelen;
	unsigned char sha256[32];
	char name[];
};

struct tcl_rootfs {
	struct node *root;
	struct node **tab;
	size_t mask, count;
	uint64_t key[2];
	struct tcl_oci_opts o;
	uint64_t stream_bytes;		/* uncompressed tar bytes */
	uint64_t content_bytes;		/* file bytes, sparse holes included */
	uint32_t cur_layer;
};

/* What an entry will become, gathered before the model is changed. */
struct content {
	uint8_t type, elf;
	uint32_t mode;
	uint64_t size;
	unsigned char sha256[32];
	char *link;
	unsigned char pfx[4];
	unsigned int pfxlen;
};

struct layer {
	struct tcl_rootfs *fs;
	const char *name;
	int fd;
	const unsigned char *mem;
	size_t memlen, memoff;
	uint64_t src_bytes, src_size;
	EVP_MD_CTX *src_md, *diff_md;
	struct archive *outer, *inner;
	int err;		/* set (and logged) by a read callback */
	unsigned char sbuf[IOBUF], ibuf[IOBUF];
};

/* Printable form of an untrusted name for one log line. */
static const char *shown(const char *s, char *buf, size_t sz)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (o + 8 >= sz) {
			memcpy(buf + o, "...", 4);
			return buf;
		}
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			buf[o++] = (char)c;
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	buf[o] = '\0';
	return buf;
}

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

static struct node *find_child(const struct tcl_rootfs *fs, const struct node *dir,
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

static int add_child(struct tcl_rootfs *fs, struct node *dir, const char *name, size_t len,
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
static void unlink_subtree(struct tcl_rootfs *fs, struct node *n)
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
static void purge_lower(struct tcl_rootfs *fs, struct node *top)
{
	struct node *c = top->child, *next;

	while (c) {
		if (c->layer < fs->cur_layer) {
			next = next_up(c, top);
			unlink_subtree(fs, c);
			c = next;
		} else if (c->child) {
			c = c->child;
		} else {
			c = next_up(c, top);
		}
	}
}

/* Normalise p (relative, single '/', no "."); ".." and oversize parts are refused. */
static int norm_path(const char *p, char *out, const char **why)
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
static int resolve_dir(struct tcl_rootfs *fs, const char *path, size_t len, bool create,
		       struct node **out, size_t *bad)
{
	struct node *cur = fs->root, *ch;
	size_t i = 0, j;
	int rc;

	while (i < len) {
		for (j = i; j < len && path[j] != '/'; j++)
			;
		ch = find_child(fs, cur, path + i, j - i);
		if (!ch) {
			if (!create)
				return -ENOENT;
			rc = add_child(fs, cur, path + i, j - i, &ch);
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

static struct node *lookup_node(struct tcl_rootfs *fs, const char *path)
{
	const char *base = strrchr(path, '/');
	struct node *dir;
	size_t bad;

	if (!*path)
		return fs->root;
	base = base ? base + 1 : path;
	if (resolve_dir(fs, path, base == path ? 0 : (size_t)(base - path - 1), false, &dir, &bad))
		return NULL;
	return find_child(fs, dir, base, strlen(base));
}

static void layer_fail(struct layer *L, struct archive *a, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Callback failures: log once here, remember the errno, make libarchive give up. */
static void layer_fail(struct layer *L, struct archive *a, int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pr_err("oci", "%s: %s", L->name, msg);
	L->err = err;
	archive_set_error(a, -err, "%s", msg);
}

static la_ssize_t src_read(struct archive *a, void *ud, const void **buf)
{
	struct layer *L = ud;
	ssize_t n;

	if (L->mem) {
		n = (ssize_t)(L->memlen - L->memoff < IOBUF ? L->memlen - L->memoff : IOBUF);
		*buf = L->mem + L->memoff;
		L->memoff += (size_t)n;
	} else {
		do
			n = read(L->fd, L->sbuf, sizeof(L->sbuf));
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			layer_fail(L, a, -errno, "read: %s", strerror(errno));
			return -1;
		}
		*buf = L->sbuf;
	}
	L->src_bytes += (uint64_t)n;
	if (L->src_bytes > L->src_size) {
		layer_fail(L, a, -EBADMSG, "blob is larger than its descriptor says (%" PRIu64
			   " bytes)", L->src_size);
		return -1;
	}
	EVP_DigestUpdate(L->src_md, *buf, (size_t)n);
	return n;
}

static int count_stream(struct layer *L, struct archive *a, size_t n)
{
	struct tcl_rootfs *fs = L->fs;

	fs->stream_bytes += n;
	if (fs->stream_bytes > fs->o.max_total_bytes) {
		layer_fail(L, a, -EFBIG, "uncompressed layers exceed %" PRIu64 " bytes",
			   fs->o.max_total_bytes);
		return -1;
	}
	EVP_DigestUpdate(L->diff_md, L->ibuf, n);
	return 0;
}

/* The tar reader pulls the uncompressed stream from the outer (filter + raw) reader, so the
 * bytes it parses are exactly the bytes hashed for the diff_id. */
static la_ssize_t inner_read(struct archive *a, void *ud, const void **buf)
{
	struct layer *L = ud;
	la_ssize_t n;

	n = archive_read_data(L->outer, L->ibuf, sizeof(L->ibuf));
	if (n < 0) {
		if (!L->err)
			layer_fail(L, a, -EINVAL, "%s", archive_error_string(L->outer));
		else
			archive_set_error(a, EIO, "source failed");
		return -1;
	}
	if (count_stream(L, a, (size_t)n))
		return -1;
	*buf = L->ibuf;
	return n;
}

static int feed(struct layer *L, EVP_MD_CTX *md, struct content *c, const void *p, size_t n,
		const char *who)
{
	struct tcl_rootfs *fs = L->fs;
	unsigned int k;

	if (c->size + n > fs->o.max_file_bytes) {
		pr_err("oci", "%s: entry \"%s\": larger than %" PRIu64 " bytes", L->name, who,
		       fs->o.max_file_bytes);
		return -EFBIG;
	}
	fs->content_bytes += n;
	if (fs->content_bytes > fs->o.max_total_bytes) {
		pr_err("oci", "%s: entry \"%s\": file content exceeds %" PRIu64 " bytes in total",
		       L->name, who, fs->o.max_total_bytes);
		return -EFBIG;
	}
	for (k = 0; c->pfxlen < 4 && k < n; k++)
		c->pfx[c->pfxlen++] = ((const unsigned char *)p)[k];
	c->size += n;
	EVP_DigestUpdate(md, p, n);
	return 0;
}

static int feed_zeros(struct layer *L, EVP_MD_CTX *md, struct content *c, uint64_t n,
		      const char *who)
{
	static const unsigned char zero[IOBUF];
	size_t k;
	int rc;

	while (n) {
		k = n < IOBUF ? (size_t)n : IOBUF;
		rc = feed(L, md, c, zero, k, who);
		if (rc)
			return rc;
		n -= k;
	}
	return 0;
}

static int entry_error(struct layer *L, const char *who)
{
	if (L->err)
		return L->err;
	pr_err("oci", "%s: entry \"%s\": %s", L->name, who, archive_error_string(L->inner));
	return -EINVAL;
}

static int hash_content(struct layer *L, struct archive_entry *e, struct content *c,
			const char *who)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const void *buf;
	size_t n;
	la_int64_t off;
	int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
	int r, rc = 0;

	if (!md)
		return -ENOMEM;
	if (size < 0 || (uint64_t)size > L->fs->o.max_file_bytes) {
		pr_err("oci", "%s: entry \"%s\": size %" PRId64 " over the limit of %" PRIu64,
		       L->name, who, size, L->fs->o.max_file_bytes);
		rc = -EFBIG;
		goto out;
	}
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (;;) {
		r = archive_read_data_block(L->inner, &buf, &n, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			rc = entry_error(L, who);
			goto out;
		}
		/* sparse files: holes are part of the content, as zeros */
		if (off < 0 || (uint64_t)off < c->size) {
			pr_err("oci", "%s: entry \"%s\": sparse data out of order", L->name, who);
			rc = -EINVAL;
			goto out;
		}
		rc = feed_zeros(L, md, c, (uint64_t)off - c->size, who);
		if (!rc)
			rc = feed(L, md, c, buf, n, who);
		if (rc)
			goto out;
	}
	if ((uint64_t)size > c->size)
		rc = feed_zeros(L, md, c, (uint64_t)size - c->size, who);
	if (rc)
		goto out;
	EVP_DigestFinal_ex(md, c->sha256, NULL);
	c->elf = c->pfxlen == 4 && !memcmp(c->pfx, "\x7f" "ELF", 4);
out:
	EVP_MD_CTX_free(md);
	return rc;
}

static int whiteout(struct layer *L, const char *path, size_t dirlen, const char *base,
		    const char *who)
{
	struct tcl_rootfs *fs = L->fs;
	struct node *dir, *victim;
	const char *name = base + 4;
	size_t bad;
	int rc;

	if (!strcmp(base, ".wh..wh..opq")) {
		rc = resolve_dir(fs, path, dirlen, true, &dir, &bad);
		if (rc == -ENOTDIR)
			pr_err("oci", "%s: entry \"%s\": \"%.*s\" is not a directory", L->name, who,
			       (int)bad, path);
		if (!rc)
			purge_lower(fs, dir);
		return rc;
	}
	if (!strncmp(base, ".wh..wh.", 8))
		return 0;	/* other aufs metadata: no meaning here */
	if (!*name) {
		pr_err("oci", "%s: entry \"%s\": whiteout without a name", L->name, who);
		return -EINVAL;
	}
	if (resolve_dir(fs, path, dirlen, false, &dir, &bad))
		return 0;	/* nothing there to hide */
	victim = find_child(fs, dir, name, strlen(name));
	if (!victim)
		return 0;
	if (victim->layer < fs->cur_layer)
		unlink_subtree(fs, victim);
	else if (victim->type == TCL_FS_DIR)
		purge_lower(fs, victim);
	return 0;
}

static int link_content(struct layer *L, const char *target, struct content *c, const char *who)
{
	char tpath[TCL_OCI_MAX_PATH + 1], tshown[160];
	const char *why;
	struct node *t;
	int rc;

	rc = norm_path(target, tpath, &why);
	if (rc) {
		pr_err("oci", "%s: entry \"%s\": hard link target \"%s\": %s", L->name, who,
		       shown(target, tshown, sizeof(tshown)), why);
		return rc;
	}
	t = lookup_node(L->fs, tpath);
	if (!t || t->type == TCL_FS_DIR) {
		pr_err("oci", "%s: entry \"%s\": hard link to \"%s\", %s", L->name, who,
		       shown(target, tshown, sizeof(tshown)),
		       t ? "a directory" : "which is not in the image (yet)");
		return t ? -EINVAL : -ENOENT;
	}
	c->type = t->type;
	c->mode = t->mode;
	c->size = t->size;
	c->elf = t->elf;
	memcpy(c->sha256, t->sha256, sizeof(c->sha256));
	if (t->link) {
		c->link = strdup(t->link);
		if (!c->link)
			return -ENOMEM;
	}
	return 0;
}

static int apply_entry(struct layer *L, struct archive_entry *e)
{
	struct tcl_rootfs *fs = L->fs;
	char path[TCL_OCI_MAX_PATH + 1], who[160];
	const char *raw, *why, *base, *t;
	struct content c = { 0 };
	struct node *dir, *old, *n;
	size_t dirlen, bad;
	int rc;

	raw = archive_entry_pathname(e);
	if (!raw)
		raw = archive_entry_pathname_utf8(e);
	if (!raw) {
		pr_err("oci", "%s: entry with an unreadable name", L->name);
		return -EINVAL;
	}
	shown(raw, who, sizeof(who));
	rc = norm_path(raw, path, &why);
	if (rc) {
		pr_err("oci", "%s: entry \"%s\": %s", L->name, who, why);
		return rc;
	}
	if (!*path) {
		if (archive_entry_filetype(e) == AE_IFDIR && !archive_entry_hardlink(e)) {
			fs->root->mode = archive_entry_perm(e) & 07777;
			return 0;
		}
		pr_err("oci", "%s: entry \"%s\": names the root but is not a directory", L->name,
		       who);
		return -EINVAL;
	}
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	dirlen = base == path ? 0 : (size_t)(base - path - 1);
	if (!strncmp(base, ".wh.", 4))
		return whiteout(L, path, dirlen, base, who);

	rc = resolve_dir(fs, path, dirlen, true, &dir, &bad);
	if (rc == -ENOTDIR)
		pr_err("oci", "%s: entry \"%s\": \"%.*s\" is not a directory (symlinks are not "
		       "followed)", L->name, who, (int)bad, path);
	if (rc)
		return rc;

	c.mode = archive_entry_perm(e) & 07777;
	t = archive_entry_hardlink(e);
	if (!t)
		t = archive_entry_hardlink_utf8(e);
	if (t) {
		rc = link_content(L, t, &c, who);
		goto place;
	}
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
		c.type = TCL_FS_REG;
		rc = hash_content(L, e, &c, who);
		break;
	case AE_IFDIR:
		c.type = TCL_FS_DIR;
		break;
	case AE_IFLNK:
		c.type = TCL_FS_SYMLINK;
		t = archive_entry_symlink(e);
		if (!t)
			t = archive_entry_symlink_utf8(e);
		if (!t || strlen(t) > TCL_OCI_MAX_PATH) {
			pr_err("oci", "%s: entry \"%s\": symlink target %s", L->name, who,
			       t ? "longer than 4096 bytes" : "unreadable");
			return -EINVAL;
		}
		c.link = strdup(t);
		if (!c.link)
			return -ENOMEM;
		break;
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
	case AE_IFSOCK:
		c.type = TCL_FS_OTHER;
		break;
	default:
		pr_err("oci", "%s: entry \"%s\": unsupported type 0%o", L->name, who,
		       (unsigned int)archive_entry_filetype(e));
		return -EINVAL;
	}
place:
	if (rc)
		goto out;
	old = find_child(fs, dir, base, strlen(base));
	if (old && old->type == TCL_FS_DIR && c.type == TCL_FS_DIR) {
		/* a directory over a directory merges, as overlayfs does */
		old->mode = c.mode;
		old->layer = fs->cur_layer;
		goto out;
	}
	if (old)
		unlink_subtree(fs, old);
	rc = add_child(fs, dir, base, strlen(base), &n);
	if (rc)
		goto out;
	n->type = c.type;
	n->mode = c.mode;
	n->size = c.size;
	n->elf = c.elf;
	memcpy(n->sha256, c.sha256, sizeof(n->sha256));
	n->link = c.link;
	c.link = NULL;
out:
	free(c.link);
	return rc;
}

static int layer_filter(const char *mt)
{
	static const struct {
		const char *mt;
		int filter;
	} tab[] = {
		{ "application/vnd.oci.image.layer.v1.tar", ARCHIVE_FILTER_NONE },
		{ "application/vnd.oci.image.layer.v1.tar+gzip", ARCHIVE_FILTER_GZIP },
		{ "application/vnd.oci.image.layer.v1.tar+zstd", ARCHIVE_FILTER_ZSTD },
		{ "application/vnd.oci.image.layer.nondistributable.v1.tar", ARCHIVE_FILTER_NONE },
		{ "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
		  ARCHIVE_FILTER_GZIP },
		{ "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
		  ARCHIVE_FILTER_ZSTD },
		{ "application/vnd.docker.image.rootfs.diff.tar", ARCHIVE_FILTER_NONE },
		{ "application/vnd.docker.image.rootfs.diff.tar.gzip", ARCHIVE_FILTER_GZIP },
		{ "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
		  ARCHIVE_FILTER_GZIP },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (!strcmp(mt, tab[i].mt))
			return tab[i].filter;
	return -1;
}

static const char *filter_name(int f)
{
	return f == ARCHIVE_FILTER_NONE ? "uncompressed" : f == ARCHIVE_FILTER_GZIP ? "gzip" :
	       f == ARCHIVE_FILTER_ZSTD ? "zstd" : "another compression";
}

static void hex32(const unsigned char *d, char *out)
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[64] = '\0';
}

static int check_digest(struct layer *L, EVP_MD_CTX *md, const char *want, const char *what)
{
	unsigned char d[32];
	char got[65];

	EVP_DigestFinal_ex(md, d, NULL);
	hex32(d, got);
	if (strcmp(want + 7, got)) {
		pr_err("oci", "%s: %s mismatch: expected %s, content is sha256:%s", L->name, what,
		       want, got);
		return -EBADMSG;
	}
	return 0;
}

/* One layer: source (fd or memory) -> [filter] -> raw -> tar -> model. digest NULL: the source
 * is not checked (fuzzing); diff_id NULL: the uncompressed stream is not checked. */
static int apply_layer(struct tcl_rootfs *fs, int fd, const void *mem, uint64_t size,
		       const char *media_type, const char *digest, const char *diff_id,
		       const char *name)
{
	struct archive_entry *e;
	struct layer *L;
	uint64_t entries = 0;
	la_ssize_t n;
	int want, r, rc = 0;

	want = layer_filter(media_type);
	if (want < 0) {
		pr_err("oci", "%s: unsupported layer media type \"%s\"", name, media_type);
		return -ENOTSUP;
	}
	L = calloc(1, sizeof(*L));
	if (!L)
		return -ENOMEM;
	L->fs = fs;
	L->name = name;
	L->fd = fd;
	L->mem = mem;
	L->memlen = mem ? size : 0;
	L->src_size = size;
	L->src_md = EVP_MD_CTX_new();
	L->diff_md = EVP_MD_CTX_new();
	L->outer = archive_read_new();
	L->inner = archive_read_new();
	if (!L->src_md || !L->diff_md || !L->outer || !L->inner) {
		rc = -ENOMEM;
		goto out;
	}
	EVP_DigestInit_ex(L->src_md, EVP_sha256(), NULL);
	EVP_DigestInit_ex(L->diff_md, EVP_sha256(), NULL);
	fs->cur_layer++;

	archive_read_support_filter_gzip(L->outer);
	archive_read_support_filter_zstd(L->outer);
	archive_read_support_format_raw(L->outer);
	archive_read_support_format_tar(L->inner);
	if (archive_read_open(L->outer, L, NULL, src_read, NULL) != ARCHIVE_OK ||
	    (r = archive_read_next_header(L->outer, &e)) != ARCHIVE_OK) {
		if (!L->err)
			pr_err("oci", "%s: %s", name, archive_error_string(L->outer) ?:
			       "empty layer");
		rc = L->err ?: -EINVAL;
		goto out;
	}
	if (archive_filter_code(L->outer, 0) != want) {
		pr_err("oci", "%s: media type \"%s\" says %s, the blob is %s", name, media_type,
		       filter_name(want), filter_name(archive_filter_code(L->outer, 0)));
		rc = -EINVAL;
		goto out;
	}
	if (archive_read_open(L->inner, L, NULL, inner_read, NULL) != ARCHIVE_OK) {
		rc = L->err ?: -EINVAL;
		if (!L->err)
			pr_err("oci", "%s: not a tar archive: %s", name,
			       archive_error_string(L->inner));
		goto out;
	}
	for (;;) {
		r = archive_read_next_header(L->inner, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			rc = L->err;
			if (!rc) {
				pr_err("oci", "%s: tar: %s", name, archive_error_string(L->inner));
				rc = -EINVAL;
			}
			goto out;
		}
		if (++entries > fs->o.max_layer_entries) {
			pr_err("oci", "%s: more than %" PRIu64 " entries", name,
			       fs->o.max_layer_entries);
			rc = -E2BIG;
			goto out;
		}
		rc = apply_entry(L, e);
		if (rc)
			goto out;
	}
	/* the diff_id and the blob digest cover the bytes after the tar's end blocks too */
	while ((n = archive_read_data(L->outer, L->ibuf, sizeof(L->ibuf))) > 0)
		if (count_stream(L, L->inner, (size_t)n)) {
			rc = L->err;
			goto out;
		}
	if (n < 0) {
		rc = L->err;
		if (!rc) {
			pr_err("oci", "%s: %s", name, archive_error_string(L->outer));
			rc = -EINVAL;
		}
		goto out;
	}
	for (;;) {
		const void *b;

		n = src_read(L->outer, L, &b);
		if (n < 0) {
			rc = L->err;
			goto out;
		}
		if (!n)
			break;
	}
	if (L->src_bytes != L->src_size) {
		pr_err("oci", "%s: blob is %" PRIu64 " bytes, its descriptor says %" PRIu64, name,
		       L->src_bytes, L->src_size);
		rc = -EBADMSG;
		goto out;
	}
	if (digest)
		rc = check_digest(L, L->src_md, digest, "digest");
	if (!rc && diff_id)
		rc = check_digest(L, L->diff_md, diff_id, "diff_id (uncompressed digest)");
out:
	/* a corrupt blob usually trips the decompressor or the tar reader first; say whether
	 * it matches its digest, which is the actual finding */
	if (rc == -EINVAL && digest && fd >= 0) {
		const void *b;

		while ((n = src_read(L->outer, L, &b)) > 0)
			;
		if (!n && check_digest(L, L->src_md, digest, "digest"))
			rc = -EBADMSG;
	}
	if (L->inner)
		archive_read_free(L->inner);
	if (L->outer)
		archive_read_free(L->outer);
	EVP_MD_CTX_free(L->src_md);
	EVP_MD_CTX_free(L->diff_md);
	free(L);
	return rc;
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
			unlink_subtree(fs, c);
		free(fs->root);
	}
	free(fs->tab);
	free(fs);
}

int tcl_rootfs_apply_mem(struct tcl_rootfs *fs, const void *blob, size_t len,
			 const char *media_type, const char *diff_id)
{
	static const unsigned char empty[1];

	return apply_layer(fs, -1, len ? blob : empty, len, media_type, NULL, diff_id, "layer");
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

	if (norm_path(path, norm, &why))
		return -ENOENT;
	n = lookup_node((struct tcl_rootfs *)fs, norm);
	if (!n)
		return -ENOENT;
	fill_entry(n, path, e);
	return 0;
}

/* ---- layout, descriptors and JSON blobs */

struct desc {
	const char *media_type, *digest;
	uint64_t size;
	struct json_object *obj;
};

struct oci {
	int dfd;
	struct tcl_oci_opts o;
};

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static const char *annotation(struct json_object *o, const char *key)
{
	struct json_object *a;

	if (!json_object_object_get_ex(o, "annotations", &a) ||
	    !json_object_is_type(a, json_type_object))
		return NULL;
	return jstr(a, key);
}

static bool is_hex64(const char *s)
{
	int i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}

static int check_digest_str(const char *what, const char *d)
{
	char buf[160];

	if (!strncmp(d, "sha256:", 7) && is_hex64(d + 7))
		return 0;
	if (strchr(d, ':') && strncmp(d, "sha256:", 7)) {
		pr_err("oci", "%s: unsupported digest algorithm in \"%s\"", what,
		       shown(d, buf, sizeof(buf)));
		return -ENOTSUP;
	}
	pr_err("oci", "%s: malformed digest \"%s\"", what, shown(d, buf, sizeof(buf)));
	return -EINVAL;
}

static int parse_desc(const char *what, struct json_object *o, struct desc *d)
{
	struct json_object *v;
	int64_t size;

	memset(d, 0, sizeof(*d));
	if (!json_object_is_type(o, json_type_object)) {
		pr_err("oci", "%s: descriptor is not an object", what);
		return -EINVAL;
	}
	d->obj = o;
	d->media_type = jstr(o, "mediaType");
	d->digest = jstr(o, "digest");
	if (!d->media_type || !d->digest || !json_object_object_get_ex(o, "size", &v) ||
	    !json_object_is_type(v, json_type_int)) {
		pr_err("oci", "%s: descriptor needs mediaType, digest and size", what);
		return -EINVAL;
	}
	size = json_object_get_int64(v);
	if (size < 0) {
		pr_err("oci", "%s: negative size", what);
		return -EINVAL;
	}
	d->size = (uint64_t)size;
	return check_digest_str(what, d->digest);
}

static int read_all(int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -EBADMSG;
		got += (size_t)n;
	}
	return 0;
}

/* Blobs are opened non-blocking so a FIFO planted in the layout cannot hang us. */
static int open_blob(struct oci *x, const char *what, const struct desc *d, int *fdp)
{
	char rel[80];
	struct stat st;
	int fd, rc;

	snprintf(rel, sizeof(rel), "blobs/sha256/%s", d->digest + 7);
	fd = openat(x->dfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		pr_err("oci", "%s: blob %s: %s", what, d->digest, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		pr_err("oci", "%s: blob %s is not a regular file", what, d->digest);
		close(fd);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size != d->size) {
		pr_err("oci", "%s: blob %s is %jd bytes, its descriptor says %" PRIu64, what,
		       d->digest, (intmax_t)st.st_size, d->size);
		close(fd);
		return -EBADMSG;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	*fdp = fd;
	return 0;
}

/* Read, verify against the descriptor, then parse: nothing of an unverified blob is used. */
static int read_json_blob(struct oci *x, const char *what, const struct desc *d,
			  struct json_object **out)
{
	unsigned char md[32];
	char *buf = NULL, got[65];
	int fd = -1, rc;

	*out = NULL;
	if (d->size > x->o.max_json_bytes) {
		pr_err("oci", "%s: %" PRIu64 " bytes, limit %u", what, d->size,
		       x->o.max_json_bytes);
		return -EFBIG;
	}
	rc = open_blob(x, what, d, &fd);
	if (rc)
		return rc;
	buf = malloc(d->size + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	rc = read_all(fd, buf, d->size);
	if (rc) {
		pr_err("oci", "%s: blob %s: %s", what, d->digest, strerror(-rc));
		goto out;
	}
	EVP_Digest(buf, d->size, md, NULL, EVP_sha256(), NULL);
	hex32(md, got);
	if (strcmp(got, d->digest + 7)) {
		pr_err("oci", "%s: blob %s: digest mismatch, content is sha256:%s", what,
		       d->digest, got);
		rc = -EBADMSG;
		goto out;
	}
	rc = tcl_json_parse(what, buf, d->size, x->o.max_json_bytes, out);
	if (!rc && !json_object_is_type(*out, json_type_object)) {
		pr_err("oci", "%s: not a JSON object", what);
		json_object_put(*out);
		*out = NULL;
		rc = -EINVAL;
	}
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int read_json_file(struct oci *x, const char *name, size_t max, struct json_object **out)
{
	struct stat st;
	char *buf = NULL;
	int fd, rc;

	*out = NULL;
	fd = openat(x->dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		pr_err("oci", "%s: %s (not an OCI image layout?)", name, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		pr_err("oci", "%s: not a regular file", name);
		rc = -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		pr_err("oci", "%s: %jd bytes, limit %zu", name, (intmax_t)st.st_size, max);
		rc = -EFBIG;
		goto out;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	rc = read_all(fd, buf, (size_t)st.st_size);
	if (rc) {
		pr_err("oci", "%s: %s", name, strerror(-rc));
		goto out;
	}
	rc = tcl_json_parse(name, buf, (size_t)st.st_size, max, out);
	if (!rc && !json_object_is_type(*out, json_type_object)) {
		pr_err("oci", "%s: not a JSON object", name);
		json_object_put(*out);
		*out = NULL;
		rc = -EINVAL;
	}
out:
	free(buf);
	close(fd);
	return rc;
}

static bool is_index_type(const char *mt)
{
	return !strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST);
}

static bool is_manifest_type(const char *mt)
{
	return !strcmp(mt, MT_OCI_MANIFEST) || !strcmp(mt, MT_DOCKER_MANIFEST);
}

/* schemaVersion 2, and a mediaType inside must agree with the descriptor that led here: a
 * blob must not be read as something other than what it was published as. */
static int check_doc(const char *what, struct json_object *o, const char *desc_mt)
{
	struct json_object *v;
	const char *mt;

	if (!json_object_object_get_ex(o, "schemaVersion", &v) ||
	    !json_object_is_type(v, json_type_int) || json_object_get_int64(v) != 2) {
		pr_err("oci", "%s: schemaVersion is not 2", what);
		return -EINVAL;
	}
	mt = jstr(o, "mediaType");
	if (json_object_object_get_ex(o, "mediaType", &v) && (!mt || (desc_mt &&
							      strcmp(mt, desc_mt)))) {
		pr_err("oci", "%s: mediaType does not match its descriptor", what);
		return -EINVAL;
	}
	return 0;
}

static struct json_object *get_array(const char *what, struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array)) {
		pr_err("oci", "%s: \"%s\" is missing or not an array", what, key);
		return NULL;
	}
	return v;
}

static bool platform_match(struct oci *x, struct json_object *d)
{
	struct json_object *p;
	const char *os, *arch;

	if (!json_object_object_get_ex(d, "platform", &p) ||
	    !json_object_is_type(p, json_type_object))
		return false;
	os = jstr(p, "os");
	arch = jstr(p, "architecture");
	return os && arch && !strcmp(os, x->o.os) && !strcmp(arch, x->o.arch);
}

static void list_tags(struct json_object *arr, char *buf, size_t sz)
{
	size_t i, n = json_object_array_length(arr), o = 0;
	char one[80];
	const char *t;

	buf[0] = '\0';
	for (i = 0; i < n && o + 1 < sz; i++) {
		t = annotation(json_object_array_get_idx(arr, i),
			       "org.opencontainers.image.ref.name");
		if (!t)
			continue;
		o += (size_t)snprintf(buf + o, sz - o, "%s%s", o ? ", " : "",
				      shown(t, one, sizeof(one)));
	}
	if (!o)
		snprintf(buf, sz, "none");
}

static int select_top(struct oci *x, struct json_object *index, const char *tag, struct desc *d)
{
	struct json_object *arr, *pick = NULL, *e;
	char tags[512], tshown[160];
	size_t i, n, hits = 0;
	const char *t;

	arr = get_array("index.json", index, "manifests");
	if (!arr)
		return -EINVAL;
	n = json_object_array_length(arr);
	if (!n) {
		pr_err("oci", "index.json lists no manifests");
		return -ENOENT;
	}
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(arr, i);
		if (tag) {
			t = annotation(e, "org.opencontainers.image.ref.name");
			if (!t || strcmp(t, tag))
				continue;
		} else if (n > 1 && !platform_match(x, e)) {
			continue;
		}
		if (!hits++)
			pick = e;
	}
	if (hits != 1) {
		list_tags(arr, tags, sizeof(tags));
		if (tag && !hits)
			pr_err("oci", "index.json: no manifest tagged \"%s\" (tags: %s)",
			       shown(tag, tshown, sizeof(tshown)), tags);
		else if (tag)
			pr_err("oci", "index.json: tag \"%s\" names %zu manifests",
			       shown(tag, tshown, sizeof(tshown)), hits);
		else
			pr_err("oci", "index.json lists %zu manifests; choose one with DIR:TAG "
			       "(tags: %s)", n, tags);
		return tag && !hits ? -ENOENT : -EINVAL;
	}
	return parse_desc("index.json", pick, d);
}

static int select_platform(struct oci *x, const char *what, struct json_object *index,
			   struct desc *d)
{
	struct json_object *arr, *e;
	size_t i, n;

	arr = get_array(what, index, "manifests");
	if (!arr)
		return -EINVAL;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(arr, i);
		if (platform_match(x, e))
			return parse_desc(what, e, d);
	}
	pr_err("oci", "%s: no manifest for %s/%s", what, x->o.os, x->o.arch);
	return -ENOENT;
}

static int load_config(struct oci *x, struct json_object *manifest, unsigned int nlayers,
		       struct tcl_oci_image *img, struct json_object **cfg_out,
		       struct json_object **diff_ids)
{
	struct json_object *cfgd, *cfg = NULL, *rootfs, *ids;
	struct desc d;
	const char *t;
	size_t i;
	int rc;

	if (!json_object_object_get_ex(manifest, "config", &cfgd)) {
		pr_err("oci", "manifest: no config");
		return -EINVAL;
	}
	rc = parse_desc("manifest config", cfgd, &d);
	if (rc)
		return rc;
	if (strcmp(d.media_type, MT_OCI_CONFIG) && strcmp(d.media_type, MT_DOCKER_CONFIG)) {
		pr_err("oci", "manifest: config media type \"%s\": not a container image",
		       d.media_type);
		return -ENOTSUP;
	}
	snprintf(img->config_digest, sizeof(img->config_digest), "%s", d.digest);
	rc = read_json_blob(x, "config", &d, &cfg);
	if (rc)
		return rc;
	rc = -EINVAL;
	if (!json_object_object_get_ex(cfg, "rootfs", &rootfs) ||
	    !(t = jstr(rootfs, "type")) || strcmp(t, "layers") ||
	    !(ids = get_array("config rootfs", rootfs, "diff_ids"))) {
		pr_err("oci", "config: rootfs is not {\"type\":\"layers\",\"diff_ids\":[...]}");
		goto out;
	}
	if (json_object_array_length(ids) != nlayers) {
		pr_err("oci", "config: %zu diff_ids for %u layers", json_object_array_length(ids),
		       nlayers);
		goto out;
	}
	for (i = 0; i < nlayers; i++) {
		t = json_object_get_string(json_object_array_get_idx(ids, i));
		if (!json_object_is_type(json_object_array_get_idx(ids, i), json_type_string)) {
			pr_err("oci", "config: diff_ids[%zu] is not a string", i);
			goto out;
		}
		rc = check_digest_str("config diff_ids", t);
		if (rc)
			goto out;
	}
	*cfg_out = cfg;
	*diff_ids = ids;
	return 0;
out:
	json_object_put(cfg);
	return rc;
}

void tcl_oci_free(struct tcl_oci_image *img)
{
	if (!img)
		return;
	tcl_rootfs_free(img->rootfs);
	free(img->ref_name);
	free(img);
}

int tcl_oci_open(const char *layout_dir, const char *tag, const struct tcl_oci_opts *opts,
		 struct tcl_oci_image **out)
{
	struct json_object *layout = NULL, *index = NULL, *idx = NULL, *doc = NULL, *cfg = NULL;
	struct json_object *layers, *ids = NULL;
	struct tcl_oci_image *img = NULL;
	struct oci x = { .dfd = -1 };
	struct desc d, ld;
	char what[64], lname[96];
	const char *t;
	size_t i, n;
	int depth, fd, rc;

	*out = NULL;
	img = calloc(1, sizeof(*img));
	if (!img)
		return -ENOMEM;
	rc = tcl_rootfs_new(opts, &img->rootfs);
	if (rc)
		goto out;
	x.o = img->rootfs->o;
	x.dfd = open(layout_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (x.dfd < 0) {
		rc = -errno;
		pr_err("oci", "%s: %s", layout_dir, strerror(errno));
		goto out;
	}
	rc = read_json_file(&x, "oci-layout", 4096, &layout);
	if (rc)
		goto out;
	t = jstr(layout, "imageLayoutVersion");
	if (!t || strncmp(t, "1.", 2)) {
		pr_err("oci", "oci-layout: imageLayoutVersion is not 1.x");
		rc = -ENOTSUP;
		goto out;
	}
	rc = read_json_file(&x, "index.json", x.o.max_json_bytes, &index);
	if (!rc)
		rc = check_doc("index.json", index, NULL);
	if (!rc)
		rc = select_top(&x, index, tag, &d);
	if (rc)
		goto out;
	t = annotation(d.obj, "io.containerd.image.name");
	if (!t)
		t = annotation(d.obj, "org.opencontainers.image.ref.name");
	if (t && !(img->ref_name = strdup(t))) {
		rc = -ENOMEM;
		goto out;
	}
	for (depth = 0; is_index_type(d.media_type); depth++) {
		struct json_object *sub = NULL;

		if (depth >= MAX_INDEX_DEPTH) {
			pr_err("oci", "image indexes nested deeper than %d", MAX_INDEX_DEPTH);
			rc = -ELOOP;
			goto out;
		}
		if (!depth)
			snprintf(img->index_digest, sizeof(img->index_digest), "%s", d.digest);
		snprintf(what, sizeof(what), "image index %.19s", d.digest);
		rc = read_json_blob(&x, what, &d, &sub);
		if (!rc)
			rc = check_doc(what, sub, d.media_type);
		if (!rc)
			rc = select_platform(&x, what, sub, &d);
		/* d now points into sub, which stays until the end */
		json_object_put(idx);
		idx = sub;
		if (rc)
			goto out;
	}
	if (!is_manifest_type(d.media_type)) {
		pr_err("oci", "unsupported manifest media type \"%s\"", d.media_type);
		rc = -ENOTSUP;
		goto out;
	}
	snprintf(img->manifest_digest, sizeof(img->manifest_digest), "%s", d.digest);
	rc = read_json_blob(&x, "manifest", &d, &doc);
	if (!rc)
		rc = check_doc("manifest", doc, d.media_type);
	if (rc)
		goto out;
	layers = get_array("manifest", doc, "layers");
	if (!layers) {
		rc = -EINVAL;
		goto out;
	}
	n = json_object_array_length(layers);
	if (n > x.o.max_layers) {
		pr_err("oci", "manifest: %zu layers, limit %u", n, x.o.max_layers);
		rc = -E2BIG;
		goto out;
	}
	rc = load_config(&x, doc, (unsigned int)n, img, &cfg, &ids);
	if (rc)
		goto out;
	for (i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "layer %zu", i + 1);
		rc = parse_desc(what, json_object_array_get_idx(layers, i), &ld);
		if (rc)
			goto out;
		snprintf(lname, sizeof(lname), "layer %zu/%zu (%.19s)", i + 1, n, ld.digest);
		if (layer_filter(ld.media_type) < 0) {
			pr_err("oci", "%s: unsupported layer media type \"%s\"", lname,
			       ld.media_type);
			rc = -ENOTSUP;
			goto out;
		}
		rc = open_blob(&x, lname, &ld, &fd);
		if (rc)
			goto out;
		rc = apply_layer(img->rootfs, fd, NULL, ld.size, ld.media_type, ld.digest,
				 json_object_get_string(json_object_array_get_idx(ids, i)), lname);
		close(fd);
		if (rc)
			goto out;
	}
	img->nlayers = (unsigned int)n;
	*out = img;
	img = NULL;
out:
	json_object_put(layout);
	json_object_put(index);
	json_object_put(idx);
	json_object_put(doc);
	json_object_put(cfg);
	if (x.dfd >= 0)
		close(x.dfd);
	tcl_oci_free(img);
	return rc;
}
