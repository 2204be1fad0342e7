// SPDX-License-Identifier: GPL-2.0
/* tclctl events: the agent's event records (JSON lines), filtered here. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cmds.h"
#include "evstream.h"

static bool match(json_object *o, const char *key, const char *want)
{
	json_object *v;

	if (!want)
		return true;
	return json_object_object_get_ex(o, key, &v) && !strcmp(json_object_get_string(v), want);
}

int tcl_cmd_events(int argc, char **argv)
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
			return EXIT_USAGE;
		}
	}
	fd = tcl_evstream_request(ctl_socket, follow ? "events follow\n" : "events\n");
	if (fd < 0) {
		fprintf(stderr, "tclctl: cannot reach the agent at %s: %s\n", ctl_socket,
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
