// SPDX-License-Identifier: GPL-2.0
/* tclctl image push|resolve|verify: OCI images in a registry.
 *   image push --oci DIR[:TAG] [--registry URL] [HOST/]REPO[:TAG]   prints REPO@sha256:...
 *   image resolve [--registry URL] [HOST/]REPO:TAG                  prints REPO@sha256:...
 *   image verify --registry URL --trust-key PEM... [--digest D] [--cache DIR] REF
 *     the agent's local-mode verification against the signed golden manifest
 * push and resolve also take --auth-file FILE (one line user:pass; else env TCL_REGISTRY_AUTH),
 * --ca-file PEM and --timeout SECONDS; --registry may be left out when REPO starts with the
 * registry host. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "canonjson.h"
#include "cmds.h"
#include "diag.h"
#include "registry.h"
#include "hexb64.h"
#include "verify.h"

#define SUB "registry"
#define INDEX_MAX (4u << 20)
#define MAX_LAYERS 1024

enum { OPT_OCI = OPT_REGISTRY_LAST };

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* descriptor -> digest + size, both validated */
static int desc_parse(json_object *d, const char **digest, uint64_t *size)
{
	json_object *s;
	int64_t v;

	*digest = jstr(d, "digest");
	if (!*digest || !tcl_digest_valid(*digest) || !json_object_object_get_ex(d, "size", &s) ||
	    !json_object_is_type(s, json_type_int))
		return -EINVAL;
	v = json_object_get_int64(s);
	if (v < 0)
		return -EINVAL;
	*size = (uint64_t)v;
	return 0;
}

static void blob_path(const char *dir, const char *digest, char *out, size_t cap)
{
	snprintf(out, cap, "%s/blobs/sha256/%s", dir, digest + 7);
}

static int push_layout_blob(struct tcl_registry *reg, const char *repo, const char *dir,
			    const char *digest, uint64_t size)
{
	char path[4200];
	struct stat st;
	int fd, err;

	blob_path(dir, digest, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_err(SUB, "OCI layout %s: blob %s: %s", dir, digest, strerror(errno));
		return err;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != size) {
		pr_err(SUB, "OCI layout %s: blob %s is not a regular file of %llu bytes", dir,
		       digest, (unsigned long long)size);
		close(fd);
		return -EINVAL;
	}
	err = tcl_registry_push_blob_fd(reg, repo, fd, size, digest);
	close(fd);
	return err;
}

/* index.json -> the manifest descriptor for tag (or the only one) */
static json_object *pick_manifest(const char *dir, json_object *index, const char *tag)
{
	json_object *mans, *found = NULL;
	size_t n;

	if (!json_object_object_get_ex(index, "manifests", &mans) ||
	    !json_object_is_type(mans, json_type_array)) {
		pr_err(SUB, "OCI layout %s: index.json has no manifests array", dir);
		return NULL;
	}
	n = json_object_array_length(mans);
	if (!tag) {
		if (n == 1)
			return json_object_array_get_idx(mans, 0);
		pr_err(SUB, "OCI layout %s: index.json lists %zu manifests; name one as DIR:TAG",
		       dir, n);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *d = json_object_array_get_idx(mans, i), *ann;
		const char *name;
		size_t nl, tl = strlen(tag);

		if (!json_object_object_get_ex(d, "annotations", &ann))
			continue;
		name = jstr(ann, "org.opencontainers.image.ref.name");
		if (!name)
			continue;
		nl = strlen(name);
		/* some tools store the full reference, some just the tag */
		if (strcmp(name, tag) && !(nl > tl && name[nl - tl - 1] == ':' &&
					   !strcmp(name + nl - tl, tag)))
			continue;
		if (found) {
			pr_err(SUB, "OCI layout %s: tag %s names more than one manifest", dir, tag);
			return NULL;
		}
		found = d;
	}
	if (!found)
		pr_err(SUB, "OCI layout %s: no manifest tagged '%s' in index.json", dir, tag);
	return found;
}

