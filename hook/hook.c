// SPDX-License-Identifier: GPL-2.0
/*
 * tcl-hook: an OCI createRuntime hook. The runtime runs it with the container's state on stdin
 * after the container's process and cgroup exist and before its entrypoint runs. It asks the
 * agent to verify the container's image; "NOT verified" (exit 1) makes the runtime fail the
 * create, so the container never runs an instruction of its own.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bpf_loader.h"
#include "canonjson.h"
#include "diag.h"
#include "evstream.h"
#include "fileio.h"

#define STATE_MAX (1u << 20)

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: tcl-hook [--socket PATH] [--pin-dir DIR] [--timeout SECONDS] [--fail-closed]\n"
		"OCI createRuntime hook: reads the container state (JSON) on stdin and asks tcl-agent\n"
		"to verify the container's image. Exit 0: verified (or audit mode). Exit 1 with\n"
		"\"NOT verified: <reason>\" on stderr: the runtime must not start the container.\n"
		"When the agent cannot be reached: fail closed if the pinned programs enforce (or\n"
		"with --fail-closed), else warn and allow.\n"
		"  --socket PATH    agent socket (default %s)\n"
		"  --pin-dir DIR    tcl's pinned state, to learn the mode (default %s)\n"
		"  --timeout S      how long to wait for the agent (default 25)\n",
		TCL_DEFAULT_SOCKET, TCL_DEFAULT_PIN_DIR);
}

/* Send the request, read one line back within timeout_ms. */
static int ask_agent(const char *socket_path, const char *req, int timeout_ms, char *reply,
		     size_t len)
{
	struct timespec start, now;
	size_t got = 0;
	int fd, ret;

	fd = tcl_evstream_request(socket_path, req);
	if (fd < 0)
		return fd;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long left;
		ssize_t r;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = timeout_ms - ((now.tv_sec - start.tv_sec) * 1000 +
				     (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0) {
			ret = -ETIMEDOUT;
			goto out;
		}
		if (poll(&p, 1, left) <= 0)
			continue;
		r = read(fd, reply + got, len - 1 - got);
		if (r <= 0) {
			ret = r < 0 ? -errno : -ECONNRESET;
			goto out;
		}
		got += r;
		reply[got] = '\0';
		if (memchr(reply, '\n', got)) {
			ret = 0;
			goto out;
		}
		if (got == len - 1) {
			ret = -EMSGSIZE;
			goto out;
		}
	}
out:
	close(fd);
	return ret;
}

/* Mode of the pinned programs: 1 enforce, 0 audit, -1 tcl not loaded. */
static int pinned_mode(const char *pin_dir)
{
	struct tcl_bpf_link_state st[TCL_NUM_PROGS];
	struct tcl_bpf *b = NULL;
	struct tcl_config cfg;
	int mode = -1;

	if (!tcl_bpf_links(pin_dir, st) || tcl_bpf_open_pinned(pin_dir, &b))
		return -1;
	if (!tcl_bpf_get_config(b, &cfg))
		mode = cfg.mode == TCL_MODE_ENFORCE;
	tcl_bpf_close(b);
	return mode;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "socket", required_argument, NULL, 'S' },
					      { "pin-dir", required_argument, NULL, 'P' },
					      { "timeout", required_argument, NULL, 't' },
					      { "fail-closed", no_argument, NULL, 'f' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	const char *socket_path = TCL_DEFAULT_SOCKET, *pin_dir = TCL_DEFAULT_PIN_DIR;
	json_object *state = NULL, *req = NULL, *v, *reply_o = NULL;
	char *text = NULL, *reqline = NULL, reply[4096];
	bool fail_closed = false;
	int timeout_s = 25, c, ret, rc = 1, mode;
	size_t len = 0;

	tcl_prog = "tcl-hook";
	tcl_verbosity = TCL_ERR;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			socket_path = optarg;
			break;
		case 'P':
			pin_dir = optarg;
			break;
		case 't':
			timeout_s = atoi(optarg);
			if (timeout_s <= 0 || timeout_s > 3600) {
				fprintf(stderr, "tcl-hook: bad --timeout %s\n", optarg);
				return 2;
			}
			break;
		case 'f':
			fail_closed = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	/* less than STATE_MAX bytes, as the parser below takes */
	ret = tcl_read_fd(0, STATE_MAX - 1, &text, &len);
	if (!ret)
		ret = tcl_json_parse("OCI state", text, len, STATE_MAX, &state);
	if (ret || !json_object_is_type(state, json_type_object)) {
		fprintf(stderr, "NOT verified: tcl-hook: no valid OCI state on stdin\n");
		goto out;
	}
	/* Forward only what the agent needs: it reads the annotations from the bundle itself. */
	req = json_object_new_object();
	for (const char *const *k = (const char *const[]){ "id", "pid", "bundle", NULL }; *k; k++)
		if (json_object_object_get_ex(state, *k, &v))
			json_object_object_add(req, *k, json_object_get(v));
	if (asprintf(&reqline, "container %s\n",
		     json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE)) < 0) {
		reqline = NULL;
		goto out;
	}
	ret = ask_agent(socket_path, reqline, timeout_s * 1000, reply, sizeof(reply));
	if (ret) {
		mode = pinned_mode(pin_dir);
		if (fail_closed || mode == 1) {
			fprintf(stderr, "NOT verified: tcl-agent unreachable at %s (%s), enforce mode\n",
				socket_path, strerror(-ret));
			goto out;
		}
		fprintf(stderr, "tcl-hook: warning: tcl-agent unreachable at %s (%s); %s: allowing\n",
			socket_path, strerror(-ret), mode == 0 ? "audit mode" : "tcl not loaded");
		rc = 0;
		goto out;
	}
	reply_o = json_tokener_parse(reply);
	if (!reply_o || !json_object_object_get_ex(reply_o, "verified", &v)) {
		fprintf(stderr, "NOT verified: tcl-agent sent a malformed answer\n");
		goto out;
	}
	if (json_object_get_boolean(v)) {
		rc = 0;
		goto out;
	}
	{
		json_object *r, *e;
		const char *reason = json_object_object_get_ex(reply_o, "reason", &r) ?
					     json_object_get_string(r) :
					     "unknown reason";
		bool enforce = !json_object_object_get_ex(reply_o, "enforce", &e) ||
			       json_object_get_boolean(e);

		if (enforce) {
			fprintf(stderr, "NOT verified: %s\n", reason);
		} else {
			fprintf(stderr, "tcl-hook: warning: NOT verified (audit mode): %s\n", reason);
			rc = 0;
		}
	}
out:
	json_object_put(reply_o);
	json_object_put(req);
	json_object_put(state);
	free(reqline);
	free(text);
	return rc;
}
