/* SPDX-License-Identifier: GPL-2.0 */
/* tclctl subcommands for the measurement log and the TPM (docs/measurement-log.md).
 *
 * tcl_cmd_log:    argv[0] is the subcommand (a leading "log" is skipped)
 *   log show   [--log PATH]                  one line per entry, IMA ascii style
 *   log verify [--log PATH] [--pcr N] [--tpm TCTI | --pcrs FILE] [--strict]
 *              replay the log against the live PCR (every allocated sha1/sha256 bank) or the
 *              values in an evmctl-style pcrs file; 0 when the PCR is the replay of the log
 *              (or, without --strict, of a prefix: entries logged but not yet extended),
 *              1 on a mismatch, a corrupt log or any error
 *   log pcrs   -o FILE [--tpm TCTI] [--bank sha256|sha1]
 *              write the live bank as evmctl's --pcrs file (24 lines "PCR-NN: <hex>")
 * tcl_cmd_quote:  argv[0] is "quote"
 *   quote --nonce HEX -o DIR [--tpm TCTI] [--pcr N]
 *              TPM2_Quote with the AK over PCRs 0-9 and N (sha256): DIR/quote.msg quote.sig
 *              quote.pcrs ak.pub.pem, what `tpm2_checkquote -u ak.pub.pem -m quote.msg
 *              -s quote.sig -f quote.pcrs -g sha256 -q HEX` checks
 * tcl_cmd_ak:     argv[0] is "export" (a leading "ak" is skipped)
 *   ak export [-o FILE] [--public FILE] [--tpm TCTI]
 *              the AK's public key as PEM (stdout without -o), optionally its TPM2B_PUBLIC;
 *              the AK is created at 0x81010002 if absent, as the agent would
 *
 * Defaults: --log /var/lib/tcl/measurements.bin, --tpm device:/dev/tpmrm0, --pcr 13.  These
 * commands only read the log (never lock, repair or append), so they work beside a running
 * agent.  Return: 0 ok, 1 failure, 2 usage error (use as tclctl's exit status). */
#ifndef TCL_CMD_LOG_H
#define TCL_CMD_LOG_H

int tcl_cmd_log(int argc, char **argv);
int tcl_cmd_quote(int argc, char **argv);
int tcl_cmd_ak(int argc, char **argv);

#endif
