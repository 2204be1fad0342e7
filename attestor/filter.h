/* SPDX-License-Identifier: GPL-2.0 */
/* kube-scheduler extender "filter" verb (k8s.io/kube-scheduler/extender/v1).
 * In:  ExtenderArgs         {"Pod":{...},"Nodes":{"items":[{"metadata":{"name":N}},...]}|null,
 *                            "NodeNames":[N,...]|null}
 * Out: ExtenderFilterResult {"Nodes":{...,"items":[kept]}|null,"NodeNames":[kept]|null,
 *                            "FailedNodes":{N:reason},"FailedAndUnresolvableNodes":{N:reason},
 *                            "Error":""}
 * A node passes only when its verdict is trusted (enrolled, fresh evidence, no finding).  Nodes
 * that fail are listed in both failure maps: preempting pods cannot make a node trusted, and
 * the scheduler gives FailedAndUnresolvableNodes precedence.  Nodes (when sent) keeps the
 * caller's node objects; NodeNames lists the kept names whichever form came in. */
#ifndef ATT_FILTER_H
#define ATT_FILTER_H

#include <stddef.h>

#include "state.h"

#define ATT_FILTER_MAX_NODES	100000

/* The verdict of @node; @reason gets why it is not trusted. */
typedef enum att_verdict (*att_verdict_fn)(void *arg, const char *node, char *reason,
					   size_t len);

/* 0 and *out (malloc'd JSON); -EINVAL/-EFBIG with @err for a malformed request. */
int att_filter(const char *body, size_t len, size_t max, att_verdict_fn fn, void *arg,
	       char **out, size_t *olen, char *err, size_t errlen);

#endif
