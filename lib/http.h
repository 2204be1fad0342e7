/* SPDX-License-Identifier: GPL-2.0 */
/* The one HTTP client of tcl (libcurl): TLS and CA options, timeouts, bounded response bodies,
 * transport errors and HTTP statuses as -errno, Basic and Bearer auth with the token dance
 * (on a 401 the WWW-Authenticate challenge decides: Basic retries with the credentials, Bearer
 * fetches a token from the realm, with the credentials unless that would send them from https
 * to http), and the JSON helpers the callers share.
 *
 * Two levels: tcl_http_perform is one transfer that logs nothing (the caller words its own
 * errors); tcl_http_request adds the auth dance and reports every failure once, prefixed with
 * the label the handle was opened with, and keeps the text for tcl_http_last_error.
 * Nothing a server sends is trusted: bodies are bounded, header values copied only when short.
 * A struct tcl_http is not thread safe; use one per thread. */
#ifndef TCL_HTTP_H
#define TCL_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#define TCL_HTTP_ERRBODY_MAX	(64u << 10)	/* bodies of non-content responses */

struct tcl_http_opts {
	const char *label;		/* message prefix, e.g. "registry https://host" */
	const char *sub;		/* log subsystem */
	const char *protocols;		/* allowed schemes: "https" or "http,https" */
	bool https;			/* the server is https: no redirect or token realm on
					 * plain http gets our credentials or requests */
	const char *user_agent;
	const char *ca_file;		/* CA bundle (NULL: system store) */
	const char *cert, *key;		/* TLS client certificate and key (PEM), or NULL */
	bool tls13;			/* refuse anything older than TLS 1.3 */
	long timeout_s;			/* whole request; connecting gives up after min(5, this) */
	const char *extra_header;	/* one more response header to keep (tcl_http_req.header) */
	const char *auth_hint;		/* appended to a 401 when there are no credentials */
};

/* A request body: @mem, else read with pread from @fd (the offset is left alone). */
struct tcl_http_body {
	const void *mem;
	int fd;
	uint64_t size, pos;
};

struct tcl_http_req {
	const char *method;	/* GET HEAD POST PUT */
	const char *url;
	const char *accept;	/* full header line or NULL */
	const char *ctype;	/* Content-Type value or NULL */
	struct tcl_http_body *body;	/* PUT body (uploaded), POST body (NULL: empty) */
	size_t max;		/* bound on the response body */
	uint64_t xfer;		/* bytes a blob transfer may move: 1 s more per 256 KiB */
	long extra_timeout_s;	/* added to the handle's timeout */
	bool follow;		/* follow redirects (GET and HEAD) */
	bool same_origin;	/* whether our credentials may go to url */
	bool expect_continue;	/* let libcurl ask for 100-continue before a large body */
	bool sha256;		/* hash the response body into md */
	/* results */
	EVP_MD_CTX *md;
	long status;
	unsigned char *resp;	/* NUL-terminated (not counted in resp_len) */
	size_t resp_len, resp_cap;
	bool too_big;		/* the body went over max; status is still set */
	int64_t clen;		/* Content-Length, -1 unknown */
	char *location, *ctype_resp, *www, *header;	/* header values (header: extra_header) */
	int cc;			/* libcurl's code of a failed transfer */
	char cerr[256];		/* libcurl's text (CURL_ERROR_SIZE) */
};

struct tcl_http;

int tcl_http_open(const struct tcl_http_opts *opts, struct tcl_http **out);
void tcl_http_close(struct tcl_http *h);
/* Basic credentials (copied) for tcl_http_request; NULL user: none. */
int tcl_http_set_credentials(struct tcl_http *h, const char *user, const char *pass);
const char *tcl_http_last_error(const struct tcl_http *h);
/* Set the last error text (and log it once when @log). */
void tcl_http_seterr(struct tcl_http *h, bool log, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Free the results of @r (the request fields stay). */
void tcl_http_req_clear(struct tcl_http_req *r);
/* One transfer with an "Authorization: ..." line (or NULL).  0 when a response arrived, any
 * status (too_big says the body was cut); -errno for a transport failure, described by
 * tcl_http_req_error.  Logs nothing. */
int tcl_http_perform(struct tcl_http *h, struct tcl_http_req *r, const char *authz);
/* libcurl's text for a failed transfer, and its kind: "cannot connect: ", "cannot resolve: ",
 * "TLS: " or "". */
const char *tcl_http_req_error(const struct tcl_http_req *r);
const char *tcl_http_req_error_kind(const struct tcl_http_req *r, int err);

/* tcl_http_perform with the auth dance and the errors (transport, too large) reported
 * against @what.  Statuses other than the 401s it answers are left to the caller. */
int tcl_http_request(struct tcl_http *h, struct tcl_http_req *r, const char *what);
/* Report an unexpected status once (with the server's JSON error text); its -errno. */
int tcl_http_fail(struct tcl_http *h, const struct tcl_http_req *r, const char *what, bool log);

/*   401 403 -EACCES   404 -ENOENT   400 -EBADMSG   405 -EOPNOTSUPP   413 -EFBIG
 *   429 -EAGAIN   5xx -EIO   anything else -EPROTO */
int tcl_http_status_errno(long status);
const char *tcl_http_status_text(long status);	/* "Not Found", or "" */

/* One WWW-Authenticate challenge: scheme ("Basic"/"Bearer", case kept as sent) and the
 * realm/service/scope parameters (quoted-string or token, escapes undone).  Other parameters
 * (error=, error_description=) are skipped.  Values longer than the fields give -EINVAL. */
struct tcl_www_auth {
	char scheme[16];
	char realm[1024];
	char service[256];
	char scope[512];
};
int tcl_www_auth_parse(const char *hdr, struct tcl_www_auth *out);

/* 1..max bytes, none of them a control character: fit for a header line. */
bool tcl_http_header_safe(const char *s, size_t max);

/* Exactly one JSON document of @len bytes (trailing bytes refused), or NULL. */
json_object *tcl_http_json_parse(const void *data, size_t len);
/* "CODE: message" from an OCI distribution error body {"errors":[{code,message}]}, or "". */
void tcl_http_json_error(const void *body, size_t len, char *out, size_t cap);

#endif
