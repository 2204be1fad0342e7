// SPDX-License-Identifier: GPL-2.0
/* tclctl golden generate|sign|verify|keygen|keyid|push|pull: golden manifests of OCI images (formats:
 * golden.h), on disk and beside their image in a registry.
 *   golden generate --oci DIR[:TAG] [--ref NAME] [--platform OS/ARCH] [--max-bytes N[K|M|G]]
 *                   -o FILE|-
 *   golden sign --key PEM [-o SIG] FILE          SIG defaults to FILE.sig
 *   golden verify --pub PEM [--sig SIG] FILE     SIG defaults to FILE.sig
 *   golden keygen -o PREFIX                      writes PREFIX.key (0600) and PREFIX.pub
 *   golden keyid PEM                             the key's id (its revocation fingerprint)
 *   golden push [--registry URL] REPO@DIGEST --manifest FILE --sig FILE
 *   golden pull [--registry URL] REPO@DIGEST -o FILE [--sig-out FILE (default FILE.sig)]
 *   golden learn --image REF [--since T] [--events FILE]... [--trust-key PEM] -o FILE
 * push and pull take the registry options of image push. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmds.h"
#include "diag.h"
#include "evstream.h"
#include "evview.h"
#include "golden.h"
#include "learn.h"
#include "ocilayout.h"
#include "registry.h"

enum { OPT_MANIFEST = OPT_REGISTRY_LAST, OPT_SIG, OPT_SIG_OUT, OPT_IMAGE, OPT_SINCE, OPT_EVENTS,
       OPT_TRUST_KEY, OPT_KEY };

static const char usage_text[] =
	"usage: %1$s golden generate --oci DIR[:TAG] [--ref NAME] [--platform OS/ARCH]\n"
	"                            [--max-bytes N[K|M|G]] -o FILE|-\n"
	"       %1$s golden sign --key PEM [-o SIG] FILE\n"
	"       %1$s golden verify --pub PEM [--sig SIG] FILE\n"
	"       %1$s golden keygen -o PREFIX\n"
	"       %1$s golden keyid PEM\n"
	"       %1$s golden push [--registry URL] REPO@DIGEST --manifest FILE --sig FILE\n"
	"       %1$s golden pull [--registry URL] REPO@DIGEST -o FILE [--sig-out FILE]\n"
	"       %1$s golden learn --image REF [--since T] [--events FILE]... [--trust-key PEM]\n"
	"                         -o FILE\n"
	"Each takes --help.\n";

static const char gen_help[] =
	"usage: %s golden generate --oci DIR[:TAG] [--ref NAME] -o FILE|-\n"
	"Read the OCI image layout DIR (the manifest tagged TAG, or its only one; linux/amd64\n"
	"from an image index), check every blob against its digest, apply the layers, and write\n"
	"the golden manifest: the SHA-256 of every file with an exec bit or an ELF header.\n"
	"  --oci DIR[:TAG]        image layout (DIR:TAG splits at the last ':')\n"
	"  --ref NAME             image reference recorded in the manifest (default: the\n"
	"                         layout's io.containerd.image.name or ref.name annotation)\n"
	"  --platform OS/ARCH     platform picked from an image index (default linux/amd64)\n"
	"  --max-bytes N[K|M|G]   bound on uncompressed layer bytes (default 16G)\n"
	"  -o, --output FILE|-    where to write it (atomically; - for stdout)\n";

static const char sign_help[] =
	"usage: %s golden sign --key PEM [-o SIG] FILE\n"
	"Sign the golden manifest FILE (checked first) with an Ed25519 private key (PEM,\n"
	"PKCS#8, unencrypted) and write the detached signature, JSON\n"
	"{\"alg\":\"ed25519\",\"keyid\":HEX,\"sig\":BASE64}, to SIG (default FILE.sig).\n";

static const char verify_help[] =
	"usage: %s golden verify --pub PEM [--sig SIG] FILE\n"
	"Check that SIG (default FILE.sig) is a signature of FILE's exact bytes by the Ed25519\n"
	"public key PEM, and that FILE is a well-formed golden manifest. Exit 0 only if both.\n";

static const char keygen_help[] =
	"usage: %s golden keygen -o PREFIX\n"
	"Make an Ed25519 key pair: PREFIX.key (private, 0600) and PREFIX.pub; print its key id\n"
	"(SHA-256 of the DER public key). Existing files are never overwritten.\n";

static const char keyid_help[] =
	"usage: %s golden keyid PEM\n"
	"Print the key id of an Ed25519 key (either half of the pair, PEM): the SHA-256 of its\n"
	"DER public key, as signatures name it. \"sha256:\" and this id is the key's fingerprint\n"
	"in a revocation (tcl-attestor's POST /v1/revocations).\n";

/* A signature's path defaults to the manifest's with ".sig" appended. */
static int sig_path(const char **path, const char *manifest, char **alloc)
{
	if (*path)
		return 0;
	if (asprintf(alloc, "%s.sig", manifest) < 0)
		return -ENOMEM;
	*path = *alloc;
	return 0;
}

