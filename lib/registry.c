// SPDX-License-Identifier: GPL-2.0
/* The OCI distribution API (v2) on the HTTP client of http.c.  The registry is not trusted:
 * bodies are bounded before they are stored, digests are recomputed, and anything that ends
 * up in a URL or header was validated. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "diag.h"
#include "escape.h"
#include "hexb64.h"
#include "http.h"
#include "registry.h"

#define SUB "registry"
#define ERRBODY_MAX TCL_HTTP_ERRBODY_MAX
#define DEFAULT_TIMEOUT_S 60L

/* Every registry request: our credentials may go, GET and HEAD follow redirects (blobs are
 * often served from storage elsewhere). */
#define REG_REQ(m, mx) .method = (m), .max = (mx), .same_origin = true, .follow = true

static const char manifest_accept[] = "Accept: " TCL_MT_OCI_MANIFEST ", " TCL_MT_OCI_INDEX ", "
	TCL_MT_DOCKER_MANIFEST ", " TCL_MT_DOCKER_LIST;

struct tcl_registry {
	char *base;		/* scheme://host[:port], no trailing slash */
	bool https;
	struct tcl_http *http;
};

#define seterr(reg, log, ...) tcl_http_seterr((reg)->http, log, __VA_ARGS__)

static void digest_str(const unsigned char md[32], char out[TCL_DIGEST_LEN + 1])
{
	memcpy(out, "sha256:", 7);
	tcl_hex(md, 32, out + 7);
}

/* Send @r; a status other than @want is an error, logged unless @quiet_404 and it is 404. */
static int reg_call(struct tcl_registry *reg, struct tcl_http_req *r, const char *what, long want,
		    bool quiet_404)
{
	int err = tcl_http_request(reg->http, r, what);

	if (!err && r->status != want)
		err = tcl_http_fail(reg->http, r, what, !(quiet_404 && r->status == 404));
	return err;
}

/* Hand the response body of @r to the caller (an empty one as 1 malloc'd byte). */
static int take_body(struct tcl_http_req *r, void **data, size_t *len)
{
	*data = r->resp ? r->resp : malloc(1);
	if (!*data)
		return -ENOMEM;
	*len = r->resp_len;
	r->resp = NULL;
	return 0;
}

static bool loopback_host(const char *h)
{
	return !strcmp(h, "localhost") || !strncmp(h, "127.", 4) || !strcmp(h, "[::1]") ||
	       !strcmp(h, "::1");
}

int tcl_registry_open(const char *url, const struct tcl_registry_opts *opts,
		      struct tcl_registry **out)
{
	static const struct tcl_registry_opts none;
	struct tcl_http_opts hopts = {
		.sub = SUB, .protocols = "http,https", .user_agent = "tcl-registry/1",
		.extra_header = "Docker-Content-Digest",
		.auth_hint = " (registry wants credentials: use --auth-file FILE or "
			     "TCL_REGISTRY_AUTH=user:pass)",
	};
	struct tcl_registry *reg;
	char *user = NULL, *pass = NULL, *label = NULL;
	char host[256];
	const char *h = url;
	bool https;
	size_t n;
	int err = -ENOMEM;

