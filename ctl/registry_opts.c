// SPDX-License-Identifier: GPL-2.0
/* The registry options and reference handling of image, golden and k8s; see cmds.h. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cmds.h"
#include "diag.h"
#include "registry.h"

const char ctl_registry_help[] =
	"  --registry URL     registry (http[s]://host[:port]; bare loopback hosts use http)\n"
	"  --auth-file FILE   one line user:password (default: env TCL_REGISTRY_AUTH)\n"
	"  --ca-file PEM      CA bundle for an https registry\n"
	"  --timeout SECONDS  per request (default 60; connecting gives up after 5)\n";

/* 1 the option was one of CTL_REGISTRY_LONGOPTS, 0 it was not, -1 bad value. */
static int ctl_registry_opt(struct ctl_registry *c, int opt, const char *arg)
{
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
		return ctl_parse_seconds(arg, 86400, &c->o.timeout_s) ? -1 : 1;
	default:
		return 0;
	}
}

int ctl_registry_getopt(struct ctl_registry *c, int argc, char **argv, const char *shortopts,
			const struct option *longopts)
{
	int opt, r;

	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		r = ctl_registry_opt(c, opt, optarg);
		if (r < 0)
			return CTL_REGISTRY_BAD;
		if (!r)
			return opt;
	}
	return -1;
}

int ctl_registry_open(const struct ctl_registry *c, const char *arg, struct tcl_ref *ref,
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

void ctl_ref_name(const struct tcl_ref *ref, char *out, size_t cap)
{
	snprintf(out, cap, "%s%s%s", ref->host, ref->host[0] ? "/" : "", ref->repo);
}
