// SPDX-License-Identifier: GPL-2.0
/* The HTTP client on libcurl; see http.h.  Models: the distribution token spec
 * (docs/spec/auth/token.md) and libcurl's easy interface. */
#include <errno.h>
#include <pthread.h>
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

#define TOKEN_RESP_MAX (1u << 20)
#define CONNECT_TIMEOUT_S 5L
#define HEADER_MAX 8192

_Static_assert(sizeof(((struct tcl_http_req *)0)->cerr) >= CURL_ERROR_SIZE, "cerr");

enum auth_mode { AUTH_NONE, AUTH_BASIC, AUTH_BEARER };

struct tcl_http {
	CURL *curl;
	char *label, *sub, *protocols, *redir, *agent, *ca_file, *cert, *key, *extra, *hint;
	bool https, tls13;
	long timeout_s;
	char *user, *pass;
	enum auth_mode mode;
	char *token;
	char err[768];
};

/* ---- the WWW-Authenticate parser ---- */

static bool is_token_char(int c)
{
	return c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

/* copy a quoted-string or token value at *pp into dst (NULL: skip) */
static int auth_value(const char **pp, char *dst, size_t cap)
{
	const char *p = *pp;
	bool quoted = *p == '"';
	size_t n = 0;

	p += quoted;
	/* token68 values such as base64 may carry '/', '+', '=' */
	while (quoted ? *p != '"' : *p && *p != ',' && *p != ' ' && *p != '\t') {
		if (quoted && *p == '\\')
			p++;
		if (*p == '\0' || (unsigned char)*p < 0x20 || *p == 0x7f || (!quoted && *p == '"'))
			return -EINVAL;
		if (dst) {
			if (n + 1 >= cap)
				return -EINVAL;
			dst[n] = *p;
		}
		n++;
		p++;
	}
	p += quoted;
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

/* ---- helpers ---- */

void tcl_http_seterr(struct tcl_http *h, bool log, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(h->err, sizeof(h->err), fmt, ap);
	va_end(ap);
	if (log)
		pr_err(h->sub, "%s", h->err);
}

const char *tcl_http_last_error(const struct tcl_http *h)
{
	return h->err;
}

bool tcl_http_header_safe(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if (n >= max || (unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return n > 0;
}

json_object *tcl_http_json_parse(const void *data, size_t len)
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

void tcl_http_json_error(const void *body, size_t len, char *out, size_t cap)
{
	struct json_tokener *tok;
	json_object *root, *errs, *e, *v;
	char code[64] = "", msg[256] = "";

	out[0] = '\0';
	if (!len || len > TCL_HTTP_ERRBODY_MAX)
		return;
	tok = json_tokener_new();
	if (!tok)
		return;
	root = json_tokener_parse_ex(tok, body, (int)len);
	json_tokener_free(tok);
	if (!root)
		return;
	if (json_object_object_get_ex(root, "errors", &errs) &&
	    json_object_is_type(errs, json_type_array) && json_object_array_length(errs) > 0 &&
	    (e = json_object_array_get_idx(errs, 0)) && json_object_is_type(e, json_type_object)) {
		if (json_object_object_get_ex(e, "code", &v) &&
		    json_object_is_type(v, json_type_string))
			tcl_esc_ctrl(json_object_get_string(v), code, sizeof(code), TCL_ESC_ASCII);
		if (json_object_object_get_ex(e, "message", &v) &&
		    json_object_is_type(v, json_type_string))
			tcl_esc_ctrl(json_object_get_string(v), msg, sizeof(msg), TCL_ESC_ASCII);
	}
	json_object_put(root);
	if (code[0] || msg[0])
		snprintf(out, cap, "%s%s%s", code, code[0] && msg[0] ? ": " : "", msg);
}

/* ---- the handle ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

int tcl_http_open(const struct tcl_http_opts *o, struct tcl_http **out)
{
	struct tcl_http *h;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	if (dup_opt(o->label ? o->label : "http", &h->label) ||
	    dup_opt(o->sub ? o->sub : "http", &h->sub) ||
	    dup_opt(o->protocols ? o->protocols : "https", &h->protocols) ||
	    dup_opt(o->https ? "https" : h->protocols, &h->redir) ||
	    dup_opt(o->user_agent ? o->user_agent : "tcl/1", &h->agent) ||
	    dup_opt(o->ca_file, &h->ca_file) || dup_opt(o->cert, &h->cert) ||
	    dup_opt(o->key, &h->key) || dup_opt(o->extra_header, &h->extra) ||
	    dup_opt(o->auth_hint ? o->auth_hint : "", &h->hint))
		goto fail;
	h->https = o->https;
	h->tls13 = o->tls13;
	h->timeout_s = o->timeout_s > 0 ? o->timeout_s : 60;
	pthread_once(&curl_once, curl_init_once);
	h->curl = curl_easy_init();
	if (!h->curl)
		goto fail;
	*out = h;
	return 0;
fail:
	tcl_http_close(h);
	return -ENOMEM;
}

void tcl_http_close(struct tcl_http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	if (h->pass)
		OPENSSL_cleanse(h->pass, strlen(h->pass));
	if (h->token)
		OPENSSL_cleanse(h->token, strlen(h->token));
	free(h->label);
	free(h->sub);
	free(h->protocols);
	free(h->redir);
	free(h->agent);
	free(h->ca_file);
	free(h->cert);
	free(h->key);
	free(h->extra);
	free(h->hint);
	free(h->user);
	free(h->pass);
	free(h->token);
	free(h);
}

int tcl_http_set_credentials(struct tcl_http *h, const char *user, const char *pass)
{
	if (h->pass)
		OPENSSL_cleanse(h->pass, strlen(h->pass));
	free(h->user);
	free(h->pass);
	h->user = h->pass = NULL;
	if (!user)
		return 0;
	h->user = strdup(user);
	h->pass = strdup(pass ? pass : "");
	return h->user && h->pass ? 0 : -ENOMEM;
}

/* ---- one transfer ---- */

void tcl_http_req_clear(struct tcl_http_req *r)
{
	free(r->resp);
	free(r->location);
	free(r->header);
	free(r->ctype_resp);
	free(r->www);
	EVP_MD_CTX_free(r->md);
	r->resp = NULL;
	r->resp_len = r->resp_cap = 0;
	r->location = r->header = r->ctype_resp = r->www = NULL;
	r->md = NULL;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct tcl_http_req *r = ud;
	size_t n = size * nmemb;

	if (n > r->max || r->resp_len > r->max - n) {
		r->too_big = true;
		return 0;
	}
	if (r->resp_len + n + 1 > r->resp_cap) {
		size_t cap = r->resp_cap ? r->resp_cap : 4096;
		unsigned char *p;

		while (cap < r->resp_len + n + 1)
			cap *= 2;
		if (cap > r->max + 1)
			cap = r->max + 1;
		p = realloc(r->resp, cap);
		if (!p)
			return 0;
		r->resp = p;
		r->resp_cap = cap;
	}
	memcpy(r->resp + r->resp_len, ptr, n);
	r->resp_len += n;
	r->resp[r->resp_len] = '\0';
	if (r->md)
		EVP_DigestUpdate(r->md, ptr, n);
	return n;
}

static size_t read_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct tcl_http_body *b = ud;
	size_t n = size * nmemb;

	if (n > b->size - b->pos)
		n = (size_t)(b->size - b->pos);
	if (n == 0)
		return 0;
	if (b->mem) {
		memcpy(ptr, (const unsigned char *)b->mem + b->pos, n);
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
	if (strlen(h->value) > HEADER_MAX)
		return NULL;
	return strdup(h->value);
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

int tcl_http_perform(struct tcl_http *h, struct tcl_http_req *r, const char *authz)
{
	struct curl_slist *hdrs = NULL;
	CURL *c = h->curl;
	curl_off_t clen = -1;
	CURLcode cc;
	char line[300];

	tcl_http_req_clear(r);
	r->too_big = false;
	r->status = 0;
	r->clen = -1;
	r->cc = 0;
	r->cerr[0] = '\0';
	if (r->body)
		r->body->pos = 0;
	if (r->sha256) {
		r->md = EVP_MD_CTX_new();
		if (!r->md || !EVP_DigestInit_ex(r->md, EVP_sha256(), NULL))
			return -ENOMEM;
	}

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, r->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, h->timeout_s < CONNECT_TIMEOUT_S ?
			 h->timeout_s : CONNECT_TIMEOUT_S);
	/* a blob is allowed its size at 256 KiB/s on top of the request timeout, so the
	 * timeout bounds a stalled server without cutting off a big but moving transfer */
	curl_easy_setopt(c, CURLOPT_TIMEOUT,
			 h->timeout_s + r->extra_timeout_s + (long)(r->xfer >> 18));
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, h->protocols);
	/* never let a redirect downgrade https to plain http */
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, h->redir);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->cerr);
	curl_easy_setopt(c, CURLOPT_USERAGENT, h->agent);
	if (h->tls13)
		curl_easy_setopt(c, CURLOPT_SSLVERSION,
				 (long)(CURL_SSLVERSION_TLSv1_3 | CURL_SSLVERSION_MAX_DEFAULT));
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
	if (h->cert)
		curl_easy_setopt(c, CURLOPT_SSLCERT, h->cert);
	if (h->key)
		curl_easy_setopt(c, CURLOPT_SSLKEY, h->key);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);

	if (!strcmp(r->method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(r->method, "GET")) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max);
	} else if (!strcmp(r->method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(r->body ? r->body->size : 0));
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body ? r->body->mem : "");
	} else {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(c, CURLOPT_READDATA, r->body);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body->size);
	}
	if (r->follow && (!strcmp(r->method, "GET") || !strcmp(r->method, "HEAD"))) {
		/* blob GETs are often redirected to storage; libcurl drops our Authorization
		 * header when the redirect leaves the host */
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	}

	snprintf(line, sizeof(line), "Content-Type: %s", r->ctype ? r->ctype : "");
	if ((!r->expect_continue && slist_add(&hdrs, "Expect:")) ||
	    (r->accept && slist_add(&hdrs, r->accept)) || (r->ctype && slist_add(&hdrs, line)) ||
	    (authz && slist_add(&hdrs, authz))) {
		curl_slist_free_all(hdrs);
		return -ENOMEM;
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);

	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen);
	r->clen = clen;
	if (cc == CURLE_FILESIZE_EXCEEDED)
		r->too_big = true;
	if (cc == CURLE_OK || r->too_big) {
		r->location = get_header(c, "Location");
		r->ctype_resp = get_header(c, "Content-Type");
		r->www = get_header(c, "WWW-Authenticate");
		if (h->extra)
			r->header = get_header(c, h->extra);
	}
	/* the handle outlives r: drop every pointer into it */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(c, CURLOPT_READDATA, NULL);
	curl_slist_free_all(hdrs);
	if (cc == CURLE_OK || r->too_big)
		return 0;
	r->cc = cc;
	return curl_errno(cc);
}

