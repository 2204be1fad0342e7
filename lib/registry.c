// SPDX-License-Identifier: GPL-2.0
/* OCI distribution client.  The registry is not trusted: bodies are bounded before they are
 * stored, digests are recomputed, and anything that ends up in a URL or header was validated. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "diag.h"
#include "registry.h"

#define SUB "registry"
#define ERRBODY_MAX (64u << 10)		/* bodies of non-content responses */
#define TOKEN_RESP_MAX (1u << 20)
#define AUTH_FILE_MAX 4096
#define CONNECT_TIMEOUT_S 5L
#define DEFAULT_TIMEOUT_S 60L
#define EMPTY_JSON_DIGEST "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

static const char manifest_accept[] = "Accept: " TCL_MT_OCI_MANIFEST ", " TCL_MT_OCI_INDEX ", "
	TCL_MT_DOCKER_MANIFEST ", " TCL_MT_DOCKER_LIST;

enum auth_mode { AUTH_NONE, AUTH_BASIC, AUTH_BEARER };

struct tcl_registry {
	char *base;		/* scheme://host[:port], no trailing slash */
	bool https;
	char *user, *pass;
	char *ca_file;
	long timeout_s;
	CURL *curl;
	enum auth_mode mode;
	char *token;
	char err[768];
};

/* ---- parsers ---- */

static bool is_hex_lower(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool tcl_digest_valid(const char *s)
{
	if (!s || strncmp(s, "sha256:", 7))
		return false;
	for (int i = 0; i < 64; i++)
		if (!is_hex_lower((unsigned char)s[7 + i]))
			return false;
	return s[71] == '\0';
}

static bool is_lalnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* distribution's path-component grammar, components joined by '/' */
static bool repo_valid(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || n > 255)
		return false;
	for (;;) {
		if (i >= n || !is_lalnum((unsigned char)s[i]))
			return false;
		while (i < n && is_lalnum((unsigned char)s[i]))
			i++;
		if (i == n)
			return true;
		if (s[i] == '/') {
			i++;
			continue;
		}
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i++;
			if (i < n && s[i] == '_')
				i++;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else {
			return false;
		}
		if (i >= n || !is_lalnum((unsigned char)s[i]))
			return false;
	}
}

static bool tag_valid(const char *s, size_t n)
{
	if (n == 0 || n > 128)
		return false;
	if (!isalnum((unsigned char)s[0]) && s[0] != '_')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

static bool host_valid(const char *s, size_t n)
{
	size_t i = 0, hend;

	if (n == 0 || n > 255)
		return false;
	if (s[0] == '[') {
		const char *rb = memchr(s, ']', n);

		if (!rb || rb == s + 1)
			return false;
		for (i = 1; s + i < rb; i++)
			if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
				return false;
		hend = (size_t)(rb - s) + 1;
	} else {
		for (; i < n && s[i] != ':'; i++)
			if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-')
				return false;
		hend = i;
		if (hend == 0 || s[0] == '.' || s[0] == '-')
			return false;
	}
	if (hend == n)
		return true;
	if (s[hend] != ':' || hend + 1 == n || n - hend - 1 > 5)
		return false;
	unsigned long port = 0;

	for (i = hend + 1; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		port = port * 10 + (unsigned long)(s[i] - '0');
	}
	return port >= 1 && port <= 65535;
}

int tcl_ref_parse(const char *s, struct tcl_ref *out)
{
	const char *p, *at, *end, *slash, *colon;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!s)
		return -EINVAL;
	n = strnlen(s, 1025);
	if (n == 0 || n > 1024)
		return -EINVAL;
	p = s;
	if (!strncmp(p, "http://", 7)) {
		strcpy(out->scheme, "http");
		p += 7;
	} else if (!strncmp(p, "https://", 8)) {
		strcpy(out->scheme, "https");
		p += 8;
	}
	end = s + n;
	at = strchr(p, '@');
	if (at) {
		if (!tcl_digest_valid(at + 1))
			return -EINVAL;
		strcpy(out->digest, at + 1);
		end = at;
	}
	slash = memchr(p, '/', (size_t)(end - p));
	if (slash) {
		size_t hl = (size_t)(slash - p);
		bool is_host = out->scheme[0] || memchr(p, '.', hl) || memchr(p, ':', hl) ||
			       (hl == 9 && !strncmp(p, "localhost", 9));

		if (is_host) {
			if (!host_valid(p, hl))
				return -EINVAL;
			memcpy(out->host, p, hl);
			p = slash + 1;
		}
	}
	if (out->scheme[0] && !out->host[0])
		return -EINVAL;
	colon = memchr(p, ':', (size_t)(end - p));
	if (colon) {
		if (memchr(colon, '/', (size_t)(end - colon)))
			return -EINVAL;
		if (!tag_valid(colon + 1, (size_t)(end - colon - 1)))
			return -EINVAL;
		memcpy(out->tag, colon + 1, (size_t)(end - colon - 1));
		end = colon;
	}
	if (!repo_valid(p, (size_t)(end - p)))
		return -EINVAL;
	memcpy(out->repo, p, (size_t)(end - p));
	return 0;
}

static bool is_token_char(int c)
{
	return c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

/* copy a quoted-string or token value at *pp into dst (NULL: skip) */
static int auth_value(const char **pp, char *dst, size_t cap)
{
	const char *p = *pp;
	size_t n = 0;

	if (*p == '"') {
		p++;
		for (;;) {
			if (*p == '\0')
				return -EINVAL;
			if (*p == '"')
				break;
			if (*p == '\\') {
				p++;
				if (*p == '\0')
					return -EINVAL;
			}
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return -EINVAL;
			if (dst) {
				if (n + 1 >= cap)
					return -EINVAL;
				dst[n] = *p;
			}
			n++;
			p++;
		}
		p++;
	} else {
		/* token68 values such as base64 may carry '/', '+', '=' */
		while (*p && *p != ',' && *p != ' ' && *p != '\t') {
			if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '"')
				return -EINVAL;
			if (dst) {
				if (n + 1 >= cap)
					return -EINVAL;
				dst[n] = *p;
			}
			n++;
			p++;
		}
	}
	if (dst)
		dst[n] = '\0';
	*pp = p;
	return 0;
}

