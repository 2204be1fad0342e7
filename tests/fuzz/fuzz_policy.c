// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: the policy parser (lib/policy.c). Whatever it accepts must serialise with
 * tcl_policy_to_json and parse back to the same digests and image sets; whatever it refuses must
 * come with a message that names the origin. Image lookups and tcl_policy_add run on every
 * accepted policy.
 *
 * Build and run (from the top of the tree; tests/fuzz/run.sh does this for every target):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE -Iinclude -Ilib -Ictl \
 *     tests/fuzz/fuzz_policy.c lib/policy.c lib/util.c lib/diag.c \
 *     $(pkg-config --cflags --libs json-c openssl) -o build/fuzz_policy
 *   mkdir -p build/fuzz-policy
 *   TCL_FUZZ_SEED_DIR=build/fuzz-policy build/fuzz_policy -max_total_time=60 build/fuzz-policy
 * TCL_FUZZ_SEED_DIR makes the target write its seeds (valid policies, with and without image
 * sets and paths, and near misses) into that directory first. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "fuzz.h"
#include "policy.h"

#define ORIGIN "fuzz.json"
#define D1 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define D2 "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static const char *const seeds[] = {
	"{\"version\":1,\"allow\":[]}",
	"{\"version\": 1,\n \"allow\": [{\"sha256\": \"" D1 "\", \"path\": \"/usr/bin/true\"}]}\n",
	"{\"version\":1,\"allow\":[{\"sha256\":\"" D1 "\"},{\"sha256\":\"" D2 "\"}],\n"
	" \"images\":{\"registry.example/app@sha256:" D2 "\":{\"allow\":[{\"sha256\":\"" D1 "\"}]},\n"
	"  \"app:1\":{\"allow\":[]}}}",
	"{\"version\":1,\"allow\":[{\"sha256\":\"" D1 "\",\"pth\":\"x\"}]}",
	"{\"version\":2,\"allow\":[]}",
	"{\"version\":1,\"images\":{\"\":{\"allow\":[]}}}",
	"{\"version\":1,\"allow\":[{\"sha256\":\"zz\"}]} trailing",
};

static void write_seeds(const char *dir)
{
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		char name[32];

		snprintf(name, sizeof(name), "%zu.json", i);
		fuzz_seed(dir, name, -1, seeds[i], strlen(seeds[i]));
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = fuzz_init();

	if (dir)
		write_seeds(dir);
	return 0;
}

static int same_entries(const struct tcl_policy_entry *a, const struct tcl_policy_entry *b,
			size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (memcmp(a[i].sha256, b[i].sha256, 32))
			return 0;
		if (!a[i].path != !b[i].path || (a[i].path && strcmp(a[i].path, b[i].path)))
			return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tcl_policy *p = NULL, *q = NULL;
	char err[1024], err2[1024];
	uint8_t digest[32];
	char *json = NULL;
	int ret;

	memset(err, 'x', sizeof(err));
	ret = tcl_policy_parse((const char *)data, size, ORIGIN, &p, err, sizeof(err));
	if (!memchr(err, '\0', sizeof(err)))
		abort();
	if (ret) {
		/* Refused: with a message naming the input, and nothing handed back. */
		if (ret != -EINVAL && ret != -ENOMEM && ret != -E2BIG)
			abort();
		if (ret == -EINVAL && strncmp(err, ORIGIN ":", strlen(ORIGIN) + 1))
			abort();
		return 0;
	}
	if (!p || p->version != 1)
		abort();
	for (size_t i = 0; i < p->n_images; i++)
		if (tcl_policy_image(p, p->images[i].name) == NULL)
			abort();
	tcl_policy_image(p, "");
	if (tcl_policy_to_json(p, &json))
		abort();
	ret = tcl_policy_parse(json, strlen(json), ORIGIN, &q, err2, sizeof(err2));
	if (ret) {
		fprintf(stderr, "re-parse of the serialised policy failed: %s\n%s\n", err2, json);
		abort();
	}
	if (q->n_allow != p->n_allow || q->n_images != p->n_images ||
	    !same_entries(q->allow, p->allow, p->n_allow))
		abort();
	for (size_t i = 0; i < p->n_images; i++) {
		const struct tcl_policy_image *im = tcl_policy_image(q, p->images[i].name);

		if (!im || im->n_allow != p->images[i].n_allow ||
		    !same_entries(im->allow, p->images[i].allow, im->n_allow))
			abort();
	}
	memset(digest, 0xab, sizeof(digest));
	ret = tcl_policy_add(p, digest, "/added");
	if (ret && ret != -E2BIG && ret != -ENOMEM)
		abort();
	if (!ret && (p->n_allow == 0 || memcmp(p->allow[p->n_allow - 1].sha256, digest, 32)))
		abort();
	free(json);
	tcl_policy_free(q);
	tcl_policy_free(p);
	return 0;
}