const char *tcl_http_req_error(const struct tcl_http_req *r)
{
	return r->cerr[0] ? r->cerr : curl_easy_strerror(r->cc);
}

const char *tcl_http_req_error_kind(const struct tcl_http_req *r, int err)
{
	return err == -ECONNREFUSED ? "cannot connect: " :
	       err == -EHOSTUNREACH ? "cannot resolve: " :
	       err == -EPROTO && r->cc != CURLE_UNSUPPORTED_PROTOCOL &&
	       r->cc != CURLE_TOO_MANY_REDIRECTS ? "TLS: " : "";
}

/* ---- statuses ---- */

int tcl_http_status_errno(long st)
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

const char *tcl_http_status_text(long st)
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

int tcl_http_fail(struct tcl_http *h, const struct tcl_http_req *r, const char *what, bool log)
{
	char je[384];
	const char *hint = "";

	tcl_http_json_error(r->resp, r->resp_len, je, sizeof(je));
	if (!je[0])	/* HEAD and some proxies send no body: the status is all we have */
		snprintf(je, sizeof(je), "%s", tcl_http_status_text(r->status));
	if (r->status == 401 && !h->user)
		hint = h->hint;
	else if (r->status == 401)
		hint = " (credentials rejected)";
	tcl_http_seterr(h, log, "%s: %s: HTTP %ld%s%s%s", h->label, what, r->status,
			je[0] ? " " : "", je, hint);
	return tcl_http_status_errno(r->status);
}

