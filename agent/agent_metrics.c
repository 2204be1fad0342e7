// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "agent.h"
#include "agent_metrics.h"
#include "diag.h"
#include "events.h"
#include "maps.h"
#include "util.h"

#define SUB "metrics"
#define MAX_IMAGES 4096

/* What the other modules told us, under lock. */
static struct {
	pthread_mutex_t lock;
	uint64_t hook_requests[AGENT_HOOK_RESULTS];
	uint64_t hook_hist[AGENT_HOOK_BUCKETS + 1];
	double hook_seconds;
	uint64_t global_digests;
	struct agent_metrics_image *images;
	size_t n_images;
} st = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The serving thread. */
static struct {
	struct agent *a;
	struct event_base *base;
	struct evhttp *http;
	struct event *stop_ev;
	int stop_fd;
	pthread_t thread;
	bool running;
} srv = { .stop_fd = -1 };

void agent_metrics_hook_request(enum agent_hook_result r, double seconds)
{
	static const double bounds[AGENT_HOOK_BUCKETS] = AGENT_HOOK_BOUNDS_S;
	int b = 0;

	if (r >= AGENT_HOOK_RESULTS)
		r = AGENT_HOOK_MALFORMED;
	while (b < AGENT_HOOK_BUCKETS && seconds > bounds[b])
		b++;
	pthread_mutex_lock(&st.lock);
	st.hook_requests[r]++;
	st.hook_hist[b]++;
	st.hook_seconds += seconds;
	pthread_mutex_unlock(&st.lock);
}

void agent_metrics_global_digests(size_t n)
{
	pthread_mutex_lock(&st.lock);
	st.global_digests = n;
	pthread_mutex_unlock(&st.lock);
}

void agent_metrics_image_digests(const char *image, size_t n)
{
	struct agent_metrics_image *im;
	size_t i;

	pthread_mutex_lock(&st.lock);
	for (i = 0; i < st.n_images; i++)
		if (!strcmp(st.images[i].image, image))
			break;
	if (i < st.n_images) {
		if (n) {
			st.images[i].digests = n;
		} else {
			free(st.images[i].image);
			st.images[i] = st.images[--st.n_images];
		}
	} else if (n && st.n_images < MAX_IMAGES) {
		/* past MAX_IMAGES series an image is left out: a scrape stays bounded */
		im = realloc(st.images, (st.n_images + 1) * sizeof(*im));
		if (im) {
			st.images = im;
			im[st.n_images].image = strdup(image);
			im[st.n_images].digests = n;
			if (im[st.n_images].image)
				st.n_images++;
		}
	}
	pthread_mutex_unlock(&st.lock);
}

/* ---- rendering ---- */

/* The hooks that decide, with their label. */
static const struct {
	enum tcl_hook hook;
	const char *name;
	bool file;	/* a file check: every check ends in allow, deny or audit */
} hooks[] = {
	{ TCL_HOOK_EXEC, "exec", true },   { TCL_HOOK_MMAP, "mmap", true },
	{ TCL_HOOK_MPROTECT, "mprotect", true }, { TCL_HOOK_OPEN, "open", false },
	{ TCL_HOOK_GUARD, "guard", false },
};

static const char *hook_name(unsigned int h)
{
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
		if (hooks[i].hook == h)
			return hooks[i].name;
	return NULL;
}

/* Is (hook, reason) a pair the kernel produces? Those rows are always shown (0 included), so
 * that a rate over them exists before the first refusal. */
static bool usual_pair(unsigned int h, unsigned int r)
{
	switch (h) {
	case TCL_HOOK_EXEC:
	case TCL_HOOK_MMAP:
	case TCL_HOOK_MPROTECT:
		return r == TCL_REASON_NOT_ALLOWED || r == TCL_REASON_HASH_FAILED ||
		       r == TCL_REASON_WRITERS || r == TCL_REASON_NO_IMAGE ||
		       r == TCL_REASON_UNSEALED || r == TCL_REASON_UNSTABLE_FS;
	case TCL_HOOK_OPEN:
		return r == TCL_REASON_MAPPED_WRITE || r == TCL_REASON_INJECT;
	case TCL_HOOK_GUARD:
		return r == TCL_REASON_TAMPER || r == TCL_REASON_INJECT;
	}
	return false;
}

/* A label value with \, " and newline escaped, as the format asks. */
static void label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void scalar(FILE *f, const char *name, const char *type, const char *help, uint64_t v)
{
	head(f, name, type, help);
	fprintf(f, "%s %" PRIu64 "\n", name, v);
}

