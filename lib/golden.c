// SPDX-License-Identifier: GPL-2.0
/* Golden manifests: generation from an OCI layout, strict parsing, Ed25519 signatures. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "canonjson.h"
#include "diag.h"
#include "escape.h"
#include "fileio.h"
#include "golden.h"
#include "hexb64.h"
#include "jsonb.h"
#include "ocilayout.h"

#define MAX_PEM_BYTES	65536
#define MAX_REF		1024
#define SIG_B64_LEN	88	/* base64 of 64 bytes */

/* Exactly 64 lowercase hex digits; fills out if not NULL. */
static bool parse_hex64(const char *s, size_t len, unsigned char *out)
{
	return len == 64 && tcl_is_hex(s, 64) && (!out || !tcl_unhex_n(s, 64, out, 32));
}

static bool valid_digest(const char *s, size_t len)
{
	return len == 71 && !strncmp(s, "sha256:", 7) && parse_hex64(s + 7, 64, NULL);
}

/* An image reference is printable ASCII without spaces; anything else is not a name. */
static bool valid_ref(const char *s, size_t len)
{
	size_t i;

	if (!len || len > MAX_REF)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return false;
	return true;
}

/* Absolute and normalised: "/a/b", no empty, "." or ".." component, no trailing '/'. */
static bool valid_path(const char *p, size_t len)
{
	size_t i, start;

	if (len < 2 || len > TCL_OCI_MAX_PATH || p[0] != '/' || memchr(p, '\0', len))
		return false;
	for (i = 1, start = 1; i <= len; i++) {
		if (i < len && p[i] != '/')
			continue;
		if (i == start || (i - start == 1 && p[start] == '.') ||
		    (i - start == 2 && p[start] == '.' && p[start + 1] == '.'))
			return false;
		start = i + 1;
	}
	return true;
}

/* ---- generation */

struct gen {
	struct json_object *files;
	size_t n;
};

static int gen_file(const struct tcl_fs_entry *e, void *arg)
{
	struct gen *g = arg;
	char hex[65], eb[128];
	size_t len = strlen(e->path);

	if (e->type != TCL_FS_REG || (!(e->mode & 0111) && !e->elf))
		return 0;
	if (++g->n > TCL_GOLDEN_MAX_FILES) {
		pr_err("golden", "more than %u executable files", TCL_GOLDEN_MAX_FILES);
		return -E2BIG;
	}
	if (!valid_path(e->path, len) || !tcl_utf8_valid(e->path, len)) {
		pr_err("golden", "executable \"%s\": path is not valid UTF-8 or too long",
		       tcl_esc_log(e->path, eb, sizeof(eb)));
		return -EINVAL;
	}
	tcl_hex(e->sha256, 32, hex);
	if (json_object_object_add_ex(g->files, e->path, json_object_new_string(hex),
				      JSON_C_OBJECT_ADD_KEY_IS_NEW))
		return -ENOMEM;
	return 0;
}

int tcl_golden_from_image(const struct tcl_oci_image *img, const char *image_ref,
			  char **json, size_t *len)
{
	struct json_object *o = NULL;
	struct gen g = { 0 };
	char eb[128];
	int rc = -ENOMEM;

	*json = NULL;
	*len = 0;
	if (!image_ref)
		image_ref = img->ref_name;
	if (!image_ref) {
		pr_err("golden", "the layout names no image reference; give one (--ref)");
		return -EINVAL;
	}
	if (!valid_ref(image_ref, strlen(image_ref))) {
		pr_err("golden", "image reference \"%s\" is empty, too long or not printable "
		       "ASCII", tcl_esc_log(image_ref, eb, sizeof(eb)));
		return -EINVAL;
	}
	o = json_object_new_object();
	g.files = json_object_new_object();
	if (!o || !g.files)
		goto out;
	if (json_object_object_add(o, "version", json_object_new_int(1)) ||
	    tcl_json_add_str(o, "image", image_ref) ||
	    tcl_json_add_str(o, "manifest_digest", img->manifest_digest) ||
	    tcl_json_add_str(o, "config_digest", img->config_digest) ||
	    (img->index_digest[0] && tcl_json_add_str(o, "index_digest", img->index_digest)))
		goto out;
	rc = tcl_rootfs_walk(img->rootfs, gen_file, &g);
	if (rc)
		goto out;
	json_object_object_add(o, "files", g.files);
	g.files = NULL;
	rc = tcl_canon_json(o, json, len);
	if (!rc && *len > TCL_GOLDEN_MAX_BYTES) {
		pr_err("golden", "manifest would be %zu bytes (%zu files), limit %u", *len, g.n,
		       TCL_GOLDEN_MAX_BYTES);
		free(*json);
		*json = NULL;
		*len = 0;
		rc = -EFBIG;
	}
out:
	json_object_put(g.files);
	json_object_put(o);
	return rc;
}

