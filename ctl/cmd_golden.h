/* SPDX-License-Identifier: GPL-2.0 */
/* tclctl golden generate|sign|verify|keygen (the registry side, push|pull, is cmd_registry).
 *
 *   golden generate --oci DIR[:TAG] [--ref NAME] [--platform OS/ARCH] [--max-bytes N[K|M|G]]
 *                   -o FILE|-
 *   golden sign --key PEM [-o SIG] FILE          SIG defaults to FILE.sig
 *   golden verify --pub PEM [--sig SIG] FILE     SIG defaults to FILE.sig
 *   golden keygen -o PREFIX                      writes PREFIX.key (0600) and PREFIX.pub
 *
 * argv[0] is the subcommand; a leading "golden" is skipped.  DIR:TAG splits at the last ':'
 * unless DIR:TAG as a whole is a directory.  Returns the exit status: 0 ok, 1 failure, 2 usage.
 * Formats: see golden.h. */
#ifndef TCL_CMD_GOLDEN_H
#define TCL_CMD_GOLDEN_H

int tcl_cmd_golden(int argc, char **argv);

#endif