	*out = NULL;
	if (!opts)
		opts = &none;
	if (!url) {
		pr_err(SUB, "no registry URL given");
		return -EINVAL;
	}
	if (!strncmp(url, "https://", 8)) {
		h += 8;
		https = true;
	} else if (!strncmp(url, "http://", 7)) {
		h += 7;
		https = false;
	} else {
		https = true;	/* decided below for loopback */
	}
	n = strnlen(h, 300);
	while (n > 0 && h[n - 1] == '/')
		n--;
	if (!tcl_ref_host_valid(h, n)) {
		pr_err(SUB, "bad registry URL '%.300s' (want [http[s]://]host[:port])", url);
		return -EINVAL;
	}
	reg = calloc(1, sizeof(*reg));
	if (!reg)
		return -ENOMEM;
	{
		const char *colon = h[0] == '[' ? memchr(h, ']', n) : memchr(h, ':', n);
		size_t hl = colon ? (size_t)(colon - h) + (h[0] == '[') : n;

		memcpy(host, h, hl);
		host[hl] = '\0';
	}
	if (h == url)
		https = !loopback_host(host);
	reg->https = https;
	hopts.https = https;
	hopts.ca_file = opts->ca_file;
	hopts.timeout_s = opts->timeout_s > 0 ? opts->timeout_s : DEFAULT_TIMEOUT_S;
	if (asprintf(&reg->base, "%s://%.*s", https ? "https" : "http", (int)n, h) < 0) {
		reg->base = NULL;
		goto fail;
	}
	err = tcl_registry_auth_load(opts->username, opts->password, opts->auth_file, &user, &pass);
	if (err)
		goto fail;
	if (user && (!tcl_http_header_safe(user, 1024) || strchr(user, ':') ||
		     (pass[0] && !tcl_http_header_safe(pass, 1024)))) {
		pr_err(SUB, "registry credentials: user or password has control characters");
		err = -EINVAL;
		goto fail;
	}
	if (user && !https && !loopback_host(host))
		pr_warn(SUB, "registry %s: credentials over plain http", reg->base);
	if (asprintf(&label, "registry %s", reg->base) < 0) {
		label = NULL;
		err = -ENOMEM;
		goto fail;
	}
	hopts.label = label;
	err = tcl_http_open(&hopts, &reg->http);
	if (!err)
		err = tcl_http_set_credentials(reg->http, user, pass);
	if (err)
		goto fail;
	*out = reg;
	reg = NULL;
fail:
	if (err == -ENOMEM)
		pr_err(SUB, "out of memory");
	if (pass)
		OPENSSL_cleanse(pass, strlen(pass));
	free(user);
	free(pass);
	free(label);
	tcl_registry_close(reg);
	return err;
}

void tcl_registry_close(struct tcl_registry *reg)
{
	if (!reg)
		return;
	tcl_http_close(reg->http);
	free(reg->base);
	free(reg);
}

const char *tcl_registry_url(const struct tcl_registry *reg)
{
	return reg->base;
}

const char *tcl_registry_last_error(const struct tcl_registry *reg)
{
	return tcl_http_last_error(reg->http);
}

static int check_repo(struct tcl_registry *reg, const char *repo)
{
	if (repo && tcl_ref_repo_valid(repo, strnlen(repo, 256)))
		return 0;
	seterr(reg, true, "invalid repository name '%.256s'", repo ? repo : "(null)");
	return -EINVAL;
}

static int check_digest(struct tcl_registry *reg, const char *digest)
{
	if (tcl_digest_valid(digest))
		return 0;
	seterr(reg, true, "invalid digest '%.80s' (want sha256:<64 hex>)",
	       digest ? digest : "(null)");
	return -EINVAL;
}

int tcl_registry_check(struct tcl_registry *reg, const char *repo, const char *digest)
{
	int err = check_repo(reg, repo);

	return err || !digest ? err : check_digest(reg, digest);
}

int tcl_registry_blob_exists(struct tcl_registry *reg, const char *repo, const char *digest,
			     uint64_t *size)
{
	struct tcl_http_req r = { REG_REQ("HEAD", ERRBODY_MAX) };
	char *url = NULL, what[400];
	int err;

	if ((err = check_repo(reg, repo)) || (err = check_digest(reg, digest)))
		return err;
	if (asprintf(&url, "%s/v2/%s/blobs/%s", reg->base, repo, digest) < 0)
		return -ENOMEM;
	snprintf(what, sizeof(what), "HEAD blob %s@%s", repo, digest);
	r.url = url;
	err = tcl_http_request(reg->http, &r, what);
	if (err)
		goto out;
	if (r.status == 200) {
		if (size)
			*size = r.clen >= 0 ? (uint64_t)r.clen : 0;
		err = 1;
	} else if (r.status != 404) {
		err = tcl_http_fail(reg->http, &r, what, true);
	}
out:
	tcl_http_req_clear(&r);
	free(url);
	return err;
}

/* Location of an upload session resolved against the registry (it may be relative), with
 * digest= appended.  *same_origin tells whether our credentials may follow it. */