int tcl_golden_generate(const char *layout_dir, const char *tag, const char *image_ref,
			char **json, size_t *len)
{
	struct tcl_oci_image *img;
	int rc;

	*json = NULL;
	*len = 0;
	rc = tcl_oci_open(layout_dir, tag, NULL, &img);
	if (rc)
		return rc;
	rc = tcl_golden_from_image(img, image_ref, json, len);
	tcl_oci_free(img);
	return rc;
}

/* ---- parsing */

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct tcl_golden_file *)a)->path,
		      ((const struct tcl_golden_file *)b)->path);
}

static int cmp_digest(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

void tcl_golden_free(struct tcl_golden *g)
{
	size_t i;

	if (!g)
		return;
	for (i = 0; i < g->nfiles; i++)
		free(g->files[i].path);
	free(g->files);
	free(g->digests);
	free(g->image);
	free(g);
}

static int get_digest_field(struct json_object *o, const char *key, bool required, char *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v)) {
		if (!required)
			return 0;
		pr_err("golden", "manifest: \"%s\" is missing", key);
		return -EINVAL;
	}
	if (!json_object_is_type(v, json_type_string) ||
	    !valid_digest(json_object_get_string(v), (size_t)json_object_get_string_len(v))) {
		pr_err("golden", "manifest: \"%s\" is not \"sha256:\" and 64 lowercase hex", key);
		return -EINVAL;
	}
	memcpy(out, json_object_get_string(v), 72);
	return 0;
}

static int parse_files(struct json_object *files, struct tcl_golden *g)
{
	struct json_object_iterator it, end;
	struct json_object *v;
	const char *path;
	char eb[128];
	size_t n, i;

	if (!json_object_is_type(files, json_type_object)) {
		pr_err("golden", "manifest: \"files\" is not an object");
		return -EINVAL;
	}
	n = (size_t)json_object_object_length(files);
	if (n > TCL_GOLDEN_MAX_FILES) {
		pr_err("golden", "manifest: %zu files, limit %u", n, TCL_GOLDEN_MAX_FILES);
		return -E2BIG;
	}
	g->files = calloc(n ? n : 1, sizeof(*g->files));
	g->digests = calloc(n ? n : 1, sizeof(*g->digests));
	if (!g->files || !g->digests)
		return -ENOMEM;
	it = json_object_iter_begin(files);
	end = json_object_iter_end(files);
	for (; !json_object_iter_equal(&it, &end) && g->nfiles < n; json_object_iter_next(&it)) {
		path = json_object_iter_peek_name(&it);
		v = json_object_iter_peek_value(&it);
		if (!valid_path(path, strlen(path))) {
			pr_err("golden", "manifest: file path \"%s\" is not absolute and "
			       "normalised (or longer than %d bytes)",
			       tcl_esc_log(path, eb, sizeof(eb)), TCL_OCI_MAX_PATH);
			return -EINVAL;
		}
		if (!json_object_is_type(v, json_type_string) ||
		    !parse_hex64(json_object_get_string(v), (size_t)json_object_get_string_len(v),
				 g->files[g->nfiles].sha256)) {
			pr_err("golden", "manifest: digest of \"%s\" is not 64 lowercase hex",
			       tcl_esc_log(path, eb, sizeof(eb)));
			return -EINVAL;
		}
		g->files[g->nfiles].path = strdup(path);
		if (!g->files[g->nfiles].path)
			return -ENOMEM;
		memcpy(g->digests[g->nfiles], g->files[g->nfiles].sha256, 32);
		g->nfiles++;
	}
	qsort(g->files, g->nfiles, sizeof(*g->files), cmp_file);
	qsort(g->digests, g->nfiles, sizeof(*g->digests), cmp_digest);
	for (i = 0; i < g->nfiles; i++)
		if (!g->ndigests || memcmp(g->digests[g->ndigests - 1], g->digests[i], 32))
			memmove(g->digests[g->ndigests++], g->digests[i], 32);
	return 0;
}

