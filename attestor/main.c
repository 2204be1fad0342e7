// SPDX-License-Identifier: GPL-2.0
/* tcl-attestor: the remote attestation service.  See attestor/api.h, docs/attestor.md. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>

#include "api.h"
#include "config.h"
#include "diag.h"
#include "goldcache.h"
#include "server.h"
#include "state.h"
#include "store.h"

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	pr_info("main", "signal %d: stopping", (int)sig);
	event_base_loopexit(arg, NULL);
}

static void on_fetched(evutil_socket_t fd, short what, void *arg)
{
	att_goldcache_reap(arg);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	att_api_tick(arg);
}

int main(int argc, char **argv)
{
	struct att_goldcache_opts gopts = { 0 };
	struct event *sigterm = NULL, *sigint = NULL, *tick = NULL, *fetched = NULL;
	struct timeval period = { 1, 0 };
	struct att_goldcache *gc = NULL;
	struct event_base *base = NULL;
	struct evhttp *http = NULL;
	struct att_state st = { 0 };
	struct att_db *db = NULL;
	struct att_config cfg;
	struct att_api api;
	bool api_ok = false;
	SSL_CTX *ctx = NULL;
	int rc, status = 1;

	tcl_prog = "tcl-attestor";
	rc = att_config_parse(argc, argv, &cfg, stderr);
	if (rc) {
		att_config_free(&cfg);
		return rc;
	}
	if (cfg.help) {
		att_config_usage(stdout);
		att_config_free(&cfg);
		return 0;
	}
	tcl_verbosity = cfg.verbosity;
	signal(SIGPIPE, SIG_IGN);
	if (att_db_open(cfg.db, cfg.state, &db) || att_db_load(db, &st))
		goto out;
	pr_info("main", "%s database: %zu enrolled nodes%s", att_db_kind(db), st.nodes.n,
		att_db_shared(db) ? " (shared with other replicas)" : "");
	gopts.registry_url = cfg.registry;
	gopts.reg.ca_file = cfg.registry_ca;
	gopts.reg.auth_file = cfg.registry_auth_file;
	gopts.reg.timeout_s = cfg.registry_timeout;
	gopts.trust_keys = (const char *const *)cfg.trust_keys;
	gopts.n_trust = cfg.n_trust;
	gopts.fetch_threads = ATT_FETCH_THREADS;
	gopts.max_fetches = ATT_MAX_FETCHES;
	if (!cfg.registry)
		pr_warn("config", "no --registry: no container image can be appraised");
	else if (!cfg.n_trust)
		pr_warn("config", "no --trust-key: no golden manifest will be accepted");
	if (att_goldcache_new(&gopts, &gc))
		goto out;
	if (att_api_init(&api, &cfg, &st, db, gc))
		goto out;
	api_ok = true;
	if (att_tls_ctx(cfg.cert, cfg.key, cfg.client_ca, cfg.admin_ca, !cfg.open_reads, &ctx))
		goto out;
	base = event_base_new();
	if (!base) {
		pr_err("main", "cannot create the event loop");
		goto out;
	}
	if (att_http_listen(base, ctx, cfg.listen, cfg.max_body, att_api_handle, &api, &http))
		goto out;
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	tick = event_new(base, -1, EV_PERSIST, on_tick, &api);
	fetched = event_new(base, att_goldcache_fd(gc), EV_READ | EV_PERSIST, on_fetched, gc);
	if (!sigterm || !sigint || !tick || !fetched || evsignal_add(sigterm, NULL) ||
	    evsignal_add(sigint, NULL) || event_add(tick, &period) || event_add(fetched, NULL)) {
		pr_err("main", "cannot set up signals and timers");
		goto out;
	}
	pr_info("main", "PCR %u, nonces valid %lld s, stale after %lld s, %zu trust keys%s",
		cfg.pcr, (long long)cfg.nonce_ttl, (long long)cfg.stale_after, cfg.n_trust,
		cfg.ek_ca ? ", EK certificates required" : "");
	if (event_base_dispatch(base) < 0) {
		pr_err("main", "event loop failed");
		goto out;
	}
	status = 0;
out:
	if (fetched)
		event_free(fetched);
	if (tick)
		event_free(tick);
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	if (http)
		evhttp_free(http);
	if (base)
		event_base_free(base);
	SSL_CTX_free(ctx);
	/* running fetches end first (they tell no one now), then the evidence that waited */
	att_goldcache_free(gc);
	if (api_ok)
		att_api_free(&api);
	att_state_free(&st);
	att_db_close(db);
	att_config_free(&cfg);
	return status;
}
