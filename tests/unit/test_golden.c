// SPDX-License-Identifier: GPL-2.0
/* Golden manifests end to end: OCI layouts are built here with libarchive (tar, gzip), read back
 * through ocilayout, turned into manifests, signed and verified. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "canonjson.h"
#include "cmds.h"
#include "diag.h"
#include "golden.h"
#include "ocilayout.h"

#define MT_TAR "application/vnd.oci.image.layer.v1.tar"
#define MT_TGZ "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_INDEX "application/vnd.oci.image.index.v1+json"

#define ELF_SH "\x7f" "ELF\x02\x01\x01\0sh binary"
#define ELF_TOOL "\x7f" "ELF\x02\x01\x01\0tool binary"
#define ELF_LIBC "\x7f" "ELF\x02\x01\x01\0libc"
#define ELF_X "\x7f" "ELF\x02\x01\x01\0x.so"

/* One tar entry. type: f file, d dir, l symlink, h hard link, c char device, z: size bomb
 * (len bytes of zeros). */
struct tent {
	const char *path;
	char type;
	unsigned int mode;
	const char *data;
	size_t len;
	const char *link;
};

#define F(p, m, d) { p, 'f', m, d, sizeof(d) - 1, NULL }
#define D(p) { p, 'd', 0755, NULL, 0, NULL }
#define L(p, t) { p, 'l', 0777, NULL, 0, t }
#define H(p, t) { p, 'h', 0644, NULL, 0, t }

struct lspec {
	const struct tent *ents;
	size_t n;
	bool gzip;
	bool reverse;	/* write entries in reverse order, hard links last */
	long mtime;
};

struct buf {
	char *p;
	size_t len, cap;
};

static char tmpdir[64];

static void buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 4096;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static la_ssize_t wr_cb(struct archive *a, void *ud, const void *p, size_t n)
{
	buf_add(ud, p, n);
	return (la_ssize_t)n;
}

static void sha256_hex(const void *p, size_t n, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	int i;

	EVP_Digest(p, n, md, NULL, EVP_sha256(), NULL);
	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

static void write_entry(struct archive *a, const struct tent *t, long mtime)
{
	static char zeros[65536];
	struct archive_entry *e = archive_entry_new();
	size_t left;

	archive_entry_set_pathname(e, t->path);
	archive_entry_set_mtime(e, mtime, 0);
	archive_entry_set_uid(e, mtime ? 1000 : 0);
	archive_entry_set_perm(e, t->mode);
	switch (t->type) {
	case 'f':
	case 'z':
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_size(e, (la_int64_t)t->len);
		break;
	case 'd':
		archive_entry_set_filetype(e, AE_IFDIR);
		break;
	case 'l':
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_symlink(e, t->link);
		break;
	case 'h':
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_hardlink(e, t->link);
		archive_entry_set_size(e, 0);
		break;
	case 'c':
		archive_entry_set_filetype(e, AE_IFCHR);
		archive_entry_set_rdev(e, makedev(1, 3));
		break;
	}
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	if (t->type == 'f' && t->len)
		assert_int_equal(archive_write_data(a, t->data, t->len), (la_ssize_t)t->len);
	for (left = t->type == 'z' ? t->len : 0; left;) {
		size_t k = left < sizeof(zeros) ? left : sizeof(zeros);

		assert_int_equal(archive_write_data(a, zeros, k), (la_ssize_t)k);
		left -= k;
	}
	archive_entry_free(e);
}

/* Uncompressed tar in *raw; the blob (gzip or not) in *blob. */
static void make_tar(const struct lspec *l, struct buf *raw, struct buf *blob)
{
	struct archive *a;
	size_t i;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		struct buf *b = pass ? blob : raw;

		if (pass && !l->gzip) {
			buf_add(blob, raw->p, raw->len);
			break;
		}
		a = archive_write_new();
		archive_write_set_format_pax_restricted(a);
		if (pass)
			archive_write_add_filter_gzip(a);
		archive_write_set_bytes_in_last_block(a, 1);
		assert_int_equal(archive_write_open(a, b, NULL, wr_cb, NULL), ARCHIVE_OK);
		if (!l->reverse) {
			for (i = 0; i < l->n; i++)
				write_entry(a, &l->ents[i], l->mtime);
		} else {
			for (i = l->n; i-- > 0;)
				if (l->ents[i].type != 'h')
					write_entry(a, &l->ents[i], l->mtime);
			for (i = 0; i < l->n; i++)
				if (l->ents[i].type == 'h')
					write_entry(a, &l->ents[i], l->mtime);
		}
		assert_int_equal(archive_write_close(a), ARCHIVE_OK);
		archive_write_free(a);
	}
}

static void write_file(const char *dir, const char *rel, const void *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

static void write_str(const char *dir, const char *rel, const char *s)
{
	write_file(dir, rel, s, strlen(s));
}

/* Store a blob by digest; fills "sha256:<hex>". */
static void put_blob(const char *dir, const void *p, size_t n, char digest[72])
{
	char rel[128], hex[65];

	sha256_hex(p, n, hex);
	snprintf(digest, 72, "sha256:%s", hex);
	snprintf(rel, sizeof(rel), "blobs/sha256/%s", hex);
	write_file(dir, rel, p, n);
}

static struct json_object *desc(const char *mt, const char *digest, size_t size)
{
	struct json_object *d = json_object_new_object();

	json_object_object_add(d, "mediaType", json_object_new_string(mt));
	json_object_object_add(d, "digest", json_object_new_string(digest));
	json_object_object_add(d, "size", json_object_new_int64((int64_t)size));
	return d;
}

static void put_json_blob(const char *dir, struct json_object *o, char digest[72], size_t *size)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

	*size = strlen(s);
	put_blob(dir, s, *size, digest);
}

