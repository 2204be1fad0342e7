/* SPDX-License-Identifier: GPL-2.0 */
/* The agent's attestation thread: enrols with tcl-attestor and pushes evidence (attest_client.h)
 * every interval and soon after a kick (a container started), off the agent's event loop, so
 * that a slow or absent attestor never delays events or hook answers.  Kicks that arrive while
 * a push runs coalesce into one more push.  The evidence covers what the measurement pipeline
 * has logged: the worker flushes it (log + PCR) before each push.
 *
 * The agent's loop reads the outcome with tcl_attest_worker_status(); `changes` grows whenever
 * the verdict or the error changes, so the loop can report each change once.  The revocation
 * list each answer carries is handed over with tcl_attest_worker_take_revocations(). */
#ifndef TCL_ATTEST_WORKER_H
#define TCL_ATTEST_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "attest_client.h"
#include "measure.h"

#define TCL_ATTEST_DEFAULT_INTERVAL	60	/* seconds between pushes */
#define TCL_ATTEST_KICK_DELAY_MS	500	/* after a kick: let the first execs be measured */

struct tcl_attest_worker_opts {
	struct tcl_attest_opts client;
	unsigned int interval_s;	/* 0: TCL_ATTEST_DEFAULT_INTERVAL */
};

struct tcl_attest_worker_status {
	char url[256];
	char node_id[254];
	bool enrolled;
	uint64_t pushes;		/* evidence the attestor took */
	uint64_t failures;		/* rounds that ended in an error */
	uint64_t changes;		/* verdict or error changed this many times */
	uint64_t acked_offset;		/* log bytes the attestor acknowledged */
	uint64_t accepted_entries;	/* in the last evidence */
	char verdict[16];		/* of the last accepted evidence, "" before */
	char reason[512];		/* the attestor's reason (untrusted) or the last error */
	int last_error;			/* -errno of the last round, 0 when it succeeded */
	char last_push[40];		/* RFC 3339 of the last accepted evidence */
};

struct tcl_attest_worker;

/* Opens the client (AK, certificate, state file; errors are reported there), so that a bad
 * option stops the agent before it attaches anything.  @tpm and @measure stay the caller's and
 * must outlive the worker; @measure may be NULL (no flush before a push). */
int tcl_attest_worker_new(const struct tcl_attest_worker_opts *o, struct tcl_tpm *tpm,
			  struct tcl_measure *measure, struct tcl_attest_worker **out);
/* Starts the thread, which pushes once at once. */
int tcl_attest_worker_run(struct tcl_attest_worker *w);
/* Ask for a push soon (async-signal-unsafe; any thread). */
void tcl_attest_worker_kick(struct tcl_attest_worker *w);
void tcl_attest_worker_status(struct tcl_attest_worker *w, struct tcl_attest_worker_status *st);
/* The revocation list of the attestor's last answer, when one came since the last call: moved
 * to *out (the caller frees it), true.  Any thread. */
struct tcl_revocation_list;
bool tcl_attest_worker_take_revocations(struct tcl_attest_worker *w,
					struct tcl_revocation_list *out);
/* Cancel a push in progress (at its next retry or request timeout), join the thread, free. */
void tcl_attest_worker_stop(struct tcl_attest_worker *w);

#endif
