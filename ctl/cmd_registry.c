// SPDX-License-Identifier: GPL-2.0
/* tclctl image push|resolve, golden push|pull: OCI layout and golden files <-> registry. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "cmd_registry.h"
#include "diag.h"
#include "registry.h"
#include "util.h"

#define SUB "registry"
#define EXIT_USAGE 2
#define INDEX_MAX (4u << 20)
#define MAX_LAYERS 1024

struct common {
	const char *registry;
	struct tcl_registry_opts o;
};

enum { OPT_REGISTRY = 0x100, OPT_AUTH_FILE, OPT_CA_FILE, OPT_TIMEOUT, OPT_OCI, OPT_MANIFEST,
       OPT_SIG, OPT_SIG_OUT };

#define COMMON_LONGOPTS \
	{ "registry", required_argument, NULL, OPT_REGISTRY }, \
	{ "auth-file", required_argument, NULL, OPT_AUTH_FILE }, \
	{ "ca-file", required_argument, NULL, OPT_CA_FILE }, \
	{ "timeout", required_argument, NULL, OPT_TIMEOUT }, \
	{ "help", no_argument, NULL, 'h' }

static const char common_help[] =
	"  --registry URL     registry (http[s]://host[:port]; bare loopback hosts use http)\n"
	"  --auth-file FILE   one line user:password (default: env TCL_REGISTRY_AUTH)\n"
	"  --ca-file PEM      CA bundle for an https registry\n"
	"  --timeout SECONDS  per request (default 60; connecting gives up after 5)\n";

/* 1 handled, 0 not a common option, -1 bad value */
static int common_opt(struct common *c, int opt, const char *arg)
{
	char *end;
	long v;

	switch (opt) {
	case OPT_REGISTRY:
		c->registry = arg;
		return 1;
	case OPT_AUTH_FILE:
		c->o.auth_file = arg;
		return 1;
	case OPT_CA_FILE:
		c->o.ca_file = arg;
		return 1;
	case OPT_TIMEOUT:
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || *end || v < 1 || v > 86400) {
			fprintf(stderr, "%s: --timeout wants 1..86400 seconds\n", tcl_prog);
			return -1;
		}
		c->o.timeout_s = v;
		return 1;
	default:
		return 0;
	}
}

/* Parse the positional reference and connect.  Exit status on failure. */
static int open_ref(struct common *c, const char *arg, struct tcl_ref *ref,
		    struct tcl_registry **reg)
{
	char url[300];
	int err;

	if (tcl_ref_parse(arg, ref)) {
		fprintf(stderr, "%s: bad image reference '%s' (want [HOST[:PORT]/]REPO[:TAG]"
			"[@sha256:HEX])\n", tcl_prog, arg);
		return EXIT_USAGE;
	}
	if (c->registry && ref->host[0]) {
		const char *r = c->registry;
		size_t n;

		if (!strncmp(r, "http://", 7))
			r += 7;
		else if (!strncmp(r, "https://", 8))
			r += 8;
		n = strlen(r);
		while (n && r[n - 1] == '/')
			n--;
		if (n != strlen(ref->host) || strncasecmp(r, ref->host, n)) {
			fprintf(stderr, "%s: '%s' names registry %s but --registry is %s\n",
				tcl_prog, arg, ref->host, c->registry);
			return EXIT_USAGE;
		}
	}
	if (!c->registry && !ref->host[0]) {
		fprintf(stderr, "%s: no registry: give --registry URL or HOST[:PORT]/REPO\n",
			tcl_prog);
		return EXIT_USAGE;
	}
	if (c->registry)
		snprintf(url, sizeof(url), "%s", c->registry);
	else
		snprintf(url, sizeof(url), "%s%s%s", ref->scheme, ref->scheme[0] ? "://" : "",
			 ref->host);
	err = tcl_registry_open(url, &c->o, reg);
	return err == -EINVAL ? EXIT_USAGE : err ? 1 : 0;
}

/* the name as the user wrote it, without tag or digest */
static void ref_name(const struct tcl_ref *ref, char *out, size_t cap)
{
	snprintf(out, cap, "%s%s%s", ref->host, ref->host[0] ? "/" : "", ref->repo);
}

