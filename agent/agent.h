/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcl-agent's state, shared by its wiring (main.c: options, set-up, the run loop), the admission
 * of containers (admit.c), its status (status.c) and its two outputs (emit.c): the event stream
 * and the measurement log.
 */
#ifndef TCL_AGENT_H
#define TCL_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "attest_worker.h"
#include "bpf_loader.h"
#include "measure.h"
#include "policy.h"
#include "revocations.h"
#include "scope.h"
#include "verify.h"

struct ring_buffer;
struct tcl_evstream;

struct agent {
	/* options */
	enum tcl_mode mode;
	const char *policy_path;
	const char *scope_arg;
	const char *events_path;
	const char *socket_path;
	const char *pin_dir;
	const char *cgroup_root;
	const char *metrics_addr;	/* --metrics HOST:PORT, NULL: off */
	struct tcl_verifier_opts vopts;
	struct tcl_measure_opts mopts;
	bool log_max_set;		/* --log-max-bytes given */
	struct tcl_attest_worker_opts aopts;
	struct tcl_bpf_opts bopts;
	const char *revoke_path;
	/* state */
	struct tcl_attest_worker *attest;
	uint64_t attest_changes;
	struct tcl_arev *revs;	/* revocations in force, keys that verified images */
	struct tcl_measure *measure;
	struct tcl_measure_report mrep;
	struct tcl_verifier *verifier;
	struct tcl_bpf *bpf;
	struct tcl_policy *policy;
	struct tcl_scope *scope;
	struct tcl_evstream *stream;
	struct ring_buffer *rb;
	FILE *events_out;
	bool events_out_failed;
	uint64_t last_drops;
	bool ready; /* mode, scope and allow sets in the kernel: what was asked is enforced */
	char started[40];
	size_t n_allow;
};

/* One event line (JSON, newline-terminated) to --events and to the socket's subscribers. */
void emit_line(struct agent *a, const char *line, int len);
/* Measure a canonical JSON record built from key/value pairs (strings; NULL values skipped);
 * kv ends with a NULL key. */
void measure_record(struct agent *a, const char *event, const char *const *kv);

#endif
