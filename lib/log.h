/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Measurement log in the Linux IMA binary runtime measurement list format
 * (as /sys/kernel/security/ima/binary_runtime_measurements, little-endian), so that
 * `evmctl ima_measurement` and Keylime-style parsers read it unchanged.
 *
 * Entry: u32 pcr | u8 template_sha1[20] | u32 tname_len | tname | u32 data_len | data.
 * Template data is a list of u32-length-prefixed fields; template_sha1 = SHA-1(data).
 *   ima-ng : d-ng ("sha256:" NUL digest) | n-ng (name NUL)
 *   ima-buf: d-ng (digest of buf)        | n-ng (event name NUL) | buf
 * Every PCR bank is extended with that bank's hash of the template data (sha1 bank:
 * SHA-1(data), sha256 bank: SHA-256(data), sha384 and sha512 likewise), as IMA does
 * (ima_calc_field_array_hash per bank); the log itself only carries the SHA-1. PCRs start
 * at zero.
 *
 * Crash consistency: entries are appended and fdatasync'd before their PCR extend, so
 * after a crash the PCR equals the replay of a PREFIX of the log (tcl_log_match_prefix),
 * and a partial last entry was never extended (tcl_log_open drops it).
 *
 * pcrs file for evmctl 1.4 (`evmctl ima_measurement --pcrs sha256,FILE LOG`, optionally also
 * `--pcrs sha1,FILE1`; evmctl 1.4 knows no other bank: for sha384 it says "Unknown algorithm"
 * and exits 0 unchecked): 24 lines "PCR-NN: <hex>", NN = 00..23 in order; see
 * tcl_log_write_pcrs_file(). evmctl only compares PCRs its replay made non-zero and
 * accepts as soon as some prefix of the log matches; it does not check boot_aggregate.
 *
 * All functions return 0 or -errno unless stated. Not thread-safe: one writer per log.
 */
#ifndef TCL_LOG_H
#define TCL_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TCL_LOG_NR_PCRS			24
#define TCL_LOG_TEMPLATE_NAME_MAX	16		/* bytes, no NUL in the log */
#define TCL_LOG_NAME_MAX		4352		/* n-ng bytes incl. NUL: id:PATH_MAX */
#define TCL_LOG_DATA_MAX		(1u << 20)	/* template data bytes */
#define TCL_LOG_DIGEST_MAX		64

/* The PCR banks a log can be replayed in (sm3_256 is not: the agent refuses such a PCR). */
enum tcl_log_alg { TCL_LOG_SHA1, TCL_LOG_SHA256, TCL_LOG_SHA384, TCL_LOG_SHA512,
		   TCL_LOG_NR_ALGS };

/* Per-bank hashes of one entry's template data: what the TPM banks are extended with. */
struct tcl_log_digests {
	uint8_t sha1[20];
	uint8_t sha256[32];
	uint8_t sha384[48];
	uint8_t sha512[64];
};

/* Digest size of @alg (0 if not a tcl_log_alg), its name ("sha384", as OpenSSL, evmctl
 * --pcrs and tpm2-tools spell it; NULL if unknown), and back (-EINVAL if unknown). */
size_t tcl_log_alg_size(enum tcl_log_alg alg);
const char *tcl_log_alg_name(enum tcl_log_alg alg);
int tcl_log_alg_from_name(const char *name);
/* @alg's digest in @d (NULL if @alg is unknown). */
const uint8_t *tcl_log_digest_of(const struct tcl_log_digests *d, enum tcl_log_alg alg);

/* A parsed entry. Pointers point into the parsed bytes (valid during a callback only). */
struct tcl_log_entry {
	uint32_t pcr;
	uint8_t template_sha1[20];
	char template_name[TCL_LOG_TEMPLATE_NAME_MAX + 1];	/* "ima-ng" or "ima-buf" */
	const uint8_t *data;		/* template data */
	uint32_t data_len;
	char digest_algo[16];		/* d-ng algorithm: sha1, sha256, sha384, sha512 */
	const uint8_t *digest;		/* file digest (ima-ng) or digest of buf (ima-buf) */
	uint32_t digest_len;
	const char *name;		/* n-ng, NUL-terminated, non-empty, no inner NUL */
	const uint8_t *buf;		/* ima-buf payload, NULL for ima-ng */
	uint32_t buf_len;
};

/* Growable output buffer for a batch of encoded entries: zero-initialise it; after
 * tcl_log_append() set len = 0 to reuse it, tcl_log_buf_free() when done. */
struct tcl_log_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
};

