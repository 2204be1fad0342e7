/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The agent's measurement pipeline: the IMA-format log (log.h) anchored in a TPM PCR (tpm.h).
 * docs/measurement-log.md describes the format, the crash-consistency rule and the commands.
 *
 * Callers only queue: tcl_measure_file() and tcl_measure_buf() encode the entry (hashing the
 * template data) and put it on a bounded queue; one worker thread appends queued entries to the
 * log in one write + fdatasync and only then extends them into the PCR, in batches
 * (tcl_tpm_extend_batch), every allocated bank (sha1, sha256, sha384, sha512: each with that
 * bank's hash of the template data, as IMA does).  So the PCR always equals the replay of a
 * prefix of the log, and after a crash tcl_measure_open() extends what was logged but not extended.
 *
 * Queue: at most opts.queue_max measurements accepted but not yet extended (not yet logged
 * without a TPM), and 16 MiB of encoded entries not yet logged.  When it is full a caller waits
 * at most opts.block_ms for room; then the measurement is dropped, counted in
 * status.dropped (measurement_dropped) and -ENOBUFS is returned.  A dropped file measurement
 * is not remembered as seen, so the next exec of that file measures it again.
 *
 * Losses are logged: a measurement dropped (or that cannot be encoded) is counted as lost by
 * the "agent", and tcl_measure_lost() adds records lost before they reached the pipeline (the
 * "kernel" ring buffer).  As soon as the queue has room again (the worker looks after every
 * append and extend, a caller before its own entry), each source with a pending count gets an
 * ima-buf entry TCL_MEASURE_RECORDS_LOST with the canonical JSON
 * {"count":N,"source":"agent"|"kernel"}, queued and extended like any other entry.  So every
 * entry accepted after a drop follows a records_lost entry that covers it, and an attestor
 * never takes a log with a gap for a complete one.
 *
 * Dedup: a file is measured once per (container, file digest), across restarts too: the seen
 * set is rebuilt from the log's ima-ng entries at open.  A refusal (tcl_measure_refused) once per
 * (container, digest) too, rebuilt from the exec_refused entries.  Other ima-buf events are never
 * deduplicated.
 *
 * Open, with a TPM (details in docs/measurement-log.md):
 *  - new or empty log: boot_aggregate (SHA-256 over the sha256 bank of PCRs 0-9) is appended
 *    and extended before anything else;
 *  - the PCR equals the replay of the whole log: appends go on;
 *  - the PCR equals the replay of a prefix (crash between fdatasync and extend): the rest is
 *    extended now (report.recovered), then appends go on;
 *  - every bank of the PCR is zero but the log holds more than its own boot_aggregate (the
 *    TPM was reset, i.e. the node rebooted, since the log was written, or it was written
 *    without a TPM): the old log is renamed to report.rotated_to and a new log started;
 *  - no prefix matches, the log is corrupt (not just a torn tail), it holds entries for
 *    another PCR or does not start with boot_aggregate: state TCL_MEASURE_MISMATCH with the
 *    reason; the log is left untouched and every measurement is refused (-ENOTRECOVERABLE,
 *    status.refused) until an operator acts and the agent is restarted.
 * A torn tail (a partial last entry: never extended) is truncated; report.torn_bytes says so,
 * and its bytes are first kept in report.torn_saved_to (a damaged length field looks the same).
 * Without a TPM ("none") the log is written all the same and status says it is not anchored.
 *
 * Thread safety: every function but open and close may be called from any thread.
 */
#ifndef TCL_MEASURE_H
#define TCL_MEASURE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TCL_MEASURE_DEFAULT_LOG		"/var/lib/tcl/measurements.bin"
#define TCL_MEASURE_DEFAULT_PCR		13
#define TCL_MEASURE_DEFAULT_TCTI	"device:/dev/tpmrm0"	/* tclctl's default */
#define TCL_MEASURE_DEFAULT_QUEUE	65536
#define TCL_MEASURE_DEFAULT_BLOCK_MS	20
#define TCL_MEASURE_DEFAULT_LOG_MAX	(64ull << 20)	/* the agent's --log-max-bytes */
#define TCL_MEASURE_WHY_MAX		512
#define TCL_MEASURE_RECORDS_LOST	"records_lost"	/* ima-buf event name of a loss */
#define TCL_MEASURE_EXEC_REFUSED	"exec_refused"	/* ima-buf event name of a refusal */
#define TCL_MEASURE_EXTEND_BUCKETS	10	/* bounds of the extend duration histogram */
#define TCL_MEASURE_EXTEND_BOUNDS_S	{ 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5 }

/* Who lost the records a records_lost entry counts (its "source"). */
enum tcl_measure_lost_source {
	TCL_MEASURE_LOST_AGENT = 0,	/* "agent": this pipeline dropped them (queue full,
					 * encoding failed) */
	TCL_MEASURE_LOST_KERNEL,	/* "kernel": the BPF programs could not deliver them
					 * (ring buffer full, TCL_CNT_DROPS) */
	TCL_MEASURE_LOST_SOURCES
};

struct tcl_measure_opts {
	const char *log_path;	/* NULL: TCL_MEASURE_DEFAULT_LOG */
	const char *tcti;	/* NULL or "none": no TPM; else a libtss2 TCTI string */
	uint32_t pcr;		/* 0: 13.  10-15: 0-9 are the firmware's, 16 and 23 can be
				 * reset by anyone, which would let a forged log replay, and
				 * 17-22 belong to D-RTM (locality 4: not extendable here) */
	unsigned int queue_max;	/* 0: TCL_MEASURE_DEFAULT_QUEUE */
	int block_ms;		/* 0: TCL_MEASURE_DEFAULT_BLOCK_MS; < 0: never wait */
	uint64_t log_max_bytes;	/* bound of the log on disk (segments, log.h
				 * tcl_log_maintain); 0: unbounded */
	/* Tests only; 0 in production. */
	unsigned int test_exit_after_appends;	/* _exit(99) right after the Nth log append,
						 * before its extends: a crash in the window */
	unsigned int test_append_delay_ms;	/* sleep before each append: fills the queue */
};

enum tcl_measure_state {
	TCL_MEASURE_OK = 0,
	TCL_MEASURE_MISMATCH,	/* found at open: log and PCR disagree, or the log is corrupt;
				 * nothing is appended until an operator acts */
	TCL_MEASURE_LOG_ERROR,	/* a log write or fdatasync failed: nothing more is appended
				 * (restart to reopen); entries that were waiting are dropped */
	TCL_MEASURE_TPM_ERROR,	/* an extend failed: entries are still logged and their
				 * extends retried with backoff (back to OK when one succeeds);
				 * the queue fills while the TPM is away */
};

/* What happened at open; the agent turns it into `agent` events. */
struct tcl_measure_report {
	bool anchored;		/* a TPM is in use */
	bool created;		/* a new log was started (boot_aggregate written) */
	size_t entries;		/* entries in the log once open */
	uint64_t torn_bytes;	/* bytes of a torn last entry that were truncated */
	char torn_saved_to[PATH_MAX];	/* non-empty: where those bytes were kept */
	size_t recovered;	/* entries logged but not extended before a crash, extended now */
	char rotated_to[PATH_MAX];	/* non-empty: where the previous boot's log went */
	int ak_err;		/* 0, or why the AK could not be ensured (quotes will retry) */
	enum tcl_measure_state state;
	char why[TCL_MEASURE_WHY_MAX];	/* the reason when state != OK */
};

struct tcl_measure_status {
	enum tcl_measure_state state;
	char why[TCL_MEASURE_WHY_MAX];
	bool anchored;
	uint32_t pcr;
	uint64_t entries;	/* complete entries in the log file */
	uint64_t extended;	/* of those, in the PCR (anchored only; == entries when idle) */
	uint64_t queued;	/* accepted, not yet in the log */
	uint64_t log_bytes;	/* log offset of the end: every entry since the log began */
	uint64_t log_start;	/* log offset of the first kept byte (segments deleted before) */
	uint64_t log_disk_bytes;	/* kept on disk: log_bytes - log_start */
	uint64_t log_max_bytes;	/* the bound, 0: none */
	uint64_t log_acked;	/* what the attestor acknowledged (tcl_measure_set_acked) */
	uint64_t segments_deleted;	/* since open */
	bool log_over_bound;	/* more kept than the bound: waiting for acknowledgements */
	uint64_t measured;	/* accepted since open */
	uint64_t deduped;	/* file measurements already in the log */
	uint64_t dropped;	/* measurement_dropped: queue full, or lost to a log error */
	uint64_t refused;	/* not recorded because state was MISMATCH or LOG_ERROR */
	uint64_t recovered;	/* as in the open report */
	uint64_t appends;	/* log writes (batches) since open */
	uint64_t lost_pending;	/* records lost (both sources), records_lost entry not yet
				 * queued: waiting for room */
	uint64_t lost_logged;	/* records counted by the records_lost entries queued since
				 * open */
	/* PCR extends since open (anchored only): batches (tcl_tpm_extend_batch calls), those
	 * that failed, entries extended, and the batches' durations as a histogram
	 * (non-cumulative counts per bucket of TCL_MEASURE_EXTEND_BOUNDS_S, the last bucket
	 * above the last bound) and their sum. */
	uint64_t extend_batches;
	uint64_t extend_failures;
	uint64_t extended_since_open;
	uint64_t extend_hist[TCL_MEASURE_EXTEND_BUCKETS + 1];
	double extend_seconds;
};

struct tcl_measure;

/*
 * Open the log (creating it and its directories), the TPM, replay and recover as above, ensure
 * the AK at TCL_TPM_AK_HANDLE and start the worker.  @r may be NULL.  Returns 0 with *@out
 * set, also in state MISMATCH (check r->state).  Errors, with *@out NULL: -EINVAL bad options,
 * -EBUSY log held by another process, -EOPNOTSUPP the PCR has a bank tcl cannot replay
 * (sm3_256, sha3) allocated or no sha256 bank, other -errno when the TPM or the log file
 * cannot be used.
 */
int tcl_measure_open(const struct tcl_measure_opts *o, struct tcl_measure **out,
		     struct tcl_measure_report *r);

/*
 * Queue an ima-ng measurement of the file @path with content digest @sha256, named
 * "<container_id>:<path>" (container_id NULL or "" for the host: "<path>").  A name longer than
 * the log allows keeps the path's end behind "...".  0 when queued or already measured for this
 * (container, digest); -EINVAL on NULL path/digest or a container id containing ':' or '/';
 * -ENOBUFS dropped (queue full); -ENOTRECOVERABLE refused (state MISMATCH or LOG_ERROR).
 */
int tcl_measure_file(struct tcl_measure *m, const char *container_id, const char *path,
		     const uint8_t sha256[32]);

/*
 * Queue an ima-buf measurement: @event_name (container_start, image_verify, policy_load,
 * agent_start, ...) with @canonical_json as the buffer.  The JSON must be canonical
 * (canonjson.h) so that anyone can recompute it: -EINVAL otherwise, or for an empty or
 * over-long name, -E2BIG over the log's entry size.  Other returns as tcl_measure_file().
 */
int tcl_measure_buf(struct tcl_measure *m, const char *event_name, const char *canonical_json);

/*
 * Queue an ima-buf TCL_MEASURE_EXEC_REFUSED entry: the kernel refused (enforce mode) to run
 * the file @path with content digest @sha256 in @container_id (NULL or "": the host), at hook
 * @hook ("exec", "mmap": tcl_hook_type) for @reason (tcl_reason_name).  The buffer is the
 * canonical JSON {"container_id","digest":"sha256:<hex>","hook","path","reason"} (container_id
 * left out for the host; the path made valid UTF-8, at most 4096 bytes of it).  Deduplicated per
 * (container, digest) like tcl_measure_file() but with a key of its own, so that the same digest
 * running later (audit mode) is still measured as ran; the set is rebuilt from the log's
 * exec_refused entries at open.  Returns as tcl_measure_file().
 */
int tcl_measure_refused(struct tcl_measure *m, const char *container_id, const char *path,
			const uint8_t sha256[32], const char *hook, const char *reason);

/*
 * Record that @count records were lost from @src before they reached the pipeline (the agent
 * calls it with the growth of the kernel's TCL_CNT_DROPS).  Never waits and never drops: the
 * count is added to the source's pending count, whose records_lost entry is queued at once
 * when there is room, else as soon as there is (see "Losses are logged" above).  0; -EINVAL
 * bad source or count 0; -ENOTRECOVERABLE when the pipeline is halted (MISMATCH, LOG_ERROR:
 * nothing more reaches the log; the count stays in status.lost_pending).
 */
int tcl_measure_lost(struct tcl_measure *m, enum tcl_measure_lost_source src, uint64_t count);

/* Wait until everything accepted before the call is in the log and (anchored) in the PCR,
 * records_lost entries for losses counted before the call included (queued as soon as there
 * is room).  0; -EIO when the TPM failed (entries logged, extends pending); -ENOTRECOVERABLE
 * when the pipeline is halted (MISMATCH, LOG_ERROR). */
int tcl_measure_flush(struct tcl_measure *m);

void tcl_measure_status(struct tcl_measure *m, struct tcl_measure_status *st);

/* The attestor acknowledged the log up to log offset @offset (it replayed everything before
 * it against a quote): with a bound, closed segments before it may now be deleted (the worker
 * does it). Offsets only grow; a smaller one is ignored. Without an attestor nobody calls
 * this, and nothing is ever deleted (docs/measurement-log.md). */
void tcl_measure_set_acked(struct tcl_measure *m, uint64_t offset);
/* "ok", "mismatch", "log_error", "tpm_error" */
const char *tcl_measure_state_name(enum tcl_measure_state s);

/*
 * TPM2_Quote with the AK over PCRs 0-9 and the measurement PCR, sha256 bank, @nonce as
 * qualifying data (1..TCL_TPM_NONCE_MAX bytes), written to @dir as quote.msg quote.sig
 * quote.pcrs ak.pub.pem (tcl_tpm_quote_write_dir).  Serialised with the worker's extends by
 * the tpm module's lock; the quote covers the PCR as it is (call tcl_measure_flush first for a
 * quote that covers everything queued).  -ENODEV without a TPM.
 */
int tcl_measure_quote(struct tcl_measure *m, const uint8_t *nonce, size_t len, const char *dir);

/* The TPM the log is anchored in (NULL: --tpm none), for other users of the same TPM (the
 * attestation client); it locks itself, and stays valid until tcl_measure_close(). */
struct tcl_tpm *tcl_measure_tpm(struct tcl_measure *m);

/* Stop accepting, let the worker log and extend what is queued, then free everything. */
void tcl_measure_close(struct tcl_measure *m);

#endif
