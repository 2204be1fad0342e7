// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "diag.h"
#include "workq.h"

struct tcl_workq {
	pthread_mutex_t lock;
	pthread_cond_t more;		/* a job was queued, or stop */
	struct tcl_work *todo, **todo_tail;	/* FIFO, guarded by lock */
	struct tcl_work *fin, **fin_tail;	/* finished, guarded by lock */
	bool stop;
	int efd;
	pthread_t *th;
	unsigned nth;
	size_t max, pending;		/* pending: the owner's count, not guarded */
};

static void *worker(void *arg)
{
	struct tcl_workq *q = arg;
	const uint64_t one = 1;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		struct tcl_work *w;

		while (!q->todo && !q->stop)
			pthread_cond_wait(&q->more, &q->lock);
		if (q->stop)
			break;
		w = q->todo;
		q->todo = w->next;
		if (!q->todo)
			q->todo_tail = &q->todo;
		pthread_mutex_unlock(&q->lock);
		w->run(w);
		pthread_mutex_lock(&q->lock);
		w->next = NULL;
		*q->fin_tail = w;
		q->fin_tail = &w->next;
		/* a full counter (never: bounded by max_jobs) would only delay the wake-up */
		if (write(q->efd, &one, sizeof(one)) != sizeof(one))
			pr_debug("workq", "eventfd write failed");
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int tcl_workq_new(unsigned threads, size_t max_jobs, struct tcl_workq **out)
{
	struct tcl_workq *q;
	int rc;

	*out = NULL;
	if (threads < 1 || threads > 64 || max_jobs < 1)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->todo_tail = &q->todo;
	q->fin_tail = &q->fin;
	q->max = max_jobs;
	q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	q->th = calloc(threads, sizeof(*q->th));
	if (q->efd < 0 || !q->th) {
		rc = q->efd < 0 ? -errno : -ENOMEM;
		goto fail;
	}
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->more, NULL);
	for (; q->nth < threads; q->nth++) {
		rc = -pthread_create(&q->th[q->nth], NULL, worker, q);
		if (rc) {
			pr_err("workq", "cannot start a worker thread: %s", strerror(-rc));
			tcl_workq_free(q);
			return rc;
		}
	}
	*out = q;
	return 0;
fail:
	if (q->efd >= 0)
		close(q->efd);
	free(q->th);
	free(q);
	return rc;
}

int tcl_workq_submit(struct tcl_workq *q, struct tcl_work *w)
{
	if (q->pending >= q->max)
		return -EBUSY;
	w->cancelled = false;
	w->next = NULL;
	q->pending++;
	pthread_mutex_lock(&q->lock);
	*q->todo_tail = w;
	q->todo_tail = &w->next;
	pthread_cond_signal(&q->more);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

int tcl_workq_fd(const struct tcl_workq *q)
{
	return q->efd;
}

size_t tcl_workq_pending(const struct tcl_workq *q)
{
	return q->pending;
}

size_t tcl_workq_reap(struct tcl_workq *q)
{
	struct tcl_work *w, *next;
	uint64_t v;
	size_t n = 0;

	/* read first: a job finishing after the swap below writes again */
	if (read(q->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pr_debug("workq", "eventfd read failed");
	pthread_mutex_lock(&q->lock);
	w = q->fin;
	q->fin = NULL;
	q->fin_tail = &q->fin;
	pthread_mutex_unlock(&q->lock);
	for (; w; w = next) {
		next = w->next;
		q->pending--;
		n++;
		w->done(w);
	}
	return n;
}

void tcl_workq_free(struct tcl_workq *q)
{
	struct tcl_work *w, *next;

	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->stop = true;
	w = q->todo;
	q->todo = NULL;
	q->todo_tail = &q->todo;
	pthread_cond_broadcast(&q->more);
	pthread_mutex_unlock(&q->lock);
	for (unsigned i = 0; i < q->nth; i++)
		pthread_join(q->th[i], NULL);
	for (; w; w = next) {
		next = w->next;
		q->pending--;
		w->cancelled = true;
		w->done(w);
	}
	tcl_workq_reap(q);
	pthread_cond_destroy(&q->more);
	pthread_mutex_destroy(&q->lock);
	close(q->efd);
	free(q->th);
	free(q);
}