int tcl_golden_parse(const char *buf, size_t len, struct tcl_golden **out)
{
	static const char *const known[] = { "config_digest", "files", "image", "index_digest",
					     "manifest_digest", "version" };
	struct json_object_iterator it, end;
	struct json_object *o = NULL, *v;
	struct tcl_golden *g = NULL;
	const char *key;
	char *canon = NULL, eb[128];
	size_t clen, i;
	int rc;

	*out = NULL;
	if (len > TCL_GOLDEN_MAX_BYTES) {
		pr_err("golden", "manifest is %zu bytes, limit %u", len, TCL_GOLDEN_MAX_BYTES);
		return -EFBIG;
	}
	rc = tcl_json_parse("golden manifest", buf, len, TCL_GOLDEN_MAX_BYTES, &o);
	if (rc)
		return rc;
	rc = -EINVAL;
	if (!json_object_is_type(o, json_type_object)) {
		pr_err("golden", "manifest is not a JSON object");
		goto out;
	}
	it = json_object_iter_begin(o);
	end = json_object_iter_end(o);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		key = json_object_iter_peek_name(&it);
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (!strcmp(key, known[i]))
				break;
		if (i == sizeof(known) / sizeof(known[0])) {
			pr_err("golden", "manifest: unknown key \"%s\"",
			       tcl_esc_log(key, eb, sizeof(eb)));
			goto out;
		}
	}
	if (!json_object_object_get_ex(o, "version", &v) ||
	    !json_object_is_type(v, json_type_int)) {
		pr_err("golden", "manifest: \"version\" is missing or not an integer");
		goto out;
	}
	if (json_object_get_int64(v) != 1) {
		pr_err("golden", "manifest: version %" PRId64 " is not supported (1 is)",
		       json_object_get_int64(v));
		rc = -ENOTSUP;
		goto out;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		rc = -ENOMEM;
		goto out;
	}
	if (!json_object_object_get_ex(o, "image", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !valid_ref(json_object_get_string(v), (size_t)json_object_get_string_len(v))) {
		pr_err("golden", "manifest: \"image\" is missing or not a printable reference");
		goto out;
	}
	g->image = strdup(json_object_get_string(v));
	if (!g->image) {
		rc = -ENOMEM;
		goto out;
	}
	rc = get_digest_field(o, "manifest_digest", true, g->manifest_digest);
	if (!rc)
		rc = get_digest_field(o, "config_digest", true, g->config_digest);
	if (!rc)
		rc = get_digest_field(o, "index_digest", false, g->index_digest);
	if (rc)
		goto out;
	if (!json_object_object_get_ex(o, "files", &v)) {
		pr_err("golden", "manifest: \"files\" is missing");
		rc = -EINVAL;
		goto out;
	}
	rc = parse_files(v, g);
	if (rc)
		goto out;
	/* one byte string per value: what was signed is what is read, by any parser */
	rc = tcl_canon_json(o, &canon, &clen);
	if (rc)
		goto out;
	if (clen != len || memcmp(canon, buf, len)) {
		pr_err("golden", "manifest is not in canonical form (as `tclctl golden generate` "
		       "writes it; no editing by hand)");
		rc = -EINVAL;
		goto out;
	}
	rc = tcl_sha256_hex(buf, len, false, g->sha256);
	if (rc)
		goto out;
	*out = g;
	g = NULL;
out:
	free(canon);
	tcl_golden_free(g);
	json_object_put(o);
	return rc;
}

bool tcl_golden_has_digest(const struct tcl_golden *g, const unsigned char sha256[32])
{
	return g->ndigests &&
	       bsearch(sha256, g->digests, g->ndigests, sizeof(*g->digests), cmp_digest);
}

const struct tcl_golden_file *tcl_golden_find(const struct tcl_golden *g, const char *path)
{
	struct tcl_golden_file key = { .path = (char *)path };

	if (!g->nfiles)
		return NULL;
	return bsearch(&key, g->files, g->nfiles, sizeof(*g->files), cmp_file);
}

/* ---- keys and signatures */

static void ssl_err(const char *what, const char *doing)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	pr_err("golden", "%s: %s: %s", what, doing, r ? r : "unknown error");
	ERR_clear_error();
}

static int read_small(const char *path, size_t max, char **buf, size_t *len)
{
	int rc;

	*buf = NULL;
	rc = tcl_read_regular_file(path, max, buf, len);
	if (rc == -EINVAL || rc == -EFBIG) {
		pr_err("golden", "%s: not a regular file of at most %zu bytes", path, max);
		return -EINVAL;
	}
	if (rc && rc != -ENOMEM)
		pr_err("golden", "%s: %s", path, strerror(-rc));
	return rc;
}

