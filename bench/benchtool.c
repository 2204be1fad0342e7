// SPDX-License-Identifier: GPL-2.0
/*
 * benchtool: the timing loops of tcl's benchmarks (built static, so that its own exec and
 * libraries do not blur what is measured). Times are CLOCK_MONOTONIC nanoseconds.
 *   exec-loop N PATH [ARG...]     fork+exec+wait N times; prints "execs=N total_ns=T"
 *   exec-each PATH...             fork+exec+wait each PATH once (the first exec of distinct
 *                                 files: each is hashed and measured); prints
 *                                 "execs=N total_ns=T failed=F"
 *   exec-times K PATH [--cold]    K single fork+exec+wait timings, one per line (ns); --cold
 *                                 write-opens PATH first each time, which evicts its cached
 *                                 digest without touching its content or the page cache
 *   deny-rate RATE SECONDS PATH   execve(PATH) from one process at RATE attempts/s (0: as fast
 *                                 as possible) for SECONDS; PATH must be denied (EPERM);
 *                                 prints "attempts=A eperm=E other=O seconds=S"
 *   open-loop N PATH              open(PATH, O_RDONLY)+close N times: path walks, which is
 *                                 where the guard's inode_permission program runs;
 *                                 prints "opens=N total_ns=T"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static long parse(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max) {
		fprintf(stderr, "benchtool: bad number: %s (%ld..%ld)\n", s, min, max);
		exit(2);
	}
	return v;
}

/* One fork+exec+wait; the child's stdout goes to /dev/null. Returns its exit status. */
static int run_once(char **argv, int devnull)
{
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		perror("benchtool: fork");
		exit(1);
	}
	if (pid == 0) {
		dup2(devnull, 1);
		execve(argv[0], argv, environ);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0) {
		perror("benchtool: waitpid");
		exit(1);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int exec_loop(long n, char **argv)
{
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	long failed = 0;
	uint64_t t0 = now_ns();

	for (long i = 0; i < n; i++)
		failed += run_once(argv, devnull) != 0;
	printf("execs=%ld total_ns=%llu failed=%ld\n", n, (unsigned long long)(now_ns() - t0),
	       failed);
	return failed ? 1 : 0;
}

static int exec_each(int n, char **paths)
{
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	long failed = 0;
	uint64_t t0 = now_ns();

	for (int i = 0; i < n; i++) {
		char *args[] = { paths[i], NULL };

		failed += run_once(args, devnull) != 0;
	}
	printf("execs=%d total_ns=%llu failed=%ld\n", n, (unsigned long long)(now_ns() - t0),
	       failed);
	return failed ? 1 : 0;
}

static int exec_times(long k, char **argv, int cold)
{
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);

	for (long i = 0; i < k; i++) {
		uint64_t t0;
		int st;

		if (cold) {
			int fd = open(argv[0], O_WRONLY | O_APPEND | O_CLOEXEC);

			if (fd < 0) {
				perror("benchtool: write-open");
				return 1;
			}
			close(fd);
		}
		t0 = now_ns();
		st = run_once(argv, devnull);
		printf("%llu%s\n", (unsigned long long)(now_ns() - t0), st ? " failed" : "");
	}
	return 0;
}

static int deny_rate(long rate, long seconds, const char *path)
{
	char *argv[] = { (char *)path, NULL };
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)seconds * 1000000000ULL, next = t0;
	uint64_t gap = rate ? 1000000000ULL / rate : 0, t;
	long attempts = 0, eperm = 0, other = 0;

	while ((t = now_ns()) < end) {
		if (gap && t < next) {
			struct timespec ts = { 0, (long)(next - t) };

			if (next - t > 50000)
				nanosleep(&ts, NULL);
			continue;
		}
		next += gap;
		execve(path, argv, environ);
		/* Still here: the exec was refused. */
		attempts++;
		if (errno == EPERM)
			eperm++;
		else
			other++;
	}
	printf("attempts=%ld eperm=%ld other=%ld seconds=%.3f\n", attempts, eperm, other,
	       (now_ns() - t0) / 1e9);
	return other ? 1 : 0;
}

static int open_loop(long n, const char *path)
{
	uint64_t t0 = now_ns();

	for (long i = 0; i < n; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			perror("benchtool: open");
			return 1;
		}
		close(fd);
	}
	printf("opens=%ld total_ns=%llu\n", n, (unsigned long long)(now_ns() - t0));
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: benchtool exec-loop N PATH [ARG...]\n"
		   "       benchtool exec-each PATH...\n"
		   "       benchtool exec-times K PATH [--cold]\n"
		   "       benchtool deny-rate RATE SECONDS PATH\n"
		   "       benchtool open-loop N PATH\n");
}

int main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "exec-loop"))
		return exec_loop(parse(argv[2], 1, 100000000), argv + 3);
	if (argc >= 3 && !strcmp(argv[1], "exec-each"))
		return exec_each(argc - 2, argv + 2);
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "exec-times")) {
		char *args[] = { argv[3], NULL };

		if (argc == 5 && strcmp(argv[4], "--cold")) {
			usage(stderr);
			return 2;
		}
		return exec_times(parse(argv[2], 1, 1000000), args, argc == 5);
	}
	if (argc == 4 && !strcmp(argv[1], "open-loop"))
		return open_loop(parse(argv[2], 1, 100000000), argv[3]);
	if (argc == 5 && !strcmp(argv[1], "deny-rate"))
		return deny_rate(parse(argv[2], 0, 10000000), parse(argv[3], 1, 3600), argv[4]);
	usage(stderr);
	return 2;
}
