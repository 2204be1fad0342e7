// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the measurement log parser (lib/log.c).
 *   clang -g -fsanitize=fuzzer,address,undefined -Iinclude -Iagent tests/fuzz/fuzz_log.c \
 *         lib/log.c lib/diag.c -lcrypto -o build/fuzz_log
 *   mkdir -p build/fuzz-log && cp tests/unit/data/log/seed.bin build/fuzz-log/
 *   build/fuzz_log -max_total_time=30 build/fuzz-log
 * (seed.bin: boot_aggregate, 2 ima-ng and 1 ima-buf entry, written by tests/host/logtool.c)
 * Random bytes almost never carry a valid template SHA-1, so each input is also tried
 * with the digest of every entry header "resealed": that lets the fuzzer reach the field
 * parser, the text form and the replay code past the hash check.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "diag.h"
#include "fuzz.h"
#include "log.h"

static FILE *devnull;

static int visit(const struct tcl_log_entry *e, uint64_t off, void *arg)
{
	struct tcl_log_pcr *p = arg;
	struct tcl_log_digests d;

	if (tcl_log_format_ascii(e, devnull))
		abort();
	if (tcl_log_entry_digests(e, &d) || tcl_log_pcr_extend(p, &d))
		abort();
	/* The parser's promises: a NUL-terminated name within the template data. */
	if (e->name < (const char *)e->data ||
	    e->name + strlen(e->name) >= (const char *)e->data + e->data_len)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tcl_log_pcr pcr = { .index = 13 };
	struct tcl_log_entry e;
	struct tcl_log_scan s;
	const char *why;
	uint8_t *copy;
	size_t n;
	int err;

	if (!devnull) {
		devnull = fopen("/dev/null", "w");
		tcl_verbosity = -1;
	}
	err = tcl_log_parse_entry(data, size, &e, &n, &why);
	if (!err && (n > size || n == 0))
		abort();
	if (err == -ENODATA && n <= size)
		abort();
	tcl_log_foreach_buf(data, size, visit, &pcr, &s);
	if (s.valid_len > size || s.tail_len > size - s.valid_len)
		abort();

	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	fuzz_reseal(copy, size, TCL_LOG_TEMPLATE_NAME_MAX);
	err = tcl_log_foreach_buf(copy, size, visit, &pcr, &s);
	if (!err && s.valid_len + s.tail_len != size)
		abort();
	free(copy);
	return 0;
}
