/* SPDX-License-Identifier: GPL-2.0 */
/* tclctl subcommands that talk to an OCI registry.
 *
 * tcl_cmd_image:            argv[0] is "push" or "resolve" (a leading "image" is skipped)
 *   image push --oci DIR[:TAG] [--registry URL] [HOST/]REPO[:TAG]   prints REPO@sha256:...
 *   image resolve [--registry URL] [HOST/]REPO:TAG                  prints REPO@sha256:...
 * tcl_cmd_golden_registry:  argv[0] is "push" or "pull" (a leading "golden" is skipped)
 *   golden push [--registry URL] REPO@DIGEST --manifest FILE --sig FILE
 *   golden pull [--registry URL] REPO@DIGEST -o FILE [--sig-out FILE (default FILE.sig)]
 * Common options: --auth-file FILE (one line user:pass; else env TCL_REGISTRY_AUTH),
 * --ca-file PEM, --timeout SECONDS, --help.  --registry may be left out when REPO starts with
 * the registry host.  Return: 0 ok, 1 failure, 2 usage error (use as tclctl's exit status). */
#ifndef TCL_CMD_REGISTRY_H
#define TCL_CMD_REGISTRY_H

int tcl_cmd_image(int argc, char **argv);
int tcl_cmd_golden_registry(int argc, char **argv);

#endif
