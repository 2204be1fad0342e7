// SPDX-License-Identifier: GPL-2.0
/* Unit tests for attestor/config.c: flags, the key = value config file, their precedence and
 * their errors (libtcl-attestor.a). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "diag.h"

static char dir[] = "/tmp/test_attestor_config.XXXXXX", path[256], errbuf[4096];
static FILE *err;

static int setup(void **state)
{
	tcl_verbosity = -1;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/attestor.conf", dir);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	rmdir(dir);
	return 0;
}

static int parse(struct att_config *c, const char *conf, ...)
{
	char *argv[32];
	int argc = 0, rc;
	va_list ap;
	const char *a;

	if (conf) {
		FILE *f = fopen(path, "w");

		fputs(conf, f);
		fclose(f);
	}
	argv[argc++] = "tcl-attestor";
	va_start(ap, conf);
	while ((a = va_arg(ap, const char *)) && argc < 31)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	memset(errbuf, 0, sizeof(errbuf));
	err = fmemopen(errbuf, sizeof(errbuf) - 1, "w");
	rc = att_config_parse(argc, argv, c, err);
	fclose(err);
	return rc;
}

#define TLS "--cert", "s.crt", "--key", "s.key", "--client-ca", "ca.crt"

static void test_defaults(void **state)
{
	struct att_config c;

	assert_int_equal(parse(&c, NULL, TLS, NULL), 0);
	assert_string_equal(c.listen, "127.0.0.1:8443");
	assert_string_equal(c.state, "/var/lib/tcl-attestor/state.json");
	assert_string_equal(c.db, "sqlite:/var/lib/tcl-attestor/state.db");
	assert_int_equal(c.pcr, 13);
	assert_int_equal(c.nonce_ttl, 60);
	assert_int_equal(c.stale_after, 300);
	assert_int_equal(c.max_body, 64u << 20);
	assert_false(c.open_reads);
	assert_int_equal(c.n_trust, 0);
	att_config_free(&c);
	/* the database beside --state unless --db says otherwise */
	assert_int_equal(parse(&c, NULL, TLS, "--state", "/srv/att/old.json", NULL), 0);
	assert_string_equal(c.db, "sqlite:/srv/att/state.db");
	att_config_free(&c);
	assert_int_equal(parse(&c, NULL, TLS, "--state", "old.json", NULL), 0);
	assert_string_equal(c.db, "sqlite:./state.db");
	att_config_free(&c);
	assert_int_equal(parse(&c, NULL, TLS, "--db", "postgresql://tcl@db/tcl", NULL), 0);
	assert_string_equal(c.db, "postgresql://tcl@db/tcl");
	att_config_free(&c);
	assert_int_equal(parse(&c, NULL, "--cert", "x", NULL), 2);
	assert_non_null(strstr(errbuf, "--client-ca are required"));
	att_config_free(&c);
	assert_int_equal(parse(&c, NULL, "--help", NULL), 0);
	assert_true(c.help);
	att_config_free(&c);
}

static void test_flags(void **state)
{
	struct att_config c;

	assert_int_equal(parse(&c, NULL, TLS, "--listen", "[::1]:9443", "--pcr", "14",
			       "--trust-key", "a.pub", "--trust-key=b.pub", "--max-body", "2M",
			       "--nonce-ttl", "5", "--open-reads", "-v", "--ek-ca", "ek.pem",
			       NULL), 0);
	assert_string_equal(c.listen, "[::1]:9443");
	assert_int_equal(c.pcr, 14);
	assert_int_equal(c.n_trust, 2);
	assert_string_equal(c.trust_keys[1], "b.pub");
	assert_int_equal(c.max_body, 2u << 20);
	assert_int_equal(c.nonce_ttl, 5);
	assert_true(c.open_reads);
	assert_string_equal(c.ek_ca, "ek.pem");
	att_config_free(&c);
	assert_int_equal(parse(&c, NULL, TLS, "--pcr", "24", NULL), 2);
	assert_non_null(strstr(errbuf, "--pcr: invalid value '24'"));
	att_config_free(&c);
	/* firmware PCRs, the resettable 16 and 23 and the D-RTM 17-22 cannot hold the log */
	assert_int_equal(parse(&c, NULL, TLS, "--pcr", "9", NULL), 2);
	att_config_free(&c);
	assert_int_equal(parse(&c, NULL, TLS, "--pcr", "16", NULL), 2);
	att_config_free(&c);
	assert_int_equal(parse(&c, NULL, TLS, "--pcr", "23", NULL), 2);
	att_config_free(&c);
	assert_int_equal(parse(&c, NULL, TLS, "--pcr", "17", NULL), 2);
	att_config_free(&c);
	assert_int_equal(parse(&c, NULL, TLS, "--pcr", "22", NULL), 2);
	att_config_free(&c);
	assert_int_equal(parse(&c, NULL, TLS, "--pcr", "15", NULL), 0);
	assert_int_equal(c.pcr, 15);
	att_config_free(&c);
	assert_int_equal(parse(&c, NULL, TLS, "--max-body", "1Q", NULL), 2);
	att_config_free(&c);
	assert_int_equal(parse(&c, NULL, TLS, "--nonce-ttl", "-1", NULL), 2);
	att_config_free(&c);
	assert_int_equal(parse(&c, NULL, TLS, "--nonce-ttl", NULL), 2);
	assert_non_null(strstr(errbuf, "needs a value"));
	att_config_free(&c);
	assert_int_equal(parse(&c, NULL, TLS, "--frobnicate", NULL), 2);
	assert_non_null(strstr(errbuf, "unknown option '--frobnicate'"));
	att_config_free(&c);
	assert_int_equal(parse(&c, NULL, TLS, "stray", NULL), 2);
	att_config_free(&c);
}

