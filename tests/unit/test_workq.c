// SPDX-License-Identifier: GPL-2.0
/* lib/workq.c */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "diag.h"
#include "workq.h"

struct job {
	struct tcl_work w;
	int in, out;
	pthread_t ran_on, done_on;
	int done_calls;
	bool cancelled;
	int *order;		/* done appends in here */
	size_t *norder;
	atomic_int *gate;	/* run waits until *gate != 0 (NULL: no wait) */
	atomic_int *running;	/* counts runs in progress */
	atomic_int *peak;
};

static void job_run(struct tcl_work *w)
{
	struct job *j = (struct job *)w;

	j->ran_on = pthread_self();
	if (j->running) {
		int now = atomic_fetch_add(j->running, 1) + 1;
		int p = atomic_load(j->peak);

		while (now > p && !atomic_compare_exchange_weak(j->peak, &p, now))
			;
	}
	while (j->gate && !atomic_load(j->gate))
		usleep(1000);
	j->out = j->in * 2;
	if (j->running)
		atomic_fetch_sub(j->running, 1);
}

static void job_done(struct tcl_work *w)
{
	struct job *j = (struct job *)w;

	j->done_on = pthread_self();
	j->done_calls++;
	j->cancelled = w->cancelled;
	if (j->order)
		j->order[(*j->norder)++] = j->in;
}

static void job_init(struct job *j, int in)
{
	memset(j, 0, sizeof(*j));
	j->w.run = job_run;
	j->w.done = job_done;
	j->in = in;
}

/* Wait (poll on the fd, as an event loop does) until @want jobs are reaped. */
static size_t reap_until(struct tcl_workq *q, size_t want)
{
	struct pollfd p = { .fd = tcl_workq_fd(q), .events = POLLIN };
	size_t got = 0;

	for (int i = 0; got < want && i < 500; i++) {
		if (poll(&p, 1, 10) == 1)
			got += tcl_workq_reap(q);
	}
	return got;
}

static void test_bad_args(void **state)
{
	struct tcl_workq *q = (void *)1;

	assert_int_equal(tcl_workq_new(0, 4, &q), -EINVAL);
	assert_null(q);
	assert_int_equal(tcl_workq_new(65, 4, &q), -EINVAL);
	assert_int_equal(tcl_workq_new(2, 0, &q), -EINVAL);
	tcl_workq_free(NULL);
}

static void test_results_on_owner_thread(void **state)
{
	struct tcl_workq *q;
	struct job j[16];
	int order[16];
	size_t norder = 0;

	assert_int_equal(tcl_workq_new(3, 16, &q), 0);
	/* nothing finished: the fd is not readable, reap does nothing */
	assert_int_equal(poll(&(struct pollfd){ .fd = tcl_workq_fd(q), .events = POLLIN }, 1, 0),
			 0);
	assert_int_equal(tcl_workq_reap(q), 0);
	for (int i = 0; i < 16; i++) {
		job_init(&j[i], i + 1);
		j[i].order = order;
		j[i].norder = &norder;
		assert_int_equal(tcl_workq_submit(q, &j[i].w), 0);
	}
	assert_int_equal(tcl_workq_pending(q), 16);
	assert_int_equal(reap_until(q, 16), 16);
	assert_int_equal(tcl_workq_pending(q), 0);
	assert_int_equal(norder, 16);
	for (int i = 0; i < 16; i++) {
		assert_int_equal(j[i].out, 2 * (i + 1));
		assert_int_equal(j[i].done_calls, 1);
		assert_false(j[i].cancelled);
		assert_true(pthread_equal(j[i].done_on, pthread_self()));
		assert_false(pthread_equal(j[i].ran_on, pthread_self()));
	}
	/* every job reported once */
	for (int v = 1; v <= 16; v++) {
		int seen = 0;

		for (size_t k = 0; k < norder; k++)
			seen += order[k] == v;
		assert_int_equal(seen, 1);
	}
	tcl_workq_free(q);
}

static void test_bounded_and_parallel(void **state)
{
	atomic_int gate = 0, running = 0, peak = 0;
	struct tcl_workq *q;
	struct job j[5], extra;

	assert_int_equal(tcl_workq_new(4, 4, &q), 0);
	for (int i = 0; i < 4; i++) {
		job_init(&j[i], i);
		j[i].gate = &gate;
		j[i].running = &running;
		j[i].peak = &peak;
		assert_int_equal(tcl_workq_submit(q, &j[i].w), 0);
	}
	job_init(&extra, 99);
	assert_int_equal(tcl_workq_submit(q, &extra.w), -EBUSY);
	/* the four block together: four threads run them at once */
	for (int i = 0; i < 500 && atomic_load(&running) < 4; i++)
		usleep(2000);
	assert_int_equal(atomic_load(&peak), 4);
	assert_int_equal(tcl_workq_reap(q), 0);
	atomic_store(&gate, 1);
	assert_int_equal(reap_until(q, 4), 4);
	/* room again */
	assert_int_equal(tcl_workq_submit(q, &extra.w), 0);
	assert_int_equal(reap_until(q, 1), 1);
	assert_int_equal(extra.out, 198);
	tcl_workq_free(q);
}

static void *open_later(void *arg)
{
	usleep(50000);
	atomic_store((atomic_int *)arg, 1);
	return NULL;
}

static void test_free_cancels_queued(void **state)
{
	atomic_int gate = 0, running = 0, peak = 0;
	struct tcl_workq *q;
	struct job slow, queued[3];
	pthread_t opener;

	assert_int_equal(tcl_workq_new(1, 8, &q), 0);
	job_init(&slow, 1);
	slow.gate = &gate;
	slow.running = &running;
	slow.peak = &peak;
	assert_int_equal(tcl_workq_submit(q, &slow.w), 0);
	for (int i = 0; i < 3; i++) {
		job_init(&queued[i], 10 + i);
		assert_int_equal(tcl_workq_submit(q, &queued[i].w), 0);
	}
	for (int i = 0; i < 500 && !atomic_load(&running); i++)
		usleep(2000);
	assert_int_equal(atomic_load(&running), 1);
	/* free while the job runs: it waits for it (the opener lets it finish 50 ms later) */
	assert_int_equal(pthread_create(&opener, NULL, open_later, &gate), 0);
	tcl_workq_free(q);
	pthread_join(opener, NULL);
	/* the running job finished and was reported; the queued ones were cancelled, not run */
	assert_int_equal(slow.done_calls, 1);
	assert_false(slow.cancelled);
	assert_int_equal(slow.out, 2);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(queued[i].done_calls, 1);
		assert_true(queued[i].cancelled);
		assert_int_equal(queued[i].out, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_results_on_owner_thread),
		cmocka_unit_test(test_bounded_and_parallel),
		cmocka_unit_test(test_free_cancels_queued),
	};

	tcl_verbosity = -1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
