// SPDX-License-Identifier: GPL-2.0
/* The agent's attestation thread; see attest_worker.h. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attest_worker.h"
#include "diag.h"
#include "revocation.h"
#include "util.h"

#define SUB "attest"

struct tcl_attest_worker {
	struct tcl_attest *client;
	struct tcl_measure *measure;
	unsigned int interval_s;
	pthread_t thread;
	bool started;
	volatile int stop;		/* the client's cancellation flag too */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool kicked;
	struct tcl_attest_worker_status st;
	struct tcl_revocation_list revs;	/* from the last answer, until taken */
	bool have_revs;
};

static struct timespec deadline_in(long ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

/* Record one round's outcome; a new verdict or a new error counts as a change. */
static void record(struct tcl_attest_worker *w, int rc, const struct tcl_attest_result *r)
{
	struct tcl_attest_worker_status *s = &w->st;
	struct timespec now;
	bool changed;

	pthread_mutex_lock(&w->lock);
	s->enrolled = tcl_attest_enrolled(w->client);
	s->acked_offset = tcl_attest_acked_offset(w->client);
	if (!rc) {
		changed = s->last_error || strcmp(s->verdict, r->verdict) ||
			  strcmp(s->reason, r->reason);
		s->pushes++;
		s->accepted_entries = r->accepted_entries;
		snprintf(s->verdict, sizeof(s->verdict), "%s", r->verdict);
		snprintf(s->reason, sizeof(s->reason), "%s", r->reason);
		clock_gettime(CLOCK_REALTIME, &now);
		tcl_rfc3339(now.tv_sec, now.tv_nsec, s->last_push, sizeof(s->last_push));
	} else {
		char why[sizeof(s->reason)];

		snprintf(why, sizeof(why), "%s", r->reason[0] ? r->reason : strerror(-rc));
		changed = s->last_error != rc || strcmp(s->reason, why);
		s->failures++;
		snprintf(s->reason, sizeof(s->reason), "%s", why);
	}
	s->last_error = rc;
	if (changed)
		s->changes++;
	pthread_mutex_unlock(&w->lock);
}

static void *worker_main(void *arg)
{
	struct tcl_attest_worker *w = arg;
	struct tcl_attest_result r;
	bool kicked = true;	/* the first round runs at once */
	int rc;

	for (;;) {
		struct timespec until;

		pthread_mutex_lock(&w->lock);
		if (!kicked) {
			until = deadline_in((long)w->interval_s * 1000);
			while (!w->stop && !w->kicked &&
			       pthread_cond_timedwait(&w->wake, &w->lock, &until) != ETIMEDOUT)
				;
			if (w->kicked && !w->stop) {
				/* the container's first execs are measured in the meantime, and
				 * kicks from containers started together merge into one push */
				until = deadline_in(TCL_ATTEST_KICK_DELAY_MS);
				while (!w->stop &&
				       pthread_cond_timedwait(&w->wake, &w->lock, &until) != ETIMEDOUT)
					;
			}
		}
		w->kicked = false;
		pthread_mutex_unlock(&w->lock);
		kicked = false;
		if (w->stop)
			break;
		/* -EIO (TPM away, extends pending) still leaves a log that replays to a prefix
		 * of what the quote covers; the attestor takes the prefix. */
		if (w->measure)
			tcl_measure_flush(w->measure);
		rc = tcl_attest_push(w->client, &r);
		if (rc == -ECANCELED)
			break;
		{
			struct tcl_revocation_list l;

			if (tcl_attest_take_revocations(w->client, &l)) {
				pthread_mutex_lock(&w->lock);
				tcl_revocation_list_free(&w->revs);
				w->revs = l;
				w->have_revs = true;
				pthread_mutex_unlock(&w->lock);
			}
		}
		if (rc)
			pr_warn(SUB, "evidence not delivered: %s; next try in %u s",
				r.reason[0] ? r.reason : strerror(-rc), w->interval_s);
		else if (strcmp(r.verdict, "trusted"))
			pr_warn(SUB, "the attestor's verdict: %s%s%s", r.verdict,
				r.reason[0] ? ": " : "", r.reason);
		record(w, rc, &r);
		/* acknowledged: closed segments before it may go (a bounded log) */
		if (!rc && w->measure)
			tcl_measure_set_acked(w->measure, tcl_attest_acked_offset(w->client));
	}
	return NULL;
}

int tcl_attest_worker_new(const struct tcl_attest_worker_opts *o, struct tcl_tpm *tpm,
			  struct tcl_measure *measure, struct tcl_attest_worker **out)
{
	struct tcl_attest_opts co = o->client;
	struct tcl_attest_worker *w;
	pthread_condattr_t ca;
	int rc;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->measure = measure;
	w->interval_s = o->interval_s ? o->interval_s : TCL_ATTEST_DEFAULT_INTERVAL;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->wake, &ca);
	pthread_condattr_destroy(&ca);
	co.stop = &w->stop;
	rc = tcl_attest_open(&co, tpm, &w->client);
	if (rc)
		goto fail;
	snprintf(w->st.url, sizeof(w->st.url), "%s", co.url);
	snprintf(w->st.node_id, sizeof(w->st.node_id), "%s", tcl_attest_node_id(w->client));
	w->st.enrolled = tcl_attest_enrolled(w->client);
	w->st.acked_offset = tcl_attest_acked_offset(w->client);
	*out = w;
	return 0;
fail:
	tcl_attest_close(w->client);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
	return rc;
}

int tcl_attest_worker_run(struct tcl_attest_worker *w)
{
	int rc = -pthread_create(&w->thread, NULL, worker_main, w);

	if (rc) {
		pr_err(SUB, "cannot start the attestation thread: %s", strerror(-rc));
		return rc;
	}
	w->started = true;
	return 0;
}

void tcl_attest_worker_kick(struct tcl_attest_worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->kicked = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

void tcl_attest_worker_status(struct tcl_attest_worker *w, struct tcl_attest_worker_status *st)
{
	pthread_mutex_lock(&w->lock);
	*st = w->st;
	pthread_mutex_unlock(&w->lock);
}

bool tcl_attest_worker_take_revocations(struct tcl_attest_worker *w,
					struct tcl_revocation_list *out)
{
	bool got;

	if (!w)
		return false;
	pthread_mutex_lock(&w->lock);
	got = w->have_revs;
	if (got) {
		*out = w->revs;
		memset(&w->revs, 0, sizeof(w->revs));
		w->have_revs = false;
	}
	pthread_mutex_unlock(&w->lock);
	return got;
}

void tcl_attest_worker_stop(struct tcl_attest_worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	if (w->started)
		pthread_join(w->thread, NULL);
	tcl_attest_close(w->client);
	tcl_revocation_list_free(&w->revs);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
