/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading and pinning the BPF side. Skeleton open -> load -> attach -> pin; or, when a previous
 * agent left its programs attached (pinned links under the pin dir), re-attach to that state.
 * Pin layout under DIR: one file per map (its name), prog_<name>, link_<name>, and "abi".
 */
#ifndef TCL_BPF_LOADER_H
#define TCL_BPF_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "tcl_abi.h"

#define TCL_DEFAULT_PIN_DIR "/sys/fs/bpf/tcl"

enum tcl_map_id {
	TCL_MAP_CONFIG,
	TCL_MAP_SCOPE,
	TCL_MAP_ALLOW,
	TCL_MAP_DIGESTS,
	TCL_MAP_INVAL,
	TCL_MAP_SEEN,
	TCL_MAP_COUNTERS,
	TCL_MAP_EVENTS,
	TCL_MAP_COUNT,
};

#define TCL_NUM_PROGS 7
extern const char *const tcl_prog_names[TCL_NUM_PROGS];
extern const char *const tcl_map_names[TCL_MAP_COUNT];

struct tcl_bpf {
	int map_fd[TCL_MAP_COUNT];
	bool reattached; /* true: programs were already attached by an earlier agent */
	char pin_dir[256];
	void *skel;
};

/* Check the running kernel can do what we need (BPF LSM active, bpf_ima_file_hash). */
int tcl_bpf_probe(char *why, size_t len);
/* Attach (or re-attach to pinned state). */
int tcl_bpf_open(const char *pin_dir, struct tcl_bpf **out);
/* Open the pinned maps only (tclctl); -ENOENT when nothing is pinned. */
int tcl_bpf_open_pinned(const char *pin_dir, struct tcl_bpf **out);
void tcl_bpf_close(struct tcl_bpf *b);
/* Remove every pin: programs detach when the last reference goes. */
int tcl_bpf_unload(const char *pin_dir);

struct tcl_bpf_link_state {
	bool pinned;
	uint32_t prog_id;
	uint32_t link_id;
};
/* Per program: is its link pinned and alive? Returns the number attached. */
int tcl_bpf_links(const char *pin_dir, struct tcl_bpf_link_state st[TCL_NUM_PROGS]);

int tcl_bpf_get_config(struct tcl_bpf *b, struct tcl_config *cfg);
int tcl_bpf_set_config(struct tcl_bpf *b, const struct tcl_config *cfg);
/* Sum of the per-CPU counters. */
int tcl_bpf_counters(struct tcl_bpf *b, uint64_t out[TCL_CNT_MAX]);

#endif