static int push(const struct ctl_registry *c, const char *oci, const char *refarg)
{
	struct tcl_registry *reg = NULL;
	struct tcl_ref ref;
	json_object *index = NULL, *man = NULL, *desc, *cfg, *layers;
	char *ibuf = NULL, *mbuf = NULL;
	size_t ilen, mlen;
	char path[4200], name[600], mdig_calc[TCL_DIGEST_LEN + 1];
	char pushed[TCL_DIGEST_LEN + 1], *dir = NULL;
	const char *dtag, *tag, *mdig, *mt, *ldig;
	uint64_t msize, lsize;
	int rc, err = 0;

	if (ctl_split_oci(oci, &dir, &dtag))
		return 1;
	if (strlen(dir) > 4096) {
		fprintf(stderr, "%s: --oci path too long\n", tcl_prog);
		free(dir);
		return EXIT_USAGE;
	}
	rc = ctl_registry_open(c, refarg, &ref, &reg);
	if (rc)
		goto out;
	if (ref.digest[0]) {
		fprintf(stderr, "%s: push to a tag, not a digest: %s\n", tcl_prog, refarg);
		rc = EXIT_USAGE;
		goto out;
	}
	tag = ref.tag[0] ? ref.tag : dtag ? dtag : "latest";
	rc = 1;

	snprintf(path, sizeof(path), "%s/oci-layout", dir);
	if (access(path, R_OK)) {
		pr_err(SUB, "%s is not an OCI image layout (no oci-layout file)", dir);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/index.json", dir);
	if (ctl_read_regular(path, INDEX_MAX, &ibuf, &ilen) ||
	    tcl_json_parse(path, ibuf, ilen, INDEX_MAX, &index))
		goto out;
	if (!json_object_is_type(index, json_type_object)) {
		pr_err(SUB, "%s: not a JSON object", path);
		goto out;
	}
	desc = pick_manifest(dir, index, dtag);
	if (!desc)
		goto out;
	mt = jstr(desc, "mediaType");
	if (desc_parse(desc, &mdig, &msize) || !mt) {
		pr_err(SUB, "OCI layout %s: bad manifest descriptor in index.json", dir);
		goto out;
	}
	if (strcmp(mt, TCL_MT_OCI_MANIFEST) && strcmp(mt, TCL_MT_DOCKER_MANIFEST)) {
		pr_err(SUB, "OCI layout %s: %s is a %s; only single-platform image manifests "
		       "are pushed", dir, mdig, mt);
		goto out;
	}
	if (msize > TCL_MANIFEST_MAX) {
		pr_err(SUB, "OCI layout %s: manifest %s is %llu bytes (max %u)", dir, mdig,
		       (unsigned long long)msize, TCL_MANIFEST_MAX);
		goto out;
	}
	blob_path(dir, mdig, path, sizeof(path));
	if (ctl_read_regular(path, TCL_MANIFEST_MAX, &mbuf, &mlen))
		goto out;
	if (tcl_sha256_hex(mbuf, mlen, true, mdig_calc))
		goto out;
	if (strcmp(mdig_calc, mdig) || mlen != msize) {
		pr_err(SUB, "OCI layout %s: manifest blob %s does not match its descriptor", dir,
		       mdig);
		goto out;
	}
	if (tcl_json_parse(path, mbuf, mlen, TCL_MANIFEST_MAX, &man))
		goto out;
	if (!json_object_object_get_ex(man, "config", &cfg) ||
	    !json_object_object_get_ex(man, "layers", &layers) ||
	    !json_object_is_type(layers, json_type_array) ||
	    json_object_array_length(layers) > MAX_LAYERS) {
		pr_err(SUB, "OCI layout %s: manifest %s lacks config or layers", dir, mdig);
		goto out;
	}
	if (desc_parse(cfg, &ldig, &lsize)) {
		pr_err(SUB, "OCI layout %s: bad config descriptor", dir);
		goto out;
	}
	if (push_layout_blob(reg, ref.repo, dir, ldig, lsize))
		goto out;
	for (size_t i = 0; i < json_object_array_length(layers); i++) {
		if (desc_parse(json_object_array_get_idx(layers, i), &ldig, &lsize)) {
			pr_err(SUB, "OCI layout %s: bad layer descriptor #%zu", dir, i);
			goto out;
		}
		if (push_layout_blob(reg, ref.repo, dir, ldig, lsize))
			goto out;
	}
	/* the manifest's own mediaType is what the registry checks against Content-Type */
	if (jstr(man, "mediaType"))
		mt = jstr(man, "mediaType");
	err = tcl_registry_put_manifest(reg, ref.repo, tag, mbuf, mlen, mt, pushed);
	if (err)
		goto out;
	ctl_ref_name(&ref, name, sizeof(name));
	printf("%s@%s\n", name, pushed);
	rc = 0;
out:
	json_object_put(index);
	json_object_put(man);
	free(ibuf);
	free(mbuf);
	free(dir);
	tcl_registry_close(reg);
	return rc;
}

static int resolve(const struct ctl_registry *c, const char *refarg)
{
	struct tcl_registry *reg = NULL;
	struct tcl_ref ref;
	char digest[TCL_DIGEST_LEN + 1], name[600];
	int rc;

	rc = ctl_registry_open(c, refarg, &ref, &reg);
	if (rc)
		return rc;
	if (!ref.tag[0] || ref.digest[0]) {
		fprintf(stderr, "%s: resolve wants REPO:TAG, got %s\n", tcl_prog, refarg);
		tcl_registry_close(reg);
		return EXIT_USAGE;
	}
	rc = tcl_registry_resolve(reg, ref.repo, ref.tag, digest) ? 1 : 0;
	if (!rc) {
		ctl_ref_name(&ref, name, sizeof(name));
		printf("%s@%s\n", name, digest);
	}
	tcl_registry_close(reg);
	return rc;
}

static int image_push(int argc, char **argv)
{
	static const struct option lo[] = {
		CTL_REGISTRY_LONGOPTS,
		{ "oci", required_argument, NULL, OPT_OCI },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_registry c = { 0 };
	const char *oci = NULL;
	int opt;

	while ((opt = ctl_registry_getopt(&c, argc, argv, "h", lo)) != -1) {
		switch (opt) {
		case OPT_OCI:
			oci = optarg;
			break;
		case 'h':
			printf("usage: %s image push --oci DIR[:TAG] [--registry URL] "
			       "[HOST/]REPO[:TAG]\n"
			       "Upload an OCI image layout (config, layers, manifest) and "
			       "print REPO@sha256:DIGEST.\nThe tag is REPO's, else DIR's, "
			       "else latest.\n  --oci DIR[:TAG]    the layout; TAG picks "
			       "a manifest from index.json\n%s", tcl_prog, ctl_registry_help);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "%s: image push wants exactly one image reference (--help)\n",
			tcl_prog);
		return EXIT_USAGE;
	}
	if (!oci) {
		fprintf(stderr, "%s: image push needs --oci DIR\n", tcl_prog);
		return EXIT_USAGE;
	}
	return push(&c, oci, argv[optind]);
}

static int image_resolve(int argc, char **argv)
{
	static const struct option lo[] = {
		CTL_REGISTRY_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_registry c = { 0 };
	int opt;

	while ((opt = ctl_registry_getopt(&c, argc, argv, "h", lo)) != -1) {
		if (opt != 'h')
			return EXIT_USAGE;
		printf("usage: %s image resolve [--registry URL] [HOST/]REPO:TAG\n"
		       "Print REPO@sha256:DIGEST for a tag.\n%s", tcl_prog, ctl_registry_help);
		return 0;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "%s: image resolve wants exactly one image reference (--help)\n",
			tcl_prog);
		return EXIT_USAGE;
	}
	return resolve(&c, argv[optind]);
}

static void verify_usage(FILE *f)
{
	fprintf(f, "Usage: tclctl image verify --registry URL --trust-key PEM [--trust-key PEM...]\n"
		   "                          [--digest sha256:HEX] [--cache DIR] REF\n"
		   "Verify image REF against its signed golden manifest in the registry, as tcl-hook\n"
		   "does before a container starts. Prints \"verified\" (exit 0) or\n"
		   "\"NOT verified: <reason>\" (exit 1).\n");
}

static int image_verify(int argc, char **argv)
{
	static const struct option opts[] = { { "registry", required_argument, NULL, 'r' },
					      { "trust-key", required_argument, NULL, 'k' },
					      { "digest", required_argument, NULL, 'd' },
					      { "cache", required_argument, NULL, 'c' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	struct tcl_verifier_opts o = { 0 };
	struct tcl_verify_result r;
	struct tcl_verifier *v = NULL;
	const char *digest = NULL;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			o.registry_url = optarg;
			break;
		case 'k':
			if (o.n_trust_keys == TCL_MAX_TRUST_KEYS)
				return EXIT_USAGE;
			o.trust_keys[o.n_trust_keys++] = optarg;
			break;
		case 'd':
			digest = optarg;
			break;
		case 'c':
			o.cache_dir = optarg;
			break;
		case 'h':
			verify_usage(stdout);
			return 0;
		default:
			verify_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || !o.n_trust_keys) {
		verify_usage(stderr);
		return EXIT_USAGE;
	}
	if (tcl_verifier_new(&o, &v))
		return 1;
	if (tcl_verify_image(v, argv[optind], digest, &r) == 0 && r.verified) {
		printf("verified: %s %s, golden manifest sha256:%s, key %s%s\n", argv[optind],
		       r.image_digest, r.manifest_sha256, r.keyid,
		       r.resolved_by_name ? " (digest resolved from the tag)" : "");
		rc = 0;
	} else {
		printf("NOT verified: %s\n", r.reason);
	}
	tcl_verify_result_free(&r);
	tcl_verifier_free(v);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: %s image push|resolve|verify ... (--help on each)\n", tcl_prog);
}

int tcl_cmd_image(int argc, char **argv)
{
	static const struct cmd verbs[] = {
		{ "push", image_push },
		{ "resolve", image_resolve },
		{ "verify", image_verify },
		{ NULL, NULL },
	};

	return cmd_select(verbs, argv[0], argc - 1, argv + 1, usage);
}