static int upload_url(struct tcl_registry *reg, const char *loc, const char *digest, char **out,
		      bool *same_origin, const char *what)
{
	CURLU *u = curl_url(), *b = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *bhost = NULL, *bport = NULL, *s = NULL;
	char q[100];
	int err = -ENOMEM;

	*out = NULL;
	if (!u || !b)
		goto out;
	if (curl_url_set(b, CURLUPART_URL, reg->base, 0) ||
	    curl_url_set(u, CURLUPART_URL, reg->base, 0) ||
	    curl_url_set(u, CURLUPART_URL, loc, 0) ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ||
	    curl_url_get(b, CURLUPART_HOST, &bhost, 0) ||
	    curl_url_get(b, CURLUPART_PORT, &bport, CURLU_DEFAULT_PORT)) {
		err = -EPROTO;
		goto bad;
	}
	if (strcmp(scheme, "https") && (strcmp(scheme, "http") || reg->https)) {
		err = -EPROTO;
		goto bad;
	}
	*same_origin = !strcmp(scheme, reg->https ? "https" : "http") &&
		       !strcasecmp(host, bhost) && !strcmp(port, bport);
	snprintf(q, sizeof(q), "digest=%s", digest);
	if (curl_url_set(u, CURLUPART_QUERY, q, CURLU_APPENDQUERY | CURLU_URLENCODE) ||
	    curl_url_get(u, CURLUPART_URL, &s, 0))
		goto out;
	*out = strdup(s);
	err = *out ? 0 : -ENOMEM;
	goto out;
bad:
	{
		char l[200];

		tcl_esc_ctrl(loc, l, sizeof(l), TCL_ESC_ASCII);
		seterr(reg, true, "registry %s: %s: unusable upload Location '%s'", reg->base,
		       what, l);
	}
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(bhost);
	curl_free(bport);
	curl_free(s);
	curl_url_cleanup(u);
	curl_url_cleanup(b);
	return err;
}

static int upload(struct tcl_registry *reg, const char *repo, const char *digest,
		  struct tcl_http_body *src)
{
	struct tcl_http_req r = { REG_REQ("POST", ERRBODY_MAX) };
	char *url = NULL, *put_url = NULL, what[400];
	int err;

	err = tcl_registry_blob_exists(reg, repo, digest, NULL);
	if (err == 1)
		return 0;	/* content-addressed: already there is as good as uploaded */
	if (err < 0)
		return err;
	if (asprintf(&url, "%s/v2/%s/blobs/uploads/", reg->base, repo) < 0)
		return -ENOMEM;
	snprintf(what, sizeof(what), "upload blob %s@%s", repo, digest);
	r.url = url;
	err = reg_call(reg, &r, what, 202, false);
	if (err)
		goto out;
	if (!r.location) {
		seterr(reg, true, "registry %s: %s: 202 without a Location header", reg->base,
		       what);
		err = -EPROTO;
		goto out;
	}
	err = upload_url(reg, r.location, digest, &put_url, &r.same_origin, what);
	if (err)
		goto out;
	r.method = "PUT";
	r.url = put_url;
	r.xfer = src->size;
	r.ctype = "application/octet-stream";
	r.body = src;
	err = reg_call(reg, &r, what, 201, false);
	if (err)
		goto out;
	if (r.header && strcmp(r.header, digest)) {
		seterr(reg, true, "registry %s: %s: registry stored it as %.80s", reg->base, what,
		       r.header);
		err = -EBADMSG;
	}
out:
	tcl_http_req_clear(&r);
	free(url);
	free(put_url);
	return err;
}

int tcl_registry_push_blob(struct tcl_registry *reg, const char *repo, const void *data,
			   size_t len, char digest_out[TCL_DIGEST_LEN + 1])
{
	struct tcl_http_body src = { .mem = data, .fd = -1, .size = len };
	char digest[TCL_DIGEST_LEN + 1];
	int err;

	if ((err = check_repo(reg, repo)))
		return err;
	err = tcl_sha256_hex(data, len, true, digest);
	if (err)
		return err;
	err = upload(reg, repo, digest, &src);
	if (!err && digest_out)
		memcpy(digest_out, digest, sizeof(digest));
	return err;
}

int tcl_registry_push_blob_fd(struct tcl_registry *reg, const char *repo, int fd, uint64_t size,
			      const char *digest)
{
	struct tcl_http_body src = { .fd = fd, .size = size };
	char got[TCL_DIGEST_LEN + 1];
	unsigned char buf[65536], md[32];
	EVP_MD_CTX *ctx;
	uint64_t off = 0;
	unsigned int mdlen;
	int err = 0;

	if ((err = check_repo(reg, repo)) || (err = check_digest(reg, digest)))
		return err;
	ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(ctx);
		return -ENOMEM;
	}
	while (off < size) {
		size_t want = size - off < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);
		ssize_t n = pread(fd, buf, want, (off_t)off);

		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		off += (uint64_t)n;
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	if (err) {
		seterr(reg, true, "blob %s: read: %s", digest, strerror(-err));
		return err;
	}
	digest_str(md, got);
	if (strcmp(got, digest)) {
		seterr(reg, true, "blob %s: content hashes to %s, refusing to upload", digest, got);
		return -EBADMSG;
	}
	return upload(reg, repo, digest, &src);
}