/* A histogram from non-cumulative bucket counts (n bounds, counts[n] above the last). */
static void histogram(FILE *f, const char *name, const char *help, const double *bounds, int n,
		      const uint64_t *counts, double sum)
{
	uint64_t cum = 0;

	head(f, name, "histogram", help);
	for (int i = 0; i < n; i++) {
		cum += counts[i];
		fprintf(f, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, bounds[i], cum);
	}
	cum += counts[n];
	fprintf(f, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cum);
	fprintf(f, "%s_sum %.9g\n", name, sum);
	fprintf(f, "%s_count %" PRIu64 "\n", name, cum);
}

static void decisions(FILE *f, const struct agent_metrics_view *v, enum tcl_verdict verdict,
		      const char *name, const char *help)
{
	head(f, name, "counter", help);
	for (unsigned int h = 0; h < TCL_STAT_HOOKS; h++)
		for (unsigned int r = 0; r < TCL_STAT_REASONS; r++) {
			uint64_t n = v->stats[TCL_STAT_DECISION(h, verdict, r)];
			const char *hn = hook_name(h), *rn = tcl_reason_name(r);

			if (!usual_pair(h, r) && !n)
				continue;
			fprintf(f, "%s{hook=\"%s\",reason=\"%s\"} %" PRIu64 "\n", name,
				hn ? hn : "unknown", rn ? rn : "unknown", n);
		}
}

static void kernel_metrics(FILE *f, const struct agent_metrics_view *v)
{
	static const uint64_t hash_ns[TCL_STAT_HASH_BOUNDS] = TCL_STAT_HASH_BOUNDS_NS;
	double hash_bounds[TCL_STAT_HASH_BOUNDS];
	uint64_t hash_counts[TCL_STAT_HASH_BOUNDS + 1];

	head(f, "tcl_checks_total", "counter",
	     "In-scope file checks (exec, mmap, mprotect) by hook: allowed, denied or audited.");
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		uint64_t n = 0;

		if (!hooks[i].file)
			continue;
		for (int vd = 0; vd < TCL_STAT_VERDICTS; vd++)
			for (int r = 0; r < TCL_STAT_REASONS; r++)
				n += v->stats[TCL_STAT_DECISION(hooks[i].hook, vd, r)];
		fprintf(f, "tcl_checks_total{hook=\"%s\"} %" PRIu64 "\n", hooks[i].name, n);
	}
	head(f, "tcl_allows_total", "counter", "In-scope file checks allowed, by hook.");
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
		if (hooks[i].file)
			fprintf(f, "tcl_allows_total{hook=\"%s\"} %" PRIu64 "\n", hooks[i].name,
				v->stats[TCL_STAT_DECISION(hooks[i].hook, TCL_VERDICT_ALLOW,
							   TCL_REASON_NONE)]);
	decisions(f, v, TCL_VERDICT_DENY, "tcl_denials_total",
		  "Operations denied (enforce mode), by hook and reason.");
	decisions(f, v, TCL_VERDICT_AUDIT, "tcl_audits_total",
		  "Operations that would have been denied (audit mode), by hook and reason.");
	scalar(f, "tcl_ringbuf_events_total", "counter",
	       "Records the kernel delivered through the ring buffer.", v->cnt[TCL_CNT_EVENTS]);
	scalar(f, "tcl_ringbuf_drops_total", "counter",
	       "Records lost because the ring buffer was full.", v->cnt[TCL_CNT_DROPS]);
	scalar(f, "tcl_digest_cache_hits_total", "counter",
	       "File digests taken from the kernel's verdict cache.", v->cnt[TCL_CNT_CACHE_HITS]);
	scalar(f, "tcl_digest_cache_misses_total", "counter",
	       "File digests not in the cache (hashed, or refused unhashable).",
	       v->cnt[TCL_CNT_CACHE_MISSES]);
	scalar(f, "tcl_hash_errors_total", "counter", "bpf_ima_file_hash failures.",
	       v->cnt[TCL_CNT_HASH_ERRORS]);
	scalar(f, "tcl_scope_full_total", "counter",
	       "Container cgroups that got no scope entry because the scope map was full.",
	       v->cnt[TCL_CNT_SCOPE_FULL]);
	for (int i = 0; i < TCL_STAT_HASH_BOUNDS; i++)
		hash_bounds[i] = hash_ns[i] / 1e9;
	for (int i = 0; i <= TCL_STAT_HASH_BOUNDS; i++)
		hash_counts[i] = v->stats[TCL_STAT_HASH_BUCKET(i)];
	histogram(f, "tcl_hash_duration_seconds", "Time bpf_ima_file_hash took per file hashed.",
		  hash_bounds, TCL_STAT_HASH_BOUNDS, hash_counts, v->stats[TCL_STAT_HASH_NS] / 1e9);
}

