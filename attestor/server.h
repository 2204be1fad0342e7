/* SPDX-License-Identifier: GPL-2.0 */
/* HTTPS for the attestor: libevent's evhttp over bufferevent_openssl, TLS 1.3 only, client
 * certificates verified against --client-ca and --admin-ca (required unless reads are open), no session
 * resumption (every connection shows its certificate). */
#ifndef ATT_SERVER_H
#define ATT_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evhttp;
struct evhttp_request;
typedef struct ssl_ctx_st SSL_CTX;

struct att_peer {
	uint8_t sha256[32];		/* of the certificate's DER */
	char hex[65];
	char cn[256];			/* subject commonName, "" when absent or not text */
};

/* @admin_ca (NULL: none) is trusted for client certificates too; att_peer_verify tells its
 * certificates apart. */
int att_tls_ctx(const char *cert, const char *key, const char *client_ca, const char *admin_ca,
		bool require_cert, SSL_CTX **out);
/* Listen on ADDR:PORT ([v6]:PORT).  Requests go to @cb. */
int att_http_listen(struct event_base *base, SSL_CTX *ctx, const char *listen, size_t max_body,
		    void (*cb)(struct evhttp_request *, void *), void *arg, struct evhttp **out);
/* The verified client certificate of the request's connection: 0, or -ENOENT when none. */
int att_peer_of(struct evhttp_request *req, struct att_peer *p);
/* Does the request's client certificate (with the chain it sent) chain to @store? */
typedef struct x509_store_st X509_STORE;
bool att_peer_verify(struct evhttp_request *req, X509_STORE *store);

#endif
