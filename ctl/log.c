// SPDX-License-Identifier: GPL-2.0
/* tclctl log show|verify|pcrs: the measurement log, read only, so it works beside a running
 * agent (docs/measurement-log.md).
 *   log show   [--log PATH]                  one line per entry, IMA ascii style
 *   log verify [--log PATH] [--pcr N] [--tpm TCTI | --pcrs FILE] [--strict]
 *              replay the log against the live PCR (every allocated bank) or the
 *              values in an evmctl-style pcrs file; 0 when the PCR is the replay of the log
 *              (or, without --strict, of a prefix: entries logged but not yet extended),
 *              1 on a mismatch, a corrupt log or any error
 *   log pcrs   -o FILE [--tpm TCTI] [--bank sha256|sha1|sha384|sha512]
 *              write the live bank as evmctl's --pcrs file (24 lines "PCR-NN: <hex>")
 *   log cat    -o FILE [--log PATH]
 *              the kept segments of a bounded log as one IMA binary log file (for evmctl)
 * A bounded log (tcl-agent --log-max-bytes) is segments plus a checkpoint (lib/logseg.h):
 * every command reads the kept segments in order, and verify replays from the checkpoint.
 * Defaults: --log /var/lib/tcl/measurements.bin, --tpm device:/dev/tpmrm0, --pcr 13. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "diag.h"
#include "log.h"
#include "logseg.h"
#include "measure.h"
#include "tpm.h"
#include "fileio.h"
#include "hexb64.h"

#define PCRS_FILE_MAX	16384

static const char log_usage[] =
	"usage: %1$s log show [--log PATH]\n"
	"       %1$s log verify [--log PATH] [--pcr N] [--tpm TCTI | --pcrs FILE] [--strict]\n"
	"       %1$s log pcrs -o FILE [--tpm TCTI] [--bank sha256|sha1|sha384|sha512]\n"
	"       %1$s log cat -o FILE [--log PATH]\n"
	"Each takes --help.\n";

static const char show_help[] =
	"usage: %s log show [--log PATH]\n"
	"Print every entry of the measurement log, one line each, as IMA's\n"
	"ascii_runtime_measurements does: PCR, template hash, template, digest, name\n"
	"(ima-buf entries add the buffer in hex). Control characters in names are \\xNN.\n"
	"  --log PATH   the log (default " TCL_MEASURE_DEFAULT_LOG ")\n";

static const char verify_help[] =
	"usage: %s log verify [--log PATH] [--pcr N] [--tpm TCTI | --pcrs FILE] [--strict]\n"
	"Replay the log and compare with the PCR: the live TPM's (every allocated bank, sha1,\n"
	"sha256, sha384, sha512, one line each) or, offline, the values in FILE (evmctl's\n"
	"--pcrs format: lines \"PCR-NN: <hex>\", the bank taken from the digest length).\n"
	"Exit 0 when the PCR is the replay of the whole log, or of a prefix of it (entries the\n"
	"agent has logged and not extended yet; --strict makes that a failure too); exit 1 when\n"
	"no prefix replays to the PCR, when the log is corrupt, or on any error.\n"
	"A bounded log is replayed from its checkpoint (the PCR values after the segments\n"
	"that were deleted) through every kept segment; a missing or cut segment is CORRUPT.\n"
	"  --log PATH    the log (default " TCL_MEASURE_DEFAULT_LOG ")\n"
	"  --pcr N       the PCR the log is extended into (default 13)\n"
	"  --tpm TCTI    libtss2 TCTI (default " TCL_MEASURE_DEFAULT_TCTI ")\n"
	"  --pcrs FILE   PCR values from FILE instead of a TPM\n"
	"  --strict      the whole log must be extended\n";

static const char cat_help[] =
	"usage: %s log cat -o FILE [--log PATH]\n"
	"Write the kept segments of the log, in order, as one IMA binary log file (complete\n"
	"entries only). While no segment was deleted (checkpoint at offset 0) it is the whole\n"
	"log, which `evmctl ima_measurement` replays from zero; after a deletion evmctl cannot\n"
	"check it (it knows no starting values): use `log verify`.\n"
	"  -o, --output FILE   where to write\n"
	"  --log PATH          the log (default " TCL_MEASURE_DEFAULT_LOG ")\n";

static const char pcrs_help[] =
	"usage: %s log pcrs -o FILE [--tpm TCTI] [--bank sha256|sha1|sha384|sha512]\n"
	"Read all 24 PCRs of one bank from the TPM and write them as the file\n"
	"`evmctl ima_measurement --pcrs BANK,FILE LOG` reads (written atomically).\n"
	"  -o, --output FILE   where to write\n"
	"  --tpm TCTI          libtss2 TCTI (default " TCL_MEASURE_DEFAULT_TCTI ")\n"
	"  --bank ALG          sha256 (default), sha1, sha384 or sha512\n";

enum { OPT_LOG = 256, OPT_TPM, OPT_PCR, OPT_PCRS, OPT_STRICT, OPT_BANK };

/* ---- log show ---- */

