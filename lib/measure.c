// SPDX-License-Identifier: GPL-2.0
/* The measurement pipeline: queue -> log append + fdatasync -> batched PCR extends; see
 * measure.h and docs/measurement-log.md. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "canonjson.h"
#include "diag.h"
#include "escape.h"
#include "hexb64.h"
#include "jsonb.h"
#include "log.h"
#include "logseg.h"
#include "measure.h"
#include "tpm.h"
#include "util.h"

#define SUB "measure"

#define PENDING_MAX	(16u << 20)	/* encoded bytes accepted but not yet logged */
#define EXTEND_CHUNK	64		/* extends between two looks at the queue */
#define SEEN_MAX	(1u << 26)	/* seen-set slots; past that, files are measured again */
#define CID_MAX		256		/* container ids are 64 hex digits in practice */
#define ENTRY_OVERHEAD	128		/* header, d-ng and length fields of one entry */
#define RETRY_MIN_MS	100
#define RETRY_MAX_MS	30000
#define TAIL_SAVE_MAX	(4u << 20)	/* a non-zero torn tail is less than one entry */
#define REFUSED_PATH_MAX	4096		/* path bytes an exec_refused entry keeps */
#define LOST_JSON_MAX	64		/* {"count":<20 digits>,"source":"kernel"} */

/* (container, file digest) pairs already in the log: open addressing on 128 bits of
 * SHA-256(container id NUL digest), enough that nobody can craft a file that collides with
 * one already measured and so escapes the log. */
struct seen {
	uint8_t (*key)[16];	/* all-zero slot = empty */
	size_t cap;		/* power of two; 0 before the first insert */
	size_t n;
	bool full_warned;
};

struct tcl_measure {
	char *log_path;
	uint32_t pcr;
	struct tcl_tpm *tpm;		/* NULL: not anchored */
	/* The PCR's allocated banks (sha256 always among them), as log algorithms. */
	enum tcl_log_alg banks[TCL_LOG_NR_ALGS];
	size_t n_banks;
	struct tcl_log *log;		/* NULL when the log was found corrupt */
	unsigned int queue_max;
	int block_ms;
	unsigned int test_exit_after_appends;
	unsigned int test_append_delay_ms;
	uint64_t max_bytes;		/* the log's bound, 0: none */
	struct tcl_tpm_digests *dv;	/* EXTEND_CHUNK, the worker's */

	pthread_t worker;
	bool worker_started;

	pthread_mutex_t ak_lock;	/* quotes; the tpm module serialises the commands */
	bool ak_ok;

	pthread_mutex_t lock;		/* everything below */
	pthread_cond_t work;		/* to the worker: entries queued, or stop */
	pthread_cond_t progress;	/* to callers: appended, extended, room, halted */
	bool stop;
	enum tcl_measure_state state;
	char why[TCL_MEASURE_WHY_MAX];
	struct tcl_log_buf pending;	/* encoded, not yet logged */
	struct tcl_log_buf writing;	/* the worker's, swapped with pending */
	/* Digests of every entry accepted and not yet extended, slot = seq % queue_max.
	 * Sequence numbers count entries since open: ext <= app <= enq. */
	struct tcl_log_digests *ring;
	uint64_t enq, app, ext;
	struct timespec retry_at;	/* TPM_ERROR: next extend attempt */
	unsigned int backoff_ms;
	struct seen seen;
	size_t base_entries;		/* in the log (and extended) when the worker started */
	uint64_t log_bytes;
	uint64_t log_start, log_disk_bytes, segments_deleted;
	bool log_over_bound;
	uint64_t acked, acked_seen;	/* log offset the attestor acknowledged; the worker's */
	uint64_t measured, deduped, dropped, refused, recovered, appends;
	/* Records lost per source (enum tcl_measure_lost_source) whose records_lost entry is
	 * not queued yet, and what the queued ones counted. */
	uint64_t lost_pending[TCL_MEASURE_LOST_SOURCES];
	uint64_t lost_logged;
	uint64_t lost_enq;		/* enq after the last records_lost entry queued */
	uint64_t extend_batches, extend_failures;
	uint64_t extend_hist[TCL_MEASURE_EXTEND_BUCKETS + 1];
	double extend_seconds;
};

const char *tcl_measure_state_name(enum tcl_measure_state s)
{
	switch (s) {
	case TCL_MEASURE_OK:
		return "ok";
	case TCL_MEASURE_MISMATCH:
		return "mismatch";
	case TCL_MEASURE_LOG_ERROR:
		return "log_error";
	case TCL_MEASURE_TPM_ERROR:
		return "tpm_error";
	}
	return "unknown";
}

/* Record why the pipeline changed state; logged here, once. Caller holds m->lock (or owns
 * m alone, during open). */
static void __attribute__((format(printf, 3, 4)))
set_state(struct tcl_measure *m, enum tcl_measure_state st, const char *fmt, ...)
{
	va_list ap;

	m->state = st;
	va_start(ap, fmt);
	vsnprintf(m->why, sizeof(m->why), fmt, ap);
	va_end(ap);
	pr_err(SUB, "%s", m->why);
}

