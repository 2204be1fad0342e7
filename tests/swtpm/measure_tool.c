// SPDX-License-Identifier: GPL-2.0
/* Test driver for lib/measure.c and ctl/{log,quote,ak}.c, used by tests/swtpm/test_measure.sh,
 * tests/guest/test_measure.sh and bench/tpm_extend.sh until tcl-agent and tclctl carry them.
 *
 * usage: measure_tool [--log PATH] [--tpm TCTI|none] [--pcr N] [--queue N] [--block-ms MS]
 *                     [--crash-after-appends N] [--log-max-bytes N] COMMAND ...
 *   burst N [--containers K] [--start S] [--bufs M] [--names FILE] [--lost L]
 *         N file measurements ("ctr<i%K>:/bin/f<i>", digest SHA-256("f<i>"), i = S..S+N-1)
 *         and M ima-buf container_start events, then (--lost) L records lost by the kernel
 *         (tcl_measure_lost), then flush; prints the rate and the status
 *         --refused R: R refusals (tcl_measure_refused, "ctr<j%K>", "/tmp/r<j>", digest
 *         SHA-256("r<j>")), each attempted 100 times
 *         --batch B: flush after every B file measurements (small appends, as a node's
 *         trickle of execs); --ack: then acknowledge the whole log (tcl_measure_set_acked, as the attestation
 *         worker does after a push) and wait until the worker deleted what it may
 *   status          open (replay, recovery), print the report and status, close
 *   quote HEX DIR   tcl_measure_quote with nonce HEX into DIR
 *   tclctl log|quote|ak ...   the tclctl commands of ctl/{log,quote,ak}.c
 * Every command that opens the pipeline prints "report: key=value..." and "status: ..." lines.
 * Exit: 0 ok, 3 the pipeline is in state mismatch, 1 other failure, 2 usage. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "cmds.h"
#include "diag.h"
#include "measure.h"
#include "util.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_report(const struct tcl_measure_report *r)
{
	printf("report: anchored=%d created=%d entries=%zu torn_bytes=%llu torn_saved_to=%s "
	       "recovered=%zu rotated_to=%s ak_err=%d state=%s\n", r->anchored, r->created,
	       r->entries, (unsigned long long)r->torn_bytes,
	       r->torn_saved_to[0] ? r->torn_saved_to : "-", r->recovered,
	       r->rotated_to[0] ? r->rotated_to : "-", r->ak_err,
	       tcl_measure_state_name(r->state));
	if (r->why[0])
		printf("why: %s\n", r->why);
}

static void print_status(struct tcl_measure *m)
{
	struct tcl_measure_status st;

	tcl_measure_status(m, &st);
	printf("status: state=%s anchored=%d pcr=%u entries=%llu extended=%llu queued=%llu "
	       "measured=%llu deduped=%llu dropped=%llu refused=%llu recovered=%llu "
	       "appends=%llu log_bytes=%llu lost_pending=%llu lost_logged=%llu log_start=%llu "
	       "disk_bytes=%llu segments_deleted=%llu over_bound=%d\n",
	       tcl_measure_state_name(st.state), st.anchored, st.pcr,
	       (unsigned long long)st.entries, (unsigned long long)st.extended,
	       (unsigned long long)st.queued, (unsigned long long)st.measured,
	       (unsigned long long)st.deduped, (unsigned long long)st.dropped,
	       (unsigned long long)st.refused, (unsigned long long)st.recovered,
	       (unsigned long long)st.appends, (unsigned long long)st.log_bytes,
	       (unsigned long long)st.lost_pending, (unsigned long long)st.lost_logged,
	       (unsigned long long)st.log_start, (unsigned long long)st.log_disk_bytes,
	       (unsigned long long)st.segments_deleted, st.log_over_bound);
	if (st.why[0])
		printf("status-why: %s\n", st.why);
	fflush(stdout);
}

static int burst(struct tcl_measure *m, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "containers", required_argument, NULL, 'k' },
		{ "start", required_argument, NULL, 's' },
		{ "bufs", required_argument, NULL, 'b' },
		{ "names", required_argument, NULL, 'n' },
		{ "lost", required_argument, NULL, 'L' },
		{ "refused", required_argument, NULL, 'R' },
		{ "ack", no_argument, NULL, 'A' },
		{ "batch", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	bool ack = false;
	unsigned long batch = 0;
	unsigned long n, k = 3, start = 0, bufs = 0, dropped = 0, lost = 0, refused = 0;
	const char *names = NULL;
	FILE *nf = NULL;
	double t0, t1, t2;
	int c, err;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'k':
			k = strtoul(optarg, NULL, 10);
			break;
		case 's':
			start = strtoul(optarg, NULL, 10);
			break;
		case 'b':
			bufs = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			names = optarg;
			break;
		case 'L':
			lost = strtoul(optarg, NULL, 10);
			break;
		case 'R':
			refused = strtoul(optarg, NULL, 10);
			break;
		case 'A':
			ack = true;
			break;
		case 'T':
			batch = strtoul(optarg, NULL, 10);
			break;
		default:
			return 2;
		}
	}
	if (optind + 1 != argc || !k)
		return 2;
	n = strtoul(argv[optind], NULL, 10);
	if (names) {
		nf = fopen(names, "w");
		if (!nf) {
			perror(names);
			return 1;
		}
	}
	t0 = now();
	for (unsigned long i = start; i < start + n; i++) {
		char in[32], path[48], cid[32];
		uint8_t d[32];

		snprintf(in, sizeof(in), "f%lu", i);
		EVP_Digest(in, strlen(in), d, NULL, EVP_sha256(), NULL);
		snprintf(cid, sizeof(cid), "ctr%lu", i % k);
		snprintf(path, sizeof(path), "/bin/%s", in);
		err = tcl_measure_file(m, cid, path, d);
		if (err == -ENOBUFS) {
			dropped++;
			continue;
		}
		if (err) {
			fprintf(stderr, "measure_tool: measure %s: %s\n", path, strerror(-err));
			print_status(m);
			return 1;
		}
		if (nf)
			fprintf(nf, "%s:%s\n", cid, path);
		/* small batches, as a node's trickle of execs: segments close near their size */
		if (batch && (i - start) % batch == batch - 1 && tcl_measure_flush(m))
			return 1;
	}
	for (unsigned long j = 0; j < bufs; j++) {
		char json[128];

		snprintf(json, sizeof(json), "{\"container_id\":\"ctr%lu\",\"n\":%lu}", j % k,
			 start + j);
		err = tcl_measure_buf(m, "container_start", json);
		if (err) {
			fprintf(stderr, "measure_tool: measure buffer: %s\n", strerror(-err));
			return 1;
		}
		if (nf)
			fprintf(nf, "container_start\n");
	}
	for (unsigned long j = 0; j < refused * 100; j++) {
		char in[32], path[48], cid[32];
		uint8_t d[32];

		snprintf(in, sizeof(in), "r%lu", j % refused);
		EVP_Digest(in, strlen(in), d, NULL, EVP_sha256(), NULL);
		snprintf(cid, sizeof(cid), "ctr%lu", (j % refused) % k);
		snprintf(path, sizeof(path), "/tmp/%s", in);
		err = tcl_measure_refused(m, cid, path, d, "exec", "not_allowed");
		if (err) {
			fprintf(stderr, "measure_tool: refused %s: %s\n", path, strerror(-err));
			return 1;
		}
	}
	if (nf && fclose(nf)) {
		perror(names);
		return 1;
	}
	if (lost) {
		err = tcl_measure_lost(m, TCL_MEASURE_LOST_KERNEL, lost);
		if (err) {
			fprintf(stderr, "measure_tool: lost: %s\n", strerror(-err));
			return 1;
		}
	}
	t1 = now();
	err = tcl_measure_flush(m);
	t2 = now();
	if (!err && ack) {
		struct tcl_measure_status st;

		tcl_measure_status(m, &st);
		tcl_measure_set_acked(m, st.log_bytes);
		for (int i = 0; i < 500; i++) {
			tcl_measure_status(m, &st);
			if (!st.log_max_bytes || st.log_disk_bytes <= st.log_max_bytes)
				break;
			nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
		}
	}
	printf("burst: %lu measurements + %lu events queued in %.3f s, all logged and "
	       "extended after %.3f s: %.0f measurements/s; %lu dropped\n", n, bufs, t1 - t0,
	       t2 - t0, (n + bufs) / (t2 - t0), dropped);
	print_status(m);
	if (err) {
		fprintf(stderr, "measure_tool: flush: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}

static int tclctl(int argc, char **argv)
{
	tcl_prog = "tclctl";
	if (argc < 1)
		return 2;
	if (!strcmp(argv[0], "log"))
		return tcl_cmd_log(argc, argv);
	if (!strcmp(argv[0], "quote"))
		return tcl_cmd_quote(argc, argv);
	if (!strcmp(argv[0], "ak"))
		return tcl_cmd_ak(argc, argv);
	fprintf(stderr, "measure_tool: tclctl: log, quote or ak\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "log", required_argument, NULL, 'l' },
		{ "tpm", required_argument, NULL, 't' },
		{ "pcr", required_argument, NULL, 'p' },
		{ "queue", required_argument, NULL, 'q' },
		{ "block-ms", required_argument, NULL, 'B' },
		{ "crash-after-appends", required_argument, NULL, 'c' },
		{ "log-max-bytes", required_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 },
	};
	struct tcl_measure_opts o = { .tcti = "none" };
	struct tcl_measure_report r;
	struct tcl_measure *m = NULL;
	const char *cmd;
	int c, rc = 1, err;

	tcl_prog = "measure_tool";
	while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		switch (c) {
		case 'l':
			o.log_path = optarg;
			break;
		case 't':
			o.tcti = optarg;
			break;
		case 'p':
			o.pcr = strtoul(optarg, NULL, 10);
			break;
		case 'q':
			o.queue_max = strtoul(optarg, NULL, 10);
			break;
		case 'B':
			o.block_ms = atoi(optarg);
			break;
		case 'c':
			o.test_exit_after_appends = strtoul(optarg, NULL, 10);
			break;
		case 'M':
			o.log_max_bytes = strtoull(optarg, NULL, 10);
			break;
		default:
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: measure_tool [--log PATH] [--tpm TCTI] [--pcr N] "
			"COMMAND ... (see the source)\n");
		return 2;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (!strcmp(cmd, "tclctl"))
		return tclctl(argc - 1, argv + 1);

	err = tcl_measure_open(&o, &m, &r);
	if (err) {
		fprintf(stderr, "measure_tool: open: %s\n", strerror(-err));
		return 1;
	}
	print_report(&r);
	if (!strcmp(cmd, "status")) {
		print_status(m);
		rc = 0;
	} else if (!strcmp(cmd, "burst")) {
		rc = burst(m, argc, argv);
	} else if (!strcmp(cmd, "quote") && argc == 3) {
		size_t nl = strlen(argv[1]) / 2;
		uint8_t nonce[64];

		if (nl > sizeof(nonce) || tcl_unhex(argv[1], nonce, nl)) {
			rc = 2;
		} else {
			err = tcl_measure_quote(m, nonce, nl, argv[2]);
			if (err)
				fprintf(stderr, "measure_tool: quote: %s\n", strerror(-err));
			rc = err ? 1 : 0;
		}
	} else {
		fprintf(stderr, "measure_tool: unknown command %s\n", cmd);
		rc = 2;
	}
	if (!rc && r.state == TCL_MEASURE_MISMATCH)
		rc = 3;
	tcl_measure_close(m);
	return rc;
}
