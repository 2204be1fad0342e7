// SPDX-License-Identifier: GPL-2.0
/* What the engines keep beside their bundles: podman's containers/storage (lib/podman.c), and
 * the CRI client's errors (lib/cri.c; its answers are tested against containerd in the guest). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "cri.h"
#include "ocimeta.h"
#include "podman.h"
#include "testutil.h"

#define CID "1111111111111111111111111111111111111111111111111111111111111111"
#define IID "2222222222222222222222222222222222222222222222222222222222222222"
#define DIG "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A storage root with one container of image IID; @images is images.json's text. */
static const char *storage(const char *name, const char *images)
{
	char d[600];
	const char *root = tu_path(name);

	snprintf(d, sizeof(d), "mkdir -p %s/overlay-containers/%s/userdata %s/overlay-images", root,
		 CID, root);
	assert_int_equal(system(d), 0);
	snprintf(d, sizeof(d), "%s/overlay-containers/containers.json", root);
	write_file(d, "[{\"id\":\"" CID "\",\"names\":[\"web\"],\"image\":\"" IID "\","
		      "\"metadata\":\"{\\\"image-name\\\":\\\"127.0.0.1:5000/shop:1.0\\\","
		      "\\\"image-id\\\":\\\"" IID "\\\",\\\"name\\\":\\\"web\\\"}\"}]");
	snprintf(d, sizeof(d), "%s/overlay-images/images.json", root);
	write_file(d, images);
	return root;
}

static void test_podman_bundle(void **state)
{
	assert_true(tcl_podman_bundle("/var/lib/containers/storage/overlay-containers/" CID
				      "/userdata"));
	assert_false(tcl_podman_bundle("/var/lib/containers/storage/overlay-containers/" CID));
	assert_false(tcl_podman_bundle("/run/containerd/io.containerd.runtime.v2.task/k8s.io/" CID));
	assert_false(tcl_podman_bundle("/x/overlay-containers/" IID "X/userdata"));
	assert_false(tcl_podman_bundle("userdata"));
}

static void test_podman_meta(void **state)
{
	static struct tcl_container_meta m;
	char bundle[600], err[512];
	const char *root = storage("s1", "[{\"id\":\"" IID "\",\"digest\":\"" DIG "\","
					 "\"names\":[\"127.0.0.1:5000/shop:1.0\"]}]");

	snprintf(bundle, sizeof(bundle), "%s/overlay-containers/%s/userdata", root, CID);
	memset(&m, 0, sizeof(m));
	strcpy(m.container_id, CID);
	assert_int_equal(tcl_podman_fill_meta(bundle, &m, err, sizeof(err)), 0);
	assert_string_equal(m.container, "web");
	assert_string_equal(m.image, "127.0.0.1:5000/shop:1.0");
	assert_string_equal(m.image_digest, DIG);
	assert_string_equal(m.image_id, "sha256:" IID);

	/* an image without a digest, and one that is not listed */
	root = storage("s2", "[{\"id\":\"" IID "\",\"names\":[]}]");
	snprintf(bundle, sizeof(bundle), "%s/overlay-containers/%s/userdata", root, CID);
	memset(&m, 0, sizeof(m));
	strcpy(m.container_id, CID);
	assert_int_equal(tcl_podman_fill_meta(bundle, &m, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no sha256 digest"));
	assert_string_equal(m.image_digest, "");
	root = storage("s3", "[]");
	snprintf(bundle, sizeof(bundle), "%s/overlay-containers/%s/userdata", root, CID);
	assert_int_equal(tcl_podman_fill_meta(bundle, &m, err, sizeof(err)), -ENOENT);
	/* not JSON, not an array */
	root = storage("s4", "{\"id\":");
	snprintf(bundle, sizeof(bundle), "%s/overlay-containers/%s/userdata", root, CID);
	assert_int_equal(tcl_podman_fill_meta(bundle, &m, err, sizeof(err)), -EINVAL);
	root = storage("s5", "{}");
	snprintf(bundle, sizeof(bundle), "%s/overlay-containers/%s/userdata", root, CID);
	assert_int_equal(tcl_podman_fill_meta(bundle, &m, err, sizeof(err)), -EINVAL);
	/* another container's id */
	memset(&m, 0, sizeof(m));
	strcpy(m.container_id, IID);
	assert_int_equal(tcl_podman_fill_meta(bundle, &m, err, sizeof(err)), -EINVAL);
}

static void test_cri_errors(void **state)
{
	char d[80], err[512];

	/* no runtime behind the socket: a clear transport error, nothing filled */
	d[0] = '\0';
	assert_int_equal(tcl_cri_image_digest(tu_path("no.sock"), "x/y:1", d, sizeof(d), err,
					      sizeof(err)),
			 -ECONNREFUSED);
	assert_non_null(strstr(err, "ImageStatus"));
	assert_string_equal(d, "");
	assert_int_equal(tcl_cri_container_digest(tu_path("no.sock"), CID, d, sizeof(d), err,
						  sizeof(err)),
			 -ECONNREFUSED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_podman_bundle),
		cmocka_unit_test(test_podman_meta),
		cmocka_unit_test(test_cri_errors),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
