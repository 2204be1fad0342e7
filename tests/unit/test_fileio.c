// SPDX-License-Identifier: GPL-2.0
/* lib/fileio.c */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileio.h"

static char dir[64];

static int setup(void **state)
{
	strcpy(dir, "/tmp/test_fileio.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void test_fd_loops(void **state)
{
	int p[2];
	char buf[16];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(tcl_write_all(p[1], "hello", 5), 0);
	close(p[1]);
	assert_int_equal(tcl_read_full(p[0], buf, sizeof(buf)), 5);	/* end of file */
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(tcl_read_full(p[0], buf, sizeof(buf)), 0);
	close(p[0]);
	assert_int_equal(tcl_read_full(-1, buf, 1), -EBADF);
	assert_int_equal(tcl_write_all(-1, buf, 1), -EBADF);
}

static void test_read_fd(void **state)
{
	char *s = NULL;
	size_t n = 0;
	int p[2];

	/* at most @max bytes: one more is -EFBIG, and the descriptor stays open */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(tcl_write_all(p[1], "12345", 5), 0);
	close(p[1]);
	assert_int_equal(tcl_read_fd(p[0], 4, &s, &n), -EFBIG);
	assert_null(s);
	assert_true(fcntl(p[0], F_GETFD) >= 0);
	close(p[0]);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(tcl_write_all(p[1], "12345", 5), 0);
	close(p[1]);
	assert_int_equal(tcl_read_fd(p[0], 5, &s, &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(s, "12345");
	free(s);
	close(p[0]);
}

static void test_files(void **state)
{
	char path[128], *s;
	size_t n;
	struct stat st;

	snprintf(path, sizeof(path), "%s/a", dir);
	assert_int_equal(tcl_write_file_atomic(path, "abc", 3, 0600), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(tcl_read_file(path, 3, &s, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(s, "abc");
	free(s);
	assert_int_equal(tcl_read_file(path, 2, &s, &n), -EFBIG);
	assert_int_equal(tcl_read_regular_file(path, 2, &s, &n), -EFBIG);
	assert_int_equal(tcl_read_regular_file(dir, 100, &s, &n), -EINVAL);
	assert_int_equal(tcl_write_file_new(path, "x", 1, 0600), -EEXIST);
	assert_int_equal(tcl_read_regular_file(path, 3, &s, NULL), 0);
	assert_string_equal(s, "abc");
	free(s);

	snprintf(path, sizeof(path), "%s/b", dir);
	assert_int_equal(tcl_write_file_new(path, "xyz", 3, 0640), 0);
	assert_int_equal(tcl_read_file(path, 100, &s, &n), 0);
	assert_string_equal(s, "xyz");
	free(s);
	snprintf(path, sizeof(path), "%s/none/c", dir);
	assert_int_equal(tcl_read_file(path, 100, &s, &n), -ENOENT);
	assert_int_equal(tcl_write_file_atomic(path, "x", 1, 0600), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd_loops),
		cmocka_unit_test(test_read_fd),
		cmocka_unit_test(test_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
