// SPDX-License-Identifier: GPL-2.0
/*
 * mapfill: load tcl's programs the way the agent does (tcl_bpf_open_opts) with a given allow-map
 * capacity, then fill IMAGES allow sets of PER_IMAGE random digests with batched updates, to
 * measure what the kernel side of "1,000 images x 2,000 digests" costs and where it stops.
 *   mapfill PIN_DIR MAX_DIGESTS IMAGES PER_IMAGE
 * Prints "inserted=N seconds=S max_entries=M" and, when the map filled up, "full_at=N errno=E".
 * Leaves the programs pinned (measure, then `tclctl unload --yes`).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "bpf_loader.h"
#include "diag.h"

#define BATCH 8192

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static struct tcl_allow_key keys[BATCH];
	static __u8 vals[BATCH];
	struct tcl_bpf_opts opts = {};
	struct tcl_bpf *b;
	unsigned long long x = 0x9E3779B97F4A7C15ULL, inserted = 0;
	long images, per;
	double t0;
	int ret;

	if (argc != 5) {
		fprintf(stderr, "usage: mapfill PIN_DIR MAX_DIGESTS IMAGES PER_IMAGE\n");
		return 2;
	}
	tcl_prog = "mapfill";
	opts.max_digests = strtoul(argv[2], NULL, 10);
	images = strtol(argv[3], NULL, 10);
	per = strtol(argv[4], NULL, 10);
	if (images <= 0 || per <= 0) {
		fprintf(stderr, "mapfill: IMAGES and PER_IMAGE must be > 0\n");
		return 2;
	}
	ret = tcl_bpf_open_opts(argv[1], &opts, &b);
	if (ret)
		return 1;
	memset(vals, 1, sizeof(vals));
	t0 = now();
	for (long img = 1; img <= images; img++) {
		for (long done = 0; done < per;) {
			LIBBPF_OPTS(bpf_map_batch_opts, bo);
			__u32 n = per - done > BATCH ? BATCH : per - done;

			for (__u32 i = 0; i < n; i++) {
				keys[i].image_idx = img;
				for (int j = 0; j < TCL_SHA256_LEN; j += 8) {
					/* xorshift64: distinct, digest-like keys */
					x ^= x << 13;
					x ^= x >> 7;
					x ^= x << 17;
					memcpy(keys[i].sha256 + j, &x, 8);
				}
			}
			ret = bpf_map_update_batch(b->map_fd[TCL_MAP_ALLOW], keys, vals, &n, &bo);
			inserted += n;
			done += n;
			if (ret) {
				printf("full_at=%llu errno=%s\n", inserted, strerror(errno));
				goto out;
			}
		}
	}
out:
	printf("inserted=%llu seconds=%.3f max_entries=%u\n", inserted, now() - t0, b->max_digests);
	tcl_bpf_close(b);
	return 0;
}
