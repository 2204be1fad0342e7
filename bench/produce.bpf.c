// SPDX-License-Identifier: GPL-2.0
/*
 * produce.bpf.c: fills a ring buffer with copies of one tcl_event, as tcl's programs would, for
 * bench/consume.c (run through BPF_PROG_TEST_RUN; no hook, so it runs on any kernel with BPF).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tcl_abi.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} rb SEC(".maps");

struct produce_cfg {
	__u32 count;
	__u32 written;
	struct tcl_event e;
} cfg SEC(".data");

static long one(__u32 i, void *ctx)
{
	if (bpf_ringbuf_output(&rb, &cfg.e, sizeof(cfg.e), BPF_RB_NO_WAKEUP))
		return 1;
	cfg.written++;
	return 0;
}

SEC("syscall")
int produce(void *ctx)
{
	cfg.written = 0;
	bpf_loop(cfg.count, one, NULL, 0);
	return 0;
}
