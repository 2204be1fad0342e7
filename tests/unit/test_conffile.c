// SPDX-License-Identifier: GPL-2.0
/* Unit tests for lib/conffile.c, the one reader of tcl's `key = value` config files, for
 * agent/agent_conf.c (the agent's settings put before its command line) and for lib/sdnotify.c
 * (systemd's notification datagram, to a socket path and to an abstract name). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent_conf.h"
#include "conffile.h"
#include "sdnotify.h"

static char dir[] = "/tmp/test_conffile.XXXXXX", path[256], errbuf[4096], got[1024];

static const struct option opts[] = {
	{ "config", required_argument, NULL, 'F' },
	{ "policy", required_argument, NULL, 'p' },
	{ "trust-key", required_argument, NULL, 'K' },
	{ "enforce", no_argument, NULL, 'E' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int setup(void **state)
{
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/x.conf", dir);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	rmdir(dir);
	return 0;
}

static void write_conf(const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
}

/* Each setting appended to got as "name=value;" (from in brackets for the first). */
static int record(void *ctx, const struct option *o, const char *v, const char *from)
{
	int *calls = ctx;

	if (!strcmp(v, "fail"))
		return -EBADMSG;
	if (!(*calls)++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "[%s]", from);
	snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s=%s;", o->name, v);
	return 0;
}

static int read_conf(const char *text, bool missing_ok, const char *file)
{
	static const char *const not_keys[] = { "config", "help", NULL };
	int calls = 0, rc;
	FILE *err;
	struct tcl_conf c = {
		.prog = "prog",
		.opts = opts,
		.not_keys = not_keys,
		.missing_ok = missing_ok,
		.set = record,
		.ctx = &calls,
	};

	if (text)
		write_conf(text, strlen(text));
	memset(errbuf, 0, sizeof(errbuf));
	memset(got, 0, sizeof(got));
	err = fmemopen(errbuf, sizeof(errbuf) - 1, "w");
	c.err = err;
	rc = tcl_conf_read(&c, file ? file : path);
	fclose(err);
	return rc;
}

static void test_lines(void **state)
{
	char want[512];

	assert_int_equal(read_conf("# a comment\n\n  policy =  /etc/p.json \r\n"
				   "trust-key=a.pem\n\t# indented comment\ntrust-key = b = c\n"
				   "enforce = yes", false, NULL), 0);
	snprintf(want, sizeof(want), "[%s:3]policy=/etc/p.json;trust-key=a.pem;"
		 "trust-key=b = c;enforce=yes;", path);
	assert_string_equal(got, want);
	assert_string_equal(errbuf, "");
	/* an empty file is no setting at all */
	assert_int_equal(read_conf("", false, NULL), 0);
	assert_string_equal(got, "");
}

static void test_errors(void **state)
{
	char want[512];

	assert_int_equal(read_conf("policy = p\ncolour = blue\n", false, NULL), -EINVAL);
	snprintf(want, sizeof(want), "prog: %s:2: unknown key 'colour'\n", path);
	assert_string_equal(errbuf, want);
	/* names that are options but not keys */
	assert_int_equal(read_conf("help = 1\n", false, NULL), -EINVAL);
	assert_non_null(strstr(errbuf, ":1: unknown key 'help'"));
	assert_int_equal(read_conf("\nconfig = other.conf\n", false, NULL), -EINVAL);
	assert_non_null(strstr(errbuf, ":2: unknown key 'config'"));
	assert_int_equal(read_conf("--policy = p\n", false, NULL), -EINVAL);
	assert_non_null(strstr(errbuf, "unknown key '--policy'"));
	assert_int_equal(read_conf("policy\n", false, NULL), -EINVAL);
	assert_non_null(strstr(errbuf, ":1: expected 'key = value'"));
	assert_int_equal(read_conf("policy =  \n", false, NULL), -EINVAL);
	assert_non_null(strstr(errbuf, ":1: 'policy' has no value"));
	/* the callback's error stops the reading, returned as is */
	assert_int_equal(read_conf("policy = fail\npolicy = p\n", false, NULL), -EBADMSG);
	assert_string_equal(got, "");
	write_conf("policy = p\0x\n", 13);
	assert_int_equal(read_conf(NULL, false, NULL), -EINVAL);
	assert_non_null(strstr(errbuf, "contains a NUL byte"));
	{
		size_t n = TCL_CONF_MAX_BYTES + 1;
		char *big = malloc(n);

		assert_non_null(big);
		memset(big, '#', n);
		write_conf(big, n);
		free(big);
	}
	assert_int_equal(read_conf(NULL, false, NULL), -EFBIG);
	assert_non_null(strstr(errbuf, "larger than 64 KiB"));
}

static void test_missing(void **state)
{
	assert_int_equal(read_conf(NULL, true, "/nonexistent/x.conf"), -ENOENT);
	assert_string_equal(errbuf, "");
	assert_int_equal(read_conf(NULL, false, "/nonexistent/x.conf"), -ENOENT);
	assert_string_equal(errbuf, "prog: config /nonexistent/x.conf: No such file or directory\n");
}

