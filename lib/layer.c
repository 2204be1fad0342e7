// SPDX-License-Identifier: GPL-2.0
/* Applying one layer blob to the rootfs model: libarchive reads the (compressed) tar, every
 * byte is hashed on the way (blob digest and diff_id), whiteouts and opaque directories remove
 * what earlier layers put there.  Contracts in layer.h and ocilayout.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "diag.h"
#include "escape.h"
#include "hexb64.h"
#include "layer.h"
#include "rootfs_internal.h"

#define IOBUF		65536

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
		rc = rootfs_resolve_dir(fs, path, dirlen, true, &dir, &bad);
		if (rc == -ENOTDIR)
			pr_err("oci", "%s: entry \"%s\": \"%.*s\" is not a directory", L->name, who,
			       (int)bad, path);
		if (!rc)
			rootfs_purge_lower(fs, dir);
		return rc;
	}
	if (!strncmp(base, ".wh..wh.", 8))
		return 0;	/* other aufs metadata: no meaning here */
	if (!*name) {
		pr_err("oci", "%s: entry \"%s\": whiteout without a name", L->name, who);
		return -EINVAL;
	}
	if (rootfs_resolve_dir(fs, path, dirlen, false, &dir, &bad))
		return 0;	/* nothing there to hide */
	victim = rootfs_find_child(fs, dir, name, strlen(name));
	if (!victim)
		return 0;
	if (victim->layer < fs->cur_layer)
		rootfs_unlink_subtree(fs, victim);
	else if (victim->type == TCL_FS_DIR)
		rootfs_purge_lower(fs, victim);
	return 0;
}

static int link_content(struct layer *L, const char *target, struct content *c, const char *who)
{
	char tpath[TCL_OCI_MAX_PATH + 1], tshown[160];
	const char *why;
	struct node *t;
	int rc;

	rc = rootfs_norm_path(target, tpath, &why);
	if (rc) {
		pr_err("oci", "%s: entry \"%s\": hard link target \"%s\": %s", L->name, who,
		       tcl_esc_log(target, tshown, sizeof(tshown)), why);
		return rc;
	}
	t = rootfs_lookup_node(L->fs, tpath);
	if (!t || t->type == TCL_FS_DIR) {
		pr_err("oci", "%s: entry \"%s\": hard link to \"%s\", %s", L->name, who,
		       tcl_esc_log(target, tshown, sizeof(tshown)),
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
	tcl_esc_log(raw, who, sizeof(who));
	rc = rootfs_norm_path(raw, path, &why);
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

	rc = rootfs_resolve_dir(fs, path, dirlen, true, &dir, &bad);
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
	old = rootfs_find_child(fs, dir, base, strlen(base));
	if (old && old->type == TCL_FS_DIR && c.type == TCL_FS_DIR) {
		/* a directory over a directory merges, as overlayfs does */
		old->mode = c.mode;
		old->layer = fs->cur_layer;
		goto out;
	}
	if (old)
		rootfs_unlink_subtree(fs, old);
	rc = rootfs_add_child(fs, dir, base, strlen(base), &n);
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

bool tcl_layer_type_supported(const char *media_type)
{
	return layer_filter(media_type) >= 0;
}

static const char *filter_name(int f)
{
	return f == ARCHIVE_FILTER_NONE ? "uncompressed" : f == ARCHIVE_FILTER_GZIP ? "gzip" :
	       f == ARCHIVE_FILTER_ZSTD ? "zstd" : "another compression";
}

static int check_digest(struct layer *L, EVP_MD_CTX *md, const char *want, const char *what)
{
	unsigned char d[32];
	char got[65];

	EVP_DigestFinal_ex(md, d, NULL);
	tcl_hex(d, 32, got);
	if (strcmp(want + 7, got)) {
		pr_err("oci", "%s: %s mismatch: expected %s, content is sha256:%s", L->name, what,
		       want, got);
		return -EBADMSG;
	}
	return 0;
}

/* One layer: source (fd or memory) -> [filter] -> raw -> tar -> model. digest NULL: the source
 * is not checked (fuzzing); diff_id NULL: the uncompressed stream is not checked. */
int tcl_layer_apply(struct tcl_rootfs *fs, int fd, const void *mem, uint64_t size,
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
int tcl_rootfs_apply_mem(struct tcl_rootfs *fs, const void *blob, size_t len,
			 const char *media_type, const char *diff_id)
{
	static const unsigned char empty[1];

	return tcl_layer_apply(fs, -1, len ? blob : empty, len, media_type, NULL, diff_id,
			       "layer");
}