static int show_cb(const struct tcl_log_entry *e, uint64_t off, void *arg)
{
	return tcl_log_format_ascii(e, stdout);
}

static void report_tail(const char *path, const struct tcl_log_scan *sc)
{
	if (sc->tail_len)
		fprintf(stderr, "%s: %s: the last %llu bytes are an incomplete entry (being "
			"written, or torn by a crash): not included\n", tcl_prog, path,
			(unsigned long long)sc->tail_len);
}

static int cmd_show(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "log", required_argument, NULL, OPT_LOG },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = TCL_MEASURE_DEFAULT_LOG;
	struct tcl_log_scan sc;
	int c, err;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case OPT_LOG:
			path = optarg;
			break;
		case 'h':
			printf(show_help, tcl_prog);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: log show takes no arguments (--help)\n", tcl_prog);
		return EXIT_USAGE;
	}
	err = tcl_log_foreach(path, show_cb, NULL, &sc);
	if (fflush(stdout) && !err)
		err = -EIO;
	if (err == -EBADMSG) {
		fprintf(stderr, "%s: %s: corrupt entry at offset %llu: the log was altered or "
			"damaged; the entries before it are shown\n", tcl_prog, path,
			(unsigned long long)sc.bad_off);
		return 1;
	}
	if (err) {
		fprintf(stderr, "%s: log show %s: %s\n", tcl_prog, path, strerror(-err));
		return 1;
	}
	report_tail(path, &sc);
	return 0;
}

/* ---- log verify ---- */

struct count {
	uint32_t pcr;
	size_t on_pcr, other;
};

static int count_cb(const struct tcl_log_entry *e, uint64_t off, void *arg)
{
	struct count *c = arg;

	if (e->pcr == c->pcr)
		c->on_pcr++;
	else
		c->other++;
	return 0;
}

/* The value of @pcr in an evmctl pcrs file; the bank follows from its length. */
static int read_pcrs_file(const char *path, uint32_t pcr, enum tcl_log_alg *alg, uint8_t *val)
{
	char *buf = NULL, *line, *save = NULL, want[16];
	size_t len, n;
	int err, lineno = 0;
	bool found = false;

	err = tcl_read_file(path, PCRS_FILE_MAX, &buf, &len);
	if (err) {
		fprintf(stderr, "%s: %s: %s\n", tcl_prog, path,
			err == -EFBIG ? "too large for a pcrs file" : strerror(-err));
		return err;
	}
	snprintf(want, sizeof(want), "PCR-%02u:", pcr);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *v;

		lineno++;
		if (strncmp(line, want, strlen(want)))
			continue;
		v = line + strlen(want);
		while (*v == ' ' || *v == '\t')
			v++;
		n = strcspn(v, " \t\r");
		v[n] = '\0';
		*alg = n == 40 ? TCL_LOG_SHA1 : n == 64 ? TCL_LOG_SHA256 :
		       n == 96 ? TCL_LOG_SHA384 : n == 128 ? TCL_LOG_SHA512 : TCL_LOG_NR_ALGS;
		if (*alg == TCL_LOG_NR_ALGS) {
			fprintf(stderr, "%s: %s:%d: PCR %u value is not 40, 64, 96 or 128 hex "
				"digits\n", tcl_prog, path, lineno, pcr);
			err = -EINVAL;
			goto out;
		}
		if (tcl_unhex(v, val, n / 2)) {
			fprintf(stderr, "%s: %s:%d: not hex\n", tcl_prog, path, lineno);
			err = -EINVAL;
			goto out;
		}
		found = true;
		break;
	}
	if (!found) {
		fprintf(stderr, "%s: %s: no \"PCR-%02u: <hex>\" line\n", tcl_prog, path, pcr);
		err = -ENOENT;
	}