static void new_layout(char *dir)
{
	char path[512];

	strcpy(dir, tmpdir);
	strcat(dir, "/layoutXXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/blobs", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/blobs/sha256", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	write_file(dir, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
}

/* Layers + config + manifest into dir's blobs; returns the manifest descriptor. diff_ids may be
 * overridden (bad_diff) to test the check. annot: extra bytes in a manifest annotation. */
static struct json_object *make_image(const char *dir, const struct lspec *ls, size_t n,
				      bool bad_diff, size_t annot)
{
	struct json_object *cfg, *rootfs, *ids, *man, *layers;
	char digest[72], diff[72];
	size_t i, size;

	cfg = json_object_new_object();
	rootfs = json_object_new_object();
	ids = json_object_new_array();
	layers = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct buf raw = { 0 }, blob = { 0 };

		make_tar(&ls[i], &raw, &blob);
		sha256_hex(raw.p, raw.len, diff + 7);
		memcpy(diff, "sha256:", 7);
		if (bad_diff)
			diff[7] = diff[7] == '0' ? '1' : '0';
		json_object_array_add(ids, json_object_new_string(diff));
		put_blob(dir, blob.p, blob.len, digest);
		json_object_array_add(layers, desc(ls[i].gzip ? MT_TGZ : MT_TAR, digest, blob.len));
		free(raw.p);
		free(blob.p);
	}
	json_object_object_add(rootfs, "type", json_object_new_string("layers"));
	json_object_object_add(rootfs, "diff_ids", ids);
	json_object_object_add(cfg, "architecture", json_object_new_string("amd64"));
	json_object_object_add(cfg, "os", json_object_new_string("linux"));
	json_object_object_add(cfg, "rootfs", rootfs);
	put_json_blob(dir, cfg, digest, &size);
	json_object_put(cfg);

	man = json_object_new_object();
	json_object_object_add(man, "schemaVersion", json_object_new_int(2));
	json_object_object_add(man, "mediaType", json_object_new_string(MT_MANIFEST));
	json_object_object_add(man, "config",
			       desc("application/vnd.oci.image.config.v1+json", digest, size));
	json_object_object_add(man, "layers", layers);
	if (annot) {
		struct json_object *a = json_object_new_object();
		char *pad = malloc(annot + 1);

		memset(pad, 'x', annot);
		pad[annot] = '\0';
		json_object_object_add(a, "pad", json_object_new_string(pad));
		json_object_object_add(man, "annotations", a);
		free(pad);
	}
	put_json_blob(dir, man, digest, &size);
	json_object_put(man);
	return desc(MT_MANIFEST, digest, size);
}

static void tag_desc(struct json_object *d, const char *tag)
{
	struct json_object *a = json_object_new_object();

	json_object_object_add(a, "org.opencontainers.image.ref.name",
			       json_object_new_string(tag));
	json_object_object_add(d, "annotations", a);
}

static void platform_desc(struct json_object *d, const char *arch)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "os", json_object_new_string("linux"));
	json_object_object_add(p, "architecture", json_object_new_string(arch));
	json_object_object_add(d, "platform", p);
}

/* index.json listing the given descriptors (consumed). */
static void write_index(const char *dir, struct json_object **descs, size_t n)
{
	struct json_object *idx = json_object_new_object(), *arr = json_object_new_array();
	const char *s;
	size_t i;

	for (i = 0; i < n; i++)
		json_object_array_add(arr, descs[i]);
	json_object_object_add(idx, "schemaVersion", json_object_new_int(2));
	json_object_object_add(idx, "manifests", arr);
	s = json_object_to_json_string_ext(idx, JSON_C_TO_STRING_PLAIN);
	write_file(dir, "index.json", s, strlen(s));
	json_object_put(idx);
}

static void simple_layout(char *dir, const struct lspec *ls, size_t n, const char *tag)
{
	struct json_object *d;

	new_layout(dir);
	d = make_image(dir, ls, n, false, 0);
	if (tag)
		tag_desc(d, tag);
	write_index(dir, &d, 1);
}

static char *slurp(const char *path, size_t *len)
{
	struct stat st;
	char *p;
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &st), 0);
	p = malloc((size_t)st.st_size + 1);
	assert_int_equal(fread(p, 1, (size_t)st.st_size, f), (size_t)st.st_size);
	p[st.st_size] = '\0';
	fclose(f);
	*len = (size_t)st.st_size;
	return p;
}