static void measure_metrics(FILE *f, const struct tcl_measure_status *m)
{
	static const double ext_bounds[TCL_MEASURE_EXTEND_BUCKETS] = TCL_MEASURE_EXTEND_BOUNDS_S;

	scalar(f, "tcl_measure_queue_depth", "gauge",
	       "Measurements accepted and not yet in the log.", m->queued);
	scalar(f, "tcl_log_bytes", "gauge", "Size of the measurement log.", m->log_bytes);
	scalar(f, "tcl_log_entries", "gauge", "Entries in the measurement log.", m->entries);
	scalar(f, "tcl_measurements_total", "counter", "Measurements accepted since the start.",
	       m->measured);
	scalar(f, "tcl_measurements_dropped_total", "counter",
	       "Measurements dropped (queue full, log error) since the start.", m->dropped);
	scalar(f, "tcl_pcr_extends_total", "counter",
	       "Log entries extended into the PCR since the start.", m->extended_since_open);
	scalar(f, "tcl_pcr_extend_failures_total", "counter",
	       "PCR extend batches that failed (retried later).", m->extend_failures);
	histogram(f, "tcl_pcr_extend_duration_seconds",
		  "Time one batch of PCR extends took (all banks).", ext_bounds,
		  TCL_MEASURE_EXTEND_BUCKETS, m->extend_hist, m->extend_seconds);
	head(f, "tcl_measure_state", "gauge",
	     "State of the measurement pipeline: 1 for the current one.");
	for (int s = TCL_MEASURE_OK; s <= TCL_MEASURE_TPM_ERROR; s++)
		fprintf(f, "tcl_measure_state{state=\"%s\"} %d\n", tcl_measure_state_name(s),
			m->state == (enum tcl_measure_state)s);
}

static void attest_metrics(FILE *f, const struct tcl_attest_worker_status *as)
{
	static const char *const verdicts[] = { "trusted", "untrusted", "stale", "unknown" };
	bool known = false;

	scalar(f, "tcl_attest_pushes_total", "counter",
	       "Evidence the attestor accepted since the start.", as->pushes);
	scalar(f, "tcl_attest_push_failures_total", "counter",
	       "Evidence rounds that ended in an error since the start.", as->failures);
	head(f, "tcl_attest_verdict", "gauge",
	     "The attestor's verdict on this node from the last accepted evidence: 1 for it.");
	for (size_t i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++) {
		bool is = !strcmp(as->verdict, verdicts[i]);

		known |= is;
		fprintf(f, "tcl_attest_verdict{verdict=\"%s\"} %d\n", verdicts[i], is);
	}
	if (!known && as->verdict[0]) {
		fputs("tcl_attest_verdict{verdict=\"", f);
		label_value(f, as->verdict);
		fputs("\"} 1\n", f);
	}
}