static int read_bounded(const char *path, size_t max, void **out, size_t *len)
{
	int err = tcl_read_regular_file(path, max, (char **)out, len);

	if (err == -EINVAL)
		pr_err(SUB, "%s: not a regular file", path);
	else if (err == -EFBIG)
		pr_err(SUB, "%s: larger than the limit of %zu bytes", path, max);
	else if (err)
		pr_err(SUB, "%s: %s", path, strerror(-err));
	return err;
}

static int write_atomic(const char *path, const void *data, size_t len)
{
	int err = tcl_write_file_atomic(path, data, len, 0644);

	if (err)
		pr_err(SUB, "write %s: %s", path, strerror(-err));
	return err;
}

/* ---- OCI layout ---- */

static json_object *parse_json_buf(const void *data, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(64);
	json_object *o;

	if (!tok || len > INT32_MAX) {
		json_tokener_free(tok);
		return NULL;
	}
	o = json_tokener_parse_ex(tok, data, (int)len);
	if (o && json_tokener_get_parse_end(tok) != len) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

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

static int image_push(struct common *c, const char *oci, const char *refarg)
{
	struct tcl_registry *reg = NULL;
	struct tcl_ref ref;
	json_object *index = NULL, *man = NULL, *desc, *cfg, *layers;
	void *ibuf = NULL, *mbuf = NULL;
	size_t ilen, mlen;
	char dir[4096], path[4200], name[600], mdig_calc[TCL_DIGEST_LEN + 1];
	char pushed[TCL_DIGEST_LEN + 1];
	const char *dtag = NULL, *tag, *mdig, *mt, *ldig;
	uint64_t msize, lsize;
	struct stat st;
	int rc, err = 0;

	/* DIR[:TAG]: a directory that exists as written wins over splitting at ':' */
	if (snprintf(dir, sizeof(dir), "%s", oci) >= (int)sizeof(dir)) {
		fprintf(stderr, "%s: --oci path too long\n", tcl_prog);
		return EXIT_USAGE;
	}
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		char *colon = strrchr(dir, ':');

		if (colon && !strchr(colon, '/')) {
			*colon = '\0';
			dtag = colon + 1;
		}
	}
	rc = open_ref(c, refarg, &ref, &reg);
	if (rc)
		return rc;
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
	if (read_bounded(path, INDEX_MAX, &ibuf, &ilen))
		goto out;
	index = parse_json_buf(ibuf, ilen);
	if (!index || !json_object_is_type(index, json_type_object)) {
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
	if (read_bounded(path, TCL_MANIFEST_MAX, &mbuf, &mlen))
		goto out;
	{
		unsigned char md[32];
		unsigned int mdl = 0;

		EVP_Digest(mbuf, mlen, md, &mdl, EVP_sha256(), NULL);
		memcpy(mdig_calc, "sha256:", 7);
		for (int i = 0; i < 32; i++)
			snprintf(mdig_calc + 7 + 2 * i, 3, "%02x", md[i]);
	}
	if (strcmp(mdig_calc, mdig) || mlen != msize) {
		pr_err(SUB, "OCI layout %s: manifest blob %s does not match its descriptor", dir,
		       mdig);
		goto out;
	}
	man = parse_json_buf(mbuf, mlen);
	if (!man || !json_object_object_get_ex(man, "config", &cfg) ||
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
	ref_name(&ref, name, sizeof(name));
	printf("%s@%s\n", name, pushed);
	rc = 0;
out:
	json_object_put(index);
	json_object_put(man);
	free(ibuf);
	free(mbuf);
	tcl_registry_close(reg);
	return rc;
}

static int image_resolve(struct common *c, const char *refarg)
{
	struct tcl_registry *reg = NULL;
	struct tcl_ref ref;
	char digest[TCL_DIGEST_LEN + 1], name[600];
	int rc;

	rc = open_ref(c, refarg, &ref, &reg);
	if (rc)
		return rc;
	if (!ref.tag[0] || ref.digest[0]) {
		fprintf(stderr, "%s: resolve wants REPO:TAG, got %s\n", tcl_prog, refarg);
		tcl_registry_close(reg);
		return EXIT_USAGE;
	}
	rc = tcl_registry_resolve(reg, ref.repo, ref.tag, digest) ? 1 : 0;
	if (!rc) {
		ref_name(&ref, name, sizeof(name));
		printf("%s@%s\n", name, digest);
	}
	tcl_registry_close(reg);
	return rc;
}

/* tclctl may hand us argv from the group word ("image") or from the subcommand */
static void skip_word(int *argc, char ***argv, const char *word)
{
	if (*argc > 0 && !strcmp((*argv)[0], word)) {
		(*argc)--;
		(*argv)++;
	}
}

int tcl_cmd_image(int argc, char **argv)
{
	static const struct option lo[] = {
		COMMON_LONGOPTS,
		{ "oci", required_argument, NULL, OPT_OCI },
		{ NULL, 0, NULL, 0 },
	};
	struct common c = { 0 };
	const char *oci = NULL, *sub;
	int opt, r;

	skip_word(&argc, &argv, "image");
	sub = argc > 0 ? argv[0] : "";
	if (strcmp(sub, "push") && strcmp(sub, "resolve")) {
		bool help = !strcmp(sub, "--help") || !strcmp(sub, "-h");

		fprintf(help ? stdout : stderr, "usage: %s image push|resolve ... "
			"(--help on each)\n", tcl_prog);
		return help ? 0 : EXIT_USAGE;
	}
	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		r = common_opt(&c, opt, optarg);
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		switch (opt) {
		case OPT_OCI:
			oci = optarg;
			break;
		case 'h':
			if (!strcmp(sub, "push"))
				printf("usage: %s image push --oci DIR[:TAG] [--registry URL] "
				       "[HOST/]REPO[:TAG]\n"
				       "Upload an OCI image layout (config, layers, manifest) and "
				       "print REPO@sha256:DIGEST.\nThe tag is REPO's, else DIR's, "
				       "else latest.\n  --oci DIR[:TAG]    the layout; TAG picks "
				       "a manifest from index.json\n%s", tcl_prog, common_help);
			else
				printf("usage: %s image resolve [--registry URL] "
				       "[HOST/]REPO:TAG\nPrint REPO@sha256:DIGEST for a tag.\n%s",
				       tcl_prog, common_help);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "%s: image %s wants exactly one image reference (--help)\n",
			tcl_prog, sub);
		return EXIT_USAGE;
	}
	if (!strcmp(sub, "resolve"))
		return oci ? EXIT_USAGE : image_resolve(&c, argv[optind]);
	if (!oci) {
		fprintf(stderr, "%s: image push needs --oci DIR\n", tcl_prog);
		return EXIT_USAGE;
	}
	return image_push(&c, oci, argv[optind]);
}

/* REPO@DIGEST, or REPO:TAG resolved here and said so */
static int golden_target(struct tcl_registry *reg, struct tcl_ref *ref, const char *arg)
{
	if (ref->digest[0])
		return 0;
	if (!ref->tag[0]) {
		fprintf(stderr, "%s: %s: want REPO@sha256:DIGEST (or REPO:TAG)\n", tcl_prog, arg);
		return EXIT_USAGE;
	}
	if (tcl_registry_resolve(reg, ref->repo, ref->tag, ref->digest))
		return 1;
	pr_info(SUB, "%s resolved to %s", arg, ref->digest);
	return 0;
}

static int golden_push(struct common *c, const char *refarg, const char *mpath, const char *spath)
{
	struct tcl_registry *reg = NULL;
	struct tcl_ref ref;
	void *m = NULL, *s = NULL;
	size_t ml, sl;
	char adig[TCL_DIGEST_LEN + 1], tag[80], name[600];
	int rc;

	if (read_bounded(mpath, TCL_GOLDEN_MAX, &m, &ml) ||
	    read_bounded(spath, TCL_GOLDEN_SIG_MAX, &s, &sl)) {
		rc = 1;
		goto out;
	}
	rc = open_ref(c, refarg, &ref, &reg);
	if (rc)
		goto out;
	rc = golden_target(reg, &ref, refarg);
	if (rc)
		goto out;
	if (tcl_golden_push(reg, ref.repo, ref.digest, m, ml, s, sl, adig)) {
		rc = 1;
		goto out;
	}
	tcl_golden_tag(ref.digest, tag);
	ref_name(&ref, name, sizeof(name));
	printf("%s:%s@%s\n", name, tag, adig);
out:
	free(m);
	free(s);
	tcl_registry_close(reg);
	return rc;
}

static int golden_pull(struct common *c, const char *refarg, const char *out,
		       const char *sig_out)
{
	struct tcl_registry *reg = NULL;
	struct tcl_ref ref;
	void *m = NULL, *s = NULL;
	size_t ml = 0, sl = 0;
	char *sigpath = NULL;
	int rc;

	if (!sig_out) {
		if (asprintf(&sigpath, "%s.sig", out) < 0)
			return 1;
		sig_out = sigpath;
	}
	rc = open_ref(c, refarg, &ref, &reg);
	if (rc)
		goto out;
	rc = golden_target(reg, &ref, refarg);
	if (rc)
		goto out;
	rc = 1;
	if (tcl_golden_pull(reg, ref.repo, ref.digest, &m, &ml, &s, &sl))
		goto out;
	/* signature first: a manifest on disk without its signature is never the newer one */
	if (write_atomic(sig_out, s, sl) || write_atomic(out, m, ml))
		goto out;
	rc = 0;
out:
	free(m);
	free(s);
	free(sigpath);
	tcl_registry_close(reg);
	return rc;
}

int tcl_cmd_golden_registry(int argc, char **argv)
{
	static const struct option lo[] = {
		COMMON_LONGOPTS,
		{ "manifest", required_argument, NULL, OPT_MANIFEST },
		{ "sig", required_argument, NULL, OPT_SIG },
		{ "output", required_argument, NULL, 'o' },
		{ "sig-out", required_argument, NULL, OPT_SIG_OUT },
		{ NULL, 0, NULL, 0 },
	};
	struct common c = { 0 };
	const char *manifest = NULL, *sig = NULL, *out = NULL, *sig_out = NULL, *sub;
	int opt, r;

	skip_word(&argc, &argv, "golden");
	sub = argc > 0 ? argv[0] : "";
	if (strcmp(sub, "push") && strcmp(sub, "pull")) {
		bool help = !strcmp(sub, "--help") || !strcmp(sub, "-h");

		fprintf(help ? stdout : stderr, "usage: %s golden push|pull ... "
			"(--help on each)\n", tcl_prog);
		return help ? 0 : EXIT_USAGE;
	}
	optind = 0;
	while ((opt = getopt_long(argc, argv, "ho:", lo, NULL)) != -1) {
		r = common_opt(&c, opt, optarg);
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		switch (opt) {
		case OPT_MANIFEST:
			manifest = optarg;
			break;
		case OPT_SIG:
			sig = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case OPT_SIG_OUT:
			sig_out = optarg;
			break;
		case 'h':
			if (!strcmp(sub, "push"))
				printf("usage: %s golden push [--registry URL] REPO@DIGEST "
				       "--manifest FILE --sig FILE\nStore a signed golden manifest "
				       "beside image REPO@DIGEST (tag sha256-<hex>.tcl);\n"
				       "the image must be in the registry.  REPO:TAG is resolved "
				       "first.\n%s",
				       tcl_prog, common_help);
			else
				printf("usage: %s golden pull [--registry URL] REPO@DIGEST -o FILE "
				       "[--sig-out FILE]\nFetch the golden manifest of image "
				       "REPO@DIGEST and its signature\n"
				       "(default FILE.sig).  Nothing is verified here: use golden "
				       "verify.\n%s",
				       tcl_prog, common_help);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "%s: golden %s wants exactly one REPO@DIGEST (--help)\n", tcl_prog,
			sub);
		return EXIT_USAGE;
	}
	if (!strcmp(sub, "push")) {
		if (!manifest || !sig || out || sig_out) {
			fprintf(stderr, "%s: golden push needs --manifest FILE and --sig FILE\n",
				tcl_prog);
			return EXIT_USAGE;
		}
		return golden_push(&c, argv[optind], manifest, sig);
	}
	if (!out || manifest || sig) {
		fprintf(stderr, "%s: golden pull needs -o FILE\n", tcl_prog);
		return EXIT_USAGE;
	}
	return golden_pull(&c, argv[optind], out, sig_out);
}