static int finish_digest(struct tcl_http_req *r, char out[TCL_DIGEST_LEN + 1])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (!EVP_DigestFinal_ex(r->md, md, &mdlen))
		return -ENOMEM;
	digest_str(md, out);
	return 0;
}

int tcl_registry_get_blob(struct tcl_registry *reg, const char *repo, const char *digest,
			  size_t max, void **data, size_t *len)
{
	struct tcl_http_req r = { REG_REQ("GET", max), .sha256 = true };
	char *url = NULL, what[400], got[TCL_DIGEST_LEN + 1];
	int err;

	*data = NULL;
	*len = 0;
	if ((err = check_repo(reg, repo)) || (err = check_digest(reg, digest)))
		return err;
	if (asprintf(&url, "%s/v2/%s/blobs/%s", reg->base, repo, digest) < 0)
		return -ENOMEM;
	snprintf(what, sizeof(what), "GET blob %s@%s", repo, digest);
	r.url = url;
	/* error bodies need room even when the caller expects a tiny blob */
	if (r.max < ERRBODY_MAX)
		r.max = ERRBODY_MAX;
	r.xfer = max;
	err = reg_call(reg, &r, what, 200, false);
	if (err)
		goto out;
	if (r.resp_len > max) {
		seterr(reg, true, "registry %s: %s: response larger than %zu bytes, refused",
		       reg->base, what, max);
		err = -EFBIG;
		goto out;
	}
	if ((err = finish_digest(&r, got)))
		goto out;
	if (strcmp(got, digest)) {
		seterr(reg, true, "registry %s: %s: content hashes to %s", reg->base, what, got);
		err = -EBADMSG;
		goto out;
	}
	err = take_body(&r, data, len);
	if (err)
		goto out;
out:
	tcl_http_req_clear(&r);
	free(url);
	return err;
}

/* A manifest request: @repo and @ref (a tag or a digest) checked, and @what said of it. */
static int manifest_what(struct tcl_registry *reg, const char *verb, const char *repo,
			 const char *ref, char *what, size_t cap)
{
	int err = check_repo(reg, repo);

	if (err)
		return err;
	if (!ref || (!tcl_digest_valid(ref) && !tcl_ref_tag_valid(ref, strnlen(ref, 129)))) {
		seterr(reg, true, "invalid tag or digest '%.130s'", ref ? ref : "(null)");
		return -EINVAL;
	}
	snprintf(what, cap, "%s manifest %s%s%s", verb, repo, tcl_digest_valid(ref) ? "@" : ":",
		 ref);
	return 0;
}

int tcl_registry_put_manifest(struct tcl_registry *reg, const char *repo, const char *ref,
			      const void *data, size_t len, const char *media_type,
			      char digest_out[TCL_DIGEST_LEN + 1])
{
	struct tcl_http_body src = { .mem = data, .fd = -1, .size = len };
	struct tcl_http_req r = { REG_REQ("PUT", ERRBODY_MAX), .body = &src };
	char *url = NULL, *mt = NULL, what[400], digest[TCL_DIGEST_LEN + 1];
	json_object *root = NULL, *v;
	int err;

	if ((err = manifest_what(reg, "PUT", repo, ref, what, sizeof(what))))
		return err;
	if (len > TCL_MANIFEST_MAX) {
		seterr(reg, true, "%s: manifest of %zu bytes exceeds %u", what, len,
		       TCL_MANIFEST_MAX);
		return -EFBIG;
	}
	if (!media_type) {
		root = tcl_http_json_parse(data, len);
		if (!root || !json_object_object_get_ex(root, "mediaType", &v) ||
		    !json_object_is_type(v, json_type_string)) {
			seterr(reg, true, "%s: manifest is not JSON with a mediaType", what);
			err = -EINVAL;
			goto out;
		}
		media_type = json_object_get_string(v);
	}
	if (!tcl_http_header_safe(media_type, 255)) {
		seterr(reg, true, "%s: bad media type", what);
		err = -EINVAL;
		goto out;
	}
	mt = strdup(media_type);
	if (!mt) {
		err = -ENOMEM;
		goto out;
	}
	err = tcl_sha256_hex(data, len, true, digest);
	if (err)
		goto out;
	if (tcl_digest_valid(ref) && strcmp(ref, digest)) {
		seterr(reg, true, "%s: manifest content hashes to %s", what, digest);
		err = -EINVAL;
		goto out;
	}
	if (asprintf(&url, "%s/v2/%s/manifests/%s", reg->base, repo, ref) < 0) {
		url = NULL;
		err = -ENOMEM;
		goto out;
	}
	r.url = url;
	r.ctype = mt;
	err = reg_call(reg, &r, what, 201, false);
	if (err)
		goto out;
	if (r.header && strcmp(r.header, digest)) {
		seterr(reg, true, "registry %s: %s: registry stored it as %.80s, we sent %s",
		       reg->base, what, r.header, digest);
		err = -EBADMSG;
		goto out;
	}
	if (digest_out)
		memcpy(digest_out, digest, sizeof(digest));
out:
	tcl_http_req_clear(&r);
	json_object_put(root);
	free(url);
	free(mt);
	return err;
}