int agent_metrics_render(const struct agent_metrics_view *v, char **out, size_t *len)
{
	static const double hook_bounds[AGENT_HOOK_BUCKETS] = AGENT_HOOK_BOUNDS_S;
	static const char *const results[AGENT_HOOK_RESULTS] = { "verified", "not_verified",
								  "malformed" };
	FILE *f = open_memstream(out, len);

	if (!f)
		return -ENOMEM;
	scalar(f, "tcl_agent_enforcing", "gauge", "1 in enforce mode, 0 in audit mode.",
	       v->enforce);
	if (v->kernel)
		kernel_metrics(f, v);
	head(f, "tcl_hook_requests_total", "counter", "tcl-hook admission requests, by result.");
	for (int r = 0; r < AGENT_HOOK_RESULTS; r++)
		fprintf(f, "tcl_hook_requests_total{result=\"%s\"} %" PRIu64 "\n", results[r],
			v->hook_requests[r]);
	histogram(f, "tcl_hook_request_duration_seconds",
		  "Time to answer a tcl-hook admission request (image verification included).",
		  hook_bounds, AGENT_HOOK_BUCKETS, v->hook_hist, v->hook_seconds);
	if (v->measure)
		measure_metrics(f, v->measure);
	if (v->attest)
		attest_metrics(f, v->attest);
	scalar(f, "tcl_scope_entries", "gauge", "Entries in the kernel's scope map.",
	       v->scope_entries);
	scalar(f, "tcl_global_digests", "gauge",
	       "Digests in the global allowlist (policy and runtime binaries).", v->global_digests);
	head(f, "tcl_image_digests", "gauge", "Digests loaded in the kernel per image allow set.");
	for (size_t i = 0; i < v->n_images; i++) {
		fputs("tcl_image_digests{image=\"", f);
		label_value(f, v->images[i].image);
		fprintf(f, "\"} %" PRIu64 "\n", v->images[i].digests);
	}
	if (fclose(f)) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* ---- serving ---- */

/* Render what the agent is now. Runs on the metrics thread. */
static int collect(struct agent *a, char **out, size_t *len)
{
	struct agent_metrics_view v = { .enforce = a->mode == TCL_MODE_ENFORCE };
	struct tcl_attest_worker_status as;
	struct tcl_measure_status ms;
	int ret;

	if (a->bpf) {
		v.kernel = !tcl_bpf_counters(a->bpf, v.cnt) && !tcl_bpf_stats(a->bpf, v.stats);
		v.scope_entries = tcl_scope_count(a->bpf);
	}
	if (a->measure) {
		tcl_measure_status(a->measure, &ms);
		v.measure = &ms;
	}
	if (a->attest) {
		tcl_attest_worker_status(a->attest, &as);
		v.attest = &as;
	}
	pthread_mutex_lock(&st.lock);
	memcpy(v.hook_requests, st.hook_requests, sizeof(v.hook_requests));
	memcpy(v.hook_hist, st.hook_hist, sizeof(v.hook_hist));
	v.hook_seconds = st.hook_seconds;
	v.global_digests = st.global_digests;
	v.images = st.images;
	v.n_images = st.n_images;
	ret = agent_metrics_render(&v, out, len);
	pthread_mutex_unlock(&st.lock);
	return ret;
}

static void free_text(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)data);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct evbuffer *body;
	char *text = NULL;
	size_t len = 0;

	(void)arg;
	if (!path || strcmp(path, "/metrics")) {
		evhttp_send_error(req, HTTP_NOTFOUND, "only /metrics is here");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(h, "Allow", "GET, HEAD");
		evhttp_send_error(req, 405, "Method Not Allowed");
		return;
	}
	body = evbuffer_new();
	if (!body || collect(srv.a, &text, &len)) {
		evbuffer_free(body);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evbuffer_add_reference(body, text, len, free_text, NULL);
	evhttp_add_header(h, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	uint64_t v;

	(void)what;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pr_debug(SUB, "stop: %s", strerror(errno));
	event_base_loopbreak(arg);
}

static void *serve(void *arg)
{
	(void)arg;
	event_base_dispatch(srv.base);
	return NULL;
}

int agent_metrics_check_addr(const char *addr)
{
	char host[256];
	uint16_t port;

	if (tcl_parse_hostport(addr, host, sizeof(host), &port)) {
		fprintf(stderr, "tcl-agent: bad --metrics %s: expected HOST:PORT or [IPV6]:PORT\n",
			addr);
		return -EINVAL;
	}
	return 0;
}

static void teardown(void)
{
	if (srv.stop_ev)
		event_free(srv.stop_ev);
	if (srv.http)
		evhttp_free(srv.http);
	if (srv.base)
		event_base_free(srv.base);
	if (srv.stop_fd >= 0)
		close(srv.stop_fd);
	srv.stop_ev = NULL;
	srv.http = NULL;
	srv.base = NULL;
	srv.stop_fd = -1;
}

int agent_metrics_start(struct agent *a, const char *addr)
{
	char host[256];
	uint16_t port;
	int ret;

	if (tcl_parse_hostport(addr, host, sizeof(host), &port)) {
		pr_err(SUB, "bad address %s: expected HOST:PORT or [IPV6]:PORT", addr);
		return -EINVAL;
	}
	srv.a = a;
	srv.base = event_base_new();
	srv.http = srv.base ? evhttp_new(srv.base) : NULL;
	srv.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!srv.http || srv.stop_fd < 0) {
		ret = -ENOMEM;
		goto fail;
	}
	srv.stop_ev = event_new(srv.base, srv.stop_fd, EV_READ, on_stop, srv.base);
	if (!srv.stop_ev || event_add(srv.stop_ev, NULL)) {
		ret = -ENOMEM;
		goto fail;
	}
	/* A scraper gets 10 s per request; it cannot hold the agent, only its own connection. */
	evhttp_set_timeout(srv.http, 10);
	evhttp_set_max_headers_size(srv.http, 8192);
	evhttp_set_max_body_size(srv.http, 4096);
	evhttp_set_allowed_methods(srv.http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
						     EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						     EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(srv.http, on_request, NULL);
	if (!evhttp_bind_socket_with_handle(srv.http, host, port)) {
		ret = errno ? -errno : -EADDRINUSE;
		pr_err(SUB, "cannot listen on %s: %s", addr, strerror(-ret));
		goto fail;
	}
	ret = -pthread_create(&srv.thread, NULL, serve, NULL);
	if (ret) {
		pr_err(SUB, "cannot start the metrics thread: %s", strerror(-ret));
		goto fail;
	}
	srv.running = true;
	pr_info(SUB, "Prometheus metrics on http://%s/metrics", addr);
	return 0;
fail:
	teardown();
	return ret;
}

void agent_metrics_stop(void)
{
	uint64_t one = 1;

	if (!srv.running)
		return;
	if (write(srv.stop_fd, &one, sizeof(one)) != sizeof(one))
		pr_warn(SUB, "cannot wake the metrics thread: %s", strerror(errno));
	pthread_join(srv.thread, NULL);
	srv.running = false;
	teardown();
}
