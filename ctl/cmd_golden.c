// SPDX-License-Identifier: GPL-2.0
/* tclctl golden generate|sign|verify|keygen; see cmd_golden.h. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd_golden.h"
#include "diag.h"
#include "golden.h"
#include "ocilayout.h"
#include "util.h"

#define EXIT_USAGE 2

static const char usage_text[] =
	"usage: %1$s golden generate --oci DIR[:TAG] [--ref NAME] [--platform OS/ARCH]\n"
	"                            [--max-bytes N[K|M|G]] -o FILE|-\n"
	"       %1$s golden sign --key PEM [-o SIG] FILE\n"
	"       %1$s golden verify --pub PEM [--sig SIG] FILE\n"
	"       %1$s golden keygen -o PREFIX\n"
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

/* getopt_long over one subcommand: 'h' for --help, 0 done, '?' usage error. */
static int next_opt(int argc, char **argv, const char *shortopts, const struct option *lo)
{
	return getopt_long(argc, argv, shortopts, lo, NULL);
}

static int read_input(const char *path, size_t max, const char *what, char **buf, size_t *len)
{
	int rc = tcl_read_file(path, max, buf, len);

	if (rc == -EFBIG)
		fprintf(stderr, "%s: %s %s: larger than %zu bytes\n", tcl_prog, what, path, max);
	else if (rc)
		fprintf(stderr, "%s: %s %s: %s\n", tcl_prog, what, path, strerror(-rc));
	return rc;
}

static int write_output(const char *path, const char *buf, size_t len)
{
	int rc;

	if (!strcmp(path, "-")) {
		if (fwrite(buf, 1, len, stdout) != len || fflush(stdout)) {
			fprintf(stderr, "%s: writing to stdout failed\n", tcl_prog);
			return -EIO;
		}
		return 0;
	}
	rc = tcl_write_file_atomic(path, buf, len, 0644);
	if (rc)
		fprintf(stderr, "%s: %s: %s\n", tcl_prog, path, strerror(-rc));
	return rc;
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

/* DIR:TAG -> DIR, TAG. A path that exists as a directory wins over the split. */
static int split_oci(const char *arg, char **dir, const char **tag)
{
	const char *colon = strrchr(arg, ':');
	struct stat st;

	*tag = NULL;
	if (!colon || strchr(colon, '/') || (!stat(arg, &st) && S_ISDIR(st.st_mode))) {
		*dir = strdup(arg);
	} else {
		*dir = strndup(arg, (size_t)(colon - arg));
		*tag = colon + 1;
		if (!**tag)
			*tag = NULL;
	}
	return *dir ? 0 : -ENOMEM;
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

	while ((c = next_opt(argc, argv, "o:h", lo)) != -1) {
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
	if (split_oci(oci, &dir, &tag))
		goto out;
	if (tcl_oci_open(dir, tag, &opts, &img))
		goto out;
	if (tcl_golden_from_image(img, ref, &json, &len))
		goto out;
	/* never write what the parser (and so the agent) would refuse */
	if (tcl_golden_parse(json, len, &g))
		goto out;
	if (write_output(out, json, len))
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

	while ((c = next_opt(argc, argv, "k:o:h", lo)) != -1) {
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
	if (!out) {
		if (asprintf(&sigpath, "%s.sig", file) < 0)
			return 1;
		out = sigpath;
	}
	if (read_input(file, TCL_GOLDEN_MAX_BYTES, "manifest", &manifest, &len))
		goto out;
	if (tcl_golden_parse(manifest, len, &g))
		goto out;
	if (tcl_golden_sign(key, manifest, len, &sig, &slen) || tcl_golden_keyid(key, keyid))
		goto out;
	if (write_output(out, sig, slen))
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

	while ((c = next_opt(argc, argv, "h", lo)) != -1) {
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
	if (!sigarg) {
		if (asprintf(&sigpath, "%s.sig", file) < 0)
			return 1;
		sigarg = sigpath;
	}
	if (read_input(file, TCL_GOLDEN_MAX_BYTES, "manifest", &manifest, &len) ||
	    read_input(sigarg, TCL_GOLDEN_MAX_SIG_BYTES, "signature", &sig, &slen))
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

	while ((c = next_opt(argc, argv, "o:h", lo)) != -1) {
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

int tcl_cmd_golden(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} sub[] = {
		{ "generate", cmd_generate },
		{ "sign", cmd_sign },
		{ "verify", cmd_verify },
		{ "keygen", cmd_keygen },
	};
	size_t i;

	if (argc > 0 && !strcmp(argv[0], "golden")) {
		argc--;
		argv++;
	}
	if (argc < 1) {
		fprintf(stderr, usage_text, tcl_prog);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h") || !strcmp(argv[0], "help")) {
		printf(usage_text, tcl_prog);
		return 0;
	}
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		if (strcmp(argv[0], sub[i].name))
			continue;
		optind = 0;	/* glibc: full rescan, whatever parsed argv before */
		return sub[i].fn(argc, argv);
	}
	fprintf(stderr, "%s: golden: unknown subcommand \"%s\"\n", tcl_prog, argv[0]);
	fprintf(stderr, usage_text, tcl_prog);
	return EXIT_USAGE;
}