int tcl_www_auth_parse(const char *hdr, struct tcl_www_auth *out)
{
	const char *p = hdr;
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	if (!hdr || strnlen(hdr, 8193) > 8192)
		return -EINVAL;
	while (*p == ' ' || *p == '\t')
		p++;
	while (is_token_char((unsigned char)p[n]))
		n++;
	if (n == 0 || n >= sizeof(out->scheme) || (p[n] && p[n] != ' ' && p[n] != '\t'))
		return -EINVAL;
	memcpy(out->scheme, p, n);
	p += n;
	for (;;) {
		const char *name;
		char *dst = NULL;
		size_t cap = 0, nl = 0;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			return 0;
		name = p;
		while (is_token_char((unsigned char)p[nl]))
			nl++;
		if (nl == 0)
			return -EINVAL;
		p += nl;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '=')
			return 0;	/* start of a second challenge: we use the first only */
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (nl == 5 && !strncasecmp(name, "realm", 5)) {
			dst = out->realm;
			cap = sizeof(out->realm);
		} else if (nl == 7 && !strncasecmp(name, "service", 7)) {
			dst = out->service;
			cap = sizeof(out->service);
		} else if (nl == 5 && !strncasecmp(name, "scope", 5)) {
			dst = out->scope;
			cap = sizeof(out->scope);
		}
		if (auth_value(&p, dst, cap))
			return -EINVAL;
	}
}

void tcl_golden_tag(const char *image_digest, char tag[80])
{
	snprintf(tag, 80, "sha256-%.64s.tcl", image_digest + 7);
}

/* ---- helpers ---- */

static void seterr(struct tcl_registry *reg, bool log, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(struct tcl_registry *reg, bool log, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reg->err, sizeof(reg->err), fmt, ap);
	va_end(ap);
	if (log)
		pr_err(SUB, "%s", reg->err);
}

static void sha256_hex(const void *data, size_t len, char out[TCL_DIGEST_LEN + 1])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

static bool loopback_host(const char *h)
{
	return !strcmp(h, "localhost") || !strncmp(h, "127.", 4) || !strcmp(h, "[::1]") ||
	       !strcmp(h, "::1");
}

/* printable ASCII only, cut at max: registry text goes into our logs and headers */
static void sanitize(const char *in, char *out, size_t cap)
{
	size_t n = 0;

	for (; in && *in && n + 1 < cap; in++)
		out[n++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
	out[n] = '\0';
}

static bool header_safe(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if (n >= max || (unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return n > 0;
}

/* ---- HTTP ---- */

struct buf {
	unsigned char *p;
	size_t len, cap;
};

struct body_src {
	const unsigned char *mem;
	int fd;
	uint64_t size, pos;
};

struct req {
	const char *method;	/* GET HEAD POST PUT */
	const char *url;
	const char *accept;	/* full header line or NULL */
	const char *ctype;	/* Content-Type value or NULL */
	struct body_src *body;	/* PUT body */
	size_t max;		/* bound on the response body */
	uint64_t xfer;		/* bytes a blob transfer may move: stretches the timeout */
	bool same_origin;	/* whether our credentials may go to url */
	/* results */
	long status;
	struct buf resp;
	bool too_big;
	EVP_MD_CTX *md;
	char *location, *dcd, *ctype_resp, *www;
	curl_off_t clen;
	char cerr[CURL_ERROR_SIZE];
};

static void req_clear(struct req *r)
{
	free(r->resp.p);
	free(r->location);
	free(r->dcd);
	free(r->ctype_resp);
	free(r->www);
	EVP_MD_CTX_free(r->md);
	r->resp.p = NULL;
	r->location = r->dcd = r->ctype_resp = r->www = NULL;
	r->md = NULL;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct req *r = ud;
	size_t n = size * nmemb;

	if (n > r->max || r->resp.len > r->max - n) {
		r->too_big = true;
		return 0;
	}
	if (r->resp.len + n > r->resp.cap) {
		size_t cap = r->resp.cap ? r->resp.cap : 4096;
		unsigned char *p;

		while (cap < r->resp.len + n)
			cap *= 2;
		if (cap > r->max)
			cap = r->max;
		p = realloc(r->resp.p, cap);
		if (!p)
			return 0;
		r->resp.p = p;
		r->resp.cap = cap;
	}
	memcpy(r->resp.p + r->resp.len, ptr, n);
	r->resp.len += n;
	if (r->md)
		EVP_DigestUpdate(r->md, ptr, n);
	return n;
}

static size_t read_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct body_src *b = ud;
	size_t n = size * nmemb;

	if (n > b->size - b->pos)
		n = (size_t)(b->size - b->pos);
	if (n == 0)
		return 0;
	if (b->mem) {
		memcpy(ptr, b->mem + b->pos, n);
	} else {
		ssize_t got = pread(b->fd, ptr, n, (off_t)b->pos);

		if (got <= 0)
			return CURL_READFUNC_ABORT;
		n = (size_t)got;
	}
	b->pos += n;
	return n;
}

static char *get_header(CURL *c, const char *name)
{
	struct curl_header *h;

	if (curl_easy_header(c, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h->value)
		return NULL;
	if (strlen(h->value) > 8192)
		return NULL;
	return strdup(h->value);
}

static int b64(const char *in, char **out)
{
	size_t n = strlen(in);
	char *o = malloc(4 * ((n + 2) / 3) + 1);

	if (!o)
		return -ENOMEM;
	EVP_EncodeBlock((unsigned char *)o, (const unsigned char *)in, (int)n);
	*out = o;
	return 0;
}

static int basic_header(struct tcl_registry *reg, char **out)
{
	char *up = NULL, *enc = NULL;
	int err;

	*out = NULL;
	if (asprintf(&up, "%s:%s", reg->user, reg->pass) < 0)
		return -ENOMEM;
	err = b64(up, &enc);
	if (!err && asprintf(out, "Authorization: Basic %s", enc) < 0)
		err = -ENOMEM;
	OPENSSL_cleanse(up, strlen(up));
	free(up);
	free(enc);
	return err;
}

static int curl_errno(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_TOO_MANY_REDIRECTS:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EPROTO;
	case CURLE_FILESIZE_EXCEEDED:
		return -EFBIG;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return -ECONNRESET;
	default:
		return -EIO;
	}
}

static int slist_add(struct curl_slist **l, const char *s)
{
	struct curl_slist *t = curl_slist_append(*l, s);

	if (!t)
		return -ENOMEM;
	*l = t;
	return 0;
}

/* One transfer; authz is a full "Authorization: ..." line or NULL.  Returns 0 when an HTTP
 * response arrived (any status), or -errno with the transport error logged against `what`. */
static int perform(struct tcl_registry *reg, struct req *r, const char *authz, const char *what)
{
	struct curl_slist *hdrs = NULL;
	CURL *c = reg->curl;
	const char *protos = reg->https ? "https" : "http,https";
	CURLcode cc;
	char line[300];
	int err = 0;

	req_clear(r);
	r->resp.len = r->resp.cap = 0;
	r->too_big = false;
	r->status = 0;
	r->clen = -1;
	r->cerr[0] = '\0';
	if (r->body)
		r->body->pos = 0;
	r->md = EVP_MD_CTX_new();
	if (!r->md || !EVP_DigestInit_ex(r->md, EVP_sha256(), NULL))
		return -ENOMEM;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, r->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, reg->timeout_s < CONNECT_TIMEOUT_S ?
			 reg->timeout_s : CONNECT_TIMEOUT_S);
	/* a layer is allowed its size at 256 KiB/s on top of the request timeout, so the
	 * timeout bounds a stalled registry without cutting off a big but moving upload */
	curl_easy_setopt(c, CURLOPT_TIMEOUT, reg->timeout_s + (long)(r->xfer >> 18));
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	/* never let a redirect downgrade an https registry to plain http */
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, protos);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->cerr);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "tcl-registry/1");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (reg->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, reg->ca_file);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);

	if (!strcmp(r->method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(r->method, "GET")) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max);
	} else if (!strcmp(r->method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	} else {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(c, CURLOPT_READDATA, r->body);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body->size);
	}
	if (!strcmp(r->method, "GET") || !strcmp(r->method, "HEAD")) {
		/* blob GETs are often redirected to storage; libcurl drops our Authorization
		 * header when the redirect leaves the host */
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	}

	snprintf(line, sizeof(line), "Content-Type: %s", r->ctype ? r->ctype : "");
	if (slist_add(&hdrs, "Expect:") || (r->accept && slist_add(&hdrs, r->accept)) ||
	    (r->ctype && slist_add(&hdrs, line)) ||
	    (authz && r->same_origin && slist_add(&hdrs, authz))) {
		curl_slist_free_all(hdrs);
		return -ENOMEM;
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);

	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &r->clen);
	if (cc == CURLE_OK || (cc == CURLE_WRITE_ERROR && r->too_big)) {
		r->location = get_header(c, "Location");
		r->dcd = get_header(c, "Docker-Content-Digest");
		r->ctype_resp = get_header(c, "Content-Type");
		r->www = get_header(c, "WWW-Authenticate");
	}
	/* the handle outlives r: drop every pointer into it */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(c, CURLOPT_READDATA, NULL);
	curl_slist_free_all(hdrs);

	if (r->too_big || cc == CURLE_FILESIZE_EXCEEDED) {
		seterr(reg, true, "registry %s: %s: response larger than %zu bytes, refused",
		       reg->base, what, r->max);
		return -EFBIG;
	}
	if (cc != CURLE_OK) {
		err = curl_errno(cc);
		if (err == -ETIMEDOUT)
			seterr(reg, true, "registry %s: %s: timed out after %ld s (%s)", reg->base,
			       what, reg->timeout_s + (long)(r->xfer >> 18),
			       r->cerr[0] ? r->cerr : curl_easy_strerror(cc));
		else
			seterr(reg, true, "registry %s: %s: %s%s", reg->base, what,
			       err == -ECONNREFUSED ? "cannot connect: " :
			       err == -EHOSTUNREACH ? "cannot resolve: " :
			       err == -EPROTO && cc != CURLE_UNSUPPORTED_PROTOCOL &&
			       cc != CURLE_TOO_MANY_REDIRECTS ? "TLS: " : "",
			       r->cerr[0] ? r->cerr : curl_easy_strerror(cc));
	}
	return err;
}

