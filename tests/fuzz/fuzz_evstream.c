// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: the agent's socket protocol (lib/evstream.c) through its public API, on
 * a real unix socket, the way tclctl and tcl-hook reach it: the input is what clients send, cut
 * into writes where the fuzzer says, from one or two clients at once; records are published in
 * between. The request handler is the agent's in miniature: "status" answers, "container {...}"
 * goes through the bounded JSON parser as tcl-agent's admit() does.
 * Input: byte 0 = flags (bit 0: second client, bit 1: publish records, bits 2-3: client
 * closes early), byte 1..3 = cut points, the rest = the bytes the clients send.
 *
 * Build and run (from the top of the tree; tests/fuzz/run.sh does this for every target):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE -Iinclude -Ilib -Ictl \
 *     tests/fuzz/fuzz_evstream.c lib/evstream.c lib/events.c lib/canonjson.c \
 *     lib/util.c lib/diag.c $(pkg-config --cflags --libs json-c openssl) \
 *     -o build/fuzz_evstream
 *   mkdir -p build/fuzz-evstream
 *   TCL_FUZZ_SEED_DIR=build/fuzz-evstream build/fuzz_evstream -max_total_time=60 \
 *     build/fuzz-evstream
 * TCL_FUZZ_SEED_DIR makes the target write its seeds (every request kind) there first. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "canonjson.h"
#include "diag.h"
#include "evstream.h"
#include "fuzz.h"

static char sock_path[108];

static const char *const seeds[] = {
	"\x00\x00\x00\x00status\n",
	"\x02\x03\x00\x00events\n",
	"\x03\x05\x09\x00events follow\n",
	"\x00\x0a\x00\x00container {\"id\":\"abc\",\"pid\":42,\"bundle\":\"/run/b\"}\n",
	"\x01\x04\x00\x00container {\"id\":1,\"pid\":\"x\"}\r\n",
	"\x00\x00\x00\x00bogus request\n",
	"\x04\x02\x00\x00status",
};

static void write_seeds(const char *dir)
{
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		char name[32];

		snprintf(name, sizeof(name), "%zu", i);
		fuzz_seed(dir, name, -1, seeds[i], 4 + strlen(seeds[i] + 4));
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = fuzz_init();

	snprintf(sock_path, sizeof(sock_path), "/tmp/tcl-fuzz-evstream-%d.sock", (int)getpid());
	if (dir)
		write_seeds(dir);
	return 0;
}

/* tcl-agent's handler in miniature: the same request kinds, the same bounded parse. */
static int handler(void *ctx, const char *req, char *buf, size_t len)
{
	json_object *o = NULL;
	int n;

	if (strlen(req) >= TCL_EVSTREAM_REQ_MAX)
		abort(); /* the stream promised a bounded, NUL-terminated line */
	if (!strcmp(req, "status"))
		return snprintf(buf, len, "{\"pid\":1,\"mode\":\"audit\"}\n");
	if (strncmp(req, "container ", 10))
		return -EINVAL;
	if (tcl_json_parse("hook request", req + 10, strlen(req + 10), TCL_EVSTREAM_REQ_MAX, &o))
		return snprintf(buf, len, "{\"verified\":false,\"reason\":\"malformed\"}\n");
	n = snprintf(buf, len, "{\"verified\":false,\"type\":%d}\n", json_object_get_type(o));
	json_object_put(o);
	return n;
}

static int client(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		abort();
	strcpy(sa.sun_path, sock_path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS)
		abort();
	return fd;
}

/* Let the stream handle whatever is pending, as the agent's poll loop does. */
static void pump(struct tcl_evstream *s, int rounds)
{
	struct pollfd fds[TCL_EVSTREAM_MAX_CLIENTS + 1];

	for (int r = 0; r < rounds; r++) {
		int n = tcl_evstream_pollfds(s, fds, TCL_EVSTREAM_MAX_CLIENTS + 1);

		if (poll(fds, n, 0) <= 0)
			return;
		tcl_evstream_handle(s, fds, n);
	}
}

/* Read what came back; every byte must belong to a line the stream produced. */
static size_t drain(int fd)
{
	char buf[65536];
	size_t total = 0;
	ssize_t r;

	while ((r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		total += r;
	return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tcl_evstream *s = NULL;
	const uint8_t *msg;
	size_t len, cut[3], prev = 0;
	int fd[2] = { -1, -1 }, nclients;
	uint8_t flags;

	if (size < 4)
		return 0;
	flags = data[0];
	msg = data + 4;
	len = size - 4;
	for (int i = 0; i < 3; i++)
		cut[i] = len ? data[1 + i] * len / 255 : 0;
	if (tcl_evstream_open(sock_path, handler, NULL, &s))
		abort();
	nclients = flags & 1 ? 2 : 1;
	for (int c = 0; c < nclients; c++)
		fd[c] = client();
	pump(s, 2);
	for (int piece = 0; piece <= 3; piece++) {
		size_t end = piece < 3 ? cut[piece] : len;

		if (end < prev)
			end = prev;
		for (int c = 0; c < nclients && end > prev; c++)
			if (fd[c] >= 0 &&
			    send(fd[c], msg + prev, end - prev, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
			    errno != EAGAIN && errno != EPIPE && errno != ECONNRESET)
				abort();
		prev = end;
		pump(s, 4);
		if (flags & 2) {
			static const char line[] = "{\"type\":\"exec\",\"verdict\":\"deny\"}\n";

			tcl_evstream_publish(s, line, sizeof(line) - 1);
			if (len)
				tcl_evstream_publish(s, (const char *)msg, len);
		}
		for (int c = 0; c < nclients; c++)
			if (fd[c] >= 0)
				drain(fd[c]);
		if (((flags >> 2) & 3) == piece + 1 && fd[0] >= 0) {
			close(fd[0]);
			fd[0] = -1;
		}
	}
	pump(s, 8);
	for (int c = 0; c < nclients; c++) {
		if (fd[c] >= 0) {
			drain(fd[c]);
			close(fd[c]);
		}
	}
	pump(s, 4);
	tcl_evstream_close(s);
	return 0;
}
