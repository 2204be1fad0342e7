// SPDX-License-Identifier: GPL-2.0
/* tclctl quote --nonce HEX -o DIR [--tpm TCTI] [--pcr N] [--bank ALG]: TPM2_Quote with the AK
 * over PCRs 0-9 and N (sha256 bank unless --bank) into DIR/quote.msg quote.sig quote.pcrs
 * ak.pub.pem, what `tpm2_checkquote -u ak.pub.pem -m quote.msg -s quote.sig -f quote.pcrs
 * -g ALG -q HEX` checks. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "diag.h"
#include "measure.h"
#include "tpm.h"
#include "hexb64.h"
#include "log.h"

enum { OPT_TPM = 256, OPT_PCR, OPT_NONCE, OPT_BANK };

static const char quote_help[] =
	"usage: %s quote --nonce HEX -o DIR [--tpm TCTI] [--pcr N] [--bank ALG]\n"
	"TPM2_Quote with the attestation key (created at 0x81010002 if absent) over PCRs 0-9\n"
	"and N, one bank, with the nonce as qualifying data. Writes DIR/quote.msg,\n"
	"quote.sig, quote.pcrs and ak.pub.pem, checked by\n"
	"  tpm2_checkquote -u ak.pub.pem -m quote.msg -s quote.sig -f quote.pcrs -g ALG -q HEX\n"
	"  --nonce HEX     1 to 64 bytes in hex\n"
	"  -o, --output DIR\n"
	"  --tpm TCTI      libtss2 TCTI (default " TCL_MEASURE_DEFAULT_TCTI ")\n"
	"  --pcr N         the measurement PCR (default 13)\n"
	"  --bank ALG      sha256 (default), sha1, sha384 or sha512\n";

int tcl_cmd_quote(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "nonce", required_argument, NULL, OPT_NONCE },
		{ "output", required_argument, NULL, 'o' },
		{ "tpm", required_argument, NULL, OPT_TPM },
		{ "pcr", required_argument, NULL, OPT_PCR },
		{ "bank", required_argument, NULL, OPT_BANK },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *hex = NULL, *tcti = TCL_MEASURE_DEFAULT_TCTI, *bank = "sha256";
	uint32_t pcr = TCL_MEASURE_DEFAULT_PCR;
	uint8_t nonce[TCL_TPM_NONCE_MAX];
	struct tcl_tpm_quote *q = NULL;
	struct tcl_tpm *t = NULL;
	struct tcl_tpm_ak ak;
	char *pem = NULL;
	size_t nl;
	int c, err, ret = 1;

	optind = 0; /* tests/unit/test_measure.c and measure_tool call it directly */
	while ((c = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
		switch (c) {
		case OPT_NONCE:
			hex = optarg;
			break;
		case 'o':
			dir = optarg;
			break;
		case OPT_TPM:
			tcti = optarg;
			break;
		case OPT_PCR:
			if (ctl_parse_pcr(optarg, &pcr))
				return EXIT_USAGE;
			break;
		case OPT_BANK:
			if (tcl_log_alg_from_name(optarg) < 0) {
				fprintf(stderr, "%s: --bank is sha256, sha1, sha384 or sha512\n",
					tcl_prog);
				return EXIT_USAGE;
			}
			bank = optarg;
			break;
		case 'h':
			printf(quote_help, tcl_prog);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (!hex || !dir || optind != argc) {
		fprintf(stderr, "%s: quote needs --nonce HEX and -o DIR, nothing else (--help)\n",
			tcl_prog);
		return EXIT_USAGE;
	}
	nl = strlen(hex);
	if (!nl || nl % 2 || nl / 2 > sizeof(nonce) || tcl_unhex(hex, nonce, nl / 2)) {
		fprintf(stderr, "%s: --nonce wants 1 to %zu bytes as an even number of hex "
			"digits\n", tcl_prog, sizeof(nonce));
		return EXIT_USAGE;
	}
	nl /= 2;
	q = malloc(sizeof(*q));
	if (!q)
		goto out;
	err = tcl_tpm_open(tcti, &t);
	if (!err)
		err = tcl_tpm_ak_ensure(t, 0, &ak);
	if (!err)
		err = tcl_tpm_quote(t, nonce, nl, tcl_tpm_alg_by_name(bank), 0x3ffu | 1u << pcr, q);
	if (!err)
		err = tcl_tpm_ak_public_pem(t, &pem);
	if (!err)
		err = tcl_tpm_quote_write_dir(q, pem, dir);
	if (err) {
		fprintf(stderr, "%s: quote: %s\n", tcl_prog, strerror(-err));
		goto out;
	}
	printf("quote over PCRs 0-9,%u (%s) with AK 0x%08x: %s/{quote.msg,quote.sig,"
	       "quote.pcrs,ak.pub.pem}\n", pcr, bank, ak.handle, dir);
	ret = 0;
out:
	tcl_tpm_close(t);
	free(pem);
	free(q);
	return ret;
}