static void test_file(void **state)
{
	struct att_config c;

	assert_int_equal(parse(&c, "# tcl-attestor\n\n  listen = 0.0.0.0:8443\ncert=/etc/s.crt\n"
			       "key = /etc/s.key\nclient-ca = /etc/ca.crt \r\ntrust-key = k1.pub\n"
			       "stale-after = 90\nopen-reads = yes\n",
			       "--config", path, "--trust-key", "k2.pub", "--stale-after", "30",
			       NULL), 0);
	assert_string_equal(c.listen, "0.0.0.0:8443");
	assert_string_equal(c.client_ca, "/etc/ca.crt");
	assert_int_equal(c.stale_after, 30);		/* the command line wins */
	assert_int_equal(c.n_trust, 2);			/* trust keys from both */
	assert_string_equal(c.trust_keys[0], "k1.pub");
	assert_true(c.open_reads);
	att_config_free(&c);

	assert_int_equal(parse(&c, "listen = x\ncolour = blue\n", "--config", path, TLS, NULL), 2);
	assert_non_null(strstr(errbuf, "attestor.conf:2: unknown key 'colour'"));
	att_config_free(&c);
	assert_int_equal(parse(&c, "listen\n", "--config", path, TLS, NULL), 2);
	assert_non_null(strstr(errbuf, ":1: expected 'key = value'"));
	att_config_free(&c);
	assert_int_equal(parse(&c, "pcr =\n", "--config", path, TLS, NULL), 2);
	assert_non_null(strstr(errbuf, ":1: 'pcr' has no value"));
	att_config_free(&c);
	assert_int_equal(parse(&c, "help = 1\n", "--config", path, TLS, NULL), 2);
	att_config_free(&c);
	assert_int_equal(parse(&c, "open-reads = maybe\n", "--config", path, TLS, NULL), 2);
	assert_non_null(strstr(errbuf, ":1: invalid value 'maybe'"));
	att_config_free(&c);
	assert_int_equal(parse(&c, NULL, "--config", "/nonexistent/x.conf", TLS, NULL), 2);
	assert_non_null(strstr(errbuf, "No such file"));
	att_config_free(&c);
	{
		char *big = malloc(70000);

		memset(big, '#', 69999);
		big[69999] = '\0';
		assert_int_equal(parse(&c, big, "--config", path, TLS, NULL), 2);
		assert_non_null(strstr(errbuf, "larger than 64 KiB"));
		att_config_free(&c);
		free(big);
	}
}

static void test_trust_key_limit(void **state)
{
	struct att_config c;
	char conf[4096] = "";

	for (int i = 0; i <= ATT_MAX_TRUST_KEYS; i++)
		strcat(conf, "trust-key = k.pub\n");
	assert_int_equal(parse(&c, conf, "--config", path, TLS, NULL), 2);
	assert_non_null(strstr(errbuf, "more than 32 trust keys"));
	att_config_free(&c);
}

static void test_usage(void **state)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	att_config_usage(f);
	fclose(f);
	for (const struct option *o = att_config_options(); o->name; o++)
		if (!strstr(s, o->name))
			fail_msg("--help does not mention --%s", o->name);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_trust_key_limit),
		cmocka_unit_test(test_usage),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