/* ---- auth ---- */

static int basic_header(struct tcl_http *h, char **out)
{
	char *up = NULL, *enc = NULL;
	int err;

	*out = NULL;
	if (asprintf(&up, "%s:%s", h->user, h->pass) < 0)
		return -ENOMEM;
	err = tcl_b64_encode((const uint8_t *)up, strlen(up), &enc, NULL);
	if (!err && asprintf(out, "Authorization: Basic %s", enc) < 0)
		err = -ENOMEM;
	OPENSSL_cleanse(up, strlen(up));
	free(up);
	if (enc)
		OPENSSL_cleanse(enc, strlen(enc));
	free(enc);
	return err;
}

/* tcl_http_perform with the errors reported against @what; authz only to the same origin. */
static int transfer(struct tcl_http *h, struct tcl_http_req *r, const char *authz,
		    const char *what)
{
	int err = tcl_http_perform(h, r, r->same_origin ? authz : NULL);

	if (!err && r->too_big) {
		tcl_http_seterr(h, true, "%s: %s: response larger than %zu bytes, refused",
				h->label, what, r->max);
		return -EFBIG;
	}
	if (err == -ETIMEDOUT)
		tcl_http_seterr(h, true, "%s: %s: timed out after %ld s (%s)", h->label, what,
				h->timeout_s + r->extra_timeout_s + (long)(r->xfer >> 18),
				tcl_http_req_error(r));
	else if (err)
		tcl_http_seterr(h, true, "%s: %s: %s%s", h->label, what,
				tcl_http_req_error_kind(r, err), tcl_http_req_error(r));
	return err;
}

