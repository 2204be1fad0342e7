/* SPDX-License-Identifier: GPL-2.0 */
/* tclctl golden learn: from the agent's event records of one image's containers, the files
 * they ran that its golden manifest does not list, and a proposed manifest that adds them.
 *
 * A record counts when it is an exec or mmap record of a container of that image digest
 * ("image_digest"), with verdict "audit" and reason "not_allowed" (audit mode: it ran, and only
 * its digest kept it out of the golden set; a "deny" did not run, and other reasons are not
 * cured by a digest), a 64-hex sha256, an absolute normalised path (a trailing " (deleted)"
 * taken off), and a time at or after --since.  A digest the manifest already lists is never
 * added.  A path can carry one digest only: a path seen with several digests (content that
 * changes between runs), or that the image itself holds with another digest, is reported and
 * not added.  Nothing here signs: the proposal goes to `golden sign` after a review. */
#ifndef TCL_CTL_LEARN_H
#define TCL_CTL_LEARN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct tcl_golden;
struct ctl_learn;

struct ctl_learn_stats {
	uint64_t records;	/* lines fed */
	uint64_t matched;	/* audit exec/mmap records of the image in the window */
	uint64_t golden;	/* ... whose digest the manifest already lists */
	uint64_t unusable;	/* ... without a usable path or digest */
	uint64_t bad;		/* lines that are not a JSON object */
	size_t added;		/* distinct path + digest proposed (after ctl_learn_propose) */
	size_t refused;		/* distinct path + digest not added (conflicts) */
};

/* @g: the image's current manifest (kept by the caller while @l lives); @image_digest
 * "sha256:<hex>"; @since_ns: records before it are ignored (INT64_MIN: all). */
int ctl_learn_new(const struct tcl_golden *g, const char *image_digest, int64_t since_ns,
		  struct ctl_learn **out);
void ctl_learn_free(struct ctl_learn *l);
/* One record: a NUL-terminated JSON line of @len bytes (its '\n' may be there).  Blank lines
 * are skipped, a line that is not a JSON object is counted as bad.  0 or -ENOMEM. */
int ctl_learn_record(struct ctl_learn *l, const char *line, size_t len);
/* The proposal: @old (the exact bytes @g was parsed from) with the additions in its files,
 * canonical JSON, checked by tcl_golden_parse.  *out malloc'd.  0, -ENODATA (nothing to add),
 * -EFBIG (over the manifest limits) or -errno. */
int ctl_learn_propose(struct ctl_learn *l, const char *old, size_t old_len, char **out,
		      size_t *out_len);
void ctl_learn_stats(const struct ctl_learn *l, struct ctl_learn_stats *st);
/* Per addition: path, digest, how often and when first/last, which containers; then what was
 * not added and why.  Strings escaped (tcl_esc_log). */
void ctl_learn_report(const struct ctl_learn *l, FILE *f);

#endif