static int fetch_token(struct tcl_registry *reg, const struct tcl_www_auth *ch, const char *what);

/* perform() with the registry's auth dance: on 401 switch to Basic or fetch a Bearer token for
 * the challenged scope and retry.  Non-401 statuses are left to the caller. */
static int request(struct tcl_registry *reg, struct req *r, const char *what)
{
	char *authz = NULL;
	int err = 0;

	for (int attempt = 0; attempt < 3; attempt++) {
		struct tcl_www_auth ch;

		free(authz);
		authz = NULL;
		if (reg->mode == AUTH_BASIC && reg->user)
			err = basic_header(reg, &authz);
		else if (reg->mode == AUTH_BEARER && reg->token &&
			 asprintf(&authz, "Authorization: Bearer %s", reg->token) < 0)
			err = -ENOMEM;
		if (err)
			break;
		err = perform(reg, r, authz, what);
		if (err || r->status != 401 || !r->same_origin || attempt == 2)
			break;
		if (!r->www || tcl_www_auth_parse(r->www, &ch))
			break;
		if (!strcasecmp(ch.scheme, "Bearer")) {
			err = fetch_token(reg, &ch, what);
			if (err)
				break;
			reg->mode = AUTH_BEARER;
		} else if (!strcasecmp(ch.scheme, "Basic")) {
			if (!reg->user || reg->mode == AUTH_BASIC)
				/* no or rejected credentials: the caller reports the 401 */
				break;
			reg->mode = AUTH_BASIC;
		} else {
			break;
		}
	}
	if (authz)
		OPENSSL_cleanse(authz, strlen(authz));
	free(authz);
	return err;
}