/* Corrupt one byte of the blob at digest (without changing its size). */
static void flip_blob_byte(const char *dir, const char *digest, long off)
{
	char path[512];
	int fd, c;

	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", dir, digest + 7);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	c = 0;
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c ^= 0x20;
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

/* stderr capture, to check that an error names what it is about */
static int saved_fd = -1, base_verbosity = -1;
static FILE *cap_file;
static char cap_buf[16384];

static void cap_start(void)
{
	fflush(stderr);
	cap_file = tmpfile();
	assert_non_null(cap_file);
	saved_fd = dup(2);
	dup2(fileno(cap_file), 2);
	tcl_verbosity = TCL_INFO;
}

static const char *cap_end(void)
{
	size_t n;

	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	rewind(cap_file);
	n = fread(cap_buf, 1, sizeof(cap_buf) - 1, cap_file);
	cap_buf[n] = '\0';
	fclose(cap_file);
	tcl_verbosity = base_verbosity;
	return cap_buf;
}

/* ---- the image every golden set test uses */

static const struct tent layer1[] = {
	D("bin"), D("usr"), D("usr/bin"), D("usr/lib"), D("etc"), D("opt"), D("opt/app"),
	D("opt/app/lib"), D("var"), D("var/lib"), D("var/lib/gone"), D("dev"), D("data"),
	F("bin/sh", 0755, ELF_SH),
	F("usr/bin/tool", 0644, ELF_TOOL),		/* ELF without exec bit: in */
	F("usr/lib/libc.so.6", 0644, ELF_LIBC),
	F("usr/local/bin/run.sh", 0755, "#!/bin/sh\necho hi\n"),	/* implicit parents */
	F("etc/passwd", 0644, "root:x:0:0:root:/root:/bin/sh\n"),	/* data: out */
	F("usr/bin/old", 0755, "old"),			/* whiteout later */
	F("opt/app/run", 0755, "run v1"),		/* opaque dir later */
	F("opt/app/lib/x.so", 0755, ELF_X),
	F("usr/bin/over", 0755, "over v1"),		/* overwritten later */
	L("usr/bin/link", "tool"),
	H("usr/bin/tool-hl", "usr/bin/tool"),
	F("usr/bin/grp", 0610, "group exec"),
	F("usr/bin/empty", 0755, ""),
	F("data/blob.bin", 0600, "\x7f" "EL"),		/* too short to be ELF */
	{ "dev/null", 'c', 0666, NULL, 0, NULL },
	F("usr/bin/recreated", 0755, "rec v1"),
	F("var/lib/gone/x", 0755, "gone"),
};

static const struct tent layer2[] = {
	F("usr/bin/.wh.old", 0644, ""),
	D("opt/app"),
	F("opt/app/new", 0755, "new app"),		/* before the opaque marker on purpose */
	F("opt/app/.wh..wh..opq", 0644, ""),
	F("usr/bin/over", 0755, "over v2"),
	H("usr/sbin/over-hl", "usr/bin/over"),
	H("usr/sbin/sh-hl", "bin/sh"),
	F("usr/bin/recreated", 0755, "rec v2"),
	F("usr/bin/.wh.recreated", 0644, ""),	/* same layer: hides the old one only */
	F("var/lib/.wh.gone", 0644, ""),
	F("/usr/bin/abs", 0755, "absolute"),
	F("./usr/bin/dot", 04755, "suid"),
	L("usr/bin/old-link", "/bin/sh"),
	F("usr/bin/.wh..wh.plnk", 0644, ""),		/* aufs metadata: ignored */
};

static const struct lspec base_layers[] = {
	{ layer1, sizeof(layer1) / sizeof(layer1[0]), false, false, 0 },
	{ layer2, sizeof(layer2) / sizeof(layer2[0]), true, false, 0 },
};

static const struct {
	const char *path, *content;
	size_t len;
} expect_files[] = {
#define X(p, c) { p, c, sizeof(c) - 1 }
	X("/bin/sh", ELF_SH),
	X("/opt/app/new", "new app"),
	X("/usr/bin/abs", "absolute"),
	X("/usr/bin/dot", "suid"),
	X("/usr/bin/empty", ""),
	X("/usr/bin/grp", "group exec"),
	X("/usr/bin/over", "over v2"),
	X("/usr/bin/recreated", "rec v2"),
	X("/usr/bin/tool", ELF_TOOL),
	X("/usr/bin/tool-hl", ELF_TOOL),
	X("/usr/lib/libc.so.6", ELF_LIBC),
	X("/usr/local/bin/run.sh", "#!/bin/sh\necho hi\n"),
	X("/usr/sbin/over-hl", "over v2"),
	X("/usr/sbin/sh-hl", ELF_SH),
#undef X
};

static void check_golden_set(const char *json, size_t len, const char *image)
{
	struct tcl_golden *g;
	unsigned char md[32];
	char hex[65];
	size_t i;

	assert_int_equal(tcl_golden_parse(json, len, &g), 0);
	assert_int_equal(g->nfiles, sizeof(expect_files) / sizeof(expect_files[0]));
	for (i = 0; i < g->nfiles; i++) {
		char got[65];
		int k;

		assert_string_equal(g->files[i].path, expect_files[i].path);
		sha256_hex(expect_files[i].content, expect_files[i].len, hex);
		for (k = 0; k < 32; k++)
			sprintf(got + 2 * k, "%02x", g->files[i].sha256[k]);
		assert_string_equal(got, hex);
	}
	/* 14 files, 11 distinct contents (two hard links, and sh-hl) */
	assert_int_equal(g->ndigests, 11);
	EVP_Digest("over v2", 7, md, NULL, EVP_sha256(), NULL);
	assert_true(tcl_golden_has_digest(g, md));
	EVP_Digest("over v1", 7, md, NULL, EVP_sha256(), NULL);
	assert_false(tcl_golden_has_digest(g, md));
	EVP_Digest("run v1", 6, md, NULL, EVP_sha256(), NULL);
	assert_false(tcl_golden_has_digest(g, md));
	assert_non_null(tcl_golden_find(g, "/usr/bin/tool-hl"));
	assert_null(tcl_golden_find(g, "/usr/bin/link"));
	assert_null(tcl_golden_find(g, "/etc/passwd"));
	assert_string_equal(g->image, image);
	assert_string_equal(g->index_digest, "");
	tcl_golden_free(g);
}

static void test_golden_set(void **state)
{
	struct tcl_oci_image *img;
	struct tcl_fs_entry e;
	char dir[128], *json;
	size_t len;

	simple_layout(dir, base_layers, 2, "v1");
	assert_int_equal(tcl_golden_generate(dir, NULL, "example.org/test:1", &json, &len), 0);
	check_golden_set(json, len, "example.org/test:1");
	assert_non_null(strstr(json, "{\"config_digest\":\"sha256:"));
	free(json);

	/* the model behind it */
	assert_int_equal(tcl_oci_open(dir, "v1", NULL, &img), 0);
	assert_int_equal(img->nlayers, 2);
	assert_string_equal(img->ref_name, "v1");
	assert_int_equal(tcl_rootfs_lookup(img->rootfs, "/usr/bin/old", &e), -ENOENT);
	assert_int_equal(tcl_rootfs_lookup(img->rootfs, "/opt/app/run", &e), -ENOENT);
	assert_int_equal(tcl_rootfs_lookup(img->rootfs, "/opt/app/lib", &e), -ENOENT);
	assert_int_equal(tcl_rootfs_lookup(img->rootfs, "/var/lib/gone", &e), -ENOENT);
	assert_int_equal(tcl_rootfs_lookup(img->rootfs, "/usr/bin/.wh.old", &e), -ENOENT);
	assert_int_equal(tcl_rootfs_lookup(img->rootfs, "/var/lib", &e), 0);
	assert_int_equal(e.type, TCL_FS_DIR);
	assert_int_equal(tcl_rootfs_lookup(img->rootfs, "/usr/bin/link", &e), 0);
	assert_int_equal(e.type, TCL_FS_SYMLINK);
	assert_string_equal(e.link, "tool");
	assert_int_equal(tcl_rootfs_lookup(img->rootfs, "/usr/bin/link/x", &e), -ENOENT);
	assert_int_equal(tcl_rootfs_lookup(img->rootfs, "/dev/null", &e), 0);
	assert_int_equal(e.type, TCL_FS_OTHER);
	assert_int_equal(tcl_rootfs_lookup(img->rootfs, "/usr/bin/tool", &e), 0);
	assert_true(e.elf);
	assert_int_equal(e.mode, 0644);
	assert_int_equal(tcl_rootfs_lookup(img->rootfs, "/usr/bin/dot", &e), 0);
	assert_int_equal(e.mode, 04755);
	assert_int_equal(tcl_rootfs_lookup(img->rootfs, "/data/blob.bin", &e), 0);
	assert_false(e.elf);
	assert_int_equal(e.size, 3);
	tcl_oci_free(img);
}

static char *files_of(const char *json, size_t len)
{
	struct json_object *o, *f;
	char *out;
	size_t olen;

	assert_int_equal(tcl_json_parse("t", json, len, 1 << 22, &o), 0);
	assert_true(json_object_object_get_ex(o, "files", &f));
	assert_int_equal(tcl_canon_json(f, &out, &olen), 0);
	json_object_put(o);
	return out;
}

static void test_reproducible(void **state)
{
	static const struct lspec other[] = {
		{ layer1, sizeof(layer1) / sizeof(layer1[0]), true, true, 1700000000 },
		{ layer2, sizeof(layer2) / sizeof(layer2[0]), false, true, 1700000000 },
	};
	char dir[128], dir2[128], *j1, *j2, *j3, *f1, *f3;
	size_t l1, l2, l3;

	simple_layout(dir, base_layers, 2, NULL);
	assert_int_equal(tcl_golden_generate(dir, NULL, "r:1", &j1, &l1), 0);
	assert_int_equal(tcl_golden_generate(dir, NULL, "r:1", &j2, &l2), 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(j1, j2, l1);

	/* same content: other entry order, mtimes, owners and compression */
	simple_layout(dir2, other, 2, NULL);
	assert_int_equal(tcl_golden_generate(dir2, NULL, "r:1", &j3, &l3), 0);
	f1 = files_of(j1, l1);
	f3 = files_of(j3, l3);
	assert_string_equal(f1, f3);
	check_golden_set(j3, l3, "r:1");
	free(f1);
	free(f3);
	free(j1);
	free(j2);
	free(j3);
}

static const struct tent small_layer[] = {
	D("bin"),
	F("bin/true", 0755, ELF_SH),
	F("etc/hostname", 0644, "box\n"),
};

static const struct lspec small[] = { { small_layer, 3, true, false, 0 } };

static void get_manifest(const char *dir, struct json_object **man, char mdigest[72])
{
	struct json_object *idx, *d;
	char path[512], *s;
	size_t len;

	snprintf(path, sizeof(path), "%s/index.json", dir);
	s = slurp(path, &len);
	idx = json_tokener_parse(s);
	free(s);
	d = json_object_array_get_idx(json_object_object_get(idx, "manifests"), 0);
	snprintf(mdigest, 72, "%s", json_object_get_string(json_object_object_get(d, "digest")));
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", dir, mdigest + 7);
	s = slurp(path, &len);
	*man = json_tokener_parse(s);
	free(s);
	json_object_put(idx);
}

static const char *layer_digest(struct json_object *man, size_t i)
{
	return json_object_get_string(json_object_object_get(
		json_object_array_get_idx(json_object_object_get(man, "layers"), i), "digest"));
}

static void test_blob_mismatch(void **state)
{
	struct tcl_oci_image *img;
	struct json_object *man;
	char dir[128], md[72], path[512], cfg[72];
	const char *err;
	FILE *f;

	/* a layer byte changed (in the gzip member's data): inflate may fail first, the
	 * digest mismatch is reported either way */
	simple_layout(dir, small, 1, NULL);
	get_manifest(dir, &man, md);
	flip_blob_byte(dir, layer_digest(man, 0), 30);
	cap_start();
	assert_int_equal(tcl_oci_open(dir, NULL, NULL, &img), -EBADMSG);
	err = cap_end();
	assert_non_null(strstr(err, "layer 1/1"));
	assert_non_null(strstr(err, "digest mismatch"));
	json_object_put(man);

	/* the same on an uncompressed layer, where the tar still parses: digest must catch it */
	{
		static const struct lspec plain[] = { { small_layer, 3, false, false, 0 } };

		simple_layout(dir, plain, 1, NULL);
		get_manifest(dir, &man, md);
		flip_blob_byte(dir, layer_digest(man, 0), 512 + 20);	/* inside bin/true */
		cap_start();
		assert_int_equal(tcl_oci_open(dir, NULL, NULL, &img), -EBADMSG);
		err = cap_end();
		assert_non_null(strstr(err, "digest mismatch"));
		json_object_put(man);
	}

	/* the config changed */
	simple_layout(dir, small, 1, NULL);
	get_manifest(dir, &man, md);
	snprintf(cfg, sizeof(cfg), "%s", json_object_get_string(json_object_object_get(
		json_object_object_get(man, "config"), "digest")));
	flip_blob_byte(dir, cfg, 2);
	assert_int_equal(tcl_oci_open(dir, NULL, NULL, &img), -EBADMSG);
	json_object_put(man);

	/* the manifest changed */
	simple_layout(dir, small, 1, NULL);
	get_manifest(dir, &man, md);
	flip_blob_byte(dir, md, 3);
	assert_int_equal(tcl_oci_open(dir, NULL, NULL, &img), -EBADMSG);
	json_object_put(man);

	/* a layer grew */
	simple_layout(dir, small, 1, NULL);
	get_manifest(dir, &man, md);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", dir, layer_digest(man, 0) + 7);
	f = fopen(path, "a");
	fputc('x', f);
	fclose(f);
	assert_int_equal(tcl_oci_open(dir, NULL, NULL, &img), -EBADMSG);

	/* a layer missing */
	unlink(path);
	assert_int_equal(tcl_oci_open(dir, NULL, NULL, &img), -ENOENT);
	json_object_put(man);
}

static void test_diff_id_mismatch(void **state)
{
	struct tcl_oci_image *img;
	struct json_object *d;
	char dir[128];
	const char *err;

	new_layout(dir);
	d = make_image(dir, small, 1, true, 0);
	write_index(dir, &d, 1);
	cap_start();
	assert_int_equal(tcl_oci_open(dir, NULL, NULL, &img), -EBADMSG);
	err = cap_end();
	assert_non_null(strstr(err, "diff_id"));
}

static void expect_layer_error(const struct tent *ents, size_t n, int want, const char *msg)
{
	struct lspec l = { ents, n, false, false, 0 };
	struct tcl_oci_image *img = NULL;
	char dir[128];
	const char *err;

	simple_layout(dir, &l, 1, NULL);
	cap_start();
	assert_int_equal(tcl_oci_open(dir, NULL, NULL, &img), want);
	err = cap_end();
	assert_null(img);
	if (!strstr(err, msg))
		fail_msg("expected \"%s\" in: %s", msg, err);
}

static void test_traversal(void **state)
{
	static const struct tent dotdot[] = { D("etc"), F("../etc/passwd", 0644, "x") };
	static const struct tent inner[] = { F("usr/../../x", 0755, "x") };
	static const struct tent hl[] = { F("a", 0755, "x"), H("b", "../a") };
	static const struct tent hl_missing[] = { H("b", "nothere") };
	static const struct tent hl_dir[] = { D("d"), H("b", "d") };
	static const struct tent via_link[] = { D("usr/bin"), L("bin", "usr/bin"),
						F("bin/evil", 0755, "x") };
	static const struct tent long_name[] = {
		F("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaa",
		  0644, "x"),
	};

	expect_layer_error(dotdot, 2, -EINVAL, "entry \"../etc/passwd\": path has a '..'");
	expect_layer_error(inner, 1, -EINVAL, "entry \"usr/../../x\"");
	expect_layer_error(hl, 2, -EINVAL, "hard link target \"../a\"");
	expect_layer_error(hl_missing, 1, -ENOENT, "not in the image");
	expect_layer_error(hl_dir, 2, -EINVAL, "a directory");
	expect_layer_error(via_link, 3, -ENOTDIR, "entry \"bin/evil\": \"bin\" is not a dir");
	expect_layer_error(long_name, 1, -ENAMETOOLONG, "longer than 255");
}

static void test_entry_bomb(void **state)
{
	struct tent *many = calloc(300, sizeof(*many));
	char (*names)[32] = calloc(300, 32);
	struct tcl_oci_opts o = { .max_layer_entries = 250 };
	struct tcl_oci_image *img = NULL;
	struct lspec l;
	char dir[128];
	const char *err;
	int i;

	for (i = 0; i < 300; i++) {
		snprintf(names[i], 32, "f%d", i);
		many[i] = (struct tent){ names[i], 'f', 0644, "x", 1, NULL };
	}
	l = (struct lspec){ many, 300, true, false, 0 };
	simple_layout(dir, &l, 1, NULL);
	cap_start();
	assert_int_equal(tcl_oci_open(dir, NULL, &o, &img), -E2BIG);
	err = cap_end();
	assert_non_null(strstr(err, "more than 250 entries"));
	o.max_layer_entries = 300;
	assert_int_equal(tcl_oci_open(dir, NULL, &o, &img), 0);
	assert_int_equal(tcl_rootfs_count(img->rootfs), 300);
	tcl_oci_free(img);
	/* the model as a whole is bounded too */
	o.max_nodes = 299;
	assert_int_equal(tcl_oci_open(dir, NULL, &o, &img), -E2BIG);
	free(many);
	free(names);
}

static void test_size_bomb(void **state)
{
	static const struct tent bomb[] = { { "zeros", 'z', 0755, NULL, 32u << 20, NULL } };
	static const struct tent bombs[] = { { "z1", 'z', 0755, NULL, 24u << 20, NULL },
					     { "z2", 'z', 0755, NULL, 24u << 20, NULL } };
	static const struct lspec l[] = { { bomb, 1, true, false, 0 } };
	static const struct lspec l2[] = { { bombs, 2, true, false, 0 } };
	struct tcl_oci_opts o = { .max_total_bytes = 8u << 20 };
	struct tcl_oci_image *img = NULL;
	char dir[128];
	const char *err;

	/* 32 MiB of zeros is a 32 KiB gzip blob */
	simple_layout(dir, l, 1, NULL);
	cap_start();
	assert_int_equal(tcl_oci_open(dir, NULL, &o, &img), -EFBIG);
	err = cap_end();
	if (!strstr(err, "entry \"zeros\": size 33554432 over the limit of 8388608"))
		fail_msg("%s", err);
	o = (struct tcl_oci_opts){ .max_file_bytes = 1u << 20 };
	assert_int_equal(tcl_oci_open(dir, NULL, &o, &img), -EFBIG);
	o = (struct tcl_oci_opts){ .max_total_bytes = 40u << 20 };
	assert_int_equal(tcl_oci_open(dir, NULL, &o, &img), 0);
	tcl_oci_free(img);

	/* each file under the limit, the layer over it */
	simple_layout(dir, l2, 1, NULL);
	cap_start();
	assert_int_equal(tcl_oci_open(dir, NULL, &o, &img), -EFBIG);
	err = cap_end();
	if (!strstr(err, "exceed"))
		fail_msg("%s", err);
}

static void test_oversized_json(void **state)
{
	struct tcl_oci_image *img = NULL;
	struct json_object *d;
	char dir[128], *big;
	const char *err;

	new_layout(dir);
	d = make_image(dir, small, 1, false, (4u << 20) + 1);
	write_index(dir, &d, 1);
	cap_start();
	assert_int_equal(tcl_oci_open(dir, NULL, NULL, &img), -EFBIG);
	err = cap_end();
	assert_non_null(strstr(err, "manifest"));

	big = malloc((4u << 20) + 2);
	memset(big, ' ', (4u << 20) + 1);
	big[0] = '{';
	big[4u << 20] = '}';
	write_file(dir, "index.json", big, (4u << 20) + 1);
	assert_int_equal(tcl_oci_open(dir, NULL, NULL, &img), -EFBIG);
	free(big);
}

static void test_malformed_layout(void **state)
{
	static const struct lspec wrong_mt[] = { { small_layer, 3, false, false, 0 } };
	struct tcl_oci_image *img = NULL;
	struct json_object *d;
	char dir[128];

	assert_int_equal(tcl_oci_open("/nonexistent-layout", NULL, NULL, &img), -ENOENT);
	new_layout(dir);
	assert_int_equal(tcl_oci_open(dir, NULL, NULL, &img), -ENOENT);	/* no index.json */
	write_str(dir, "index.json", "{\"schemaVersion\":2,\"manifests\":[]}");
	assert_int_equal(tcl_oci_open(dir, NULL, NULL, &img), -ENOENT);
	write_str(dir, "index.json", "{\"schemaVersion\":2,\"manifests\":[{}]}");
	assert_int_equal(tcl_oci_open(dir, NULL, NULL, &img), -EINVAL);
	write_str(dir, "index.json", "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\","
		   "\"digest\":\"sha512:00\",\"size\":1}]}");
	assert_int_equal(tcl_oci_open(dir, NULL, NULL, &img), -ENOTSUP);
	write_str(dir, "index.json", "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\","
		   "\"digest\":\"sha256:../../etc/passwd\",\"size\":1}]}");
	assert_int_equal(tcl_oci_open(dir, NULL, NULL, &img), -EINVAL);
	write_str(dir, "index.json", "{\"schemaVersion\":2,\"manifests\":[");
	assert_int_equal(tcl_oci_open(dir, NULL, NULL, &img), -EINVAL);

	/* a gzip blob labelled as plain tar */
	new_layout(dir);
	d = make_image(dir, wrong_mt, 1, false, 0);
	write_index(dir, &d, 1);
	{
		struct json_object *man;
		char md[72], path[512], *s;
		size_t len;
		struct buf raw = { 0 }, blob = { 0 };
		struct lspec gz = { small_layer, 3, true, false, 0 };
		char digest[72];

		get_manifest(dir, &man, md);
		make_tar(&gz, &raw, &blob);
		/* replace the layer blob content under its own (now wrong) name is a digest
		 * error; instead publish the gzip blob under a plain tar media type */
		put_blob(dir, blob.p, blob.len, digest);
		json_object_object_add(json_object_array_get_idx(json_object_object_get(man,
			"layers"), 0), "digest", json_object_new_string(digest));
		json_object_object_add(json_object_array_get_idx(json_object_object_get(man,
			"layers"), 0), "size", json_object_new_int64((int64_t)blob.len));
		s = (char *)json_object_to_json_string_ext(man, JSON_C_TO_STRING_PLAIN);
		len = strlen(s);
		put_blob(dir, s, len, md);
		d = desc(MT_MANIFEST, md, len);
		write_index(dir, &d, 1);
		snprintf(path, sizeof(path), "%s", dir);
		cap_start();
		assert_int_equal(tcl_oci_open(path, NULL, NULL, &img), -EINVAL);
		assert_non_null(strstr(cap_end(), "says uncompressed, the blob is gzip"));
		json_object_put(man);
		free(raw.p);
		free(blob.p);
	}
}

static void test_tags_and_index(void **state)
{
	static const struct tent other_layer[] = { F("bin/other", 0755, "other") };
	static const struct lspec other[] = { { other_layer, 1, false, false, 0 } };
	struct json_object *d[3], *idx, *arr, *m_arm, *m_amd;
	struct tcl_oci_image *img = NULL;
	struct tcl_fs_entry e;
	char dir[128], digest[72], *json;
	size_t size, len;
	struct tcl_golden *g;

	new_layout(dir);
	d[0] = make_image(dir, small, 1, false, 0);
	d[1] = make_image(dir, other, 1, false, 0);
	tag_desc(d[0], "small");
	tag_desc(d[1], "other");
	write_index(dir, d, 2);
	assert_int_equal(tcl_oci_open(dir, "other", NULL, &img), 0);
	assert_int_equal(tcl_rootfs_lookup(img->rootfs, "/bin/other", &e), 0);
	tcl_oci_free(img);
	assert_int_equal(tcl_oci_open(dir, "small", NULL, &img), 0);
	assert_int_equal(tcl_rootfs_lookup(img->rootfs, "/bin/true", &e), 0);
	tcl_oci_free(img);
	cap_start();
	assert_int_equal(tcl_oci_open(dir, "nope", NULL, &img), -ENOENT);
	assert_non_null(strstr(cap_end(), "tags: small, other"));
	cap_start();
	assert_int_equal(tcl_oci_open(dir, NULL, NULL, &img), -EINVAL);
	assert_non_null(strstr(cap_end(), "choose one with DIR:TAG"));

	/* a multi-platform index: arm64 listed first, amd64 picked */
	new_layout(dir);
	m_arm = make_image(dir, other, 1, false, 0);
	m_amd = make_image(dir, small, 1, false, 0);
	platform_desc(m_arm, "arm64");
	platform_desc(m_amd, "amd64");
	idx = json_object_new_object();
	arr = json_object_new_array();
	json_object_array_add(arr, m_arm);
	json_object_array_add(arr, m_amd);
	json_object_object_add(idx, "schemaVersion", json_object_new_int(2));
	json_object_object_add(idx, "mediaType", json_object_new_string(MT_INDEX));
	json_object_object_add(idx, "manifests", arr);
	put_json_blob(dir, idx, digest, &size);
	json_object_put(idx);
	d[0] = desc(MT_INDEX, digest, size);
	tag_desc(d[0], "multi");
	write_index(dir, d, 1);
	assert_int_equal(tcl_golden_generate(dir, "multi", "example.org/multi:1", &json, &len), 0);
	assert_int_equal(tcl_golden_parse(json, len, &g), 0);
	assert_string_equal(g->index_digest, digest);
	assert_int_equal(g->nfiles, 1);
	assert_string_equal(g->files[0].path, "/bin/true");
	tcl_golden_free(g);
	free(json);

	/* no reference anywhere: generate asks for one */
	simple_layout(dir, small, 1, NULL);
	cap_start();
	assert_int_equal(tcl_golden_generate(dir, NULL, NULL, &json, &len), -EINVAL);
	assert_non_null(strstr(cap_end(), "--ref"));
}

static void test_sparse(void **state)
{
	/* libarchive writes pax sparse entries; the hole must hash as zeros */
	struct tcl_rootfs *fs;
	struct tcl_fs_entry e;
	struct archive *a = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	struct buf b = { 0 };
	char *full = calloc(1, 20000), hex[65], got[65];
	int k;

	archive_write_set_format_pax(a);
	archive_write_open(a, &b, NULL, wr_cb, NULL);
	archive_entry_set_pathname(ae, "sparse");
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0755);
	archive_entry_set_size(ae, 20000);
	archive_entry_sparse_add_entry(ae, 10000, 4);
	memcpy(full + 10000, "\x7f" "ELF", 4);
	/* the writer takes the whole logical content and stores only the mapped region */
	assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, full, 20000), 20000);
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(ae);
	assert_true(b.len < 20000);
	sha256_hex(full, 20000, hex);

	assert_int_equal(tcl_rootfs_new(NULL, &fs), 0);
	assert_int_equal(tcl_rootfs_apply_mem(fs, b.p, b.len, MT_TAR, NULL), 0);
	assert_int_equal(tcl_rootfs_lookup(fs, "sparse", &e), 0);
	assert_int_equal(e.size, 20000);
	assert_false(e.elf);
	for (k = 0; k < 32; k++)
		sprintf(got + 2 * k, "%02x", e.sha256[k]);
	assert_string_equal(got, hex);
	tcl_rootfs_free(fs);
	free(full);
	free(b.p);
}

