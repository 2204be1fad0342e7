/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading and pinning the BPF side. Skeleton open -> load -> attach -> pin; or, when a previous
 * agent left its programs attached (pinned links under the pin dir), re-attach to that state.
 * Pin layout under DIR: one file per map (its name), prog_<name>, link_<name>.
 * Every open registers the calling process as the agent and fills the guard set (tcl_guard map):
 * in-scope tasks cannot reach tcl's own maps, programs, links or pins (see bpf/tcl.bpf.c).
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
	TCL_MAP_GUARD,
	TCL_MAP_EXEC_MAPPED,
	TCL_MAP_STATS,
	TCL_MAP_COUNT,
};

#define TCL_NUM_PROGS 15
/* Capacity of the allow map (every allow set together) unless opts say otherwise. */
#define TCL_DEFAULT_MAX_DIGESTS (1u << 20)
extern const char *const tcl_prog_names[TCL_NUM_PROGS];
extern const char *const tcl_map_names[TCL_MAP_COUNT];

struct tcl_bpf {
	int map_fd[TCL_MAP_COUNT];
	bool reattached; /* true: programs were already attached by an earlier agent */
	bool agent;	 /* registered as the agent in tcl_config (tcl_bpf_open) */
	uint32_t max_digests; /* capacity of the allow map as loaded */
	char pin_dir[256];
	void *skel;
};

struct tcl_bpf_opts {
	/* Capacity of the allow map, 0: TCL_DEFAULT_MAX_DIGESTS. Applies when the programs are
	 * loaded afresh; pinned state keeps the capacity it was loaded with (a warning says so).
	 * The map is preallocated: the capacity costs about 130 bytes of kernel memory a digest
	 * whether used or not (README.md, Benchmarks). */
	uint32_t max_digests;
};

/* Check the running kernel can do what we need (BPF LSM active, bpf_ima_file_hash). */
int tcl_bpf_probe(char *why, size_t len);
/* Attach (or re-attach to pinned state) and register the caller as the agent: its pid and
 * start time go into tcl_config (it may touch tcl's objects and cannot be ptraced), the ids and
 * pin inodes into the guard set. opts may be NULL. */
int tcl_bpf_open(const char *pin_dir, struct tcl_bpf **out);
int tcl_bpf_open_opts(const char *pin_dir, const struct tcl_bpf_opts *opts, struct tcl_bpf **out);
/* Open the pinned maps only (tclctl); -ENOENT when nothing is pinned. */
int tcl_bpf_open_pinned(const char *pin_dir, struct tcl_bpf **out);
/* Closes the fds; an agent that registered itself also clears its pid from tcl_config. */
void tcl_bpf_close(struct tcl_bpf *b);
/* Remove every pin: programs detach when the last reference goes. Logged to syslog
 * (LOG_AUTHPRIV, warning) with the caller's uid, pid and command. Returns pins removed. */
int tcl_bpf_unload(const char *pin_dir);

struct tcl_bpf_link_state {
	bool pinned;
	uint32_t prog_id;
	uint32_t link_id;
};
/* Can this kernel attach program i (its hook exists)? And how many programs it can attach. */
bool tcl_bpf_prog_supported(int i);
int tcl_bpf_expected_progs(void);
/* Per program: is its link pinned and alive? Returns the number attached. */
int tcl_bpf_links(const char *pin_dir, struct tcl_bpf_link_state st[TCL_NUM_PROGS]);

int tcl_bpf_get_config(struct tcl_bpf *b, struct tcl_config *cfg);
int tcl_bpf_set_config(struct tcl_bpf *b, const struct tcl_config *cfg);
/* Sum of the per-CPU counters. */
int tcl_bpf_counters(struct tcl_bpf *b, uint64_t out[TCL_CNT_MAX]);
/* Sum of the per-CPU statistics (decisions, hashing time; TCL_STAT_* in tcl_abi.h). */
int tcl_bpf_stats(struct tcl_bpf *b, uint64_t out[TCL_STAT_MAX]);

#endif