out:
	free(buf);
	return err;
}

/* Compare one bank; 0 full match, 1 prefix only, -ENOMSG none, other -errno. */
static int verify_bank(const char *path, uint32_t pcr, enum tcl_log_alg alg, const uint8_t *v)
{
	const char *an = tcl_log_alg_name(alg);
	size_t dl = tcl_log_alg_size(alg);
	struct tcl_log_digests *rest = NULL;
	size_t matched, total, n_rest;
	char h[2 * TCL_LOG_DIGEST_MAX + 1];
	int err;

	tcl_hex(v, dl, h);
	err = tcl_log_match_prefix(path, pcr, alg, v, &matched, &total, &rest, &n_rest);
	free(rest);
	if (err == -ENOMSG) {
		printf("MISMATCH %s: PCR %u = %s is not the replay of the %zu entries of %s, nor "
		       "of any prefix of them: the log was altered or truncated, or something "
		       "else extended the PCR\n", an, pcr, h, total, path);
		return err;
	}
	if (err) {
		fprintf(stderr, "%s: log verify %s: %s\n", tcl_prog, path, strerror(-err));
		return err;
	}
	if (matched == total) {
		printf("ok %s: PCR %u = %s = replay of all %zu entries\n", an, pcr, h, total);
		return 0;
	}
	printf("prefix %s: PCR %u = %s = replay of the first %zu of %zu entries; the last "
	       "%zu are logged but not extended yet (the agent extends them, or its next "
	       "start does)\n", an, pcr, h, matched, total, total - matched);
	return 1;
}

