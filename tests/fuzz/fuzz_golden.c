// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: golden manifest parser (+ canonical JSON round trip), signature files, and
 * layer tars (plain, gzip, and two layers on top of each other) applied to the rootfs model.
 * The first input byte picks the mode, the rest is the input.
 *
 * Build and run (from the top of the tree):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE -Iinclude -Ilib -Ictl \
 *     tests/fuzz/fuzz_golden.c lib/canonjson.c lib/ocilayout.c lib/golden.c lib/diag.c \
 *     $(pkg-config --cflags --libs json-c openssl libarchive) -o build/fuzz_golden
 *   mkdir -p build/fuzz-corpus
 *   TCL_FUZZ_SEED_DIR=build/fuzz-corpus build/fuzz_golden -max_total_time=30 -max_len=65536 \
 *     build/fuzz-corpus
 * TCL_FUZZ_SEED_DIR makes the target write its seeds (valid manifests, signatures and layers
 * with whiteouts, links, long and sparse names) into that directory first. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <json-c/json.h>

#include "canonjson.h"
#include "diag.h"
#include "fuzz.h"
#include "golden.h"
#include "ocilayout.h"

/* a fixed Ed25519 public key, so signatures can get as far as the key id comparison */
static const char pub_pem[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MCowBQYDK2VwAyEAwXgRoqz8lwjGEPG5/frZBZTkLCq4iwSKoBuVxZfmYVQ=\n"
	"-----END PUBLIC KEY-----\n";

static const struct tcl_oci_opts small = {
	.max_total_bytes = 64u << 20,
	.max_file_bytes = 16u << 20,
	.max_layer_entries = 20000,
	.max_nodes = 40000,
};

static int walk_cb(const struct tcl_fs_entry *e, void *arg)
{
	size_t *n = arg;

	/* touch every field the golden generator reads */
	*n += strlen(e->path) + (e->link ? strlen(e->link) : 0) + e->sha256[0] + e->elf;
	return 0;
}

static void fuzz_manifest(const uint8_t *data, size_t size)
{
	struct json_object *o, *o2;
	struct tcl_golden *g;
	char *c1, *c2;
	size_t l1, l2;

	if (!tcl_golden_parse((const char *)data, size, &g)) {
		if (g->nfiles) {
			if (!tcl_golden_has_digest(g, g->files[0].sha256) ||
			    tcl_golden_find(g, g->files[g->nfiles - 1].path) !=
			    &g->files[g->nfiles - 1])
				abort();
		}
		tcl_golden_free(g);
	}
	/* canonical form is a fixed point */
	if (tcl_json_parse("fuzz", (const char *)data, size, 1 << 20, &o))
		return;
	if (!tcl_canon_json(o, &c1, &l1)) {
		if (tcl_json_parse("fuzz", c1, l1, 1 << 22, &o2))
			abort();
		if (tcl_canon_json(o2, &c2, &l2) || l1 != l2 || memcmp(c1, c2, l1))
			abort();
		free(c2);
		free(c1);
		json_object_put(o2);
	}
	json_object_put(o);
}

static void fuzz_layers(const uint8_t *data, size_t size, const char *mt, int two)
{
	struct tcl_rootfs *fs;
	size_t split = size, n = 0;

	if (two) {
		if (size < 2)
			return;
		split = ((size_t)data[0] << 8 | data[1]) % (size - 1);
		data += 2;
		size -= 2;
	}
	if (tcl_rootfs_new(&small, &fs))
		return;
	if (!tcl_rootfs_apply_mem(fs, data, split, mt, NULL) &&
	    (!two || !tcl_rootfs_apply_mem(fs, data + split, size - split, mt, NULL)))
		tcl_rootfs_walk(fs, walk_cb, &n);
	tcl_rootfs_free(fs);
}

struct sent {
	const char *path;
	int type;
	unsigned int mode;
	const char *data, *link;
};

static size_t make_tar(const struct sent *e, size_t n, int gzip, char *out, size_t cap)
{
	struct archive *a = archive_write_new();
	struct archive_entry *ae;
	size_t used = 0, i;

	archive_write_set_format_pax_restricted(a);
	if (gzip)
		archive_write_add_filter_gzip(a);
	archive_write_set_bytes_per_block(a, 0);
	archive_write_open_memory(a, out, cap, &used);
	for (i = 0; i < n; i++) {
		ae = archive_entry_new();
		archive_entry_set_pathname(ae, e[i].path);
		archive_entry_set_perm(ae, e[i].mode);
		if (e[i].type == 'h') {
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_hardlink(ae, e[i].link);
		} else if (e[i].type == 'l') {
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_symlink(ae, e[i].link);
		} else if (e[i].type == 'd') {
			archive_entry_set_filetype(ae, AE_IFDIR);
		} else {
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_size(ae, e[i].data ? (la_int64_t)strlen(e[i].data) : 0);
		}
		archive_write_header(a, ae);
		if (e[i].type == 'f' && e[i].data)
			archive_write_data(a, e[i].data, strlen(e[i].data));
		archive_entry_free(ae);
	}
	archive_write_close(a);
	archive_write_free(a);
	return used;
}

static void write_seeds(const char *dir)
{
	static const struct sent l1[] = {
		{ "bin/", 'd', 0755, NULL, NULL },
		{ "bin/sh", 'f', 0755, "\x7f" "ELF\2\1\1", NULL },
		{ "usr/bin/tool", 'f', 0644, "\x7f" "ELF tool", NULL },
		{ "usr/bin/old", 'f', 0755, "old", NULL },
		{ "opt/app/run", 'f', 0755, "run", NULL },
		{ "usr/bin/hl", 'h', 0755, NULL, "usr/bin/tool" },
		{ "usr/bin/link", 'l', 0777, NULL, "tool" },
		{ "/abs/./x//y", 'f', 04755, "abs", NULL },
		{ "long/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/f",
		  'f', 0700, "long", NULL },
	};
	static const struct sent l2[] = {
		{ "usr/bin/.wh.old", 'f', 0, NULL, NULL },
		{ "opt/app/.wh..wh..opq", 'f', 0, NULL, NULL },
		{ "opt/app/new", 'f', 0755, "new", NULL },
		{ "usr/sbin/hl2", 'h', 0755, NULL, "bin/sh" },
		{ "usr/bin/tool", 'f', 0755, "v2", NULL },
	};
	static const char manifest[] =
		"{\"config_digest\":\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123"
		"456789abcdef\",\"files\":{\"/bin/sh\":\"0123456789abcdef0123456789abcdef01234567"
		"89abcdef0123456789abcdef\",\"/usr/bin/x\":\"1123456789abcdef0123456789abcdef012345"
		"6789abcdef0123456789abcdef\"},\"image\":\"example.org/a:1\",\"index_digest\":\"s"
		"ha256:2123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"manife"
		"st_digest\":\"sha256:3123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"
		"cdef\",\"version\":1}";
	static const char sig[] =
		"{\"alg\":\"ed25519\",\"keyid\":\"d26f2cd90586b024ee0574754eda9ac42189f8bf495fb1"
		"2ed26c8b31dbc6ddd9\",\"sig\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\"}";
	static char a[65536], b[65536], both[2 + 131072];
	size_t na, nb;

	fuzz_seed(dir, "manifest", 0, manifest, sizeof(manifest) - 1);
	fuzz_seed(dir, "sig", 4, sig, sizeof(sig) - 1);
	na = make_tar(l1, sizeof(l1) / sizeof(l1[0]), 0, a, sizeof(a));
	nb = make_tar(l2, sizeof(l2) / sizeof(l2[0]), 0, b, sizeof(b));
	fuzz_seed(dir, "tar1", 1, a, na);
	fuzz_seed(dir, "tar2", 1, b, nb);
	both[0] = (char)(na >> 8);
	both[1] = (char)na;
	memcpy(both + 2, a, na);
	memcpy(both + 2 + na, b, nb);
	fuzz_seed(dir, "two", 3, both, 2 + na + nb);
	na = make_tar(l1, sizeof(l1) / sizeof(l1[0]), 1, a, sizeof(a));
	fuzz_seed(dir, "tgz", 2, a, na);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = fuzz_init();

	if (dir)
		write_seeds(dir);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char msg[] = "{\"version\":1}";
	char keyid[65];

	if (!size)
		return 0;
	switch (data[0] % 5) {
	case 0:
		fuzz_manifest(data + 1, size - 1);
		break;
	case 1:
		fuzz_layers(data + 1, size - 1, "application/vnd.oci.image.layer.v1.tar", 0);
		break;
	case 2:
		fuzz_layers(data + 1, size - 1, "application/vnd.oci.image.layer.v1.tar+gzip", 0);
		break;
	case 3:
		fuzz_layers(data + 1, size - 1, "application/vnd.oci.image.layer.v1.tar", 1);
		break;
	case 4:
		tcl_golden_verify_pem(pub_pem, sizeof(pub_pem) - 1, msg, sizeof(msg) - 1,
				      (const char *)data + 1, size - 1, keyid);
		break;
	}
	return 0;
}
