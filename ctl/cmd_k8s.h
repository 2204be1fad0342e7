/* SPDX-License-Identifier: GPL-2.0 */
/* tclctl k8s render|hook-spec: the Kubernetes side without a controller (docs/kubernetes.md).
 *
 *   k8s render [--base FILE] [--base-key KEY] [--base-name NAME] --trust-key PEM...
 *              [--golden-dir DIR] [--registry URL] [--auth-file F] [--ca-file PEM] [--timeout S] [--no-paths]
 *              [--format policy|configmap] [--name NAME] [--namespace NS] [-o FILE|-] FILE...
 *     Read TrustedImage objects (tcl.io/v1alpha1; YAML, multi-document YAML or JSON; single
 *     objects or kind: List / TrustedImageList as `kubectl get -o yaml|json` prints them; "-" is
 *     stdin), fetch each image's signed golden manifest (from --golden-dir, files named by the
 *     golden tag, "sha256-<hex>.tcl" and "sha256-<hex>.tcl.sig", else from the registry), check
 *     that it is signed by the object's spec.keyId (one of the --trust-key public keys), that it
 *     describes spec.image's digest and, if given, that its SHA-256 is spec.golden.sha256; then
 *     write the agent's policy (policy.h, version 1): the base policy's "allow" and "images"
 *     plus one "images" entry per TrustedImage, keyed by spec.image, its distinct file digests
 *     sorted.  --base is a policy JSON file or a ConfigMap manifest whose data[KEY] (default
 *     "policy.json") is one; in a file of several objects, the ConfigMap named NAME (default
 *     tcl-policy-base).  --format configmap wraps the policy in a ConfigMap named NAME
 *     (default tcl-policy) in NS (default tcl-system), refused over the 1 MiB ConfigMap limit.
 *     Nothing is written unless every object checks out; the output is deterministic.
 *   k8s hook-spec --hook PATH [--stage STAGE] [--timeout S] [--remove] [-o FILE|-] [SPEC|-]
 *     Add (or with --remove take out) the OCI hook {"path":PATH,"args":[basename,STAGE]} in
 *     hooks.STAGE (default createRuntime) of the OCI runtime spec SPEC (default stdin): the
 *     base_runtime_spec that containerd's CRI plugin starts every container from.  A hook with
 *     the same path is replaced, so running it twice gives the same bytes.
 *
 * argv[0] is "k8s" or the subcommand.  Returns the exit status: 0 ok, 1 failure, 2 usage. */
#ifndef TCL_CMD_K8S_H
#define TCL_CMD_K8S_H

#include <stddef.h>

#define TCL_K8S_GROUP "tcl.io"
#define TCL_K8S_API_VERSION "tcl.io/v1alpha1"
#define TCL_K8S_MAX_INPUT (16u << 20)	/* one input file */
#define TCL_K8S_MAX_OBJECTS 10000u	/* TrustedImage objects in one render */
#define TCL_K8S_CONFIGMAP_MAX 1048576u	/* the API server's limit on a ConfigMap's data */

struct json_object;

int tcl_cmd_k8s(int argc, char **argv);

/* Parse YAML (libyaml; every document) or JSON (first non-blank byte '{' or '[', strict
 * tcl_json_parse) into a json-c array with one element per non-empty document.  YAML scalars
 * resolve as Kubernetes' YAML 1.1 reader does (null, yes/no/on/off/true/false, decimal, 0x,
 * 0o and leading-0 octal integers, floats; anything else, and every quoted scalar, a string);
 * aliases, duplicate keys, non-scalar keys, unknown tags and nesting deeper than 64 are errors.
 * origin names the input in the one message logged on error.  0, -EINVAL, -EFBIG or -ENOMEM. */
int tcl_k8s_parse_docs(const char *origin, const char *buf, size_t len,
		       struct json_object **docs);

#endif