static void ts_add_ms(struct timespec *ts, unsigned int ms)
{
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static bool ts_reached(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* ---- seen set ---- */

static bool slot_empty(const uint8_t k[16])
{
	static const uint8_t zero[16];

	return !memcmp(k, zero, 16);
}

/* The key of (container, digest) that ran; @refused: of a refusal, a key of its own (one more
 * input byte), so that a refused digest that later runs (audit mode) is still measured. */
static int seen_key_of(const char *cid, size_t cid_len, const uint8_t digest[32], bool refused,
		       uint8_t key[16])
{
	uint8_t in[CID_MAX + 1 + 32 + 1], h[32];

	if (cid_len > CID_MAX)
		return -EINVAL;
	memcpy(in, cid, cid_len);
	in[cid_len] = '\0';
	memcpy(in + cid_len + 1, digest, 32);
	in[cid_len + 1 + 32] = 'R';
	if (!EVP_Digest(in, cid_len + 1 + 32 + refused, h, NULL, EVP_sha256(), NULL))
		return -EIO;
	memcpy(key, h, 16);
	if (slot_empty(key))
		key[0] = 1;	/* zero marks an empty slot */
	return 0;
}

static int seen_key(const char *cid, size_t cid_len, const uint8_t digest[32], uint8_t key[16])
{
	return seen_key_of(cid, cid_len, digest, false, key);
}

static size_t seen_slot(const struct seen *s, const uint8_t key[16])
{
	uint64_t v;

	memcpy(&v, key, sizeof(v));
	return v & (s->cap - 1);
}

static bool seen_has(const struct seen *s, const uint8_t key[16])
{
	size_t i;

	if (!s->cap)
		return false;
	for (i = seen_slot(s, key); !slot_empty(s->key[i]); i = (i + 1) & (s->cap - 1))
		if (!memcmp(s->key[i], key, 16))
			return true;
	return false;
}

static void seen_put(struct seen *s, const uint8_t key[16])
{
	size_t i = seen_slot(s, key);

	while (!slot_empty(s->key[i]))
		i = (i + 1) & (s->cap - 1);
	memcpy(s->key[i], key, 16);
	s->n++;
}

/* 0, or -ENOSPC when the set is at its bound (the file will simply be measured again on its
 * next exec), -ENOMEM. Does not check for presence. */
static int seen_add(struct seen *s, const uint8_t key[16])
{
	if ((s->n + 1) * 2 > s->cap) {
		struct seen bigger = { .cap = s->cap ? s->cap * 2 : 1024 };

		if (bigger.cap > SEEN_MAX) {
			if (!s->full_warned)
				pr_warn(SUB, "dedup set full (%zu files): further files are "
					"measured on every exec", s->n);
			s->full_warned = true;
			return -ENOSPC;
		}
		bigger.key = calloc(bigger.cap, sizeof(*bigger.key));
		if (!bigger.key)
			return -ENOMEM;
		for (size_t i = 0; i < s->cap; i++)
			if (!slot_empty(s->key[i]))
				seen_put(&bigger, s->key[i]);
		free(s->key);
		s->key = bigger.key;
		s->cap = bigger.cap;
	}
	seen_put(s, key);
	return 0;
}

static void seen_free(struct seen *s)
{
	free(s->key);
	memset(s, 0, sizeof(*s));
}

/* ---- names ---- */

/* "<cid>:<path>" or "<path>" into @out (TCL_LOG_NAME_MAX bytes with the NUL). An over-long
 * path keeps its end behind "...": a long path must never cost the measurement. */
static int file_name(const char *cid, size_t cl, const char *path, char *out)
{
	size_t pl = strlen(path), room = TCL_LOG_NAME_MAX - 1;
	char *p = out;

	if (cl) {
		memcpy(p, cid, cl);
		p[cl] = ':';
		p += cl + 1;
		room -= cl + 1;
	}
	if (!pl) {
		path = "(unknown)";
		pl = strlen(path);
	}
	if (pl > room) {
		memcpy(p, "...", 3);
		memcpy(p + 3, path + pl - (room - 3), room - 3);
		p += room;
	} else {
		memcpy(p, path, pl);
		p += pl;
	}
	*p = '\0';
	return 0;
}

/* The container id an ima-ng name was written for: "" for host paths ("/..."), NULL when the
 * name is not one of ours (boot_aggregate, or a host path without a leading '/', which then
 * may be measured once more after a restart: harmless). */
static const char *name_cid(const char *name, size_t *cl)
{
	const char *colon;

	*cl = 0;
	if (name[0] == '/')
		return "";
	colon = strchr(name, ':');
	if (!colon || colon == name || (size_t)(colon - name) > CID_MAX ||
	    memchr(name, '/', colon - name))
		return NULL;
	*cl = colon - name;
	return name;
}

/* ---- records lost ---- */

static const char *const lost_source_name[TCL_MEASURE_LOST_SOURCES] = {
	[TCL_MEASURE_LOST_AGENT] = "agent",
	[TCL_MEASURE_LOST_KERNEL] = "kernel",
};

static bool room(const struct tcl_measure *m, size_t est);

static bool lost_any(const struct tcl_measure *m)
{
	for (int i = 0; i < TCL_MEASURE_LOST_SOURCES; i++)
		if (m->lost_pending[i])
			return true;
	return false;
}

/* Under m->lock: @n measurements were lost by this pipeline. */
static void lost_add(struct tcl_measure *m, enum tcl_measure_lost_source src, uint64_t n)
{
	m->lost_pending[src] = m->lost_pending[src] + n < m->lost_pending[src] ?
			       UINT64_MAX : m->lost_pending[src] + n;
}

/* Under m->lock, with the pipeline accepting (OK or TPM_ERROR): queue a records_lost entry
 * for each source with a pending count, as long as there is room.  Not counted as measured:
 * status.entries shows them, status.lost_logged what they counted. */
static void lost_flush(struct tcl_measure *m)
{
	for (int i = 0; i < TCL_MEASURE_LOST_SOURCES; i++) {
		struct tcl_log_digests d;
		char json[LOST_JSON_MAX];
		int len, err;

		if (!m->lost_pending[i])
			continue;
		len = snprintf(json, sizeof(json), "{\"count\":%llu,\"source\":\"%s\"}",
			       (unsigned long long)m->lost_pending[i], lost_source_name[i]);
		if (!room(m, ENTRY_OVERHEAD + sizeof(TCL_MEASURE_RECORDS_LOST) + len))
			return;
		err = tcl_log_encode_buf(&m->pending, m->pcr, TCL_MEASURE_RECORDS_LOST, json, len,
					 &d);
		if (err) {
			/* Kept pending: the next look tries again. */
			pr_err(SUB, "cannot encode a records_lost entry: %s", strerror(-err));
			return;
		}
		pr_warn(SUB, "%llu record(s) lost by the %s: logged as %s",
			(unsigned long long)m->lost_pending[i], lost_source_name[i],
			TCL_MEASURE_RECORDS_LOST);
		m->lost_logged += m->lost_pending[i];
		m->lost_pending[i] = 0;
		m->ring[m->enq % m->queue_max] = d;
		m->enq++;
		m->lost_enq = m->enq;
		pthread_cond_signal(&m->work);
	}
}

/* ---- the worker ---- */

static uint16_t tpm_alg_of(enum tcl_log_alg a)
{
	return tcl_tpm_alg_by_name(tcl_log_alg_name(a));
}

static void to_tpm(const struct tcl_log_digests *d, struct tcl_tpm_digests *t)
{
	/* Every bank's digest: the extend uses those of the allocated banks. */
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < TCL_LOG_NR_ALGS; i++)
		tcl_tpm_digests_add(t, tpm_alg_of(i), tcl_log_digest_of(d, i));
}

/* Close a full segment, delete acknowledged ones past the bound; under m->lock, dropped
 * around the files. A failure leaves the log longer, never shorter: it is logged and the
 * next append tries again (a segment that cannot be started halts appends: LOG_ERROR). */
static void do_maintain(struct tcl_measure *m)
{
	struct tcl_log_maint r;
	uint64_t acked = m->acked;

	m->acked_seen = acked;
	pthread_mutex_unlock(&m->lock);
	tcl_log_maintain(m->log, acked, &r);
	pthread_mutex_lock(&m->lock);
	m->segments_deleted += r.deleted;
	m->log_over_bound = r.over_bound;
	m->log_bytes = tcl_log_size(m->log);
	m->log_start = tcl_log_start(m->log);
	m->log_disk_bytes = tcl_log_disk_bytes(m->log);
}

/* Log what was queued; under m->lock, dropped around the write. false on failure. */
static bool do_append(struct tcl_measure *m, unsigned int *appends)
{
	uint64_t n = m->enq - m->app;
	struct tcl_log_buf t = m->writing;
	int err;

	m->writing = m->pending;
	m->pending = t;
	pthread_mutex_unlock(&m->lock);
	if (m->test_append_delay_ms)
		sleep_ms(m->test_append_delay_ms);
	err = tcl_log_append(m->log, m->writing.p, m->writing.len);
	m->writing.len = 0;
	pthread_mutex_lock(&m->lock);
	if (err) {
		/* What is on disk after a failed write or fdatasync is unknown: stop here and
		 * let a restart reopen (and repair) the log. */
		m->dropped += m->enq - m->app;
		m->pending.len = 0;
		m->enq = m->app;
		set_state(m, TCL_MEASURE_LOG_ERROR, "appending to %s failed (%s): %llu "
			  "measurements lost, no more appends until the agent is restarted",
			  m->log_path, strerror(-err), (unsigned long long)n);
		pthread_cond_broadcast(&m->progress);
		return false;
	}
	m->app += n;
	m->appends++;
	do_maintain(m);
	if (!m->tpm)
		m->ext = m->app;
	if (m->test_exit_after_appends && ++*appends >= m->test_exit_after_appends) {
		/* Test hook: the crash window between fdatasync and extend. */
		fprintf(stderr, "%s: measure: test hook: exiting after append %u, before its "
			"extends\n", tcl_prog, *appends);
		_exit(99);
	}
	pthread_cond_broadcast(&m->progress);
	return true;
}

/* One tcl_tpm_extend_batch call for the status (metrics); under m->lock. */
static void count_extend(struct tcl_measure *m, double secs, int err)
{
	static const double bounds[TCL_MEASURE_EXTEND_BUCKETS] = TCL_MEASURE_EXTEND_BOUNDS_S;
	int b = 0;

	while (b < TCL_MEASURE_EXTEND_BUCKETS && secs > bounds[b])
		b++;
	m->extend_hist[b]++;
	m->extend_seconds += secs;
	m->extend_batches++;
	m->extend_failures += err != 0;
}

/* Extend up to EXTEND_CHUNK logged entries; under m->lock, dropped around the TPM. */
static bool do_extend(struct tcl_measure *m)
{
	struct timespec t0, t1;
	size_t k = m->app - m->ext, done = 0;
	int err;

	if (k > EXTEND_CHUNK)
		k = EXTEND_CHUNK;
	for (size_t i = 0; i < k; i++)
		to_tpm(&m->ring[(m->ext + i) % m->queue_max], &m->dv[i]);
	pthread_mutex_unlock(&m->lock);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = tcl_tpm_extend_batch(m->tpm, m->pcr, m->dv, k, &done);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_mutex_lock(&m->lock);
	m->ext += done;
	count_extend(m, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, err);
	if (!err) {
		if (m->state == TCL_MEASURE_TPM_ERROR) {
			pr_info(SUB, "PCR %u extends work again", m->pcr);
			m->state = TCL_MEASURE_OK;
			m->why[0] = '\0';
		}
		m->backoff_ms = 0;
		pthread_cond_broadcast(&m->progress);
		return true;
	}
	m->backoff_ms = m->backoff_ms ? m->backoff_ms * 2 : RETRY_MIN_MS;
	if (m->backoff_ms > RETRY_MAX_MS)
		m->backoff_ms = RETRY_MAX_MS;
	clock_gettime(CLOCK_MONOTONIC, &m->retry_at);
	ts_add_ms(&m->retry_at, m->backoff_ms);
	if (m->state == TCL_MEASURE_OK)
		set_state(m, TCL_MEASURE_TPM_ERROR, "extending PCR %u failed (%s): entries are "
			  "still logged, their extends are retried; a restart also completes them",
			  m->pcr, strerror(-err));
	pthread_cond_broadcast(&m->progress);
	return false;
}

static void *worker_main(void *arg)
{
	struct tcl_measure *m = arg;
	unsigned int appends = 0;

	pthread_mutex_lock(&m->lock);
	for (;;) {
		bool worked = false, extend_due;

		if (m->state == TCL_MEASURE_LOG_ERROR) {
			/* What did reach the log still goes into the PCR. */
			while (m->tpm && m->ext < m->app && do_extend(m))
				;
			break;
		}
		/* Room again after a loss: the loss goes into the log before anything else. */
		if (lost_any(m))
			lost_flush(m);
		if (m->app < m->enq) {
			if (!do_append(m, &appends))
				continue;
			worked = true;
		} else if (m->acked != m->acked_seen) {
			do_maintain(m);
			worked = true;
		}
		extend_due = m->tpm && m->ext < m->app &&
			     (m->state == TCL_MEASURE_OK || (!m->stop && ts_reached(&m->retry_at)));
		if (extend_due && do_extend(m))
			worked = true;
		if (worked)
			continue;
		/* On stop, a failing TPM is not waited for: the next start extends the rest. */
		if (m->stop && m->app == m->enq &&
		    (m->ext == m->app || m->state != TCL_MEASURE_OK))
			break;
		if (m->tpm && m->ext < m->app && m->state == TCL_MEASURE_TPM_ERROR && !m->stop)
			pthread_cond_timedwait(&m->work, &m->lock, &m->retry_at);
		else
			pthread_cond_wait(&m->work, &m->lock);
	}
	if (lost_any(m))
		pr_err(SUB, "stopping with records lost that the log does not show yet (no room "
		       "for a %s entry)", TCL_MEASURE_RECORDS_LOST);
	pthread_cond_broadcast(&m->progress);
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/* ---- queueing ---- */

/* Under m->lock: why nothing can be accepted now, or 0. */
static int refuse_err(struct tcl_measure *m)
{
	if (m->state == TCL_MEASURE_MISMATCH || m->state == TCL_MEASURE_LOG_ERROR) {
		m->refused++;
		return -ENOTRECOVERABLE;
	}
	if (m->stop)
		return -ESHUTDOWN;
	return 0;
}

/* Room for one more entry of about @est bytes. */
static bool room(const struct tcl_measure *m, size_t est)
{
	uint64_t base = m->tpm ? m->ext : m->app;

	return m->enq - base < m->queue_max &&
	       (!m->pending.len || m->pending.len + est <= PENDING_MAX);
}

/* Under m->lock: wait at most block_ms for room for one entry of about @est bytes. */
static int wait_room(struct tcl_measure *m, size_t est, bool *waited)
{
	struct timespec dl;
	bool have_dl = false;
	int err;

	*waited = false;
	for (;;) {
		err = refuse_err(m);
		if (err)
			return err;
		/* A pending loss is queued first: the caller's entry comes after it. */
		if (lost_any(m) && room(m, est))
			lost_flush(m);
		if (room(m, est))
			return 0;
		if (m->block_ms < 0 || (have_dl && ts_reached(&dl)))
			break;
		if (!have_dl) {
			clock_gettime(CLOCK_MONOTONIC, &dl);
			ts_add_ms(&dl, m->block_ms);
			have_dl = true;
		}
		*waited = true;
		pthread_cond_timedwait(&m->progress, &m->lock, &dl);
	}
	m->dropped++;
	lost_add(m, TCL_MEASURE_LOST_AGENT, 1);
	/* Every drop is counted in status; the log line is rate-limited to powers of two. */
	if (!(m->dropped & (m->dropped - 1)))
		pr_warn(SUB, "queue full (%u measurements waiting for the log/TPM): %llu "
			"measurement(s) dropped so far, counted in records_lost entries once "
			"there is room", m->queue_max,
			(unsigned long long)m->dropped);
	return -ENOBUFS;
}

/* Under m->lock: the entry was just encoded into pending with digests @d. */
static void push(struct tcl_measure *m, const struct tcl_log_digests *d)
{
	m->ring[m->enq % m->queue_max] = *d;
	m->enq++;
	m->measured++;
	pthread_cond_signal(&m->work);
}

/* Under m->lock: the caller's measurement is not logged, and the log says so. */
static int encode_failed(struct tcl_measure *m, int err)
{
	m->dropped++;
	lost_add(m, TCL_MEASURE_LOST_AGENT, 1);
	pr_err(SUB, "cannot encode a measurement: %s", strerror(-err));
	pthread_cond_signal(&m->work);
	return err;
}

/* What a file's entry needs: a path, its digest, and a container id (@len bytes, 0 for the host)
 * that an entry can carry: not too long, no ':' or '/' (its name's separators). */
static int check_file_args(const struct tcl_measure *m, const char *cid, size_t len,
			   const char *path, const uint8_t *sha256)
{
	if (!m || !path || !sha256)
		return -EINVAL;
	if (len > CID_MAX || (len && strpbrk(cid, ":/"))) {
		pr_err(SUB, "container id \"%.64s\" is not one (too long, or has ':' or '/')",
		       cid);
		return -EINVAL;
	}
	return 0;
}

/* Under m->lock, before an entry of about @est bytes for the (container, digest) @key: false
 * when it is not to be queued, *err 0 (measured already: deduplicated) or -errno (no room);
 * true when there is room and the pair is new. Waiting for room releases the lock: another
 * thread may have measured the same pair meanwhile, so the check is made again. */
static bool room_unseen(struct tcl_measure *m, const uint8_t key[16], size_t est, int *err)
{
	bool waited;

	*err = 0;
	if (seen_has(&m->seen, key)) {
		m->deduped++;
		return false;
	}
	*err = wait_room(m, est, &waited);
	if (*err)
		return false;
	if (waited && seen_has(&m->seen, key)) {
		m->deduped++;
		return false;
	}
	return true;
}

/* Under m->lock, after room_unseen: queue the entry just encoded into m->pending (@err, its
 * encoder's return; @d its digests) and remember its (container, digest) @key. */
static int queue_new(struct tcl_measure *m, int err, const struct tcl_log_digests *d,
		     const uint8_t key[16])
{
	if (err)
		return encode_failed(m, err);
	push(m, d);
	/* Not remembering it only costs a second measurement later. */
	seen_add(&m->seen, key);
	return 0;
}

int tcl_measure_file(struct tcl_measure *m, const char *container_id, const char *path,
		     const uint8_t sha256[32])
{
	char name[TCL_LOG_NAME_MAX];
	struct tcl_log_digests d;
	size_t cl = container_id ? strlen(container_id) : 0;
	uint8_t key[16];
	int err;

	if (check_file_args(m, container_id, cl, path, sha256))
		return -EINVAL;
	file_name(container_id, cl, path, name);
	err = seen_key(cl ? container_id : "", cl, sha256, key);
	if (err)
		return err;

	pthread_mutex_lock(&m->lock);
	err = refuse_err(m);
	if (err)
		goto out;
	if (!room_unseen(m, key, ENTRY_OVERHEAD + strlen(name), &err))
		goto out;
	err = queue_new(m, tcl_log_encode_ng(&m->pending, m->pcr, sha256, name, &d), &d, key);
out:
	pthread_mutex_unlock(&m->lock);
	return err;
}

/* The buffer must be what canonjson would write for it, or nobody could recompute it. */
static int check_canonical(const char *json, size_t len)
{
	struct json_object *o = NULL;
	char *canon = NULL;
	size_t cl;
	int err;

	err = tcl_json_parse("measurement buffer", json, len, TCL_LOG_DATA_MAX, &o);
	if (err)
		return -EINVAL;
	err = tcl_canon_json(o, &canon, &cl);
	if (!err && (cl != len || memcmp(canon, json, len))) {
		pr_err(SUB, "measurement buffer is JSON but not canonical JSON");
		err = -EINVAL;
	}
	free(canon);
	json_object_put(o);
	return err ? -EINVAL : 0;
}

int tcl_measure_buf(struct tcl_measure *m, const char *event_name, const char *canonical_json)
{
	struct tcl_log_digests d;
	size_t nl, jl;
	bool waited;
	int err;

	if (!m || !event_name || !canonical_json)
		return -EINVAL;
	nl = strnlen(event_name, TCL_LOG_NAME_MAX);
	if (!nl || nl >= TCL_LOG_NAME_MAX) {
		pr_err(SUB, "measurement event name is empty or longer than %d bytes",
		       TCL_LOG_NAME_MAX - 1);
		return -EINVAL;
	}
	jl = strnlen(canonical_json, TCL_LOG_DATA_MAX + 1);
	if (jl + nl + ENTRY_OVERHEAD > TCL_LOG_DATA_MAX) {
		pr_err(SUB, "%s: measurement buffer larger than the log's %u-byte entries",
		       event_name, TCL_LOG_DATA_MAX);
		return -E2BIG;
	}
	err = check_canonical(canonical_json, jl);
	if (err)
		return err;

	pthread_mutex_lock(&m->lock);
	err = wait_room(m, ENTRY_OVERHEAD + nl + jl, &waited);
	if (err)
		goto out;
	err = tcl_log_encode_buf(&m->pending, m->pcr, event_name, canonical_json, jl, &d);
	if (err) {
		err = encode_failed(m, err);
		goto out;
	}
	push(m, &d);
out:
	pthread_mutex_unlock(&m->lock);
	return err;
}

/* The exec_refused buffer: {"container_id","digest","hook","path","reason"} as canonical JSON
 * (container_id left out for the host).  The path is the kernel's bytes made valid UTF-8
 * (invalid sequences as U+FFFD): a tenant's file name must not cost the entry. */
static int refused_json(const char *cid, const char *path, const uint8_t sha256[32],
			const char *hook, const char *reason, char **out, size_t *len)
{
	char *esc = malloc(3 * REFUSED_PATH_MAX + 5), dg[8 + 65];
	json_object *o = json_object_new_object();
	int err = -ENOMEM;

	*out = NULL;
	if (!esc || !o)
		goto out;
	tcl_esc_utf8(path, REFUSED_PATH_MAX, esc, 3 * REFUSED_PATH_MAX + 5);
	memcpy(dg, "sha256:", 7);
	tcl_hex(sha256, 32, dg + 7);
	if (tcl_json_add_str_opt(o, "container_id", cid) ||
	    tcl_json_add_str(o, "digest", dg) ||
	    tcl_json_add_str(o, "hook", hook && *hook ? hook : "unknown") ||
	    tcl_json_add_str(o, "path", *esc ? esc : "(unknown)") ||
	    tcl_json_add_str(o, "reason", reason && *reason ? reason : "unknown"))
		goto out;
	err = tcl_canon_json(o, out, len);
out:
	json_object_put(o);
	free(esc);
	return err;
}

int tcl_measure_refused(struct tcl_measure *m, const char *container_id, const char *path,
			const uint8_t sha256[32], const char *hook, const char *reason)
{
	struct tcl_log_digests d;
	size_t cl = container_id ? strlen(container_id) : 0, jl = 0;
	char *json = NULL;
	uint8_t key[16];
	bool known;
	int err;

	if (check_file_args(m, container_id, cl, path, sha256))
		return -EINVAL;
	err = seen_key_of(cl ? container_id : "", cl, sha256, true, key);
	if (err)
		return err;
	/* A tenant retrying a refused exec is the common case: no JSON for a known pair. */
	pthread_mutex_lock(&m->lock);
	err = refuse_err(m);
	known = !err && seen_has(&m->seen, key);
	if (known)
		m->deduped++;
	pthread_mutex_unlock(&m->lock);
	if (err || known)
		return err;
	err = refused_json(container_id, path, sha256, hook, reason, &json, &jl);
	if (err == -EINVAL)	/* hook or reason not UTF-8: the caller's bug */
		return err;

	pthread_mutex_lock(&m->lock);
	err = err ? err : refuse_err(m);
	if (err == -ENOMEM) {
		err = encode_failed(m, err);
		goto out;
	}
	if (err)
		goto out;
	if (!room_unseen(m, key, ENTRY_OVERHEAD + sizeof(TCL_MEASURE_EXEC_REFUSED) + jl, &err))
		goto out;
	err = queue_new(m, tcl_log_encode_buf(&m->pending, m->pcr, TCL_MEASURE_EXEC_REFUSED, json,
					      jl, &d), &d, key);
out:
	pthread_mutex_unlock(&m->lock);
	free(json);
	return err;
}

int tcl_measure_lost(struct tcl_measure *m, enum tcl_measure_lost_source src, uint64_t count)
{
	int err = 0;

	if (!m || (unsigned int)src >= TCL_MEASURE_LOST_SOURCES || !count)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	lost_add(m, src, count);
	if (m->state == TCL_MEASURE_MISMATCH || m->state == TCL_MEASURE_LOG_ERROR)
		err = -ENOTRECOVERABLE;
	else if (!m->stop)
		lost_flush(m);	/* or the worker, once there is room */
	pthread_mutex_unlock(&m->lock);
	return err;
}

int tcl_measure_flush(struct tcl_measure *m)
{
	uint64_t target;
	bool lost;
	int err;

	pthread_mutex_lock(&m->lock);
	target = m->enq;
	/* A loss counted before the call is part of "everything": its records_lost entry too. */
	lost = lost_any(m);
	for (;;) {
		if (m->state == TCL_MEASURE_MISMATCH || m->state == TCL_MEASURE_LOG_ERROR) {
			err = -ENOTRECOVERABLE;
			break;
		}
		if (lost) {
			lost_flush(m);
			if (!lost_any(m)) {
				lost = false;
				if (m->lost_enq > target)
					target = m->lost_enq;
			} else if (room(m, ENTRY_OVERHEAD + TCL_LOG_NAME_MAX)) {
				lost = false;	/* room, no entry: encoding failed */
			} else if (m->state == TCL_MEASURE_TPM_ERROR && m->app >= target) {
				err = -EIO;	/* no room until extends work again */
				break;
			}
		}
		if (!lost && m->app >= target) {
			if (!m->tpm || m->ext >= target) {
				err = 0;
				break;
			}
			if (m->state == TCL_MEASURE_TPM_ERROR) {
				err = -EIO;
				break;
			}
		}
		pthread_cond_wait(&m->progress, &m->lock);
	}
	pthread_mutex_unlock(&m->lock);
	return err;
}

void tcl_measure_status(struct tcl_measure *m, struct tcl_measure_status *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&m->lock);
	st->state = m->state;
	memcpy(st->why, m->why, sizeof(st->why));
	st->anchored = m->tpm != NULL;
	st->pcr = m->pcr;
	st->entries = m->base_entries + m->app;
	st->extended = m->tpm ? m->base_entries + m->ext : st->entries;
	st->queued = m->enq - m->app;
	st->log_bytes = m->log_bytes;
	st->log_start = m->log_start;
	st->log_disk_bytes = m->log_disk_bytes;
	st->log_max_bytes = m->max_bytes;
	st->log_acked = m->acked;
	st->segments_deleted = m->segments_deleted;
	st->log_over_bound = m->log_over_bound;
	st->measured = m->measured;
	st->deduped = m->deduped;
	st->dropped = m->dropped;
	st->refused = m->refused;
	st->recovered = m->recovered;
	st->appends = m->appends;
	for (int i = 0; i < TCL_MEASURE_LOST_SOURCES; i++)
		st->lost_pending += m->lost_pending[i];
	st->lost_logged = m->lost_logged;
	st->extend_batches = m->extend_batches;
	st->extend_failures = m->extend_failures;
	st->extended_since_open = m->tpm ? m->ext : 0;
	memcpy(st->extend_hist, m->extend_hist, sizeof(st->extend_hist));
	st->extend_seconds = m->extend_seconds;
	pthread_mutex_unlock(&m->lock);
}

void tcl_measure_set_acked(struct tcl_measure *m, uint64_t offset)
{
	pthread_mutex_lock(&m->lock);
	if (offset > m->acked) {
		m->acked = offset;
		pthread_cond_signal(&m->work);
	}
	pthread_mutex_unlock(&m->lock);
}

/* ---- quotes ---- */

int tcl_measure_quote(struct tcl_measure *m, const uint8_t *nonce, size_t len, const char *dir)
{
	struct tcl_tpm_quote *q = NULL;
	struct tcl_tpm_ak ak;
	char *pem = NULL;
	int err;

	if (!m->tpm) {
		pr_err(SUB, "no TPM (--tpm none): nothing can be quoted");
		return -ENODEV;
	}
	if (!nonce || !len || len > TCL_TPM_NONCE_MAX || !dir) {
		pr_err(SUB, "quote: the nonce must be 1 to %d bytes", TCL_TPM_NONCE_MAX);
		return -EINVAL;
	}
	q = malloc(sizeof(*q));
	if (!q)
		return -ENOMEM;
	pthread_mutex_lock(&m->ak_lock);
	if (!m->ak_ok) {
		err = tcl_tpm_ak_ensure(m->tpm, 0, &ak);
		if (err)
			goto out;
		m->ak_ok = true;
	}
	err = tcl_tpm_quote(m->tpm, nonce, len, TCL_TPM_ALG_SHA256, 0x3ffu | 1u << m->pcr, q);
	if (!err)
		err = tcl_tpm_ak_public_pem(m->tpm, &pem);
	if (!err)
		err = tcl_tpm_quote_write_dir(q, pem, dir);
out:
	pthread_mutex_unlock(&m->ak_lock);
	free(pem);
	free(q);
	return err;
}

/* ---- open ---- */

struct scan {
	struct tcl_measure *m;
	size_t entries;
	size_t other;			/* entries on another PCR */
	uint32_t other_pcr;
	bool first_is_aggregate;
	bool from_ckpt;
	uint8_t aggregate[32];
	int err;
};

/* An exec_refused entry of ours: its (container, digest) refusal key joins the seen set.  One
 * that does not parse is skipped: the cost is one more entry for the same refusal. */
static int scan_refused(struct tcl_measure *m, const struct tcl_log_entry *e)
{
	struct json_object *o = NULL, *v;
	const char *cid = "", *dg;
	uint8_t digest[32], key[16];
	int err = 0;

	if (tcl_json_parse("exec_refused record", (const char *)e->buf, e->buf_len,
			   TCL_LOG_DATA_MAX, &o) || !json_object_is_type(o, json_type_object))
		goto out;
	if (json_object_object_get_ex(o, "container_id", &v)) {
		if (!json_object_is_type(v, json_type_string))
			goto out;
		cid = json_object_get_string(v);
	}
	if (!json_object_object_get_ex(o, "digest", &v) ||
	    !json_object_is_type(v, json_type_string))
		goto out;
	dg = json_object_get_string(v);
	if (strncmp(dg, "sha256:", 7) || tcl_unhex(dg + 7, digest, 32) ||
	    strlen(cid) > CID_MAX || seen_key_of(cid, strlen(cid), digest, true, key))
		goto out;
	if (!seen_has(&m->seen, key)) {
		err = seen_add(&m->seen, key);
		if (err == -ENOSPC)
			err = 0;
	}
out:
	json_object_put(o);
	return err;
}

static int scan_cb(const struct tcl_log_entry *e, uint64_t off, void *arg)
{
	struct scan *sc = arg;
	bool ng = !strcmp(e->template_name, "ima-ng");
	bool sha256 = !strcmp(e->digest_algo, "sha256") && e->digest_len == 32;
	const char *cid;
	uint8_t key[16];
	size_t cl;
	int err;

	if (!sc->entries++) {
		/* after a checkpoint (segments deleted) the log starts elsewhere */
		sc->from_ckpt = off != 0;
		sc->first_is_aggregate = ng && sha256 && !strcmp(e->name, "boot_aggregate");
		if (sc->first_is_aggregate)
			memcpy(sc->aggregate, e->digest, 32);
	}
	if (e->pcr != sc->m->pcr) {
		sc->other++;
		sc->other_pcr = e->pcr;
		return 0;
	}
	if (e->buf && !strcmp(e->name, TCL_MEASURE_EXEC_REFUSED))
		return scan_refused(sc->m, e);
	if (!ng || !sha256 || !(cid = name_cid(e->name, &cl)))
		return 0;
	err = seen_key(cid, cl, e->digest, key);
	if (!err && !seen_has(&sc->m->seen, key)) {
		err = seen_add(&sc->m->seen, key);
		if (err == -ENOSPC)
			err = 0;
	}
	return err;
}

static int check_banks(struct tcl_measure *m)
{
	uint16_t algs[TCL_TPM_MAX_BANKS];
	size_t n = TCL_TPM_MAX_BANKS;
	bool has256 = false;
	int err;

	err = tcl_tpm_banks(m->tpm, m->pcr, algs, &n);
	if (err)
		return err;
	m->n_banks = 0;
	for (size_t i = 0; i < n; i++) {
		const char *an = tcl_tpm_alg_name(algs[i]);
		int alg = tcl_log_alg_from_name(an);

		if (alg < 0 || m->n_banks == TCL_LOG_NR_ALGS) {
			/* sm3_256 and the sha3 banks: not replayed by tcl (OpenSSL builds may
			 * lack SM3), so they could never be verified. */
			pr_err(SUB, "PCR %u has the %s bank allocated; tcl extends and replays the "
			       "sha1, sha256, sha384 and sha512 banks only: deallocate it "
			       "(tpm2_pcrallocate) or run with --tpm none", m->pcr,
			       an ? an : "unknown");
			return -EOPNOTSUPP;
		}
		has256 |= alg == TCL_LOG_SHA256;
		m->banks[m->n_banks++] = alg;
	}
	if (!has256) {
		pr_err(SUB, "PCR %u has no sha256 bank allocated", m->pcr);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* IMA's boot_aggregate from the live sha256 bank of PCRs 0-9; zeros without a TPM. */
static int current_aggregate(struct tcl_measure *m, uint8_t out[32])
{
	uint8_t v[10 * 32];
	size_t dlen;
	int err;

	if (!m->tpm)
		return tcl_log_boot_aggregate(NULL, out);
	err = tcl_tpm_pcr_read_many(m->tpm, TCL_TPM_ALG_SHA256, 0x3ff, v, sizeof(v), &dlen);
	if (err)
		return err;
	return tcl_log_boot_aggregate((const uint8_t (*)[32])v, out);
}

/* Rebuild the dedup set and check the log's shape; sets MISMATCH when it is not ours. */
static int scan_log(struct tcl_measure *m, struct scan *sc)
{
	int err;

	seen_free(&m->seen);
	memset(sc, 0, sizeof(*sc));
	sc->m = m;
	err = tcl_log_foreach(m->log_path, scan_cb, sc, NULL);
	if (err == -EBADMSG) {
		set_state(m, TCL_MEASURE_MISMATCH, "%s changed while being opened (corrupt "
			  "entry); is another program writing it?", m->log_path);
		return 0;
	}
	if (err)
		return err;
	if (sc->other)
		set_state(m, TCL_MEASURE_MISMATCH, "%s holds %zu entries for PCR %u but this "
			  "agent measures into PCR %u: start it with the --pcr the log was "
			  "written for, or move the log aside", m->log_path, sc->other,
			  sc->other_pcr, m->pcr);
	else if (sc->entries && !sc->first_is_aggregate && !sc->from_ckpt)
		set_state(m, TCL_MEASURE_MISMATCH, "%s does not start with a sha256 "
			  "boot_aggregate entry: not a log tcl started; move it aside",
			  m->log_path);
	return 0;
}

/* The log belongs to an earlier boot: keep it under a new name and start a new one. */
static int rotate(struct tcl_measure *m, struct tcl_measure_report *r)
{
	struct tcl_log_open_report lr;
	char stamp[32], *dst = r->rotated_to;
	struct stat st;
	time_t now = time(NULL);
	struct tm tm;
	int i, err;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (i = 0; i < 100; i++) {
		if (snprintf(dst, PATH_MAX, i ? "%s.prev-%s.%d" : "%s.prev-%s", m->log_path,
			     stamp, i) >= PATH_MAX)
			return -ENAMETOOLONG;
		if (lstat(dst, &st) && errno == ENOENT)
			break;
	}
	tcl_log_close(m->log);
	m->log = NULL;
	err = i == 100 ? -EEXIST : tcl_logseg_move(m->log_path, dst);
	if (err) {
		pr_err(SUB, "cannot move %s aside to %s: %s", m->log_path, dst, strerror(-err));
		dst[0] = '\0';
		return err;
	}
	pr_warn(SUB, "PCR %u is zero but %s holds a log from before the last TPM reset "
		"(reboot) or from a run without TPM: moved it to %s, starting a new log",
		m->pcr, m->log_path, dst);
	seen_free(&m->seen);
	err = tcl_log_open(m->log_path, &m->log, &lr);
	if (!err)
		err = tcl_log_set_bound(m->log, m->pcr, m->max_bytes);
	return err;
}

/* Bring the PCR and the log into agreement, or find that they cannot be (MISMATCH). */
static int anchor(struct tcl_measure *m, struct scan *sc, const uint8_t agg[32],
		  struct tcl_measure_report *r)
{
	static const uint8_t zeros[TCL_LOG_DIGEST_MAX];
	uint8_t v[TCL_LOG_NR_ALGS][TCL_LOG_DIGEST_MAX], *v256 = v[TCL_LOG_SHA256];
	struct tcl_log_digests *rest = NULL, *rest1 = NULL;
	size_t l, matched = 0, total = 0, n_rest = 0, m1 = 0, t1 = 0, n1 = 0;
	char h[65];
	bool zero = true;
	int err;

	for (size_t i = 0; i < m->n_banks; i++) {
		enum tcl_log_alg a = m->banks[i];

		l = sizeof(v[a]);
		err = tcl_tpm_pcr_read(m->tpm, m->pcr, tpm_alg_of(a), v[a], &l);
		if (err)
			return err;
		zero &= !memcmp(v[a], zeros, tcl_log_alg_size(a));
	}
	/* A fresh log's boot_aggregate is extended before anything else is appended, so a
	 * zero PCR under more than that one entry means the TPM was reset since (a reboot). */
	if (zero && tcl_log_count(m->log) &&
	    !(tcl_log_count(m->log) == 1 && !memcmp(sc->aggregate, agg, 32))) {
		err = rotate(m, r);
		if (!err)
			err = scan_log(m, sc);
		return err;
	}

	err = tcl_log_match_prefix(m->log_path, m->pcr, TCL_LOG_SHA256, v256, &matched, &total,
				   &rest, &n_rest);
	if (err == -ENOMSG) {
		tcl_hex(v256, 8, h);
		if (total)
			set_state(m, TCL_MEASURE_MISMATCH, "PCR %u (sha256 %s...) is not the "
				  "replay of any prefix of the %zu entries in %s: the log or the "
				  "PCR was changed behind the agent's back; nothing is appended "
				  "until an operator acts", m->pcr, h, total, m->log_path);
		else
			set_state(m, TCL_MEASURE_MISMATCH, "PCR %u (sha256 %s...) was extended "
				  "but %s is empty: the log of this boot was lost, or something "
				  "else extends PCR %u; nothing is appended until an operator acts",
				  m->pcr, h, m->log_path, m->pcr);
		return 0;
	}
	if (err)
		goto out;
	/* Every other bank must be the replay of the same prefix. */
	for (size_t i = 0; i < m->n_banks; i++) {
		enum tcl_log_alg a = m->banks[i];

		if (a == TCL_LOG_SHA256)
			continue;
		err = tcl_log_match_prefix(m->log_path, m->pcr, a, v[a], &m1, &t1, &rest1, &n1);
		free(rest1);
		rest1 = NULL;
		if (err && err != -ENOMSG)
			goto out;
		if (err || m1 != matched) {
			set_state(m, TCL_MEASURE_MISMATCH, "PCR %u: the sha256 bank is the replay "
				  "of %zu entries of %s but the %s bank %s", m->pcr, matched,
				  m->log_path, tcl_log_alg_name(a),
				  err ? "of none" : "of another number");
			err = 0;
			goto out;
		}
	}
	/* Logged, fdatasync'd, never extended: the crash window. Extend them now. */
	for (size_t i = 0; i < n_rest && !err; i += EXTEND_CHUNK) {
		size_t k = n_rest - i < EXTEND_CHUNK ? n_rest - i : EXTEND_CHUNK;

		for (size_t j = 0; j < k; j++)
			to_tpm(&rest[i + j], &m->dv[j]);
		err = tcl_tpm_extend_batch(m->tpm, m->pcr, m->dv, k, NULL);
	}
	if (!err && n_rest) {
		pr_warn(SUB, "%s: %zu entries were logged but not extended into PCR %u before "
			"the agent stopped; extended them now", m->log_path, n_rest, m->pcr);
		r->recovered = n_rest;
		m->recovered = n_rest;
	}
out:
	free(rest);
	free(rest1);
	return err;
}

/* A new or empty log starts with boot_aggregate, extended before anything else. */
static int start_log(struct tcl_measure *m, const uint8_t agg[32])
{
	struct tcl_log_buf b = { 0 };
	struct tcl_log_digests d;
	int err;

	err = tcl_log_encode_ng(&b, m->pcr, agg, "boot_aggregate", &d);
	if (!err)
		err = tcl_log_append(m->log, b.p, b.len);
	if (!err && m->tpm) {
		to_tpm(&d, &m->dv[0]);
		err = tcl_tpm_extend(m->tpm, m->pcr, &m->dv[0]);
	}
	tcl_log_buf_free(&b);
	return err;
}

/*
 * tcl_log_open drops an incomplete last entry. A crash mid-append leaves one, but so does a
 * damaged length field whose entry claims to run past the end of the file; the bytes are
 * kept beside the log (report.torn_saved_to) before they go, so no evidence is destroyed.
 */
static int save_tail(struct tcl_measure *m, struct tcl_measure_report *r)
{
	struct tcl_log_scan sc;
	char stamp[32];
	uint8_t *buf = NULL;
	size_t len = 0;
	time_t now = time(NULL);
	struct tm tm;
	ssize_t n;
	int fd, err;

	fd = open(m->log_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	/* Conflicts with a running agent's exclusive lock: its tail is a write in flight. */
	if (flock(fd, LOCK_SH | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		pr_err(SUB, "%s: held by another process (%s)", m->log_path, strerror(-err));
		goto out;
	}
	err = tcl_log_foreach(m->log_path, NULL, NULL, &sc);
	if (err || !sc.tail_len) {
		err = err == -EBADMSG ? 0 : err;	/* tcl_log_open reports it */
		goto out;
	}
	len = sc.tail_len < TAIL_SAVE_MAX ? sc.tail_len : TAIL_SAVE_MAX;
	buf = malloc(len);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	n = pread(fd, buf, len, sc.valid_len - sc.live_base);
	if (n < 0) {
		err = -errno;
		goto out;
	}
	len = n;
	if (!len || all_zero(buf, len))
		goto out;	/* blocks allocated but never written: nothing to keep */
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	if (snprintf(r->torn_saved_to, PATH_MAX, "%s.torn-%s-%llu", m->log_path, stamp,
		     (unsigned long long)sc.valid_len) >= PATH_MAX) {
		err = -ENAMETOOLONG;
		goto out;
	}
	err = tcl_write_file_atomic(r->torn_saved_to, buf, len, 0640);
	if (err)
		pr_err(SUB, "cannot keep the torn tail of %s in %s: %s", m->log_path,
		       r->torn_saved_to, strerror(-err));
	else
		pr_warn(SUB, "%s: incomplete last entry at offset %llu (%zu bytes) kept in %s",
			m->log_path, (unsigned long long)sc.valid_len, len, r->torn_saved_to);
out:
	if (err)
		r->torn_saved_to[0] = '\0';
	free(buf);
	close(fd);
	return err;
}

static int open_log(struct tcl_measure *m, struct tcl_measure_report *r)
{
	struct tcl_log_open_report lr;
	uint8_t agg[32];
	struct scan sc;
	int err;

	err = save_tail(m, r);
	if (err)
		return err;
	err = tcl_log_open(m->log_path, &m->log, &lr);
	if (err == -EBADMSG) {
		set_state(m, TCL_MEASURE_MISMATCH, "%s: corrupt entry at offset %llu (not a "
			  "torn tail): the log was altered or damaged; it is left as it is and "
			  "nothing is appended until an operator acts", m->log_path,
			  (unsigned long long)lr.bad_off);
		return 0;
	}
	if (err)
		return err;
	r->torn_bytes = lr.dropped;
	err = tcl_log_set_bound(m->log, m->pcr, m->max_bytes);
	if (err == -EBADMSG) {
		set_state(m, TCL_MEASURE_MISMATCH, "%s: its checkpoint is for another PCR than "
			  "%u: start the agent with the --pcr the log was written for, or move "
			  "the log aside", m->log_path, m->pcr);
		return 0;
	}
	if (err)
		return err;
	err = current_aggregate(m, agg);
	if (!err)
		err = scan_log(m, &sc);
	if (!err && m->state == TCL_MEASURE_OK && m->tpm)
		err = anchor(m, &sc, agg, r);
	if (err || m->state != TCL_MEASURE_OK)
		goto out;
	if (!tcl_log_count(m->log)) {
		err = start_log(m, agg);
		if (err)
			return err;
		r->created = true;
	}
out:
	if (m->log) {
		m->base_entries = tcl_log_count(m->log);
		m->log_bytes = tcl_log_size(m->log);
		m->log_start = tcl_log_start(m->log);
		m->log_disk_bytes = tcl_log_disk_bytes(m->log);
	}
	return err;
}

static bool pcr_allowed(uint32_t pcr)
{
	return pcr >= 10 && pcr <= 15;
}

static int init_sync(struct tcl_measure *m)
{
	pthread_condattr_t ca;
	int err;

	err = pthread_condattr_init(&ca);
	if (err)
		return -err;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->ak_lock, NULL);
	pthread_cond_init(&m->work, &ca);
	pthread_cond_init(&m->progress, &ca);
	pthread_condattr_destroy(&ca);
	return 0;
}

struct tcl_tpm *tcl_measure_tpm(struct tcl_measure *m)
{
	return m ? m->tpm : NULL;
}

int tcl_measure_open(const struct tcl_measure_opts *o, struct tcl_measure **out,
		     struct tcl_measure_report *r)
{
	struct tcl_measure_report dummy;
	struct tcl_measure *m;
	struct tcl_tpm_ak ak;
	int err;

	*out = NULL;
	if (!r)
		r = &dummy;
	memset(r, 0, sizeof(*r));
	if (!o || (o->log_path && !o->log_path[0]))
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	err = init_sync(m);
	if (err) {
		free(m);
		return err;
	}
	m->pcr = o->pcr ? o->pcr : TCL_MEASURE_DEFAULT_PCR;
	m->queue_max = o->queue_max ? o->queue_max : TCL_MEASURE_DEFAULT_QUEUE;
	m->block_ms = o->block_ms ? o->block_ms : TCL_MEASURE_DEFAULT_BLOCK_MS;
	m->test_exit_after_appends = o->test_exit_after_appends;
	m->test_append_delay_ms = o->test_append_delay_ms;
	m->max_bytes = o->log_max_bytes;
	if (!pcr_allowed(m->pcr)) {
		pr_err(SUB, "PCR %u cannot anchor the log: use 10-15 (0-9 belong to "
		       "the firmware and boot loader, 16 and 23 can be reset by anyone)", m->pcr);
		err = -EINVAL;
		goto fail;
	}
	if (m->queue_max > (1u << 24)) {
		pr_err(SUB, "queue of %u measurements is too large (max %u)", m->queue_max,
		       1u << 24);
		err = -EINVAL;
		goto fail;
	}
	m->log_path = strdup(o->log_path ? o->log_path : TCL_MEASURE_DEFAULT_LOG);
	m->ring = calloc(m->queue_max, sizeof(*m->ring));
	m->dv = calloc(EXTEND_CHUNK, sizeof(*m->dv));
	if (!m->log_path || !m->ring || !m->dv) {
		err = -ENOMEM;
		goto fail;
	}
	if (o->tcti && strcmp(o->tcti, "none")) {
		err = tcl_tpm_open(o->tcti, &m->tpm);
		if (err)
			goto fail;
		err = check_banks(m);
		if (err)
			goto fail;
	}
	r->anchored = m->tpm != NULL;
	err = open_log(m, r);
	if (err) {
		pr_err(SUB, "cannot open the measurement log %s: %s", m->log_path,
		       strerror(-err));
		goto fail;
	}
	if (m->tpm) {
		err = tcl_tpm_ak_ensure(m->tpm, 0, &ak);
		if (err) {
			pr_warn(SUB, "no attestation key yet (%s): quotes will try again",
				strerror(-err));
			r->ak_err = err;
		}
		m->ak_ok = !err;
		err = 0;
	}
	if (m->state == TCL_MEASURE_OK) {
		err = -pthread_create(&m->worker, NULL, worker_main, m);
		if (err) {
			pr_err(SUB, "cannot start the measurement worker: %s", strerror(-err));
			goto fail;
		}
		m->worker_started = true;
	}
	r->entries = m->base_entries;
	r->state = m->state;
	memcpy(r->why, m->why, sizeof(r->why));
	*out = m;
	return 0;
fail:
	tcl_measure_close(m);
	return err;
}

void tcl_measure_close(struct tcl_measure *m)
{
	if (!m)
		return;
	if (m->worker_started) {
		pthread_mutex_lock(&m->lock);
		m->stop = true;
		pthread_cond_signal(&m->work);
		pthread_mutex_unlock(&m->lock);
		pthread_join(m->worker, NULL);
	}
	tcl_log_close(m->log);
	tcl_tpm_close(m->tpm);
	tcl_log_buf_free(&m->pending);
	tcl_log_buf_free(&m->writing);
	seen_free(&m->seen);
	free(m->ring);
	free(m->dv);
	free(m->log_path);
	pthread_cond_destroy(&m->work);
	pthread_cond_destroy(&m->progress);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->ak_lock);
	free(m);
}