/* ---- manifest parsing */

static void expect_parse(const char *json, int want, const char *msg)
{
	struct tcl_golden *g = NULL;
	const char *err;

	cap_start();
	assert_int_equal(tcl_golden_parse(json, strlen(json), &g), want);
	err = cap_end();
	if (msg && !strstr(err, msg))
		fail_msg("expected \"%s\" in: %s", msg, err);
	tcl_golden_free(g);
}

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define H64B "1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEAD "{\"config_digest\":\"sha256:" H64 "\",\"files\":{"
#define TAIL "},\"image\":\"x:1\",\"manifest_digest\":\"sha256:" H64B "\",\"version\":1}"

static void test_parse(void **state)
{
	struct tcl_golden *g;
	const char *ok = HEAD "\"/a\":\"" H64 "\",\"/b/c\":\"" H64 "\",\"/d\":\"" H64B "\"" TAIL;
	unsigned char d[32] = { 0x01, 0x23 };
	char *big;

	assert_int_equal(tcl_golden_parse(ok, strlen(ok), &g), 0);
	assert_int_equal(g->nfiles, 3);
	assert_int_equal(g->ndigests, 2);
	assert_string_equal(g->manifest_digest, "sha256:" H64B);
	assert_false(tcl_golden_has_digest(g, d));
	memcpy(d, g->files[0].sha256, 32);
	assert_true(tcl_golden_has_digest(g, d));
	assert_int_equal(strlen(g->sha256), 64);
	tcl_golden_free(g);
	expect_parse(HEAD TAIL, 0, NULL);

	expect_parse(HEAD TAIL "\n", -EINVAL, "canonical");
	expect_parse("{\"a\":1," + 0, -EINVAL, NULL);
	expect_parse(HEAD "\"/b\":\"" H64 "\",\"/a\":\"" H64 "\"" TAIL, -EINVAL, "canonical");
	expect_parse(HEAD TAIL "x", -EINVAL, "invalid JSON");
	expect_parse(HEAD TAIL " ", -EINVAL, "canonical");
	expect_parse("{\"bogus\":1,\"config_digest\":\"sha256:" H64 "\",\"files\":{}"
		     ",\"image\":\"x:1\",\"manifest_digest\":\"sha256:" H64 "\",\"version\":1}",
		     -EINVAL, "unknown key \"bogus\"");
	expect_parse("{\"config_digest\":\"sha256:" H64 "\",\"files\":{}"
		     ",\"image\":\"x:1\",\"manifest_digest\":\"sha256:" H64 "\",\"version\":2}",
		     -ENOTSUP, "version 2");
	expect_parse("{\"config_digest\":\"sha256:" H64 "\",\"files\":{}"
		     ",\"image\":\"x:1\",\"version\":1}", -EINVAL, "\"manifest_digest\" is miss");
	expect_parse(HEAD "\"/a\":\"" H64 "0\"" TAIL, -EINVAL, "digest of \"/a\"");
	expect_parse(HEAD "\"/a\":\"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789"
		     "abcdef\"" TAIL, -EINVAL, "digest of \"/a\"");
	expect_parse(HEAD "\"a\":\"" H64 "\"" TAIL, -EINVAL, "file path \"a\"");
	expect_parse(HEAD "\"/a/../b\":\"" H64 "\"" TAIL, -EINVAL, "file path");
	expect_parse(HEAD "\"/a//b\":\"" H64 "\"" TAIL, -EINVAL, "file path");
	expect_parse(HEAD "\"/a/\":\"" H64 "\"" TAIL, -EINVAL, "file path");
	expect_parse(HEAD "\"/\":\"" H64 "\"" TAIL, -EINVAL, "file path");
	expect_parse(HEAD "\"/a\":1" TAIL, -EINVAL, "digest of");
	expect_parse("{\"config_digest\":\"sha256:" H64 "\",\"files\":{}"
		     ",\"image\":\"has space\",\"manifest_digest\":\"sha256:" H64 "\","
		     "\"version\":1}", -EINVAL, "image");
	expect_parse("[]", -EINVAL, "not a JSON object");
	expect_parse("{\"version\":1.0}", -EINVAL, "version");

	big = malloc((4u << 20) + 2);
	memset(big, ' ', (4u << 20) + 1);
	big[(4u << 20) + 1] = '\0';
	expect_parse(big, -EFBIG, "limit");
	free(big);
}

/* ---- signatures */

static void test_sign_verify(void **state)
{
	char prefix[128], prefix2[128], key[160], pub[160], pub2[160], kid[65], kid2[65];
	char kidv[65], *sig, *sig2, *m;
	const char *msg = HEAD "\"/a\":\"" H64 "\"" TAIL;
	size_t len = strlen(msg), slen, slen2;
	struct json_object *o;

	snprintf(prefix, sizeof(prefix), "%s/k1", tmpdir);
	snprintf(prefix2, sizeof(prefix2), "%s/k2", tmpdir);
	snprintf(key, sizeof(key), "%s.key", prefix);
	snprintf(pub, sizeof(pub), "%s.pub", prefix);
	snprintf(pub2, sizeof(pub2), "%s.pub", prefix2);
	assert_int_equal(tcl_golden_keygen(prefix, kid), 0);
	assert_int_equal(tcl_golden_keygen(prefix2, kid2), 0);
	assert_int_equal(tcl_golden_keygen(prefix, kidv), -EEXIST);
	assert_string_not_equal(kid, kid2);
	assert_int_equal(tcl_golden_keyid(pub, kidv), 0);
	assert_string_equal(kid, kidv);
	assert_int_equal(tcl_golden_keyid(key, kidv), 0);
	assert_string_equal(kid, kidv);

	assert_int_equal(tcl_golden_sign(key, msg, len, &sig, &slen), 0);
	assert_int_equal(slen, strlen(sig));
	assert_non_null(strstr(sig, kid));
	assert_int_equal(strncmp(sig, "{\"alg\":\"ed25519\",\"keyid\":\"", 26), 0);
	memset(kidv, 0, sizeof(kidv));
	assert_int_equal(tcl_golden_verify(pub, msg, len, sig, slen, kidv), 0);
	assert_string_equal(kidv, kid);
	/* Ed25519 is deterministic */
	assert_int_equal(tcl_golden_sign(key, msg, len, &sig2, &slen2), 0);
	assert_string_equal(sig, sig2);
	free(sig2);

	/* a changed byte anywhere in the manifest */
	m = strdup(msg);
	m[len - 2] = '2';
	cap_start();
	assert_int_equal(tcl_golden_verify(pub, m, len, sig, slen, NULL), -EBADMSG);
	assert_non_null(strstr(cap_end(), "does not match"));
	assert_int_equal(tcl_golden_verify(pub, msg, len - 1, sig, slen, NULL), -EBADMSG);
	free(m);

	/* another key */
	cap_start();
	assert_int_equal(tcl_golden_verify(pub2, msg, len, sig, slen, NULL), -EKEYREJECTED);
	assert_non_null(strstr(cap_end(), kid));
	/* another key's id pasted over the signature: still not valid */
	o = json_tokener_parse(sig);
	json_object_object_add(o, "keyid", json_object_new_string(kid2));
	m = (char *)json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	assert_int_equal(tcl_golden_verify(pub2, msg, len, m, strlen(m), NULL), -EBADMSG);
	json_object_put(o);

	/* truncated signature file, truncated signature value, bit-flipped value */
	assert_int_equal(tcl_golden_verify(pub, msg, len, sig, slen - 1, NULL), -EINVAL);
	assert_int_equal(tcl_golden_verify(pub, msg, len, sig, slen / 2, NULL), -EINVAL);
	assert_int_equal(tcl_golden_verify(pub, msg, len, sig, 0, NULL), -EINVAL);
	o = json_tokener_parse(sig);
	{
		char s[89];

		snprintf(s, sizeof(s), "%s", json_object_get_string(json_object_object_get(o,
											  "sig")));
		s[60] = '\0';
		json_object_object_add(o, "sig", json_object_new_string(s));
		m = (char *)json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		assert_int_equal(tcl_golden_verify(pub, msg, len, m, strlen(m), NULL), -EINVAL);
		snprintf(s, sizeof(s), "%s", strstr(sig, "\"sig\":\"") + 7);
		s[10] = s[10] == 'A' ? 'B' : 'A';
		json_object_object_add(o, "sig", json_object_new_string(s));
		m = (char *)json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		assert_int_equal(tcl_golden_verify(pub, msg, len, m, strlen(m), NULL), -EBADMSG);
		/* unknown key */
		json_object_object_add(o, "extra", json_object_new_string("x"));
		m = (char *)json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		assert_int_equal(tcl_golden_verify(pub, msg, len, m, strlen(m), NULL), -EINVAL);
	}
	json_object_put(o);

	/* a private key is not a public key, and the reverse */
	assert_int_equal(tcl_golden_verify(key, msg, len, sig, slen, NULL), -EINVAL);
	assert_int_equal(tcl_golden_sign(pub, msg, len, &sig2, &slen2), -EINVAL);
	free(sig);
}

static int run_cmd(const char *first, ...)
{
	char *argv[16];
	const char *a;
	va_list ap;
	int argc = 0, rc, i, out, null;

	argv[argc++] = strdup("golden");
	va_start(ap, first);
	for (a = first; a && argc < 15; a = va_arg(ap, const char *))
		argv[argc++] = strdup(a);
	va_end(ap);
	argv[argc] = NULL;
	fflush(stdout);
	out = dup(1);
	null = open("/dev/null", O_WRONLY);
	dup2(null, 1);
	cap_start();
	rc = tcl_cmd_golden(argc, argv);
	fflush(stdout);
	cap_end();
	dup2(out, 1);
	close(out);
	close(null);
	for (i = 0; i < argc; i++)
		free(argv[i]);
	return rc;
}

static void test_cmd(void **state)
{
	char dir[128], oci[160], prefix[160], key[170], pub[170], out[160], sig[170];
	char *m;
	size_t len;

	simple_layout(dir, base_layers, 2, "v1");
	snprintf(oci, sizeof(oci), "%s:v1", dir);
	snprintf(prefix, sizeof(prefix), "%s/cli", tmpdir);
	snprintf(key, sizeof(key), "%s.key", prefix);
	snprintf(pub, sizeof(pub), "%s.pub", prefix);
	snprintf(out, sizeof(out), "%s/cli.json", tmpdir);
	snprintf(sig, sizeof(sig), "%s.sig", out);

	assert_int_equal(run_cmd("keygen", "-o", prefix, NULL), 0);
	assert_int_equal(run_cmd("keygen", "-o", prefix, NULL), 1);	/* exists */
	assert_int_equal(run_cmd("generate", "--oci", oci, "--ref", "x:1", "-o", out, NULL), 0);
	m = slurp(out, &len);
	check_golden_set(m, len, "x:1");
	free(m);
	assert_int_equal(run_cmd("sign", "--key", key, out, NULL), 0);
	assert_int_equal(run_cmd("verify", "--pub", pub, out, NULL), 0);
	assert_int_equal(run_cmd("verify", "--pub", pub, "--sig", sig, out, NULL), 0);
	assert_int_equal(run_cmd("verify", "--pub", pub, "--sig", out, out, NULL), 1);
	assert_int_equal(run_cmd("sign", "--key", key, sig, NULL), 1);	/* not a manifest */
	m = slurp(out, &len);
	m[len - 2] = '2';					/* "version":2 */
	write_file(tmpdir, "cli.json", m, len);
	free(m);
	assert_int_equal(run_cmd("verify", "--pub", pub, out, NULL), 1);

	/* usage errors and help */
	assert_int_equal(run_cmd("generate", "--oci", oci, NULL), 2);
	assert_int_equal(run_cmd("generate", "--oci", oci, "-o", out, "extra", NULL), 2);
	assert_int_equal(run_cmd("generate", "--bogus", NULL), 2);
	assert_int_equal(run_cmd("generate", "--oci", oci, "--max-bytes", "x", "-o", out, NULL), 2);
	assert_int_equal(run_cmd("generate", "--oci", oci, "--platform", "linux", "-o", out,
				 NULL), 2);
	assert_int_equal(run_cmd("sign", out, NULL), 2);
	assert_int_equal(run_cmd("verify", "--pub", pub, NULL), 2);
	assert_int_equal(run_cmd("keygen", NULL), 2);
	assert_int_equal(run_cmd(NULL), 2);
	assert_int_equal(run_cmd("frobnicate", NULL), 2);
	assert_int_equal(run_cmd("--help", NULL), 0);
	assert_int_equal(run_cmd("generate", "--help", NULL), 0);
	assert_int_equal(run_cmd("sign", "--help", NULL), 0);
	assert_int_equal(run_cmd("verify", "--help", NULL), 0);
	assert_int_equal(run_cmd("keygen", "--help", NULL), 0);

	/* failures: limits, missing tag, missing layout */
	assert_int_equal(run_cmd("generate", "--oci", oci, "--max-bytes", "1K", "-o", out,
				 NULL), 1);
	snprintf(oci, sizeof(oci), "%s:nope", dir);
	assert_int_equal(run_cmd("generate", "--oci", oci, "-o", out, NULL), 1);
	assert_int_equal(run_cmd("generate", "--oci", "/nonexistent", "-o", out, NULL), 1);
}

/* Optional cross-check against another implementation: umoci unpacks the same layout, and the
 * executable files it leaves on disk must be exactly the golden set. */
static struct tcl_golden *xg;
static size_t xmatched;
static const char *xroot;

static int xcheck_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	const struct tcl_golden_file *gf;
	unsigned char md[32];
	char head[4] = { 0 };
	size_t n;
	char *data;
	FILE *fp;

	if (flag != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	fp = fopen(p, "r");
	assert_non_null(fp);
	data = malloc((size_t)st->st_size + 1);
	n = fread(data, 1, (size_t)st->st_size, fp);
	fclose(fp);
	memcpy(head, data, n < 4 ? n : 4);
	if ((st->st_mode & 0111) || (n >= 4 && !memcmp(head, "\x7f" "ELF", 4))) {
		gf = tcl_golden_find(xg, p + strlen(xroot));
		if (!gf)
			fail_msg("umoci has executable %s, the golden set does not", p);
		EVP_Digest(data, n, md, NULL, EVP_sha256(), NULL);
		assert_memory_equal(md, gf->sha256, 32);
		xmatched++;
	}
	free(data);
	return 0;
}

static void test_umoci_crosscheck(void **state)
{
	char dir[128], bundle[192], cmd[512], root[256], *json;
	size_t len;

	if (system("command -v umoci >/dev/null 2>&1")) {
		print_message("umoci not installed: cross-check skipped\n");
		skip();
	}
	simple_layout(dir, base_layers, 2, "v1");
	assert_int_equal(tcl_golden_generate(dir, "v1", "x:1", &json, &len), 0);
	assert_int_equal(tcl_golden_parse(json, len, &xg), 0);
	snprintf(bundle, sizeof(bundle), "%s.bundle", dir);
	snprintf(cmd, sizeof(cmd), "umoci unpack --rootless --image %s:v1 %s >/dev/null 2>&1",
		 dir, bundle);
	assert_int_equal(system(cmd), 0);
	snprintf(root, sizeof(root), "%s/rootfs", bundle);
	xroot = root;
	xmatched = 0;
	assert_int_equal(nftw(root, xcheck_cb, 16, FTW_PHYS), 0);
	assert_int_equal(xmatched, xg->nfiles);
	tcl_golden_free(xg);
	free(json);
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

static int setup(void **state)
{
	strcpy(tmpdir, "/tmp/tcl-golden-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown(void **state)
{
	nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_set),
		cmocka_unit_test(test_reproducible),
		cmocka_unit_test(test_blob_mismatch),
		cmocka_unit_test(test_diff_id_mismatch),
		cmocka_unit_test(test_traversal),
		cmocka_unit_test(test_entry_bomb),
		cmocka_unit_test(test_size_bomb),
		cmocka_unit_test(test_oversized_json),
		cmocka_unit_test(test_malformed_layout),
		cmocka_unit_test(test_tags_and_index),
		cmocka_unit_test(test_sparse),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_cmd),
		cmocka_unit_test(test_umoci_crosscheck),
	};

	tcl_prog = "test_golden";
	if (getenv("TCL_TEST_VERBOSE"))
		base_verbosity = TCL_DEBUG;
	tcl_verbosity = base_verbosity;
	return cmocka_run_group_tests(tests, setup, teardown);
}