static void test_bool(void **state)
{
	const char *yes[] = { "true", "yes", "1", "on" }, *no[] = { "false", "no", "0", "off" };
	bool b;

	for (size_t i = 0; i < 4; i++) {
		b = false;
		assert_int_equal(tcl_conf_bool(yes[i], &b), 0);
		assert_true(b);
		assert_int_equal(tcl_conf_bool(no[i], &b), 0);
		assert_false(b);
	}
	assert_int_equal(tcl_conf_bool("maybe", &b), -EINVAL);
	assert_int_equal(tcl_conf_bool("", &b), -EINVAL);
	assert_int_equal(tcl_conf_bool("TRUE ", &b), -EINVAL);
}

/* The agent: the file's settings before the command line's, so that the command line wins. */
static void test_agent_argv(void **state)
{
	char conf_arg[300], *argv0[] = { "tcl-agent", "--policy", "cli.json", conf_arg, NULL };
	char **argv = argv0;
	int argc = 4, rc;
	FILE *err;

	snprintf(conf_arg, sizeof(conf_arg), "--config=%s", path);
	write_conf("policy = file.json\nenforce = true\ntrust-key = k.pem\n", 51);
	err = fmemopen(errbuf, sizeof(errbuf) - 1, "w");
	rc = tcl_agent_conf_argv(&argc, &argv, opts, err);
	fclose(err);
	assert_int_equal(rc, 0);
	assert_int_equal(argc, 7);
	assert_string_equal(argv[0], "tcl-agent");
	assert_string_equal(argv[1], "--policy=file.json");
	assert_string_equal(argv[2], "--enforce");
	assert_string_equal(argv[3], "--trust-key=k.pem");
	assert_string_equal(argv[4], "--policy");
	assert_string_equal(argv[5], "cli.json");
	assert_string_equal(argv[6], conf_arg);
	assert_null(argv[7]);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);

	/* a flag set to false adds nothing; anything but a boolean is refused with its line */
	write_conf("enforce = no\nenforce = maybe\n", 29);
	argv = argv0;
	argc = 4;
	memset(errbuf, 0, sizeof(errbuf));
	err = fmemopen(errbuf, sizeof(errbuf) - 1, "w");
	rc = tcl_agent_conf_argv(&argc, &argv, opts, err);
	fclose(err);
	assert_int_equal(rc, -EINVAL);
	assert_ptr_equal(argv, argv0);
	assert_non_null(strstr(errbuf, ":2: 'enforce' is true or false, not 'maybe'"));

	/* an explicit file must exist; --config FILE as two arguments */
	char *argv1[] = { "tcl-agent", "--config", "/nonexistent/agent.conf", NULL };

	argv = argv1;
	argc = 3;
	memset(errbuf, 0, sizeof(errbuf));
	err = fmemopen(errbuf, sizeof(errbuf) - 1, "w");
	rc = tcl_agent_conf_argv(&argc, &argv, opts, err);
	fclose(err);
	assert_int_equal(rc, -ENOENT);
	assert_non_null(strstr(errbuf, "/nonexistent/agent.conf: No such file"));
}

static int notify_socket(struct sockaddr_un *sun, socklen_t *len, bool abstract)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char env[sizeof(sun->sun_path) + 1];

	assert_true(fd >= 0);
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (abstract) {
		snprintf(env, sizeof(env), "@tcl-test-notify-%d", getpid());
		memcpy(sun->sun_path + 1, env + 1, strlen(env) - 1);
		*len = offsetof(struct sockaddr_un, sun_path) + strlen(env);
	} else {
		snprintf(env, sizeof(env), "%s/notify", dir);
		strcpy(sun->sun_path, env);
		*len = sizeof(*sun);
	}
	assert_int_equal(bind(fd, (struct sockaddr *)sun, *len), 0);
	setenv("NOTIFY_SOCKET", env, 1);
	return fd;
}

static void test_sd_notify(void **state)
{
	struct sockaddr_un sun;
	socklen_t len;
	char buf[64];

	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(tcl_sd_notify("READY=1"), 0);
	for (int abstract = 0; abstract < 2; abstract++) {
		int fd = notify_socket(&sun, &len, abstract);
		ssize_t n;

		assert_int_equal(tcl_sd_notify("READY=1"), 0);
		n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		assert_int_equal(n, 7);
		buf[n] = '\0';
		assert_string_equal(buf, "READY=1");
		assert_int_equal(tcl_sd_notify("STOPPING=1"), 0);
		n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		assert_int_equal(n, 10);
		close(fd);
		if (!abstract)
			unlink(sun.sun_path);
	}
	setenv("NOTIFY_SOCKET", "vsock:2:1", 1);
	assert_int_equal(tcl_sd_notify("READY=1"), -EAFNOSUPPORT);
	setenv("NOTIFY_SOCKET", "/nonexistent/notify", 1);
	assert_int_equal(tcl_sd_notify("READY=1"), -ENOENT);
	unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),	    cmocka_unit_test(test_errors),
		cmocka_unit_test(test_missing),	    cmocka_unit_test(test_bool),
		cmocka_unit_test(test_agent_argv), cmocka_unit_test(test_sd_notify),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
