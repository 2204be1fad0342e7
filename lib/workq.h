/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small pool of worker threads for blocking work (registry I/O) that an event loop must not
 * wait for.  The loop submits a job; a worker runs job->run; the loop is told through a file
 * descriptor (an eventfd: readable when finished jobs wait) and calls tcl_workq_reap, which runs
 * job->done on the loop's thread.  So everything the loop owns is touched by the loop only: a
 * job's run sees the job (its inputs, set before submit and not changed until done) and writes
 * only its result fields; done hands the result over.
 *
 * Bounded: at most max_jobs jobs are queued or running or finished and not reaped; submit
 * answers -EBUSY beyond that.  Not thread safe itself: one owner thread calls everything except
 * the workers' run.
 */
#ifndef TCL_WORKQ_H
#define TCL_WORKQ_H

#include <stdbool.h>
#include <stddef.h>

struct tcl_work {
	void (*run)(struct tcl_work *w);	/* on a worker thread */
	void (*done)(struct tcl_work *w);	/* on the owner's thread (tcl_workq_reap or _free) */
	bool cancelled;				/* set for done: freed before it ran */
	struct tcl_work *next;			/* the queue's */
};

struct tcl_workq;

/* @threads workers (1-64), at most @max_jobs jobs at a time (>= 1). */
int tcl_workq_new(unsigned threads, size_t max_jobs, struct tcl_workq **out);
/* Waits for the running jobs; jobs not started get done() with cancelled set, finished ones
 * their done() as from tcl_workq_reap. */
void tcl_workq_free(struct tcl_workq *q);
/* 0, or -EBUSY when max_jobs jobs are in the queue. */
int tcl_workq_submit(struct tcl_workq *q, struct tcl_work *w);
/* Readable when finished jobs wait for tcl_workq_reap. */
int tcl_workq_fd(const struct tcl_workq *q);
/* Run done() of every finished job, in the order they finished; returns how many. */
size_t tcl_workq_reap(struct tcl_workq *q);
/* Jobs submitted and not reaped yet. */
size_t tcl_workq_pending(const struct tcl_workq *q);

#endif