static int cmd_verify(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "log", required_argument, NULL, OPT_LOG },
		{ "tpm", required_argument, NULL, OPT_TPM },
		{ "pcr", required_argument, NULL, OPT_PCR },
		{ "pcrs", required_argument, NULL, OPT_PCRS },
		{ "strict", no_argument, NULL, OPT_STRICT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = TCL_MEASURE_DEFAULT_LOG, *tcti = NULL, *pcrs = NULL;
	uint32_t pcr = TCL_MEASURE_DEFAULT_PCR;
	struct count cnt = { 0 };
	struct tcl_logseg_set set;
	struct tcl_log_scan sc;
	struct tcl_tpm *t = NULL;
	bool strict = false, prefix = false, bad = false;
	int c, err, ret = 1, checked = 0;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case OPT_LOG:
			path = optarg;
			break;
		case OPT_TPM:
			tcti = optarg;
			break;
		case OPT_PCR:
			if (ctl_parse_pcr(optarg, &pcr))
				return EXIT_USAGE;
			break;
		case OPT_PCRS:
			pcrs = optarg;
			break;
		case OPT_STRICT:
			strict = true;
			break;
		case 'h':
			printf(verify_help, tcl_prog);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc || (tcti && pcrs)) {
		fprintf(stderr, "%s: log verify takes --tpm or --pcrs, not both, and no "
			"arguments (--help)\n", tcl_prog);
		return EXIT_USAGE;
	}
	if (tcti && !strcmp(tcti, "none")) {
		fprintf(stderr, "%s: log verify needs a TPM or --pcrs FILE\n", tcl_prog);
		return EXIT_USAGE;
	}
	cnt.pcr = pcr;
	err = tcl_logseg_list(path, &set);
	if (err == -EBADMSG) {
		printf("CORRUPT: %s: its segments or checkpoint are not whole (above): the log "
		       "was altered or damaged\n", path);
		return 1;
	}
	if (!err) {
		if (set.n > 1 || set.have_ckpt)
			printf("segments: %zu kept (%zu closed + the live one), log offsets %llu to "
			       "%llu\n", set.n, set.n - 1,
			       (unsigned long long)set.seg[0].offset,
			       (unsigned long long)(set.seg[set.n - 1].offset +
						    set.seg[set.n - 1].size));
		if (set.have_ckpt && set.ckpt.entries)
			printf("checkpoint: %llu entries (%llu bytes) deleted before segment %llu "
			       "after the attestor acknowledged them; the replay starts from the "
			       "checkpoint's PCR values (evmctl cannot check this log: it replays "
			       "from zero)\n", (unsigned long long)set.ckpt.entries,
			       (unsigned long long)set.ckpt.offset,
			       (unsigned long long)set.ckpt.seq);
		tcl_logseg_set_free(&set);
	}
	err = tcl_log_foreach(path, count_cb, &cnt, &sc);
	if (err == -EBADMSG) {
		printf("CORRUPT: %s: entry at offset %llu is malformed or its template hash is "
		       "wrong: the log was altered or damaged\n", path,
		       (unsigned long long)sc.bad_off);
		return 1;
	}
	if (err) {
		fprintf(stderr, "%s: log verify %s: %s\n", tcl_prog, path, strerror(-err));
		return 1;
	}
	report_tail(path, &sc);
	if (cnt.other)
		fprintf(stderr, "%s: %s: %zu entries are for other PCRs than %u and not checked\n",
			tcl_prog, path, cnt.other, pcr);

	if (pcrs) {
		uint8_t v[TCL_LOG_DIGEST_MAX];
		enum tcl_log_alg alg;

		if (read_pcrs_file(pcrs, pcr, &alg, v))
			return 1;
		err = verify_bank(path, pcr, alg, v);
		checked = 1;
		prefix = err == 1;
		bad = err < 0;
	} else {
		uint16_t algs[TCL_TPM_MAX_BANKS];
		size_t n = TCL_TPM_MAX_BANKS;

		err = tcl_tpm_open(tcti ? tcti : TCL_MEASURE_DEFAULT_TCTI, &t);
		if (!err)
			err = tcl_tpm_banks(t, pcr, algs, &n);
		if (err) {
			fprintf(stderr, "%s: log verify: cannot read PCR %u from the TPM: %s\n",
				tcl_prog, pcr, strerror(-err));
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			const char *an = tcl_tpm_alg_name(algs[i]);
			int alg = tcl_log_alg_from_name(an);
			uint8_t v[TCL_TPM_MAX_DIGEST];
			size_t l = sizeof(v);

			if (alg < 0) {
				printf("UNCHECKED %s: PCR %u has this bank allocated but tcl "
				       "replays sha1, sha256, sha384 and sha512 only (tcl-agent "
				       "refuses such a PCR)\n", an ? an : "unknown", pcr);
				bad = true;
				continue;
			}
			err = tcl_tpm_pcr_read(t, pcr, algs[i], v, &l);
			if (err)
				goto out;
			err = verify_bank(path, pcr, alg, v);
			checked++;
			prefix |= err == 1;
			bad |= err < 0;
		}
	}
	if (!checked) {
		fprintf(stderr, "%s: log verify: no bank to compare with\n", tcl_prog);
		goto out;
	}
	if (bad)
		goto out;
	if (prefix && strict) {
		printf("FAIL: --strict and the PCR does not cover the whole log\n");
		goto out;
	}
	ret = 0;
out:
	tcl_tpm_close(t);
	return ret;
}

/* ---- log cat ---- */