/* "CODE: message" from a distribution error body, or "" */
static void json_error(const struct req *r, char *out, size_t cap)
{
	struct json_tokener *tok;
	json_object *root, *errs, *e, *v;
	char code[64] = "", msg[256] = "";

	out[0] = '\0';
	if (!r->resp.len || r->resp.len > ERRBODY_MAX)
		return;
	tok = json_tokener_new();
	if (!tok)
		return;
	root = json_tokener_parse_ex(tok, (const char *)r->resp.p, (int)r->resp.len);
	json_tokener_free(tok);
	if (!root)
		return;
	if (json_object_object_get_ex(root, "errors", &errs) &&
	    json_object_is_type(errs, json_type_array) && json_object_array_length(errs) > 0 &&
	    (e = json_object_array_get_idx(errs, 0)) && json_object_is_type(e, json_type_object)) {
		if (json_object_object_get_ex(e, "code", &v) &&
		    json_object_is_type(v, json_type_string))
			sanitize(json_object_get_string(v), code, sizeof(code));
		if (json_object_object_get_ex(e, "message", &v) &&
		    json_object_is_type(v, json_type_string))
			sanitize(json_object_get_string(v), msg, sizeof(msg));
	}
	json_object_put(root);
	if (code[0] || msg[0])
		snprintf(out, cap, "%s%s%s", code, code[0] && msg[0] ? ": " : "", msg);
}

static int status_errno(long st)
{
	switch (st) {
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 400:
		return -EBADMSG;
	case 405:
		return -EOPNOTSUPP;
	case 413:
		return -EFBIG;
	case 429:
		return -EAGAIN;
	default:
		return st >= 500 ? -EIO : -EPROTO;
	}
}