/*
 * Append one entry to @b and give back its per-bank digests in @d (may be NULL).
 * encode_ng: ima-ng, @sha256 is the file digest, @name "<container-id>:<path>" or
 * "<path>"; the first entry of a log is encode_ng(b, pcr, aggregate, "boot_aggregate").
 * encode_buf: ima-buf, @name is the event name (container_start, image_verify,
 * policy_load, agent_start...), @buf the caller's canonical JSON.
 * -EINVAL for pcr >= 24, empty or oversize name/data; @b is unchanged on error.
 */
int tcl_log_encode_ng(struct tcl_log_buf *b, uint32_t pcr, const uint8_t sha256[32],
		      const char *name, struct tcl_log_digests *d);
int tcl_log_encode_buf(struct tcl_log_buf *b, uint32_t pcr, const char *name,
		       const void *buf, size_t buf_len, struct tcl_log_digests *d);
void tcl_log_buf_free(struct tcl_log_buf *b);

/*
 * IMA's sha256 boot_aggregate: SHA-256 over the sha256-bank values of PCRs 0..9 (IMA
 * adds PCRs 8-9 for non-SHA-1 banks). @pcr_sha256 NULL (no TPM) gives all zeros, which
 * is what IMA records without a TPM.
 */
int tcl_log_boot_aggregate(const uint8_t pcr_sha256[10][32], uint8_t out[32]);

/*
 * Pure, bounded parser of one entry at @p (@len bytes available); fills @e, @consumed.
 * Checks structure, bounds, template name, d-ng algorithm/length, SHA-1(data) against
 * the header and, for ima-buf, the buf digest. Returns -ENODATA when the bytes are a
 * valid but incomplete entry (@consumed = bytes needed so far, a lower bound) and
 * -EBADMSG when they cannot start a valid entry; @why (may be NULL) then says why.
 */
int tcl_log_parse_entry(const uint8_t *p, size_t len, struct tcl_log_entry *e,
			size_t *consumed, const char **why);

/* Scan result. tail_len: bytes of an incomplete last entry (torn, or being written).
 * Offsets are log offsets (logseg.h): bytes since the log's first entry, deleted
 * segments included; for a buffer they start at 0. */
struct tcl_log_scan {
	size_t entries;		/* entries walked (the kept ones) */
	uint64_t valid_len;	/* log offset of the end of the complete, valid entries */
	uint64_t tail_len;
	uint64_t bad_off;	/* offset of the bad entry when -EBADMSG is returned */
	uint64_t start;		/* log offset of the first kept byte (the checkpoint's) */
	uint64_t live_base;	/* log offset of the live segment's first byte */
};

/* Return non-zero to stop the walk; that value is returned. @off = entry's log offset. */
typedef int (*tcl_log_cb)(const struct tcl_log_entry *e, uint64_t off, void *arg);

/*
 * Walk every complete entry of a log / buffer. A log is its kept segments in order, then the
 * live file @path (logseg.h); a log that was never segmented is the one file. An incomplete
 * or zero-filled tail of the live file is not an error (s->tail_len says how long it is); any
 * other bad entry, even the last one, a closed segment that ends inside an entry or a missing
 * segment is -EBADMSG, logged with its offset. @cb and @s may be NULL.
 */
int tcl_log_foreach(const char *path, tcl_log_cb cb, void *arg, struct tcl_log_scan *s);
int tcl_log_foreach_buf(const uint8_t *p, size_t len, tcl_log_cb cb, void *arg,
			struct tcl_log_scan *s);

/* The hash of a parsed entry's template data in every tcl_log_alg. */
int tcl_log_entry_digests(const struct tcl_log_entry *e, struct tcl_log_digests *d);

/* A PCR replayed in every bank. Zero-initialise, set index, then extend. */
struct tcl_log_pcr {
	uint32_t index;
	size_t entries;		/* entries extended into it */
	uint8_t sha1[20];
	uint8_t sha256[32];
	uint8_t sha384[48];
	uint8_t sha512[64];
};

/* @alg's value of @p (NULL if @alg is unknown). */
const uint8_t *tcl_log_pcr_value(const struct tcl_log_pcr *p, enum tcl_log_alg alg);

/* Extend every bank of @p with @d, as PCR_Extend does: new = H(old || digest). */
int tcl_log_pcr_extend(struct tcl_log_pcr *p, const struct tcl_log_digests *d);

/* Replay every kept entry of @path on PCR @pcr into @out (a torn tail is ignored), from the
 * checkpoint's values when segments were deleted (out->entries counts the deleted ones). */
int tcl_log_replay(const char *path, uint32_t pcr, struct tcl_log_pcr *out);