/* Never prompt: an encrypted key is an error, not a question on a terminal. */
static int no_pass(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

static int load_key(const char *what, const char *pem, size_t len, bool priv, EVP_PKEY **out)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *k;

	*out = NULL;
	if (!b)
		return -ENOMEM;
	k = priv ? PEM_read_bio_PrivateKey(b, NULL, no_pass, NULL) :
		   PEM_read_bio_PUBKEY(b, NULL, no_pass, NULL);
	BIO_free(b);
	if (!k) {
		ssl_err(what, priv ? "no unencrypted PEM private key" : "no PEM public key");
		return -EINVAL;
	}
	if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
		pr_err("golden", "%s: not an Ed25519 key", what);
		EVP_PKEY_free(k);
		return -EINVAL;
	}
	*out = k;
	return 0;
}

static int load_key_file(const char *path, bool priv, EVP_PKEY **out)
{
	struct stat st;
	size_t len;
	char *pem;
	int rc;

	rc = read_small(path, MAX_PEM_BYTES, &pem, &len);
	if (rc)
		return rc;
	if (priv && !stat(path, &st) && (st.st_mode & 077))
		pr_warn("golden", "%s: private key is readable by group or others", path);
	rc = load_key(path, pem, len, priv, out);
	OPENSSL_cleanse(pem, len);
	free(pem);
	return rc;
}

static int keyid_of(EVP_PKEY *k, char out[65])
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(k, &der);

	if (n <= 0) {
		ERR_clear_error();
		return -ENOMEM;
	}
	n = tcl_sha256_hex(der, (size_t)n, false, out);
	OPENSSL_free(der);
	return n;
}

int tcl_golden_keyid(const char *pem_path, char keyid[65])
{
	EVP_PKEY *k = NULL;
	size_t len;
	char *pem;
	int rc;

	rc = read_small(pem_path, MAX_PEM_BYTES, &pem, &len);
	if (rc)
		return rc;
	/* either half of a pair names the same key */
	rc = strstr(pem, "PRIVATE KEY-----") ? load_key(pem_path, pem, len, true, &k) :
					       load_key(pem_path, pem, len, false, &k);
	OPENSSL_cleanse(pem, len);
	free(pem);
	if (!rc)
		rc = keyid_of(k, keyid);
	EVP_PKEY_free(k);
	return rc;
}

int tcl_golden_sign(const char *key_pem_path, const char *msg, size_t len,
		    char **sig, size_t *sig_len)
{
	struct json_object *o = NULL;
	unsigned char raw[64];
	EVP_MD_CTX *ctx = NULL;
	char keyid[65];
	EVP_PKEY *k = NULL;
	size_t rlen = sizeof(raw);
	int rc;

	*sig = NULL;
	*sig_len = 0;
	rc = load_key_file(key_pem_path, true, &k);
	if (rc)
		return rc;
	rc = keyid_of(k, keyid);
	if (rc)
		goto out;
	ctx = EVP_MD_CTX_new();
	if (!ctx) {
		rc = -ENOMEM;
		goto out;
	}
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, k) != 1 ||
	    EVP_DigestSign(ctx, raw, &rlen, (const unsigned char *)msg, len) != 1 || rlen != 64) {
		ssl_err(key_pem_path, "signing failed");
		rc = -EINVAL;
		goto out;
	}
	rc = -ENOMEM;
	o = json_object_new_object();
	if (!o || tcl_json_add_str(o, "alg", "ed25519") || tcl_json_add_str(o, "keyid", keyid) ||
	    tcl_json_add_b64(o, "sig", raw, 64))
		goto out;
	rc = tcl_canon_json(o, sig, sig_len);
out:
	json_object_put(o);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	return rc;
}

/* Strict: exactly 88 characters, "==" padding, and the canonical encoding of 64 bytes. */
static int decode_sig(const char *b64, size_t len, unsigned char raw[64])
{
	size_t n;

	if (len != SIG_B64_LEN || tcl_b64_decode_buf(b64, len, raw, 64, &n) || n != 64)
		return -EINVAL;
	return 0;
}

