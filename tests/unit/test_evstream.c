// SPDX-License-Identifier: GPL-2.0
/* The event socket's per-client queue (lib/evstream.c): records reach a slow subscriber whole
 * and in order while its buffer grows, is compacted and drains; past the limit, a drop record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "evstream.h"

static char sock[64];
static char pad[512];
static char dir[] = "/tmp/tcl-evs-XXXXXX";

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

static int line(char *buf, size_t len, unsigned i)
{
	/* lengths vary (30 to 530 bytes), so records straddle every buffer boundary */
	return snprintf(buf, len, "{\"n\":%u,\"pad\":\"%.*s\"}\n", i, (int)(i * 7 % 500),
			pad);
}

/* Read what is there (non-blocking after the first read) and check it against the next lines. */
static unsigned check_read(int fd, unsigned next, char *acc, size_t *acc_len)
{
	char buf[65536], want[1024];
	ssize_t n;
	char *nl;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		assert_true(*acc_len + n < (1u << 20));
		memcpy(acc + *acc_len, buf, n);
		*acc_len += n;
	}
	while ((nl = memchr(acc, '\n', *acc_len))) {
		size_t l = nl - acc + 1;
		int wl = line(want, sizeof(want), next);

		if (l != (size_t)wl)
			print_error("next %u got %.*s\n", next, (int)l, acc);
		assert_int_equal(l, wl);
		assert_memory_equal(acc, want, l);
		memmove(acc, acc + l, *acc_len - l);
		*acc_len -= l;
		next++;
	}
	return next;
}

static void test_slow_subscriber_in_order(void **state)
{
	struct tcl_evstream *s;
	static char acc[1 << 20];
	size_t acc_len = 0;
	char buf[1024];
	unsigned next = 0, i;
	int fd;

	(void)state;
	assert_int_equal(tcl_evstream_open(sock, NULL, NULL, &s), 0);
	fd = tcl_evstream_request(sock, "events follow\n");
	assert_true(fd >= 0);
	serve(s, 50);
	/* Bursts larger than the socket buffer, read in part between them: the queue keeps a
	 * sent front, grows and is compacted many times over. */
	for (i = 0; i < 60000; i++) {
		tcl_evstream_publish(s, buf, line(buf, sizeof(buf), i));
		if (i % 5000 == 4999) {
			serve(s, 0);
			next = check_read(fd, next, acc, &acc_len);
		}
		/* every other burst, drained: the limit is never reached, nothing is dropped */
		while (i % 10000 == 9999 && next <= i) {
			serve(s, 10);
			next = check_read(fd, next, acc, &acc_len);
		}
	}
	while (next < i) {
		serve(s, 10);
		next = check_read(fd, next, acc, &acc_len);
	}
	assert_int_equal(next, 60000);
	assert_int_equal(acc_len, 0);
	close(fd);
	tcl_evstream_close(s);
}

static void test_full_buffer_drops(void **state)
{
	struct tcl_evstream *s;
	char buf[1024], rd[65536];
	unsigned i, n = TCL_EVSTREAM_CLIENT_BUF / 500 * 2;
	size_t total = 0;
	ssize_t r;
	int fd;

	(void)state;
	assert_int_equal(tcl_evstream_open(sock, NULL, NULL, &s), 0);
	fd = tcl_evstream_request(sock, "events follow\n");
	assert_true(fd >= 0);
	serve(s, 50);
	/* Nobody reads: twice the limit is published, the rest is lost and then announced. */
	for (i = 0; i < n; i++) {
		memset(buf, 'y', 499);
		buf[499] = '\n';
		tcl_evstream_publish(s, buf, 500);
	}
	tcl_evstream_publish(s, "{\"last\":1}\n", 11);
	for (;;) {
		serve(s, 0);
		r = recv(fd, rd, sizeof(rd), MSG_DONTWAIT);
		if (r <= 0) {
			serve(s, 20);
			r = recv(fd, rd, sizeof(rd), MSG_DONTWAIT);
			if (r <= 0)
				break;
		}
		total += r;
		if (memmem(rd, r, "\"last\":1", 8))
			break;
	}
	assert_true(total <= TCL_EVSTREAM_CLIENT_BUF + 4096);
	assert_true(total >= TCL_EVSTREAM_CLIENT_BUF - 500);
	close(fd);
	tcl_evstream_close(s);
}

static int setup(void **state)
{
	(void)state;
	memset(pad, 'x', sizeof(pad) - 1);
	if (!mkdtemp(dir))
		return -1;
	snprintf(sock, sizeof(sock), "%s/s", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(sock);
	rmdir(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slow_subscriber_in_order),
		cmocka_unit_test(test_full_buffer_drops),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
