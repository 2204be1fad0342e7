// SPDX-License-Identifier: GPL-2.0
/* tclctl status: what the kernel enforces, and whether an agent configured it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bpf_loader.h"
#include "cmds.h"
#include "evstream.h"
#include "maps.h"

static const char *const counter_names[TCL_CNT_MAX] = {
	[TCL_CNT_EVENTS] = "events",	     [TCL_CNT_DROPS] = "drops",
	[TCL_CNT_DENIALS] = "denials",	     [TCL_CNT_AUDITS] = "audits",
	[TCL_CNT_CACHE_HITS] = "cache_hits", [TCL_CNT_CACHE_MISSES] = "cache_misses",
	[TCL_CNT_HASH_ERRORS] = "hash_errors", [TCL_CNT_CHECKS] = "checks",
	[TCL_CNT_SCOPE_FULL] = "scope_full",
};

/*
 * Exit 0 only when the kernel enforces what an agent asked for: every program attached, and an
 * agent has put mode, scope and allow sets in place (tcl_config.ready); a running agent must also
 * answer. Programs attached but nothing configured yet, or an agent still starting: exit 3.
 */
int tcl_cmd_status(int argc, char **argv)
{
	struct tcl_bpf_link_state st[TCL_NUM_PROGS];
	int attached, expected, fd, ret;
	uint64_t cnt[TCL_CNT_MAX];
	struct tcl_bpf *b = NULL;
	struct tcl_config cfg;
	bool ready = false;
	char buf[4096];
	ssize_t n;

	if (argc > 1) {
		printf("Usage: tclctl status\n"
		       "Exit 0 when every program is attached and the configuration an agent asked for\n"
		       "is in force, 1 when programs are missing, 3 when they are attached but not ready\n"
		       "(no agent configured them yet, or the running agent is still starting).\n");
		return strcmp(argv[1], "--help") ? EXIT_USAGE : 0;
	}
	attached = tcl_bpf_links(ctl_pin_dir, st);
	expected = tcl_bpf_expected_progs();
	printf("programs: %d/%d attached (pinned in %s)\n", attached, expected, ctl_pin_dir);
	for (int i = 0; i < TCL_NUM_PROGS; i++)
		printf("  %-18s %s (prog id %u, link id %u)\n", tcl_prog_names[i],
		       !tcl_bpf_prog_supported(i) ? "not on this kernel" :
		       st[i].prog_id		  ? "attached" :
		       st[i].pinned		  ? "pinned, detached" : "absent",
		       st[i].prog_id, st[i].link_id);
	ret = tcl_bpf_open_pinned(ctl_pin_dir, &b);
	if (ret) {
		printf("maps: %s\n", ret == -ENOENT ? "not pinned" : strerror(-ret));
	} else if (!tcl_bpf_get_config(b, &cfg) && !tcl_bpf_counters(b, cnt)) {
		ready = cfg.ready;
		printf("mode: %s%s\n", cfg.mode == TCL_MODE_ENFORCE ? "enforce" : "audit",
		       cfg.ready ? "" : " (not ready: no agent has configured the programs yet)");
		printf("scope: %s, %zu scope entries\n", cfg.scope_all ? "all" : "cgroups",
		       tcl_scope_count(b));
		printf("global allowlist: %zu digests\n", tcl_allow_count(b, 0));
		printf("counters:");
		for (int i = 0; i < TCL_CNT_MAX; i++)
			printf(" %s=%llu", counter_names[i], (unsigned long long)cnt[i]);
		printf("\n");
	}
	tcl_bpf_close(b);
	fd = tcl_evstream_request(ctl_socket, "status\n");
	if (fd < 0) {
		/* A dead agent leaves the kernel enforcing its last configuration. A live one that
		 * does not answer yet is starting: its socket opens once it enforces. */
		printf("agent: not running (%s)%s\n", strerror(-fd),
		       attached ? "; enforcement continues from the pinned programs" : "");
	} else {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		printf("agent: %s", n > 0 ? buf : "no answer\n");
		if (n <= 0 || !strstr(buf, "\"ready\":true"))
			ready = false;
	}
	if (attached != expected)
		return 1;
	return ready ? 0 : 3;
}