int tcl_golden_verify_pem(const char *pub_pem, size_t pem_len, const char *msg, size_t len,
			  const char *sig, size_t sig_len, char keyid_out[65])
{
	struct json_object_iterator it, end;
	struct json_object *o = NULL, *v;
	const char *key, *alg, *kid, *s;
	unsigned char raw[64];
	char keyid[65], eb[128];
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY *k = NULL;
	int rc;

	rc = load_key("trust key", pub_pem, pem_len, false, &k);
	if (!rc)
		rc = keyid_of(k, keyid);
	if (!rc)
		rc = tcl_json_parse("signature", sig, sig_len, TCL_GOLDEN_MAX_SIG_BYTES, &o);
	if (rc)
		goto out;
	rc = -EINVAL;
	if (!json_object_is_type(o, json_type_object)) {
		pr_err("golden", "signature is not a JSON object");
		goto out;
	}
	it = json_object_iter_begin(o);
	end = json_object_iter_end(o);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		key = json_object_iter_peek_name(&it);
		v = json_object_iter_peek_value(&it);
		if ((strcmp(key, "alg") && strcmp(key, "keyid") && strcmp(key, "sig")) ||
		    !json_object_is_type(v, json_type_string)) {
			pr_err("golden", "signature: unknown key or non-string value \"%s\"",
			       tcl_esc_log(key, eb, sizeof(eb)));
			goto out;
		}
	}
	alg = json_object_get_string(json_object_object_get(o, "alg"));
	kid = json_object_get_string(json_object_object_get(o, "keyid"));
	s = json_object_get_string(json_object_object_get(o, "sig"));
	if (!alg || !kid || !s) {
		pr_err("golden", "signature needs \"alg\", \"keyid\" and \"sig\"");
		goto out;
	}
	if (strcmp(alg, "ed25519")) {
		pr_err("golden", "signature algorithm \"%s\" is not supported",
		       tcl_esc_log(alg, eb, sizeof(eb)));
		rc = -ENOTSUP;
		goto out;
	}
	if (!parse_hex64(kid, strlen(kid), NULL)) {
		pr_err("golden", "signature: keyid is not 64 lowercase hex");
		goto out;
	}
	if (decode_sig(s, strlen(s), raw)) {
		pr_err("golden", "signature: \"sig\" is not the base64 of 64 bytes");
		goto out;
	}
	if (strcmp(kid, keyid)) {
		pr_err("golden", "signed by key %s, not by the trusted key %s", kid, keyid);
		rc = -EKEYREJECTED;
		goto out;
	}
	ctx = EVP_MD_CTX_new();
	if (!ctx) {
		rc = -ENOMEM;
		goto out;
	}
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k) != 1) {
		ssl_err("trust key", "cannot verify with it");
		goto out;
	}
	if (EVP_DigestVerify(ctx, raw, 64, (const unsigned char *)msg, len) != 1) {
		ERR_clear_error();
		pr_err("golden", "signature by key %s does not match the manifest", keyid);
		rc = -EBADMSG;
		goto out;
	}
	if (keyid_out)
		memcpy(keyid_out, keyid, 65);
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	json_object_put(o);
	return rc;
}

int tcl_golden_verify(const char *pub_pem_path, const char *msg, size_t len,
		      const char *sig, size_t sig_len, char keyid_out[65])
{
	size_t plen;
	char *pem;
	int rc;

	rc = read_small(pub_pem_path, MAX_PEM_BYTES, &pem, &plen);
	if (rc)
		return rc;
	rc = tcl_golden_verify_pem(pem, plen, msg, len, sig, sig_len, keyid_out);
	free(pem);
	return rc;
}

static int write_new(const char *path, const char *data, size_t len, mode_t mode)
{
	int rc = tcl_write_file_new(path, data, len, mode);

	if (rc)
		pr_err("golden", "%s: %s", path, strerror(-rc));
	return rc;
}

static int write_pem(const char *path, EVP_PKEY *k, bool priv)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;
	int rc;

	if (!b)
		return -ENOMEM;
	if (priv ? PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) != 1 :
		   PEM_write_bio_PUBKEY(b, k) != 1) {
		ssl_err(path, "cannot write key");
		BIO_free(b);
		return -ENOMEM;
	}
	n = BIO_get_mem_data(b, &data);
	rc = write_new(path, data, (size_t)n, priv ? 0600 : 0644);
	BIO_free(b);
	return rc;
}

int tcl_golden_keygen(const char *prefix, char keyid[65])
{
	char *kpath = NULL, *ppath = NULL;
	EVP_PKEY *k;
	int rc = -ENOMEM;

	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!k) {
		ssl_err("keygen", "Ed25519 key generation failed");
		return -ENOMEM;
	}
	kpath = malloc(strlen(prefix) + 5);
	ppath = malloc(strlen(prefix) + 5);
	if (!kpath || !ppath)
		goto out;
	sprintf(kpath, "%s.key", prefix);
	sprintf(ppath, "%s.pub", prefix);
	rc = keyid_of(k, keyid);
	if (!rc)
		rc = write_pem(kpath, k, true);
	if (rc)
		goto out;
	rc = write_pem(ppath, k, false);
	if (rc)
		unlink(kpath);
out:
	free(kpath);
	free(ppath);
	EVP_PKEY_free(k);
	return rc;
}
