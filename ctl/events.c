// SPDX-License-Identifier: GPL-2.0
/* tclctl events: the agent's event records, filtered here, as readable lines (a terminal) or
 * as the agent's JSON lines (-o json, or when stdout is not a terminal). */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cmds.h"
#include "diag.h"
#include "evstream.h"
#include "evview.h"

static const char help[] =
	"Usage: tclctl events [--follow] [--verdict allow|deny|audit] [--type T]\n"
	"                     [--container ID] [--pod NAME] [--namespace NS] [--image REF]\n"
	"                     [-o text|json] [--color auto|always|never]\n"
	"Print the agent's recent event records (docs/events.md); --follow keeps printing new\n"
	"ones.  Filters (all must match): --verdict, --type, --container (a full or leading\n"
	"container id), --pod and --namespace (exact), --image (the reference, its name without\n"
	"tag, or its digest).  A drop record passes the container, pod, namespace and image\n"
	"filters: it concerns every container.\n"
	"  -o text   one line per record: local time, verdict, type, namespace/pod/container,\n"
	"            path, first 12 hex digits of the digest, reason (default on a terminal)\n"
	"  -o json   the agent's JSON lines, unchanged (default otherwise)\n"
	"  --color   denials in bold red, audits in bold yellow: auto (a terminal, NO_COLOR\n"
	"            unset), always or never\n";

int tcl_cmd_events(int argc, char **argv)
{
	static const struct option opts[] = { { "follow", no_argument, NULL, 'f' },
					      { "verdict", required_argument, NULL, 'V' },
					      { "type", required_argument, NULL, 't' },
					      { "output", required_argument, NULL, 'o' },
					      { "help", no_argument, NULL, 'h' },
					      CTL_VIEW_OPTIONS,
					      {} };
	struct ctl_evfilter f = { 0 };
	int c, fd, text = -1, color = CTL_COLOR_AUTO;
	bool follow = false, paint;
	char *line = NULL, out[8192];
	size_t cap = 0;
	FILE *in;

	while ((c = getopt_long(argc, argv, "fho:", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			follow = true;
			break;
		case 'V':
			f.verdict = optarg;
			break;
		case 't':
			f.type = optarg;
			break;
		case 'o':
			if (strcmp(optarg, "text") && strcmp(optarg, "json")) {
				fprintf(stderr, "%s: -o wants text or json, not \"%s\"\n", tcl_prog,
					optarg);
				return EXIT_USAGE;
			}
			text = !strcmp(optarg, "text");
			break;
		case 'h':
			fputs(help, stdout);
			return 0;
		default:
			if (ctl_view_option(c, optarg, &f, &color) != 1)
				return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: events: unexpected argument \"%s\" (--help)\n", tcl_prog,
			argv[optind]);
		return EXIT_USAGE;
	}
	if (text < 0)
		text = isatty(STDOUT_FILENO);
	paint = ctl_use_color(color, STDOUT_FILENO);
	fd = tcl_evstream_request(ctl_socket, follow ? "events follow\n" : "events\n");
	if (fd < 0) {
		fprintf(stderr, "tclctl: cannot reach the agent at %s: %s\n", ctl_socket,
			strerror(-fd));
		return 1;
	}
	in = fdopen(fd, "r");
	if (!in) {
		close(fd);
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (getline(&line, &cap, in) > 0) {
		json_object *o = json_tokener_parse(line);
		int n;

		if (o && ctl_evfilter_match(&f, o)) {
			if (!text)
				fputs(line, stdout);
			else if ((n = ctl_ev_line(o, paint, out, sizeof(out))) > 0)
				fwrite(out, 1, (size_t)n, stdout);
		}
		json_object_put(o);
	}
	free(line);
	fclose(in);
	return 0;
}
