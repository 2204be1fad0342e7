// SPDX-License-Identifier: GPL-2.0
/* tclctl: the operator's command line for tcl. See README.md "tclctl". */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bpf_loader.h"
#include "cmd_golden.h"
#include "cmd_k8s.h"
#include "cmd_log.h"
#include "cmd_policy.h"
#include "cmd_registry.h"
#include "cmd_verify.h"
#include "diag.h"
#include "evstream.h"
#include "maps.h"

static const char *pin_dir = TCL_DEFAULT_PIN_DIR;
static const char *socket_path = TCL_DEFAULT_SOCKET;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: tclctl [--pin-dir DIR] [--socket PATH] COMMAND [ARGS]\n"
		"\n"
		"Commands:\n"
		"  status                         programs, mode, scope, counters; exit 0 only when enforcing\n"
		"  events [--follow] [--verdict V] [--type T] [--container ID]\n"
		"                                 event records from the agent (JSON lines)\n"
		"  policy generate --dir DIR... [-o FILE]\n"
		"  policy check FILE\n"
		"  image push|resolve ...         OCI images in a registry (tclctl image --help)\n"
		"  image verify --registry URL --trust-key PEM REF\n"
		"                                 verify an image against its signed golden manifest\n"
		"  golden generate|sign|verify|keygen ...\n"
		"                                 golden manifests of OCI images (tclctl golden --help)\n"
		"  golden push|pull ...           golden manifests beside their image in a registry\n"
		"  log show|verify|pcrs ...       the measurement log: IMA ascii form, replay vs the PCR\n"
		"  quote --nonce HEX -o DIR       a TPM quote in the files tpm2_checkquote reads\n"
		"  ak export [-o FILE]            the attestation key (PEM)\n"
		"  k8s render|hook-spec ...       TrustedImage objects -> agent policy; tcl-hook in a\n"
		"                                 runtime spec (tclctl k8s --help)\n"
		"  unload --yes                   detach and remove every pinned program and map\n"
		"\n"
		"Each command takes --help.\n");
}

static int connect_agent(const char *request)
{
	return tcl_evstream_request(socket_path, request);
}

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
static int cmd_status(int argc, char **argv)
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
		return strcmp(argv[1], "--help") ? 2 : 0;
	}
	attached = tcl_bpf_links(pin_dir, st);
	expected = tcl_bpf_expected_progs();
	printf("programs: %d/%d attached (pinned in %s)\n", attached, expected, pin_dir);
	for (int i = 0; i < TCL_NUM_PROGS; i++)
		printf("  %-18s %s (prog id %u, link id %u)\n", tcl_prog_names[i],
		       !tcl_bpf_prog_supported(i) ? "not on this kernel" :
		       st[i].prog_id		  ? "attached" :
		       st[i].pinned		  ? "pinned, detached" : "absent",
		       st[i].prog_id, st[i].link_id);
	ret = tcl_bpf_open_pinned(pin_dir, &b);
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
	fd = connect_agent("status\n");
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

static bool match(json_object *o, const char *key, const char *want)
{
	json_object *v;

	if (!want)
		return true;
	return json_object_object_get_ex(o, key, &v) && !strcmp(json_object_get_string(v), want);
}

static int cmd_events(int argc, char **argv)
{
	static const struct option opts[] = { { "follow", no_argument, NULL, 'f' },
					      { "verdict", required_argument, NULL, 'V' },
					      { "type", required_argument, NULL, 't' },
					      { "container", required_argument, NULL, 'c' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	const char *verdict = NULL, *type = NULL, *container = NULL;
	bool follow = false;
	char *line = NULL;
	size_t cap = 0;
	FILE *in;
	int c, fd;

	optind = 1;
	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			follow = true;
			break;
		case 'V':
			verdict = optarg;
			break;
		case 't':
			type = optarg;
			break;
		case 'c':
			container = optarg;
			break;
		case 'h':
			printf("Usage: tclctl events [--follow] [--verdict allow|deny|audit] [--type T]\n"
			       "                     [--container ID]\n"
			       "Print the agent's recent event records (JSON lines); --follow keeps\n"
			       "printing new ones. --container matches a full or leading container id.\n");
			return 0;
		default:
			return 2;
		}
	}
	fd = connect_agent(follow ? "events follow\n" : "events\n");
	if (fd < 0) {
		fprintf(stderr, "tclctl: cannot reach the agent at %s: %s\n", socket_path,
			strerror(-fd));
		return 1;
	}
	in = fdopen(fd, "r");
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (getline(&line, &cap, in) > 0) {
		json_object *o = json_tokener_parse(line), *v;
		bool ok = o != NULL;

		ok = ok && match(o, "verdict", verdict) && match(o, "type", type);
		if (ok && container) {
			ok = json_object_object_get_ex(o, "container_id", &v) &&
			     !strncmp(json_object_get_string(v), container, strlen(container));
			/* A drop record concerns every container. */
			ok = ok || match(o, "type", "drop");
		}
		if (ok)
			fputs(line, stdout);
		json_object_put(o);
	}
	free(line);
	fclose(in);
	return 0;
}

static int cmd_unload(int argc, char **argv)
{
	struct tcl_bpf_link_state st[TCL_NUM_PROGS];
	int n;

	if (argc != 2 || strcmp(argv[1], "--yes")) {
		fprintf(stderr, "tclctl unload removes tcl's programs: nothing is enforced or measured\n"
				"afterwards. Run `tclctl unload --yes` to do it.\n");
		return 2;
	}
	n = tcl_bpf_links(pin_dir, st);
	tcl_bpf_unload(pin_dir);
	if (tcl_bpf_links(pin_dir, st)) {
		fprintf(stderr, "tclctl: programs still attached after unload\n");
		return 1;
	}
	printf("unloaded: %d programs detached, pins under %s removed\n", n, pin_dir);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "pin-dir", required_argument, NULL, 'P' },
					      { "socket", required_argument, NULL, 'S' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	const char *cmd;
	int c;

	tcl_prog = "tclctl";
	tcl_verbosity = TCL_WARN;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'P':
			pin_dir = optarg;
			break;
		case 'S':
			socket_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (!strcmp(cmd, "status"))
		return cmd_status(argc, argv);
	if (!strcmp(cmd, "events"))
		return cmd_events(argc, argv);
	if (!strcmp(cmd, "unload"))
		return cmd_unload(argc, argv);
	if (!strcmp(cmd, "log"))
		return tcl_cmd_log(argc, argv);
	if (!strcmp(cmd, "quote"))
		return tcl_cmd_quote(argc, argv);
	if (!strcmp(cmd, "ak"))
		return tcl_cmd_ak(argc, argv);
	if (!strcmp(cmd, "policy"))
		return tcl_cmd_policy(argc - 1, argv + 1);
	if (!strcmp(cmd, "image")) {
		if (argc > 1 && !strcmp(argv[1], "verify"))
			return tcl_cmd_image_verify(argc - 1, argv + 1);
		return tcl_cmd_image(argc, argv);
	}
	if (!strcmp(cmd, "k8s"))
		return tcl_cmd_k8s(argc, argv);
	if (!strcmp(cmd, "golden")) {
		if (argc > 1 && (!strcmp(argv[1], "push") || !strcmp(argv[1], "pull")))
			return tcl_cmd_golden_registry(argc, argv);
		return tcl_cmd_golden(argc, argv);
	}
	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "tclctl: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