static int cmd_cat(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "log", required_argument, NULL, OPT_LOG },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = TCL_MEASURE_DEFAULT_LOG, *out = NULL;
	struct tcl_log_scan sc;
	uint64_t at;
	FILE *f = NULL;
	int c, err, ret = 1;

	while ((c = getopt_long(argc, argv, "ho:", lo, NULL)) != -1) {
		switch (c) {
		case OPT_LOG:
			path = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			printf(cat_help, tcl_prog);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc || !out) {
		fprintf(stderr, "%s: log cat needs -o FILE and nothing else (--help)\n", tcl_prog);
		return EXIT_USAGE;
	}
	err = tcl_log_foreach(path, NULL, NULL, &sc);
	if (err) {
		fprintf(stderr, "%s: log cat %s: %s\n", tcl_prog, path,
			err == -EBADMSG ? "corrupt (above)" : strerror(-err));
		return 1;
	}
	f = fopen(out, "we");
	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", tcl_prog, out, strerror(errno));
		return 1;
	}
	for (at = sc.start; at < sc.valid_len;) {
		uint64_t want = sc.valid_len - at < (4u << 20) ? sc.valid_len - at : (4u << 20);
		uint8_t *b = NULL;
		size_t len = 0;

		err = tcl_logseg_read(path, at, (size_t)want, &b, &len);
		if (!err && !len)
			err = -ENODATA;	/* deleted or cut meanwhile */
		if (!err && fwrite(b, 1, len, f) != len)
			err = -EIO;
		free(b);
		if (err) {
			fprintf(stderr, "%s: log cat %s at offset %llu: %s\n", tcl_prog, path,
				(unsigned long long)at, strerror(-err));
			goto out;
		}
		at += len;
	}
	if (sc.start)
		fprintf(stderr, "%s: log cat: the log starts at offset %llu (older segments "
			"deleted): evmctl cannot replay it from zero\n", tcl_prog,
			(unsigned long long)sc.start);
	ret = 0;
out:
	if (fclose(f) && !ret) {
		fprintf(stderr, "%s: %s: %s\n", tcl_prog, out, strerror(errno));
		ret = 1;
	}
	return ret;
}

/* ---- log pcrs ---- */

static int cmd_pcrs(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "tpm", required_argument, NULL, OPT_TPM },
		{ "bank", required_argument, NULL, OPT_BANK },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *tcti = TCL_MEASURE_DEFAULT_TCTI;
	uint8_t vals[TCL_TPM_NUM_PCRS * TCL_TPM_MAX_DIGEST];
	enum tcl_log_alg alg = TCL_LOG_SHA256;
	struct tcl_tpm *t = NULL;
	size_t dlen;
	int c, err;

	while ((c = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case OPT_TPM:
			tcti = optarg;
			break;
		case OPT_BANK:
			c = tcl_log_alg_from_name(optarg);
			if (c < 0) {
				fprintf(stderr, "%s: --bank is sha256, sha1, sha384 or sha512\n",
					tcl_prog);
				return EXIT_USAGE;
			}
			alg = c;
			break;
		case 'h':
			printf(pcrs_help, tcl_prog);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (!out || optind != argc) {
		fprintf(stderr, "%s: log pcrs needs -o FILE and nothing else (--help)\n",
			tcl_prog);
		return EXIT_USAGE;
	}
	err = tcl_tpm_open(tcti, &t);
	if (!err)
		err = tcl_tpm_pcr_read_many(t, tcl_tpm_alg_by_name(tcl_log_alg_name(alg)),
					    0xffffff, vals, sizeof(vals), &dlen);
	if (!err)
		err = tcl_log_write_pcrs_file(out, alg, vals);
	tcl_tpm_close(t);
	if (err) {
		fprintf(stderr, "%s: log pcrs: %s\n", tcl_prog, strerror(-err));
		return 1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, log_usage, tcl_prog);
}

int tcl_cmd_log(int argc, char **argv)
{
	static const struct cmd verbs[] = {
		{ "show", cmd_show },
		{ "verify", cmd_verify },
		{ "pcrs", cmd_pcrs },
		{ "cat", cmd_cat },
		{ NULL, NULL },
	};

	return cmd_select(verbs, argv[0], argc - 1, argv + 1, usage);
}