/*
 * After a crash the TPM holds the replay of a prefix of the log's entries on @pcr.
 * Find (from the checkpoint's values, counting its entries, when segments were deleted) the
 * shortest prefix whose @alg replay equals @pcr_value (@matched entries on that
 * PCR, of @total) and give back in *@rest (malloc'd, caller frees; NULL if none) the
 * digests of the *@n_rest = total - matched remaining entries, in log order, for the
 * caller to extend. -ENOMSG if no prefix matches (the log and the PCR disagree).
 */
int tcl_log_match_prefix(const char *path, uint32_t pcr, enum tcl_log_alg alg,
			 const uint8_t *pcr_value, size_t *matched, size_t *total,
			 struct tcl_log_digests **rest, size_t *n_rest);

/*
 * One line like IMA's ascii_runtime_measurements:
 *   "<pcr> <template sha1 hex> <template> <algo>:<digest hex> <name>[ <buf hex>]\n"
 * (ima-buf appends the buffer in hex, as IMA does). Control characters in the name are
 * written as \xNN so a hostile path cannot drive the terminal. -EIO on write error.
 */
int tcl_log_format_ascii(const struct tcl_log_entry *e, FILE *out);

/*
 * Write the "--pcrs ALG,FILE" file evmctl reads: 24 lines "PCR-NN: <hex>" with the
 * @alg bank values in @pcrs (24 x tcl_log_alg_size(@alg) bytes). Written to a temp file, fsync'd
 * and renamed.
 */
int tcl_log_write_pcrs_file(const char *path, enum tcl_log_alg alg, const uint8_t *pcrs);

/* An open log, appended to by one process (its live file held with an exclusive flock). */
struct tcl_log;

#define TCL_LOG_BOUND_MIN	(64u << 10)	/* smallest --log-max-bytes */
#define TCL_LOG_SEGMENTS	8		/* a segment is a bound / 8 */

struct tcl_log_open_report {
	bool created;		/* the file did not exist */
	size_t entries;		/* valid entries; 0: append boot_aggregate first */
	uint64_t size;		/* bytes after any truncation */
	uint64_t dropped;	/* bytes of a torn tail that were truncated */
	uint64_t bad_off;	/* offset of the corrupt entry on -EBADMSG */
};

/*
 * Open (creating the directories and file if absent) and scan the log. A torn tail (a
 * partial or zero-filled last entry after a crash: never extended into the PCR) is
 * truncated and reported in r->dropped. Any other bad entry, in the middle or last, is
 * -EBADMSG (r->bad_off) and nothing is dropped. -EBUSY if the log is already held.
 */
int tcl_log_open(const char *path, struct tcl_log **out, struct tcl_log_open_report *r);

/*
 * Append @len bytes of encoded entries (a tcl_log_buf) in one write, then fdatasync.
 * The entries are re-parsed first (-EINVAL if they are not complete valid entries). On
 * a failed write the file is truncated back; after a failed fdatasync the log refuses
 * further appends (-EIO) until reopened, because what reached the disk is unknown.
 */
int tcl_log_append(struct tcl_log *l, const uint8_t *entries, size_t len);

/*
 * Bound the log to @max_bytes on disk (0: unbounded, the live file only grows). Creates the
 * checkpoint (the log's identity and start) if there is none. -EINVAL below
 * TCL_LOG_BOUND_MIN, -EBADMSG when the log's checkpoint is for another PCR.
 */
int tcl_log_set_bound(struct tcl_log *l, uint32_t pcr, uint64_t max_bytes);

struct tcl_log_maint {
	bool rotated;		/* the live segment was closed */
	size_t deleted;		/* closed segments deleted */
	bool over_bound;	/* more kept than the bound: nothing acknowledged to delete */
};

/*
 * After an append (the writer, between appends): close the live segment once it holds
 * max/TCL_LOG_SEGMENTS bytes, then delete the oldest closed segments while the log keeps
 * more than max - max/TCL_LOG_SEGMENTS bytes, but only those that end at or before log
 * offset @acked (what the attestor acknowledged). Each deletion first replays the segment
 * onto the checkpoint and saves the checkpoint past it, then unlinks it. @r may be NULL.
 */
int tcl_log_maintain(struct tcl_log *l, uint64_t acked, struct tcl_log_maint *r);

/* Log offset of the end (every entry since the log began) and of the first kept byte; the
 * entries since the log began, deleted ones included; the bytes kept on disk. */
uint64_t tcl_log_size(const struct tcl_log *l);
uint64_t tcl_log_start(const struct tcl_log *l);
size_t tcl_log_count(const struct tcl_log *l);
uint64_t tcl_log_disk_bytes(const struct tcl_log *l);
void tcl_log_close(struct tcl_log *l);

#endif
