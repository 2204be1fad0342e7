// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "diag.h"
#include "server.h"
#include "util.h"

static int ssl_fail(const char *what, const char *file)
{
	char buf[256];
	unsigned long e = ERR_get_error();

	ERR_error_string_n(e, buf, sizeof(buf));
	pr_err("tls", "%s %s: %s", what, file ? file : "", e ? buf : "failed");
	ERR_clear_error();
	return -EINVAL;
}

int att_tls_ctx(const char *cert, const char *key, const char *client_ca, const char *admin_ca,
		bool require_cert, SSL_CTX **out)
{
	STACK_OF(X509_NAME) *names = NULL;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int rc;

	*out = NULL;
	if (!ctx)
		return ssl_fail("cannot create the TLS context", NULL);
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION)) {
		rc = ssl_fail("cannot restrict to TLS 1.3", NULL);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		rc = ssl_fail("cannot load the server certificate", cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		rc = ssl_fail("cannot load the server key (or it does not match the certificate)",
			      key);
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(ctx, client_ca, NULL) != 1) {
		rc = ssl_fail("cannot load the client CA bundle", client_ca);
		goto fail;
	}
	names = SSL_load_client_CA_file(client_ca);
	if (!names) {
		rc = ssl_fail("no CA certificate in", client_ca);
		goto fail;
	}
	if (admin_ca && (SSL_CTX_load_verify_locations(ctx, admin_ca, NULL) != 1 ||
			 SSL_add_file_cert_subjects_to_stack(names, admin_ca) != 1)) {
		sk_X509_NAME_pop_free(names, X509_NAME_free);
		rc = ssl_fail("cannot load the admin CA bundle", admin_ca);
		goto fail;
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
			   (require_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
	/* every connection proves its certificate afresh: the evidence is bound to it */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	*out = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	return rc;
}

static struct bufferevent *bevcb(struct event_base *base, void *arg)
{
	SSL *ssl = SSL_new(arg);
	struct bufferevent *bev;

	if (!ssl)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		SSL_free(ssl);
		return NULL;
	}
	/* clients that close without close_notify are not an error worth a log line */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

int att_http_listen(struct event_base *base, SSL_CTX *ctx, const char *listen, size_t max_body,
		    void (*cb)(struct evhttp_request *, void *), void *arg, struct evhttp **out)
{
	char host[256];
	uint16_t port;
	struct evhttp *http;

	*out = NULL;
	if (tcl_parse_hostport(listen, host, sizeof(host), &port)) {
		pr_err("http", "--listen %s: expected ADDR:PORT or [ADDR]:PORT", listen);
		return -EINVAL;
	}
	http = evhttp_new(base);
	if (!http)
		return -ENOMEM;
	evhttp_set_bevcb(http, bevcb, ctx);
	evhttp_set_max_body_size(http, (ev_ssize_t)max_body);
	evhttp_set_max_headers_size(http, 16 << 10);
	evhttp_set_timeout(http, 60);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE);
	evhttp_set_default_content_type(http, "application/json");
	evhttp_set_gencb(http, cb, arg);
	if (!evhttp_bind_socket_with_handle(http, host, port)) {
		int e = errno;

		pr_err("http", "cannot listen on %s: %s", listen, strerror(e ? e : EADDRINUSE));
		evhttp_free(http);
		return -(e ? e : EADDRINUSE);
	}
	pr_info("http", "listening on https://%s (TLS 1.3, client certificates)", listen);
	*out = http;
	return 0;
}

static SSL *ssl_of(struct evhttp_request *req)
{
	struct evhttp_connection *con = evhttp_request_get_connection(req);
	struct bufferevent *bev = con ? evhttp_connection_get_bufferevent(con) : NULL;

	return bev ? bufferevent_openssl_get_ssl(bev) : NULL;
}

bool att_peer_verify(struct evhttp_request *req, X509_STORE *store)
{
	SSL *ssl = ssl_of(req);
	X509 *x = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
	X509_STORE_CTX *sc = NULL;
	bool ok = false;

	if (!x || !store || SSL_get_verify_result(ssl) != X509_V_OK)
		return false;
	sc = X509_STORE_CTX_new();
	if (sc && X509_STORE_CTX_init(sc, store, x, SSL_get_peer_cert_chain(ssl)) == 1)
		ok = X509_verify_cert(sc) == 1;
	X509_STORE_CTX_free(sc);
	ERR_clear_error();
	return ok;
}

int att_peer_of(struct evhttp_request *req, struct att_peer *p)
{
	struct evhttp_connection *con = evhttp_request_get_connection(req);
	struct bufferevent *bev = con ? evhttp_connection_get_bufferevent(con) : NULL;
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
	unsigned char *der = NULL, *utf8 = NULL;
	X509_NAME *subj;
	X509 *x;
	int len, idx;

	memset(p, 0, sizeof(*p));
	if (!ssl)
		return -ENOENT;
	x = SSL_get0_peer_certificate(ssl);
	if (!x || SSL_get_verify_result(ssl) != X509_V_OK)
		return -ENOENT;
	len = i2d_X509(x, &der);
	if (len <= 0)
		return -ENOENT;
	EVP_Digest(der, (size_t)len, p->sha256, NULL, EVP_sha256(), NULL);
	OPENSSL_free(der);
	tcl_hex(p->sha256, 32, p->hex);
	subj = X509_get_subject_name(x);
	idx = subj ? X509_NAME_get_index_by_NID(subj, NID_commonName, -1) : -1;
	if (idx >= 0) {
		ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx));

		len = s ? ASN1_STRING_to_UTF8(&utf8, s) : -1;
		if (len > 0 && (size_t)len < sizeof(p->cn) && !memchr(utf8, '\0', (size_t)len)) {
			memcpy(p->cn, utf8, (size_t)len);
			p->cn[len] = '\0';
		}
		OPENSSL_free(utf8);
	}
	return 0;
}
