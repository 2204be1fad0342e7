/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The measurement log on disk as segments (docs/measurement-log.md, "A bounded log").
 *
 * LOG (e.g. /var/lib/tcl/measurements.bin) is the live segment, the one appended to. Closed
 * segments are LOG.<seq> (seq: 8+ decimal digits, 1, 2, ...), each ending on an entry
 * boundary; the live segment's seq is the last closed one's + 1. Concatenated in seq order
 * they are one IMA binary log. LOG.checkpoint says where the kept segments start:
 *
 *   tcl-log-checkpoint 1
 *   id <32 hex>           the log's identity (random, kept for the log's life)
 *   pcr 13
 *   seq S                 the first kept segment
 *   entries N             entries in the deleted segments (before S)
 *   offset B              their bytes: the log offset of S's first byte
 *   sha1 <hex>            PCR value of every bank after those N entries
 *   sha256 <hex>
 *   sha384 <hex>
 *   sha512 <hex>
 *
 * Without a checkpoint file the log starts at segment 1, offset 0, zero PCRs. A log offset
 * ("global offset") counts bytes from the log's very first entry, across deleted segments,
 * so an offset keeps its meaning when segments go (the attestor's acknowledged offset is one).
 * The checkpoint's values are not signed on their own: they are bound by the PCR chain (a
 * replay from other values cannot end on the TPM's value without a SHA collision), and a
 * segment is only deleted once the attestor acknowledged it, i.e. replayed it against a quote.
 *
 * All functions return 0 or -errno.
 */
#ifndef TCL_LOGSEG_H
#define TCL_LOGSEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define TCL_LOGSEG_ID_HEX	32
#define TCL_LOGSEG_MAX		100000	/* closed segments kept at most */

struct tcl_log_ckpt {
	char id[TCL_LOGSEG_ID_HEX + 1];	/* "" when the log has no checkpoint file */
	uint64_t seq;			/* first kept segment */
	uint64_t entries;		/* entries before it (deleted) */
	uint64_t offset;		/* bytes before it (deleted) */
	struct tcl_log_pcr values;	/* .index = the PCR, .entries = entries */
};

struct tcl_logseg {
	uint64_t seq;
	uint64_t size;		/* bytes on disk */
	uint64_t offset;	/* log offset of its first byte */
};

/* The segments of LOG: the checkpoint and the kept closed segments in order, then the live
 * one (seg[n - 1], size 0 when the file does not exist). */
struct tcl_logseg_set {
	bool have_ckpt;
	struct tcl_log_ckpt ckpt;
	struct tcl_logseg *seg;
	size_t n;		/* closed + 1 (the live segment) */
	size_t stale;		/* closed segments below ckpt.seq (a deletion cut short) */
};

/* "LOG.<seq>" / "LOG.checkpoint" into @out (PATH_MAX). -ENAMETOOLONG. */
int tcl_logseg_path(const char *log, uint64_t seq, char *out);
int tcl_logseg_ckpt_path(const char *log, char *out);

/* Read LOG.checkpoint: -ENOENT when there is none, -EBADMSG (logged) when it is malformed. */
int tcl_logseg_ckpt_load(const char *log, struct tcl_log_ckpt *c);
/* Write it atomically (temp file, fsync, rename, fsync of the directory). */
int tcl_logseg_ckpt_save(const char *log, const struct tcl_log_ckpt *c);
/* A checkpoint for a log that starts at its beginning: a fresh random id, seq 1. */
int tcl_logseg_ckpt_init(struct tcl_log_ckpt *c, uint32_t pcr);

/*
 * List LOG's segments. -EBADMSG (logged) when a segment between the first kept and the live
 * one is missing, or the live segment's name is taken by a directory; segments below the
 * checkpoint's seq are only counted in @s->stale. Free with tcl_logseg_set_free().
 */
int tcl_logseg_list(const char *log, struct tcl_logseg_set *s);
void tcl_logseg_set_free(struct tcl_logseg_set *s);

/*
 * Read up to @max bytes of the log from log offset @from on, across segments (*@buf
 * malloc'd, *@len may be 0 at the end). -ESPIPE when @from is before the first kept byte
 * (deleted) or past the end. The bytes may end inside an entry (the live one being written).
 */
int tcl_logseg_read(const char *log, uint64_t from, size_t max, uint8_t **buf, size_t *len);

/* Delete the stale segments (below the checkpoint): a deletion the agent did not finish. */
int tcl_logseg_remove_stale(const char *log, const struct tcl_logseg_set *s);

/* Move every file of the log (segments, checkpoint) to the same names under @dst. */
int tcl_logseg_move(const char *log, const char *dst);

/* fsync the directory holding @path (a created, renamed or removed entry is durable). */
int tcl_logseg_fsync_dir(const char *path);

#endif
