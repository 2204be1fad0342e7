// SPDX-License-Identifier: GPL-2.0
/*
 * consume: host micro-benchmark of the agent's ring-buffer consume path. A BPF program (run by
 * BPF_PROG_TEST_RUN, bench/produce.bpf.c) fills a ring buffer with exec denial records; this
 * program consumes them as tcl-agent does (libbpf's ring_buffer__consume, the record's scope
 * metadata, tcl_event_format, tcl_evstream_publish) and delivers the JSON lines through the
 * agent's event socket to a subscriber ("events follow") in a child process, which counts them.
 * Only the consuming thread's CPU time is counted (not the producer's), so the figure is
 * records per second per core.
 * usage: consume PRODUCE_OBJ RECORDS
 * prints one JSON object: records, delivered (lines the subscriber read), drops, cpu_s,
 * records_per_s_per_core, wall_s
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tcl_abi.h"
#include "events.h"
#include "evstream.h"
#include "scope.h"

#define BATCH 10000u

struct produce_cfg {
	__u32 count;
	__u32 written;
	struct tcl_event e;
};

struct ctx {
	struct tcl_scope *scope;
	struct tcl_evstream *stream;
	unsigned long consumed;
};

/* What tcl-agent's on_record does with a file event it does not measure (a denial). */
static int on_record(void *arg, void *data, size_t size)
{
	struct ctx *c = arg;
	struct tcl_event_meta meta = {};
	char line[TCL_EVENT_JSON_MAX];
	const struct tcl_event *e = data;
	int len;

	if (size < sizeof(struct tcl_event))
		return 0;
	tcl_scope_meta(c->scope, e->scope_cgid, &meta);
	len = tcl_event_format(e, &meta, line, sizeof(line));
	if (len > 0)
		tcl_evstream_publish(c->stream, line, len);
	c->consumed++;
	return 0;
}

static double secs(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The subscriber: reads lines until EOF, writes their count to fd out. */
static void subscriber(const char *sock, int out)
{
	static char buf[1 << 16];
	unsigned long lines = 0;
	ssize_t n;
	int fd = tcl_evstream_request(sock, "events follow\n");

	if (fd < 0)
		_exit(1);
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		for (char *p = buf; n > 0 && (p = memchr(p, '\n', buf + n - p)); p++)
			lines++;
	if (write(out, &lines, sizeof(lines)) != sizeof(lines))
		_exit(1);
	_exit(0);
}

/* Serve the socket (accept, flush client buffers) until told to stop or idle for ms. */
static void serve(struct tcl_evstream *s, int ms)
{
	struct pollfd fds[TCL_EVSTREAM_MAX_CLIENTS + 1];
	int n;

	for (;;) {
		n = tcl_evstream_pollfds(s, fds, TCL_EVSTREAM_MAX_CLIENTS + 1);
		if (poll(fds, n, ms) <= 0)
			return;
		tcl_evstream_handle(s, fds, n);
	}
}

int main(int argc, char **argv)
{
	struct ctx c = {};
	struct bpf_object *obj = NULL;
	struct bpf_program *prog;
	struct bpf_map *data, *rbm;
	struct ring_buffer *rb = NULL;
	static char pcbuf[sizeof(struct produce_cfg) + 64];
	struct produce_cfg *cfg = (void *)pcbuf;
	char sock[] = "/tmp/tcl-consume-XXXXXX";
	unsigned long records, delivered = 0;
	double cpu = 0, wall, t;
	int pfd[2], ret = 1, status;
	size_t sz;
	pid_t pid;

	if (argc == 2 && !strcmp(argv[1], "--help")) {
		printf("usage: consume PRODUCE_OBJ RECORDS\n");
		return 0;
	}
	if (argc != 3 || (records = strtoul(argv[2], NULL, 10)) < BATCH) {
		fprintf(stderr, "usage: consume PRODUCE_OBJ RECORDS (at least %u)\n", BATCH);
		return 2;
	}
	records -= records % BATCH;
	if (!mkdtemp(sock))
		return 1;
	strcat(sock, "/s");
	if (tcl_scope_new("containers", "/sys/fs/cgroup", &c.scope) ||
	    tcl_evstream_open(sock, NULL, NULL, &c.stream))
		goto out;
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj)
		goto out;
	data = bpf_object__find_map_by_name(obj, ".data");
	rbm = bpf_object__find_map_by_name(obj, "rb");
	prog = bpf_object__find_program_by_name(obj, "produce");
	if (!data || !rbm || !prog)
		goto out;
	if (!bpf_map__initial_value(data, &sz) || sz < sizeof(*cfg))
		goto out;
	cfg->count = BATCH;
	cfg->e.hook = TCL_HOOK_EXEC;
	cfg->e.verdict = TCL_VERDICT_DENY;
	cfg->e.reason = TCL_REASON_NOT_ALLOWED;
	cfg->e.pid = 4242;
	cfg->e.ppid = 4241;
	cfg->e.cgroup_id = 12345;
	cfg->e.dev = 0x800001;
	cfg->e.ino = 1234567;
	for (int i = 0; i < TCL_SHA256_LEN; i++)
		cfg->e.sha256[i] = (unsigned char)(i * 37 + 11);
	snprintf(cfg->e.comm, sizeof(cfg->e.comm), "sh");
	snprintf(cfg->e.path, sizeof(cfg->e.path), "/usr/lib/x86_64-linux-gnu/libexample.so.1.2.3");
	if (bpf_map__set_initial_value(data, cfg, sz) || bpf_object__load(obj)) {
		fprintf(stderr, "consume: cannot load %s\n", argv[1]);
		goto out;
	}
	rb = ring_buffer__new(bpf_map__fd(rbm), on_record, &c, NULL);
	if (!rb || pipe(pfd))
		goto out;
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		subscriber(sock, pfd[1]);
	}
	close(pfd[1]);
	serve(c.stream, 200); /* accept the subscriber */
	wall = secs(CLOCK_MONOTONIC);
	for (unsigned long done = 0; done < records; done += BATCH) {
		LIBBPF_OPTS(bpf_test_run_opts, topts);

		if (bpf_prog_test_run_opts(bpf_program__fd(prog), &topts))
			goto out;
		t = secs(CLOCK_THREAD_CPUTIME_ID);
		ring_buffer__consume(rb);
		serve(c.stream, 20); /* until the subscriber has it all: blocked time is no CPU */
		cpu += secs(CLOCK_THREAD_CPUTIME_ID) - t;
	}
	t = secs(CLOCK_THREAD_CPUTIME_ID);
	serve(c.stream, 100); /* what is left in the client's buffer */
	cpu += secs(CLOCK_THREAD_CPUTIME_ID) - t;
	wall = secs(CLOCK_MONOTONIC) - wall;
	tcl_evstream_close(c.stream);
	c.stream = NULL;
	if (read(pfd[0], &delivered, sizeof(delivered)) != sizeof(delivered))
		delivered = 0;
	waitpid(pid, &status, 0);
	printf("{\"records\": %lu, \"consumed\": %lu, \"delivered\": %lu, \"cpu_s\": %.3f, "
	       "\"wall_s\": %.3f, \"records_per_s_per_core\": %.0f}\n",
	       records, c.consumed, delivered, cpu, wall, c.consumed / cpu);
	ret = c.consumed == records ? 0 : 1;
out:
	ring_buffer__free(rb);
	bpf_object__close(obj);
	tcl_evstream_close(c.stream);
	tcl_scope_free(c.scope);
	unlink(sock);
	*strrchr(sock, '/') = 0;
	rmdir(sock);
	return ret;
}