static int fetch_token(struct tcl_http *h, const struct tcl_www_auth *ch, const char *what)
{
	struct tcl_http_req r = { .method = "GET", .max = TOKEN_RESP_MAX };
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
		tcl_http_seterr(h, true, "%s: %s: bad Bearer realm '%.200s'", h->label, what,
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
	r.same_origin = !(h->https && !strcmp(scheme, "http"));
	if (h->user && (err = basic_header(h, &authz)))
		goto out;
	err = transfer(h, &r, authz, w);
	if (err)
		goto out;
	if (r.status != 200) {
		err = tcl_http_fail(h, &r, w, true);
		goto out;
	}
	err = -EBADMSG;
	{
		struct json_tokener *jt = json_tokener_new();

		if (!jt) {
			err = -ENOMEM;
			goto out;
		}
		root = json_tokener_parse_ex(jt, (const char *)r.resp, (int)r.resp_len);
		json_tokener_free(jt);
	}
	if (!root || (!json_object_object_get_ex(root, "token", &v) &&
		      !json_object_object_get_ex(root, "access_token", &v)) ||
	    !json_object_is_type(v, json_type_string) ||
	    !tcl_http_header_safe(tok = json_object_get_string(v), 16384) || strchr(tok, ' ')) {
		tcl_http_seterr(h, true, "%s: %s: token server %.200s sent no usable token",
				h->label, what, ch->realm);
		goto out;
	}
	if (h->token)
		OPENSSL_cleanse(h->token, strlen(h->token));
	free(h->token);
	h->token = strdup(tok);
	err = h->token ? 0 : -ENOMEM;
out:
	if (authz)
		OPENSSL_cleanse(authz, strlen(authz));
	free(authz);
	json_object_put(root);
	tcl_http_req_clear(&r);
	curl_free(url);
	curl_free(scheme);
	curl_url_cleanup(u);
	free(sc);
	return err;
}

int tcl_http_request(struct tcl_http *h, struct tcl_http_req *r, const char *what)
{
	char *authz = NULL;
	int err = 0;

	for (int attempt = 0; attempt < 3; attempt++) {
		struct tcl_www_auth ch;

		if (authz)
			OPENSSL_cleanse(authz, strlen(authz));
		free(authz);
		authz = NULL;
		if (h->mode == AUTH_BASIC && h->user)
			err = basic_header(h, &authz);
		else if (h->mode == AUTH_BEARER && h->token &&
			 asprintf(&authz, "Authorization: Bearer %s", h->token) < 0)
			err = -ENOMEM;
		if (err)
			break;
		err = transfer(h, r, authz, what);
		if (err || r->status != 401 || !r->same_origin || attempt == 2)
			break;
		if (!r->www || tcl_www_auth_parse(r->www, &ch))
			break;
		if (!strcasecmp(ch.scheme, "Bearer")) {
			err = fetch_token(h, &ch, what);
			if (err)
				break;
			h->mode = AUTH_BEARER;
		} else if (!strcasecmp(ch.scheme, "Basic")) {
			if (!h->user || h->mode == AUTH_BASIC)
				/* no or rejected credentials: the caller reports the 401 */
				break;
			h->mode = AUTH_BASIC;
		} else {
			break;
		}
	}
	if (authz)
		OPENSSL_cleanse(authz, strlen(authz));
	free(authz);
	return err;
}