int tcl_registry_get_manifest_ex(struct tcl_registry *reg, const char *repo, const char *ref,
				 void **data, size_t *len, char **media_type,
				 char digest_out[TCL_DIGEST_LEN + 1], bool quiet)
{
	struct tcl_http_req r = { REG_REQ("GET", TCL_MANIFEST_MAX), .sha256 = true,
				  .accept = manifest_accept };
	char *url = NULL, what[400], got[TCL_DIGEST_LEN + 1];
	int err;

	*data = NULL;
	*len = 0;
	if (media_type)
		*media_type = NULL;
	if ((err = manifest_what(reg, "GET", repo, ref, what, sizeof(what))))
		return err;
	if (asprintf(&url, "%s/v2/%s/manifests/%s", reg->base, repo, ref) < 0)
		return -ENOMEM;
	r.url = url;
	err = reg_call(reg, &r, what, 200, quiet);
	if (err)
		goto out;
	if ((err = finish_digest(&r, got)))
		goto out;
	if (tcl_digest_valid(ref) ? strcmp(got, ref) != 0 :
	    (r.header && !strncmp(r.header, "sha256:", 7) && strcmp(r.header, got))) {
		seterr(reg, true, "registry %s: %s: content hashes to %s, expected %.80s",
		       reg->base, what, got, tcl_digest_valid(ref) ? ref : r.header);
		err = -EBADMSG;
		goto out;
	}
	if (media_type && r.ctype_resp) {
		char mt[256];

		tcl_esc_ctrl(r.ctype_resp, mt, sizeof(mt), TCL_ESC_ASCII);
		mt[strcspn(mt, ";")] = '\0';
		*media_type = strdup(mt);
		if (!*media_type) {
			err = -ENOMEM;
			goto out;
		}
	}
	err = take_body(&r, data, len);
	if (err)
		goto out;
	if (digest_out)
		memcpy(digest_out, got, sizeof(got));
out:
	if (err && media_type) {
		free(*media_type);
		*media_type = NULL;
	}
	tcl_http_req_clear(&r);
	free(url);
	return err;
}

int tcl_registry_resolve(struct tcl_registry *reg, const char *repo, const char *tag,
			 char digest_out[TCL_DIGEST_LEN + 1])
{
	struct tcl_http_req r = { REG_REQ("HEAD", ERRBODY_MAX), .accept = manifest_accept };
	char *url = NULL, what[400];
	void *data = NULL;
	size_t len;
	int err;

	if ((err = check_repo(reg, repo)))
		return err;
	if (!tag || !tcl_ref_tag_valid(tag, strnlen(tag, 129))) {
		seterr(reg, true, "invalid tag '%.130s'", tag ? tag : "(null)");
		return -EINVAL;
	}
	snprintf(what, sizeof(what), "resolve %s:%s", repo, tag);
	if (asprintf(&url, "%s/v2/%s/manifests/%s", reg->base, repo, tag) < 0)
		return -ENOMEM;
	r.url = url;
	err = reg_call(reg, &r, what, 200, false);
	if (err)
		goto out;
	if (r.header && tcl_digest_valid(r.header)) {
		memcpy(digest_out, r.header, TCL_DIGEST_LEN + 1);
		goto out;
	}
	/* no (usable) digest header: the content itself decides */
	err = tcl_registry_get_manifest_ex(reg, repo, tag, &data, &len, NULL, digest_out, false);
	free(data);
out:
	tcl_http_req_clear(&r);
	free(url);
	return err;
}


void tcl_registry_seterr(struct tcl_registry *reg, const char *fmt, ...)
{
	char buf[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	seterr(reg, true, "%s", buf);
}