static int parse_bytes(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	else if (*end)
		return -EINVAL;
	if (shift && end[1])
		return -EINVAL;
	if (!v || v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

static int cmd_generate(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "oci", required_argument, NULL, 'O' },
		{ "ref", required_argument, NULL, 'r' },
		{ "platform", required_argument, NULL, 'p' },
		{ "max-bytes", required_argument, NULL, 'm' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *oci = NULL, *ref = NULL, *out = NULL, *tag, *slash;
	struct tcl_oci_opts opts = { 0 };
	struct tcl_oci_image *img = NULL;
	struct tcl_golden *g = NULL;
	char *dir = NULL, *json = NULL, *plat = NULL;
	size_t len;
	int c, ret = 1;

	while ((c = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
		switch (c) {
		case 'O':
			oci = optarg;
			break;
		case 'r':
			ref = optarg;
			break;
		case 'p':
			slash = strchr(optarg, '/');
			if (!slash || slash == optarg || !slash[1] || strchr(slash + 1, '/')) {
				fprintf(stderr, "%s: --platform wants OS/ARCH, e.g. linux/arm64\n",
					tcl_prog);
				ret = EXIT_USAGE;
				goto out;
			}
			free(plat);
			plat = strdup(optarg);
			if (!plat)
				goto out;
			plat[slash - optarg] = '\0';
			opts.os = plat;
			opts.arch = plat + (slash - optarg) + 1;
			break;
		case 'm':
			if (parse_bytes(optarg, &opts.max_total_bytes)) {
				fprintf(stderr, "%s: --max-bytes: \"%s\" is not a size\n", tcl_prog,
					optarg);
				ret = EXIT_USAGE;
				goto out;
			}
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			printf(gen_help, tcl_prog);
			ret = 0;
			goto out;
		default:
			ret = EXIT_USAGE;
			goto out;
		}
	}
	if (!oci || !out || optind != argc) {
		fprintf(stderr, "%s: golden generate needs --oci DIR[:TAG] and -o FILE, nothing "
			"else (--help)\n", tcl_prog);
		ret = EXIT_USAGE;
		goto out;
	}
	if (ctl_split_oci(oci, &dir, &tag))
		goto out;
	if (tcl_oci_open(dir, tag, &opts, &img))
		goto out;
	if (tcl_golden_from_image(img, ref, &json, &len))
		goto out;
	/* never write what the parser (and so the agent) would refuse */
	if (tcl_golden_parse(json, len, &g))
		goto out;
	if (ctl_write_output(out, json, len))
		goto out;
	fprintf(stderr, "%s: %s: %s %s, %zu files (%zu distinct digests)\n", tcl_prog,
		strcmp(out, "-") ? out : "stdout", g->image, g->manifest_digest, g->nfiles,
		g->ndigests);
	ret = 0;
out:
	tcl_golden_free(g);
	tcl_oci_free(img);
	free(json);
	free(dir);
	free(plat);
	return ret;
}

static int cmd_sign(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *key = NULL, *out = NULL, *file;
	char *manifest = NULL, *sig = NULL, *sigpath = NULL, keyid[65];
	struct tcl_golden *g = NULL;
	size_t len, slen;
	int c, ret = 1;

	while ((c = getopt_long(argc, argv, "k:o:h", lo, NULL)) != -1) {
		switch (c) {
		case 'k':
			key = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			printf(sign_help, tcl_prog);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (!key || optind != argc - 1) {
		fprintf(stderr, "%s: golden sign needs --key PEM and one FILE (--help)\n",
			tcl_prog);
		return EXIT_USAGE;
	}
	file = argv[optind];
	if (sig_path(&out, file, &sigpath))
		return 1;
	if (ctl_read_input("manifest", file, TCL_GOLDEN_MAX_BYTES, &manifest, &len))
		goto out;
	if (tcl_golden_parse(manifest, len, &g))
		goto out;
	if (tcl_golden_sign(key, manifest, len, &sig, &slen) || tcl_golden_keyid(key, keyid))
		goto out;
	if (ctl_write_output(out, sig, slen))
		goto out;
	fprintf(stderr, "%s: %s: signed %s (%s) with key %s\n", tcl_prog, out, file,
		g->manifest_digest, keyid);
	ret = 0;
out:
	tcl_golden_free(g);
	free(manifest);
	free(sig);
	free(sigpath);
	return ret;
}

static int cmd_verify(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "pub", required_argument, NULL, 'p' },
		{ "sig", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pub = NULL, *sigarg = NULL, *file;
	char *manifest = NULL, *sig = NULL, *sigpath = NULL, keyid[65];
	struct tcl_golden *g = NULL;
	size_t len, slen;
	int c, ret = 1;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			pub = optarg;
			break;
		case 's':
			sigarg = optarg;
			break;
		case 'h':
			printf(verify_help, tcl_prog);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (!pub || optind != argc - 1) {
		fprintf(stderr, "%s: golden verify needs --pub PEM and one FILE (--help)\n",
			tcl_prog);
		return EXIT_USAGE;
	}
	file = argv[optind];
	if (sig_path(&sigarg, file, &sigpath))
		return 1;
	if (ctl_read_input("manifest", file, TCL_GOLDEN_MAX_BYTES, &manifest, &len) ||
	    ctl_read_input("signature", sigarg, TCL_GOLDEN_MAX_SIG_BYTES, &sig, &slen))
		goto out;
	if (tcl_golden_verify(pub, manifest, len, sig, slen, keyid))
		goto out;
	if (tcl_golden_parse(manifest, len, &g))
		goto out;
	printf("verified: %s: image %s, manifest %s, %zu files, signed by key %s\n", file,
	       g->image, g->manifest_digest, g->nfiles, keyid);
	ret = 0;
out:
	if (ret)
		fprintf(stderr, "%s: %s: NOT verified\n", tcl_prog, file);
	tcl_golden_free(g);
	free(manifest);
	free(sig);
	free(sigpath);
	return ret;
}

static int cmd_keygen(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prefix = NULL;
	char keyid[65];
	int c;

	while ((c = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
		switch (c) {
		case 'o':
			prefix = optarg;
			break;
		case 'h':
			printf(keygen_help, tcl_prog);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (!prefix || !*prefix || optind != argc) {
		fprintf(stderr, "%s: golden keygen needs -o PREFIX, nothing else (--help)\n",
			tcl_prog);
		return EXIT_USAGE;
	}
	if (tcl_golden_keygen(prefix, keyid))
		return 1;
	printf("%s\n", keyid);
	fprintf(stderr, "%s: wrote %s.key and %s.pub\n", tcl_prog, prefix, prefix);
	return 0;
}

static int cmd_keyid(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char keyid[65];
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c != 'h')
			return EXIT_USAGE;
		printf(keyid_help, tcl_prog);
		return 0;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "%s: golden keyid needs one PEM key file (--help)\n", tcl_prog);
		return EXIT_USAGE;
	}
	if (tcl_golden_keyid(argv[optind], keyid))
		return 1;
	printf("%s\n", keyid);
	return 0;
}

/* Connect for REPO@DIGEST, or REPO:TAG resolved here and said so.  An exit status. */
static int golden_open(const struct ctl_registry *c, const char *arg, struct tcl_ref *ref,
		       struct tcl_registry **reg)
{
	int rc = ctl_registry_open(c, arg, ref, reg);

	if (rc || ref->digest[0])
		return rc;
	if (!ref->tag[0]) {
		fprintf(stderr, "%s: %s: want REPO@sha256:DIGEST (or REPO:TAG)\n", tcl_prog, arg);
		return EXIT_USAGE;
	}
	if (tcl_registry_resolve(*reg, ref->repo, ref->tag, ref->digest))
		return 1;
	pr_info("registry", "%s resolved to %s", arg, ref->digest);
	return 0;
}

static int push(const struct ctl_registry *c, const char *refarg, const char *mpath,
		const char *spath)
{
	struct tcl_registry *reg = NULL;
	struct tcl_ref ref;
	char *m = NULL, *s = NULL;
	size_t ml, sl;
	char adig[TCL_DIGEST_LEN + 1], tag[80], name[600];
	int rc;

	if (ctl_read_regular(mpath, TCL_GOLDEN_MAX, &m, &ml) ||
	    ctl_read_regular(spath, TCL_GOLDEN_SIG_MAX, &s, &sl)) {
		rc = 1;
		goto out;
	}
	rc = golden_open(c, refarg, &ref, &reg);
	if (rc)
		goto out;
	if (tcl_golden_push(reg, ref.repo, ref.digest, m, ml, s, sl, adig)) {
		rc = 1;
		goto out;
	}
	tcl_golden_tag(ref.digest, tag);
	ctl_ref_name(&ref, name, sizeof(name));
	printf("%s:%s@%s\n", name, tag, adig);
out:
	free(m);
	free(s);
	tcl_registry_close(reg);
	return rc;
}

static int pull(const struct ctl_registry *c, const char *refarg, const char *out,
		       const char *sig_out)
{
	struct tcl_registry *reg = NULL;
	struct tcl_ref ref;
	char *m = NULL, *s = NULL;
	size_t ml = 0, sl = 0;
	char *sigpath = NULL;
	int rc;

	if (sig_path(&sig_out, out, &sigpath))
		return 1;
	rc = golden_open(c, refarg, &ref, &reg);
	if (rc)
		goto out;
	rc = 1;
	if (tcl_golden_pull(reg, ref.repo, ref.digest, (void **)&m, &ml, (void **)&s, &sl))
		goto out;
	/* signature first: a manifest on disk without its signature is never the newer one */
	if (ctl_write_output(sig_out, s, sl) || ctl_write_output(out, m, ml))
		goto out;
	rc = 0;
out:
	free(m);
	free(s);
	free(sigpath);
	tcl_registry_close(reg);
	return rc;
}

static int golden_push(int argc, char **argv)
{
	static const struct option lo[] = {
		CTL_REGISTRY_LONGOPTS,
		{ "manifest", required_argument, NULL, OPT_MANIFEST },
		{ "sig", required_argument, NULL, OPT_SIG },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_registry c = { 0 };
	const char *manifest = NULL, *sig = NULL;
	int opt;

	while ((opt = ctl_registry_getopt(&c, argc, argv, "h", lo)) != -1) {
		switch (opt) {
		case OPT_MANIFEST:
			manifest = optarg;
			break;
		case OPT_SIG:
			sig = optarg;
			break;
		case 'h':
			printf("usage: %s golden push [--registry URL] REPO@DIGEST "
			       "--manifest FILE --sig FILE\nStore a signed golden manifest "
			       "beside image REPO@DIGEST (tag sha256-<hex>.tcl);\n"
			       "the image must be in the registry.  REPO:TAG is resolved "
			       "first.\n%s",
			       tcl_prog, ctl_registry_help);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "%s: golden push wants exactly one REPO@DIGEST (--help)\n",
			tcl_prog);
		return EXIT_USAGE;
	}
	if (!manifest || !sig) {
		fprintf(stderr, "%s: golden push needs --manifest FILE and --sig FILE\n", tcl_prog);
		return EXIT_USAGE;
	}
	return push(&c, argv[optind], manifest, sig);
}

static int golden_pull(int argc, char **argv)
{
	static const struct option lo[] = {
		CTL_REGISTRY_LONGOPTS,
		{ "output", required_argument, NULL, 'o' },
		{ "sig-out", required_argument, NULL, OPT_SIG_OUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_registry c = { 0 };
	const char *out = NULL, *sig_out = NULL;
	int opt;

	while ((opt = ctl_registry_getopt(&c, argc, argv, "ho:", lo)) != -1) {
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case OPT_SIG_OUT:
			sig_out = optarg;
			break;
		case 'h':
			printf("usage: %s golden pull [--registry URL] REPO@DIGEST -o FILE "
			       "[--sig-out FILE]\nFetch the golden manifest of image "
			       "REPO@DIGEST and its signature\n"
			       "(default FILE.sig).  Nothing is verified here: use golden "
			       "verify.\n%s",
			       tcl_prog, ctl_registry_help);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "%s: golden pull wants exactly one REPO@DIGEST (--help)\n",
			tcl_prog);
		return EXIT_USAGE;
	}
	if (!out) {
		fprintf(stderr, "%s: golden pull needs -o FILE\n", tcl_prog);
		return EXIT_USAGE;
	}
	return pull(&c, argv[optind], out, sig_out);
}

static const char learn_help[] =
	"usage: %s golden learn --image REF [--since T] [--events FILE]... [--trust-key PEM]\n"
	"                         [registry options] -o FILE|-\n"
	"Propose a new golden manifest for image REF (REPO@DIGEST, or REPO:TAG resolved in the\n"
	"registry): its current manifest from the registry plus every file its containers ran\n"
	"in audit mode that the manifest does not list (exec/mmap records with verdict audit and\n"
	"reason not_allowed, of that image digest).  Each addition is printed with its path,\n"
	"digest, how often and when it ran first and last, and in which containers.  A digest\n"
	"already golden is not added; a path seen with several digests, or that the image holds\n"
	"with another one, is reported and not added.  Nothing is signed: review FILE, then\n"
	"golden sign and golden push it.  Exit 1 when there is nothing to add.\n"
	"  --image REF        the image; HOST[:PORT]/REPO or --registry\n"
	"  --since T          records from T on: RFC 3339 (2026-12-02T10:00:00Z) or a duration\n"
	"                     back from now: N followed by s, m, h or d (default: all)\n"
	"  --events FILE      JSON lines the agent wrote with --events (repeatable; - for\n"
	"                     stdin); without it the agent's socket (--socket), whose backlog\n"
	"                     holds the last %d records only\n"
	"  --trust-key PEM    check the current manifest's signature first (recommended)\n"
	"  -o, --output FILE  the unsigned proposal (canonical JSON; - for stdout)\n"
	"%s";

/* Feeds every line of @in to @l.  0 or -errno. */
static int learn_lines(struct ctl_learn *l, FILE *in)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	while (!rc && (n = getline(&line, &cap, in)) > 0)
		rc = ctl_learn_record(l, line, (size_t)n);
	if (!rc && ferror(in))
		rc = -EIO;
	free(line);
	return rc;
}

static int learn_source(struct ctl_learn *l, const char *path)
{
	FILE *in;
	int rc, fd;

	if (!path) {
		fd = tcl_evstream_request(ctl_socket, "events\n");
		if (fd < 0) {
			fprintf(stderr, "%s: cannot reach the agent at %s: %s (or give --events "
				"FILE)\n", tcl_prog, ctl_socket, strerror(-fd));
			return fd;
		}
		in = fdopen(fd, "r");
		if (!in)
			close(fd);
	} else {
		in = strcmp(path, "-") ? fopen(path, "r") : stdin;
	}
	if (!in) {
		rc = -errno;
		fprintf(stderr, "%s: %s: %s\n", tcl_prog, path ? path : ctl_socket, strerror(-rc));
		return rc;
	}
	rc = learn_lines(l, in);
	if (rc)
		fprintf(stderr, "%s: reading %s: %s\n", tcl_prog, path ? path : ctl_socket,
			strerror(-rc));
	if (in != stdin)
		fclose(in);
	return rc;
}

#define LEARN_MAX_SOURCES 64

static int learn(const struct ctl_registry *c, const char *image, int64_t since,
		 const char **sources, int nsrc, const char *trust_key, const char *out)
{
	struct tcl_registry *reg = NULL;
	struct tcl_golden *g = NULL;
	struct ctl_learn *l = NULL;
	struct ctl_learn_stats st;
	struct tcl_ref ref;
	char *m = NULL, *s = NULL, *prop = NULL, keyid[65], name[600];
	size_t ml = 0, sl = 0, pl = 0;
	int rc, err;

	rc = golden_open(c, image, &ref, &reg);
	if (rc)
		goto out;
	rc = 1;
	err = tcl_golden_pull(reg, ref.repo, ref.digest, (void **)&m, &ml, (void **)&s, &sl);
	if (err == -ENOENT) {
		fprintf(stderr, "%s: %s has no golden manifest to learn onto: golden generate, "
			"sign and push one first\n", tcl_prog, image);
		goto out;
	}
	if (err)
		goto out;
	if (trust_key) {
		err = tcl_golden_verify(trust_key, m, ml, s, sl, keyid);
		if (err) {
			fprintf(stderr, "%s: the golden manifest of %s is not signed by %s: %s\n",
				tcl_prog, image, trust_key,
				err == -EKEYREJECTED ? "another key signed it" : strerror(-err));
			goto out;
		}
	} else {
		fprintf(stderr, "%s: warning: the current golden manifest's signature is not "
			"checked (no --trust-key)\n", tcl_prog);
	}
	if (tcl_golden_parse(m, ml, &g))
		goto out;
	if (strcmp(g->manifest_digest, ref.digest) && strcmp(g->index_digest, ref.digest)) {
		fprintf(stderr, "%s: the golden manifest beside %s is for %s\n", tcl_prog,
			ref.digest, g->manifest_digest);
		goto out;
	}
	if (ctl_learn_new(g, ref.digest, since, &l))
		goto out;
	for (int i = 0; i < (nsrc ? nsrc : 1); i++)
		if (learn_source(l, nsrc ? sources[i] : NULL))
			goto out;
	err = ctl_learn_propose(l, m, ml, &prop, &pl);
	ctl_learn_stats(l, &st);
	ctl_learn_report(l, strcmp(out, "-") ? stdout : stderr);
	if (err == -ENODATA) {
		fprintf(stderr, "%s: nothing to learn for %s: %llu records, %llu audit records of "
			"the image, %llu already golden, %llu unusable, %zu not added\n", tcl_prog,
			ref.digest, (unsigned long long)st.records, (unsigned long long)st.matched,
			(unsigned long long)st.golden, (unsigned long long)st.unusable,
			st.refused);
		goto out;
	}
	if (err) {
		fprintf(stderr, "%s: cannot build the proposal: %s\n", tcl_prog,
			err == -EFBIG ? "over the golden manifest limits" : strerror(-err));
		goto out;
	}
	if (ctl_write_output(out, prop, pl))
		goto out;
	ctl_ref_name(&ref, name, sizeof(name));
	fprintf(stderr,
		"%s: %s: %zu file%s added to the %zu of %s@%s (%llu records, %llu audit records of "
		"the image, %llu already golden, %llu unusable, %zu not added%s)\n"
		"Not signed.  Review it, then:\n"
		"  tclctl golden sign --key KEY %s\n"
		"  tclctl golden push %s@%s --manifest %s --sig %s.sig\n"
		"Nodes that cached the old manifest (their golden cache, /var/lib/tcl/golden/"
		"%.64s.json) keep using it until that entry is removed.\n",
		tcl_prog, out, st.added, st.added == 1 ? "" : "s", g->nfiles, name, ref.digest,
		(unsigned long long)st.records, (unsigned long long)st.matched,
		(unsigned long long)st.golden, (unsigned long long)st.unusable, st.refused,
		st.bad ? ", some lines not JSON" : "", out, name, ref.digest, out, out,
		ref.digest + 7);
	rc = 0;
out:
	ctl_learn_free(l);
	tcl_golden_free(g);
	free(prop);
	free(m);
	free(s);
	tcl_registry_close(reg);
	return rc;
}

static int golden_learn(int argc, char **argv)
{
	static const struct option lo[] = {
		CTL_REGISTRY_LONGOPTS,
		{ "image", required_argument, NULL, OPT_IMAGE },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "events", required_argument, NULL, OPT_EVENTS },
		{ "trust-key", required_argument, NULL, OPT_TRUST_KEY },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_registry c = { 0 };
	const char *image = NULL, *out = NULL, *trust = NULL, *sources[LEARN_MAX_SOURCES];
	int64_t since = INT64_MIN;
	int opt, nsrc = 0;

	while ((opt = ctl_registry_getopt(&c, argc, argv, "ho:", lo)) != -1) {
		switch (opt) {
		case OPT_IMAGE:
			image = optarg;
			break;
		case OPT_SINCE:
			if (ctl_parse_since(optarg, ctl_now_ns(), &since)) {
				fprintf(stderr, "%s: --since wants an RFC 3339 time or N[s|m|h|d], "
					"not \"%s\"\n", tcl_prog, optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_EVENTS:
			if (nsrc == LEARN_MAX_SOURCES) {
				fprintf(stderr, "%s: at most %d --events\n", tcl_prog,
					LEARN_MAX_SOURCES);
				return EXIT_USAGE;
			}
			sources[nsrc++] = optarg;
			break;
		case OPT_TRUST_KEY:
			trust = optarg;
			break;
		case OPT_KEY:
			fprintf(stderr, "%s: golden learn never signs: review the proposal, then "
				"tclctl golden sign --key PEM FILE\n", tcl_prog);
			return EXIT_USAGE;
		case 'o':
			out = optarg;
			break;
		case 'h':
			printf(learn_help, tcl_prog, TCL_EVSTREAM_BACKLOG, ctl_registry_help);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: golden learn: unexpected argument \"%s\" (--help)\n", tcl_prog,
			argv[optind]);
		return EXIT_USAGE;
	}
	if (!image || !out) {
		fprintf(stderr, "%s: golden learn needs --image REF and -o FILE (--help)\n",
			tcl_prog);
		return EXIT_USAGE;
	}
	return learn(&c, image, since, sources, nsrc, trust, out);
}

static void usage(FILE *f)
{
	fprintf(f, usage_text, tcl_prog);
}

int tcl_cmd_golden(int argc, char **argv)
{
	static const struct cmd verbs[] = {
		{ "generate", cmd_generate },
		{ "sign", cmd_sign },
		{ "verify", cmd_verify },
		{ "keygen", cmd_keygen },
		{ "keyid", cmd_keyid },
		{ "push", golden_push },
		{ "pull", golden_pull },
		{ "learn", golden_learn },
		{ NULL, NULL },
	};

	return cmd_select(verbs, argv[0], argc - 1, argv + 1, usage);
}