static const char *status_text(long st)
{
	static const struct {
		long st;
		const char *text;
	} tab[] = {
		{ 400, "Bad Request" }, { 401, "Unauthorized" }, { 403, "Forbidden" },
		{ 404, "Not Found" }, { 405, "Method Not Allowed" }, { 413, "Payload Too Large" },
		{ 429, "Too Many Requests" }, { 500, "Internal Server Error" },
		{ 502, "Bad Gateway" }, { 503, "Service Unavailable" },
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (tab[i].st == st)
			return tab[i].text;
	return "";
}

/* Report an unexpected status once, naming registry, operation, status and the registry's
 * own error text. */
static int http_fail(struct tcl_registry *reg, const struct req *r, const char *what, bool log)
{
	char je[384];
	const char *hint = "";

	json_error(r, je, sizeof(je));
	if (!je[0])	/* HEAD and some proxies send no body: the status is all we have */
		snprintf(je, sizeof(je), "%s", status_text(r->status));
	if (r->status == 401 && !reg->user)
		hint = " (registry wants credentials: use --auth-file FILE or "
		       "TCL_REGISTRY_AUTH=user:pass)";
	else if (r->status == 401)
		hint = " (credentials rejected)";
	seterr(reg, log, "registry %s: %s: HTTP %ld%s%s%s", reg->base, what, r->status,
	       je[0] ? " " : "", je, hint);
	return status_errno(r->status);
}

static int fetch_token(struct tcl_registry *reg, const struct tcl_www_auth *ch, const char *what)
{
	struct req r = { .method = "GET", .max = TOKEN_RESP_MAX };
	CURLU *u = NULL;
	char *url = NULL, *authz = NULL, *scheme = NULL, *sc = NULL, *save = NULL;
	json_object *root = NULL, *v;
	const char *tok;
	char w[128];
	int err = -ENOMEM;

	snprintf(w, sizeof(w), "%.60s: token", what);
	u = curl_url();
	if (!u)
		goto out;
	if (curl_url_set(u, CURLUPART_URL, ch->realm, 0) ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
	    (strcmp(scheme, "https") && strcmp(scheme, "http"))) {
		err = -EPROTO;
		seterr(reg, true, "registry %s: %s: bad Bearer realm '%.200s'", reg->base, what,
		       ch->realm);
		goto out;
	}
	if (ch->service[0]) {
		char q[300];

		snprintf(q, sizeof(q), "service=%s", ch->service);
		if (curl_url_set(u, CURLUPART_QUERY, q, CURLU_APPENDQUERY | CURLU_URLENCODE))
			goto out;
	}
	if (ch->scope[0]) {
		sc = strdup(ch->scope);
		if (!sc)
			goto out;
		for (char *s = strtok_r(sc, " ", &save); s; s = strtok_r(NULL, " ", &save)) {
			char q[600];

			snprintf(q, sizeof(q), "scope=%s", s);
			if (curl_url_set(u, CURLUPART_QUERY, q,
					 CURLU_APPENDQUERY | CURLU_URLENCODE))
				goto out;
		}
	}
	if (curl_url_get(u, CURLUPART_URL, &url, 0))
		goto out;
	r.url = url;
	/* credentials go to the realm unless that would downgrade https to plain http */
	r.same_origin = !(reg->https && !strcmp(scheme, "http"));
	if (reg->user && (err = basic_header(reg, &authz)))
		goto out;
	err = perform(reg, &r, authz, w);
	if (err)
		goto out;
	if (r.status != 200) {
		err = http_fail(reg, &r, w, true);
		goto out;
	}
	err = -EBADMSG;
	{
		struct json_tokener *jt = json_tokener_new();

		if (!jt) {
			err = -ENOMEM;
			goto out;
		}
		root = json_tokener_parse_ex(jt, (const char *)r.resp.p, (int)r.resp.len);
		json_tokener_free(jt);
	}
	if (!root || (!json_object_object_get_ex(root, "token", &v) &&
		      !json_object_object_get_ex(root, "access_token", &v)) ||
	    !json_object_is_type(v, json_type_string) ||
	    !header_safe(tok = json_object_get_string(v), 16384) || strchr(tok, ' ')) {
		seterr(reg, true, "registry %s: %s: token server %.200s sent no usable token",
		       reg->base, what, ch->realm);
		goto out;
	}
	free(reg->token);
	reg->token = strdup(tok);
	err = reg->token ? 0 : -ENOMEM;
out:
	if (authz)
		OPENSSL_cleanse(authz, strlen(authz));
	free(authz);
	json_object_put(root);
	req_clear(&r);
	curl_free(url);
	curl_free(scheme);
	curl_url_cleanup(u);
	free(sc);
	return err;
}

/* ---- registry object ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int read_auth_file(const char *path, char **user, char **pass)
{
	char buf[AUTH_FILE_MAX + 1];
	ssize_t n;
	char *colon;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_err(SUB, "auth file %s: %s", path, strerror(errno));
		return err;
	}
	n = read(fd, buf, AUTH_FILE_MAX + 1);
	if (n < 0)
		err = -errno;
	close(fd);
	if (err || n > AUTH_FILE_MAX) {
		pr_err(SUB, "auth file %s: %s", path, err ? strerror(-err) : "larger than 4 KiB");
		return err ? err : -EFBIG;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	colon = strchr(buf, ':');
	if (!colon || colon == buf) {
		pr_err(SUB, "auth file %s: expected one line user:password", path);
		err = -EINVAL;
		goto out;
	}
	*colon = '\0';
	*user = strdup(buf);
	*pass = strdup(colon + 1);
	if (!*user || !*pass)
		err = -ENOMEM;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return err;
}

int tcl_registry_open(const char *url, const struct tcl_registry_opts *opts,
		      struct tcl_registry **out)
{
	static const struct tcl_registry_opts none;
	struct tcl_registry *reg;
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
	if (!host_valid(h, n)) {
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
	if (asprintf(&reg->base, "%s://%.*s", https ? "https" : "http", (int)n, h) < 0) {
		reg->base = NULL;
		goto fail;
	}
	reg->timeout_s = opts->timeout_s > 0 ? opts->timeout_s : DEFAULT_TIMEOUT_S;
	if (opts->ca_file && !(reg->ca_file = strdup(opts->ca_file)))
		goto fail;
	if (opts->username) {
		reg->user = strdup(opts->username);
		reg->pass = strdup(opts->password ? opts->password : "");
		if (!reg->user || !reg->pass)
			goto fail;
	} else if (opts->auth_file) {
		err = read_auth_file(opts->auth_file, &reg->user, &reg->pass);
		if (err)
			goto fail;
	} else {
		const char *env = getenv("TCL_REGISTRY_AUTH");
		const char *colon = env ? strchr(env, ':') : NULL;

		if (env && *env) {
			if (!colon || colon == env || strlen(env) > AUTH_FILE_MAX) {
				pr_err(SUB, "TCL_REGISTRY_AUTH: expected user:password");
				err = -EINVAL;
				goto fail;
			}
			reg->user = strndup(env, (size_t)(colon - env));
			reg->pass = strdup(colon + 1);
			if (!reg->user || !reg->pass) {
				err = -ENOMEM;
				goto fail;
			}
		}
	}
	if (reg->user && (!header_safe(reg->user, 1024) || strchr(reg->user, ':') ||
			  (reg->pass[0] && !header_safe(reg->pass, 1024)))) {
		pr_err(SUB, "registry credentials: user or password has control characters");
		err = -EINVAL;
		goto fail;
	}
	if (reg->user && !https && !loopback_host(host))
		pr_warn(SUB, "registry %s: credentials over plain http", reg->base);
	pthread_once(&curl_once, curl_init_once);
	reg->curl = curl_easy_init();
	if (!reg->curl) {
		err = -ENOMEM;
		goto fail;
	}
	*out = reg;
	return 0;
fail:
	if (err == -ENOMEM)
		pr_err(SUB, "out of memory");
	tcl_registry_close(reg);
	return err;
}

void tcl_registry_close(struct tcl_registry *reg)
{
	if (!reg)
		return;
	if (reg->curl)
		curl_easy_cleanup(reg->curl);
	if (reg->pass)
		OPENSSL_cleanse(reg->pass, strlen(reg->pass));
	if (reg->token)
		OPENSSL_cleanse(reg->token, strlen(reg->token));
	free(reg->base);
	free(reg->user);
	free(reg->pass);
	free(reg->ca_file);
	free(reg->token);
	free(reg);
}

const char *tcl_registry_url(const struct tcl_registry *reg)
{
	return reg->base;
}

const char *tcl_registry_last_error(const struct tcl_registry *reg)
{
	return reg->err;
}

static int check_repo(struct tcl_registry *reg, const char *repo)
{
	if (repo && repo_valid(repo, strnlen(repo, 256)))
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

int tcl_registry_ping(struct tcl_registry *reg)
{
	struct req r = { .method = "GET", .max = ERRBODY_MAX, .same_origin = true };
	char *url = NULL;
	int err;

	if (asprintf(&url, "%s/v2/", reg->base) < 0)
		return -ENOMEM;
	r.url = url;
	err = request(reg, &r, "GET /v2/");
	if (!err && r.status != 200)
		err = http_fail(reg, &r, "GET /v2/", true);
	req_clear(&r);
	free(url);
	return err;
}

int tcl_registry_blob_exists(struct tcl_registry *reg, const char *repo, const char *digest,
			     uint64_t *size)
{
	struct req r = { .method = "HEAD", .max = ERRBODY_MAX, .same_origin = true };
	char *url = NULL, what[400];
	int err;

	if ((err = check_repo(reg, repo)) || (err = check_digest(reg, digest)))
		return err;
	if (asprintf(&url, "%s/v2/%s/blobs/%s", reg->base, repo, digest) < 0)
		return -ENOMEM;
	snprintf(what, sizeof(what), "HEAD blob %s@%s", repo, digest);
	r.url = url;
	err = request(reg, &r, what);
	if (err)
		goto out;
	if (r.status == 200) {
		if (size)
			*size = r.clen >= 0 ? (uint64_t)r.clen : 0;
		err = 1;
	} else if (r.status != 404) {
		err = http_fail(reg, &r, what, true);
	}
out:
	req_clear(&r);
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

		sanitize(loc, l, sizeof(l));
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
		  struct body_src *src)
{
	struct req r = { .method = "POST", .max = ERRBODY_MAX, .same_origin = true };
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
	err = request(reg, &r, what);
	if (err)
		goto out;
	if (r.status != 202) {
		err = http_fail(reg, &r, what, true);
		goto out;
	}
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
	err = request(reg, &r, what);
	if (err)
		goto out;
	if (r.status != 201) {
		err = http_fail(reg, &r, what, true);
		goto out;
	}
	if (r.dcd && strcmp(r.dcd, digest)) {
		seterr(reg, true, "registry %s: %s: registry stored it as %.80s", reg->base, what,
		       r.dcd);
		err = -EBADMSG;
	}
out:
	req_clear(&r);
	free(url);
	free(put_url);
	return err;
}

int tcl_registry_push_blob(struct tcl_registry *reg, const char *repo, const void *data,
			   size_t len, char digest_out[TCL_DIGEST_LEN + 1])
{
	struct body_src src = { .mem = data, .fd = -1, .size = len };
	char digest[TCL_DIGEST_LEN + 1];
	int err;

	if ((err = check_repo(reg, repo)))
		return err;
	sha256_hex(data, len, digest);
	err = upload(reg, repo, digest, &src);
	if (!err && digest_out)
		memcpy(digest_out, digest, sizeof(digest));
	return err;
}

int tcl_registry_push_blob_fd(struct tcl_registry *reg, const char *repo, int fd, uint64_t size,
			      const char *digest)
{
	struct body_src src = { .fd = fd, .size = size };
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
	memcpy(got, "sha256:", 7);
	for (int i = 0; i < 32; i++)
		snprintf(got + 7 + 2 * i, 3, "%02x", md[i]);
	if (strcmp(got, digest)) {
		seterr(reg, true, "blob %s: content hashes to %s, refusing to upload", digest, got);
		return -EBADMSG;
	}
	return upload(reg, repo, digest, &src);
}

static int finish_digest(struct req *r, char out[TCL_DIGEST_LEN + 1])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (!EVP_DigestFinal_ex(r->md, md, &mdlen))
		return -ENOMEM;
	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int tcl_registry_get_blob(struct tcl_registry *reg, const char *repo, const char *digest,
			  size_t max, void **data, size_t *len)
{
	struct req r = { .method = "GET", .max = max, .same_origin = true };
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
	err = request(reg, &r, what);
	if (err)
		goto out;
	if (r.status != 200) {
		err = http_fail(reg, &r, what, true);
		goto out;
	}
	if (r.resp.len > max) {
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
	*data = r.resp.p ? r.resp.p : malloc(1);
	if (!*data) {
		err = -ENOMEM;
		goto out;
	}
	*len = r.resp.len;
	r.resp.p = NULL;
out:
	req_clear(&r);
	free(url);
	return err;
}

static json_object *parse_json(const void *data, size_t len)
{
	struct json_tokener *tok;
	json_object *o;

	if (len > INT32_MAX)
		return NULL;
	tok = json_tokener_new_ex(64);
	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, data, (int)len);
	/* trailing bytes after the object mean this is not one JSON document */
	if (o && (json_tokener_get_error(tok) != json_tokener_success ||
		  json_tokener_get_parse_end(tok) != len)) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static bool ref_is_tag_or_digest(const char *ref)
{
	return ref && (tcl_digest_valid(ref) || tag_valid(ref, strnlen(ref, 129)));
}

int tcl_registry_put_manifest(struct tcl_registry *reg, const char *repo, const char *ref,
			      const void *data, size_t len, const char *media_type,
			      char digest_out[TCL_DIGEST_LEN + 1])
{
	struct body_src src = { .mem = data, .fd = -1, .size = len };
	struct req r = { .method = "PUT", .max = ERRBODY_MAX, .same_origin = true, .body = &src };
	char *url = NULL, *mt = NULL, what[400], digest[TCL_DIGEST_LEN + 1];
	json_object *root = NULL, *v;
	int err;

	if ((err = check_repo(reg, repo)))
		return err;
	if (!ref_is_tag_or_digest(ref)) {
		seterr(reg, true, "invalid tag or digest '%.130s'", ref ? ref : "(null)");
		return -EINVAL;
	}
	snprintf(what, sizeof(what), "PUT manifest %s%s%s", repo, tcl_digest_valid(ref) ? "@" : ":",
		 ref);
	if (len > TCL_MANIFEST_MAX) {
		seterr(reg, true, "%s: manifest of %zu bytes exceeds %u", what, len,
		       TCL_MANIFEST_MAX);
		return -EFBIG;
	}
	if (!media_type) {
		root = parse_json(data, len);
		if (!root || !json_object_object_get_ex(root, "mediaType", &v) ||
		    !json_object_is_type(v, json_type_string)) {
			seterr(reg, true, "%s: manifest is not JSON with a mediaType", what);
			err = -EINVAL;
			goto out;
		}
		media_type = json_object_get_string(v);
	}
	if (!header_safe(media_type, 255)) {
		seterr(reg, true, "%s: bad media type", what);
		err = -EINVAL;
		goto out;
	}
	mt = strdup(media_type);
	if (!mt) {
		err = -ENOMEM;
		goto out;
	}
	sha256_hex(data, len, digest);
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
	err = request(reg, &r, what);
	if (err)
		goto out;
	if (r.status != 201) {
		err = http_fail(reg, &r, what, true);
		goto out;
	}
	if (r.dcd && strcmp(r.dcd, digest)) {
		seterr(reg, true, "registry %s: %s: registry stored it as %.80s, we sent %s",
		       reg->base, what, r.dcd, digest);
		err = -EBADMSG;
		goto out;
	}
	if (digest_out)
		memcpy(digest_out, digest, sizeof(digest));
out:
	req_clear(&r);
	json_object_put(root);
	free(url);
	free(mt);
	return err;
}

/* quiet: a 404 is reported to last_error only, so the caller can phrase it */
static int get_manifest(struct tcl_registry *reg, const char *repo, const char *ref,
			void **data, size_t *len, char **media_type,
			char digest_out[TCL_DIGEST_LEN + 1], bool quiet)
{
	struct req r = { .method = "GET", .max = TCL_MANIFEST_MAX, .same_origin = true,
			 .accept = manifest_accept };
	char *url = NULL, what[400], got[TCL_DIGEST_LEN + 1];
	int err;

	*data = NULL;
	*len = 0;
	if (media_type)
		*media_type = NULL;
	if ((err = check_repo(reg, repo)))
		return err;
	if (!ref_is_tag_or_digest(ref)) {
		seterr(reg, true, "invalid tag or digest '%.130s'", ref ? ref : "(null)");
		return -EINVAL;
	}
	snprintf(what, sizeof(what), "GET manifest %s%s%s", repo, tcl_digest_valid(ref) ? "@" : ":",
		 ref);
	if (asprintf(&url, "%s/v2/%s/manifests/%s", reg->base, repo, ref) < 0)
		return -ENOMEM;
	r.url = url;
	err = request(reg, &r, what);
	if (err)
		goto out;
	if (r.status != 200) {
		err = http_fail(reg, &r, what, !(quiet && r.status == 404));
		goto out;
	}
	if ((err = finish_digest(&r, got)))
		goto out;
	if (tcl_digest_valid(ref) ? strcmp(got, ref) != 0 :
	    (r.dcd && !strncmp(r.dcd, "sha256:", 7) && strcmp(r.dcd, got))) {
		seterr(reg, true, "registry %s: %s: content hashes to %s, expected %.80s",
		       reg->base, what, got, tcl_digest_valid(ref) ? ref : r.dcd);
		err = -EBADMSG;
		goto out;
	}
	if (media_type && r.ctype_resp) {
		char mt[256];

		sanitize(r.ctype_resp, mt, sizeof(mt));
		mt[strcspn(mt, ";")] = '\0';
		*media_type = strdup(mt);
		if (!*media_type) {
			err = -ENOMEM;
			goto out;
		}
	}
	*data = r.resp.p ? r.resp.p : malloc(1);
	if (!*data) {
		err = -ENOMEM;
		goto out;
	}
	*len = r.resp.len;
	r.resp.p = NULL;
	if (digest_out)
		memcpy(digest_out, got, sizeof(got));
out:
	if (err && media_type) {
		free(*media_type);
		*media_type = NULL;
	}
	req_clear(&r);
	free(url);
	return err;
}

int tcl_registry_get_manifest(struct tcl_registry *reg, const char *repo, const char *ref,
			      void **data, size_t *len, char **media_type,
			      char digest_out[TCL_DIGEST_LEN + 1])
{
	return get_manifest(reg, repo, ref, data, len, media_type, digest_out, false);
}

int tcl_registry_resolve(struct tcl_registry *reg, const char *repo, const char *tag,
			 char digest_out[TCL_DIGEST_LEN + 1])
{
	struct req r = { .method = "HEAD", .max = ERRBODY_MAX, .same_origin = true,
			 .accept = manifest_accept };
	char *url = NULL, what[400];
	void *data = NULL;
	size_t len;
	int err;

	if ((err = check_repo(reg, repo)))
		return err;
	if (!tag || !tag_valid(tag, strnlen(tag, 129))) {
		seterr(reg, true, "invalid tag '%.130s'", tag ? tag : "(null)");
		return -EINVAL;
	}
	snprintf(what, sizeof(what), "resolve %s:%s", repo, tag);
	if (asprintf(&url, "%s/v2/%s/manifests/%s", reg->base, repo, tag) < 0)
		return -ENOMEM;
	r.url = url;
	err = request(reg, &r, what);
	if (err)
		goto out;
	if (r.status != 200) {
		err = http_fail(reg, &r, what, true);
		goto out;
	}
	if (r.dcd && tcl_digest_valid(r.dcd)) {
		memcpy(digest_out, r.dcd, TCL_DIGEST_LEN + 1);
		goto out;
	}
	/* no (usable) digest header: the content itself decides */
	err = get_manifest(reg, repo, tag, &data, &len, NULL, digest_out, false);
	free(data);
out:
	req_clear(&r);
	free(url);
	return err;
}

/* ---- golden artifact ---- */

/* add val (which may be NULL after a failed allocation) to obj, taking it in every case */
static int jadd(json_object *obj, const char *key, json_object *val)
{
	if (!val || json_object_object_add(obj, key, val)) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

static int jpush(json_object *arr, json_object *val)
{
	if (!val || json_object_array_add(arr, val)) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

static json_object *descriptor(const char *mt, const char *digest, size_t size, const char *title)
{
	json_object *d = json_object_new_object(), *ann = NULL;

	if (!d)
		return NULL;
	if (jadd(d, "mediaType", json_object_new_string(mt)) ||
	    jadd(d, "digest", json_object_new_string(digest)) ||
	    jadd(d, "size", json_object_new_int64((int64_t)size)))
		goto fail;
	if (title && (!(ann = json_object_new_object()) ||
		      jadd(ann, "org.opencontainers.image.title", json_object_new_string(title)) ||
		      jadd(d, "annotations", json_object_get(ann))))
		goto fail;
	json_object_put(ann);
	return d;
fail:
	json_object_put(ann);
	json_object_put(d);
	return NULL;
}

int tcl_golden_push(struct tcl_registry *reg, const char *repo, const char *image_digest,
		    const void *manifest, size_t manifest_len, const void *sig, size_t sig_len,
		    char artifact_digest_out[TCL_DIGEST_LEN + 1])
{
	char tag[80], mdig[TCL_DIGEST_LEN + 1], sdig[TCL_DIGEST_LEN + 1], cdig[TCL_DIGEST_LEN + 1];
	json_object *img = NULL, *art = NULL, *layers = NULL, *v;
	void *imgdata = NULL;
	size_t imglen = 0;
	char *imgmt = NULL;
	const char *subject_mt, *text;
	int err;

	if ((err = check_repo(reg, repo)) || (err = check_digest(reg, image_digest)))
		return err;
	if (manifest_len > TCL_GOLDEN_MAX || sig_len > TCL_GOLDEN_SIG_MAX) {
		seterr(reg, true, "golden manifest (%zu bytes, max %u) or signature (%zu, max %u) "
		       "too large", manifest_len, TCL_GOLDEN_MAX, sig_len, TCL_GOLDEN_SIG_MAX);
		return -EFBIG;
	}
	err = get_manifest(reg, repo, image_digest, &imgdata, &imglen, &imgmt, NULL, true);
	if (err == -ENOENT)
		seterr(reg, true, "registry %s: image %s@%s is not in the registry; push the image "
		       "before its golden manifest", reg->base, repo, image_digest);
	if (err)
		goto out;
	/* the subject descriptor's mediaType is the manifest's own, the header is a fallback */
	img = parse_json(imgdata, imglen);
	if (img && json_object_object_get_ex(img, "mediaType", &v) &&
	    json_object_is_type(v, json_type_string))
		subject_mt = json_object_get_string(v);
	else
		subject_mt = imgmt;
	if (!subject_mt || !header_safe(subject_mt, 255)) {
		seterr(reg, true, "registry %s: image %s@%s has no usable media type", reg->base,
		       repo, image_digest);
		err = -EBADMSG;
		goto out;
	}
	if ((err = tcl_registry_push_blob(reg, repo, "{}", 2, cdig)) ||
	    (err = tcl_registry_push_blob(reg, repo, manifest, manifest_len, mdig)) ||
	    (err = tcl_registry_push_blob(reg, repo, sig, sig_len, sdig)))
		goto out;

	err = -ENOMEM;
	layers = json_object_new_array();
	art = json_object_new_object();
	if (!layers || !art)
		goto out;
	/* key order is insertion order, so the same inputs always give the same artifact */
	if (jpush(layers, descriptor(TCL_MT_GOLDEN_MANIFEST, mdig, manifest_len, "golden.json")) ||
	    jpush(layers, descriptor(TCL_MT_GOLDEN_SIG, sdig, sig_len, "golden.sig")) ||
	    jadd(art, "schemaVersion", json_object_new_int(2)) ||
	    jadd(art, "mediaType", json_object_new_string(TCL_MT_OCI_MANIFEST)) ||
	    jadd(art, "artifactType", json_object_new_string(TCL_MT_GOLDEN_CONFIG)) ||
	    jadd(art, "config", descriptor(TCL_MT_GOLDEN_CONFIG, cdig, 2, NULL)) ||
	    jadd(art, "layers", json_object_get(layers)) ||
	    jadd(art, "subject", descriptor(subject_mt, image_digest, imglen, NULL)))
		goto out;
	text = json_object_to_json_string_ext(art, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text)
		goto out;
	tcl_golden_tag(image_digest, tag);
	err = tcl_registry_put_manifest(reg, repo, tag, text, strlen(text), TCL_MT_OCI_MANIFEST,
					artifact_digest_out);
out:
	json_object_put(layers);
	json_object_put(art);
	json_object_put(img);
	free(imgdata);
	free(imgmt);
	return err;
}

/* the one layer of media type mt: digest and size, bounded by max */
static int find_layer(json_object *layers, const char *mt, size_t max, const char **digest,
		      size_t *size)
{
	size_t n = json_object_array_length(layers);
	int found = 0;

	for (size_t i = 0; i < n; i++) {
		json_object *l = json_object_array_get_idx(layers, i), *v, *d, *s;
		int64_t sz;

		if (!json_object_object_get_ex(l, "mediaType", &v) ||
		    !json_object_is_type(v, json_type_string) ||
		    strcmp(json_object_get_string(v), mt))
			continue;
		if (found++)
			return -EBADMSG;
		if (!json_object_object_get_ex(l, "digest", &d) ||
		    !json_object_is_type(d, json_type_string) ||
		    !tcl_digest_valid(json_object_get_string(d)) ||
		    !json_object_object_get_ex(l, "size", &s) ||
		    !json_object_is_type(s, json_type_int) ||
		    (sz = json_object_get_int64(s)) < 0)
			return -EINVAL;
		if ((uint64_t)sz > max)
			return -EFBIG;
		*digest = json_object_get_string(d);
		*size = (size_t)sz;
	}
	return found == 1 ? 0 : -EBADMSG;
}

int tcl_golden_pull(struct tcl_registry *reg, const char *repo, const char *image_digest,
		    void **manifest, size_t *manifest_len, void **sig, size_t *sig_len)
{
	char tag[80], adig[TCL_DIGEST_LEN + 1];
	json_object *art = NULL, *v, *layers, *cfg, *subj;
	const char *mdig = NULL, *sdig = NULL;
	size_t msize = 0, ssize = 0;
	void *adata = NULL, *m = NULL, *s = NULL;
	size_t alen = 0, mlen = 0, slen = 0;
	int err;

	*manifest = *sig = NULL;
	*manifest_len = *sig_len = 0;
	if ((err = check_repo(reg, repo)) || (err = check_digest(reg, image_digest)))
		return err;
	tcl_golden_tag(image_digest, tag);
	err = get_manifest(reg, repo, tag, &adata, &alen, NULL, adig, true);
	if (err == -ENOENT)
		seterr(reg, true, "registry %s: no golden manifest for %s@%s (tag %s not found)",
		       reg->base, repo, image_digest, tag);
	if (err)
		goto out;
	err = -EBADMSG;
	art = parse_json(adata, alen);
	if (!art || !json_object_is_type(art, json_type_object) ||
	    !json_object_object_get_ex(art, "mediaType", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), TCL_MT_OCI_MANIFEST) ||
	    !json_object_object_get_ex(art, "config", &cfg) ||
	    !json_object_object_get_ex(cfg, "mediaType", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), TCL_MT_GOLDEN_CONFIG) ||
	    !json_object_object_get_ex(art, "layers", &layers) ||
	    !json_object_is_type(layers, json_type_array)) {
		seterr(reg, true, "registry %s: %s:%s (%s) is not a tcl golden manifest artifact",
		       reg->base, repo, tag, adig);
		goto out;
	}
	if (json_object_object_get_ex(art, "subject", &subj) &&
	    (!json_object_object_get_ex(subj, "digest", &v) ||
	     !json_object_is_type(v, json_type_string) ||
	     strcmp(json_object_get_string(v), image_digest))) {
		seterr(reg, true, "registry %s: %s:%s names another image as its subject",
		       reg->base, repo, tag);
		goto out;
	}
	if ((err = find_layer(layers, TCL_MT_GOLDEN_MANIFEST, TCL_GOLDEN_MAX, &mdig, &msize)) ||
	    (err = find_layer(layers, TCL_MT_GOLDEN_SIG, TCL_GOLDEN_SIG_MAX, &sdig, &ssize))) {
		seterr(reg, true, "registry %s: %s:%s: %s", reg->base, repo, tag,
		       err == -EFBIG ? "golden manifest or signature larger than allowed" :
		       err == -EINVAL ? "layer descriptor without a valid digest and size" :
		       "artifact needs exactly one golden manifest and one signature layer");
		err = err == -EFBIG ? err : -EBADMSG;
		goto out;
	}
	if ((err = tcl_registry_get_blob(reg, repo, mdig, msize, &m, &mlen)) ||
	    (err = tcl_registry_get_blob(reg, repo, sdig, ssize, &s, &slen)))
		goto out;
	if (mlen != msize || slen != ssize) {
		seterr(reg, true, "registry %s: %s:%s: blob sizes differ from the artifact's",
		       reg->base, repo, tag);
		err = -EBADMSG;
		goto out;
	}
	*manifest = m;
	*manifest_len = mlen;
	*sig = s;
	*sig_len = slen;
	m = s = NULL;
out:
	json_object_put(art);
	free(adata);
	free(m);
	free(s);
	return err;
}
