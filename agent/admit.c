// SPDX-License-Identifier: GPL-2.0
/* tcl-agent's admission of containers (tcl-hook's requests) and its socket's request handler. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "admit.h"
#include "agent.h"
#include "agent_metrics.h"
#include "canonjson.h"
#include "cgroup.h"
#include "cri.h"
#include "diag.h"
#include "events.h"
#include "evstream.h"
#include "fileio.h"
#include "jsonb.h"
#include "maps.h"
#include "ocimeta.h"
#include "podman.h"
#include "status.h"

#define CONTAINERD_TASKS "/run/containerd/io.containerd.runtime.v2.task"

/* The cgroup of a process: its cgroup v2 path and id. */
static int cgroup_of_pid(struct agent *a, long pid, char *path, size_t len, uint64_t *cgid)
{
	char p[64], *text = NULL, abs[PATH_MAX];
	int ret;

	snprintf(p, sizeof(p), "/proc/%ld/cgroup", pid);
	ret = tcl_read_file(p, 64 * 1024, &text, NULL);
	if (ret)
		return ret;
	/* cgroup v2: the line "0::<path>" */
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, "0::", 3))
			continue;
		if (snprintf(path, len, "%s", line + 3) >= (int)len ||
		    snprintf(abs, sizeof(abs), "%s%s", a->cgroup_root, line + 3) >= (int)sizeof(abs))
			ret = -ENAMETOOLONG;
		else
			ret = tcl_cgroup_id_of_path(abs, cgid);
		free(text);
		return ret;
	}
	free(text);
	return -ENOENT;
}

/* A verified image that is revoked (its digest, or the key that verified it) is NOT verified.
 * The key that verified an image is remembered first, so that a later key revocation finds
 * the containers of that image, also after a restart.  -EKEYREVOKED when revoked. */
static int not_revoked(struct agent *a, struct tcl_verify_result *vr)
{
	const struct tcl_revocation *r;

	if (a->attest && vr->keyid[0])
		tcl_arev_remember_key(a->revs, vr->image_digest, vr->keyid);
	r = tcl_revocation_match(tcl_arev_list(a->revs), vr->image_digest, vr->keyid);
	if (!r)
		return 0;
	vr->verified = false;
	snprintf(vr->reason, sizeof(vr->reason), "image revoked (revocation %llu, %s %s: %.200s)",
		 (unsigned long long)r->id, tcl_revoke_kind_name(r->kind), r->value, r->reason);
	return -EKEYREVOKED;
}

/*
 * tcl-hook asks whether a container being created may run. The image is verified against its
 * signed golden manifest (--registry/--trust-key), or, without those, must have a set in the
 * policy. Either way the container is tracked and its allow set is in the kernel before the
 * answer goes back, so its first instruction already runs under the right set.
 */
static int admit(struct agent *a, const char *json, char *buf, size_t len,
		 enum agent_hook_result *result)
{
	struct tcl_container_meta *m = calloc(1, sizeof(*m));
	struct tcl_verify_result vr = {};
	json_object *req = NULL, *v;
	char cgpath[PATH_MAX], config[PATH_MAX], line[TCL_EVENT_JSON_MAX], msg[1024];
	const char *id = "", *bundle = "";
	bool enforce = a->mode == TCL_MODE_ENFORCE, revoked = false;
	struct tcl_event_meta em = {};
	uint64_t cgid = 0;
	long pid = 0;
	int ret, n;

	*result = AGENT_HOOK_NOT_VERIFIED;
	if (!m)
		return snprintf(buf, len, "{\"verified\":false,\"enforce\":%s,\"reason\":\"agent out of memory\"}\n",
				enforce ? "true" : "false");
	ret = tcl_json_parse("hook request", json, strlen(json), TCL_EVSTREAM_REQ_MAX, &req);
	if (!ret && json_object_is_type(req, json_type_object)) {
		if (json_object_object_get_ex(req, "id", &v))
			id = json_object_get_string(v);
		if (json_object_object_get_ex(req, "bundle", &v))
			bundle = json_object_get_string(v);
		if (json_object_object_get_ex(req, "pid", &v))
			pid = json_object_get_int64(v);
	}
	if (!*id || !*bundle || pid <= 0) {
		snprintf(vr.reason, sizeof(vr.reason), "malformed hook request (need id, pid, bundle)");
		*result = AGENT_HOOK_MALFORMED;
		goto reply;
	}
	if (snprintf(config, sizeof(config), "%s/config.json", bundle) >= (int)sizeof(config) ||
	    (ret = tcl_ocimeta_from_config(config, m))) {
		snprintf(vr.reason, sizeof(vr.reason), "cannot read %s/config.json", bundle);
		goto reply;
	}
	if (!m->container_id[0])
		snprintf(m->container_id, sizeof(m->container_id), "%.64s", id);
	if (!strncmp(bundle, CONTAINERD_TASKS "/", sizeof(CONTAINERD_TASKS))) {
		char err[512];

		/* containerd's bundle names the image, not the digest it pulled: ask its CRI */
		if (tcl_cri_fill_meta(NULL, m, err, sizeof(err)))
			pr_warn("admit", "container %.12s: image digest unknown (%s): resolving %s in the registry",
				m->container_id, err, m->image[0] ? m->image : "(unnamed)");
	} else if (tcl_podman_bundle(bundle)) {
		char err[512];

		/* podman's bundle names no image: containers/storage does */
		if (tcl_podman_fill_meta(bundle, m, err, sizeof(err)))
			pr_warn("admit", "container %.12s: podman metadata: %s", m->container_id,
				err);
	}
	ret = cgroup_of_pid(a, pid, cgpath, sizeof(cgpath), &cgid);
	if (ret) {
		snprintf(vr.reason, sizeof(vr.reason), "cannot find the cgroup of pid %ld: %s", pid,
			 strerror(-ret));
		goto reply;
	}
	if (a->verifier) {
		tcl_verify_image(a->verifier, m->image, m->image_digest, &vr);
		if (vr.verified) {
			uint32_t idx;

			ret = tcl_scope_set_image(a->scope, vr.image_digest,
						  (const uint8_t(*)[32])vr.golden->digests,
						  vr.golden->ndigests, &idx);
			if (ret) {
				vr.verified = false;
				snprintf(vr.reason, sizeof(vr.reason),
					 "cannot load the golden set into the kernel: %s", strerror(-ret));
			}
		}
	} else if (tcl_scope_image_for(a->scope, m->image, m->image_digest)) {
		vr.verified = true;
		snprintf(vr.image_digest, sizeof(vr.image_digest), "%s", m->image_digest);
	} else {
		snprintf(vr.reason, sizeof(vr.reason),
			 "image %.200s has no golden set (no --registry/--trust-key, not in the policy)",
			 m->image[0] ? m->image : "(unnamed)");
	}
	revoked = vr.verified && not_revoked(a, &vr) != 0;
	ret = tcl_scope_admit(a->scope, cgid, cgpath, m,
			      vr.verified || revoked ? vr.image_digest : NULL, vr.verified);
	/* Fail closed: a container whose cgroup has no scope entry (the map is full) would run
	 * unchecked. */
	if ((ret || !tcl_scope_has(a->bpf, cgid)) && vr.verified) {
		vr.verified = false;
		snprintf(vr.reason, sizeof(vr.reason),
			 "cgroup %.200s is not in tcl's scope (%s): nothing would be checked in it",
			 cgpath, ret ? strerror(-ret) : "scope map full");
	}
reply:
	if (vr.verified)
		*result = AGENT_HOOK_VERIFIED;
	em.container_id = m->container_id;
	em.pod_uid = m->pod_uid;
	em.pod = m->pod;
	em.namespace_ = m->namespace_;
	em.container = m->container;
	em.image = m->image;
	em.image_digest = vr.image_digest[0] ? vr.image_digest : m->image_digest;
	if (vr.verified)
		snprintf(msg, sizeof(msg), "verified%s%s%s%s%s",
			 vr.manifest_sha256[0] ? ": golden manifest sha256:" : " by the policy",
			 vr.manifest_sha256, vr.keyid[0] ? ", key " : "", vr.keyid,
			 vr.resolved_by_name ? ", digest resolved from the tag" : "");
	else
		snprintf(msg, sizeof(msg), "NOT verified: %s", vr.reason);
	emit_line(a, line,
		  tcl_event_format_simple("image_verify",
					  vr.verified ? "allow" : enforce ? "deny" : "audit",
					  vr.verified ? NULL : revoked ? "revoked" : "not_verified", msg,
					  -1, &em, line,
					  sizeof(line)));
	measure_record(a, "image_verify",
		       (const char *const[]){ "container_id", em.container_id, "image", em.image,
					      "image_digest", em.image_digest, "golden_manifest",
					      vr.manifest_sha256, "keyid", vr.keyid, "result",
					      vr.verified ? "verified" : revoked ? "revoked" :
							    "not_verified", "reason",
					      vr.verified ? NULL : vr.reason, "resolved_by_name",
					      vr.resolved_by_name ? "true" : NULL, NULL });
	{
		json_object *r = json_object_new_object();

		tcl_json_add_bool(r, "verified", vr.verified);
		tcl_json_add_bool(r, "enforce", enforce);
		if (!vr.verified)
			tcl_json_add_str(r, "reason", vr.reason);
		if (vr.image_digest[0])
			tcl_json_add_str(r, "image_digest", vr.image_digest);
		n = snprintf(buf, len, "%s\n",
			     json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN |
								       JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(r);
	}
	json_object_put(req);
	tcl_verify_result_free(&vr);
	free(m);
	return n;
}

/* admit() for the metrics: its result and how long it took. */
static int admit_timed(struct agent *a, const char *json, char *buf, size_t len)
{
	enum agent_hook_result r;
	struct timespec t0, t1;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = admit(a, json, buf, len, &r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	agent_metrics_hook_request(r, (double)(t1.tv_sec - t0.tv_sec) +
					      (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return n;
}

int agent_reverify(void *ctx, const char *image, const char *digest, char *out, size_t outlen)
{
	struct agent *a = ctx;
	struct tcl_verify_result vr = {};
	uint32_t idx;
	int r = 0;

	if (!a->verifier)
		return -1;
	tcl_verify_image(a->verifier, image, digest, &vr);
	if (vr.verified && tcl_scope_set_image(a->scope, vr.image_digest,
					       (const uint8_t(*)[32])vr.golden->digests,
					       vr.golden->ndigests, &idx) == 0) {
		snprintf(out, outlen, "%s", vr.image_digest);
		r = 1;
	} else {
		pr_warn("admit", "running container of %s: NOT verified: %s: global allowlist only",
			image[0] ? image : digest, vr.verified ? "cannot load its set" : vr.reason);
	}
	tcl_verify_result_free(&vr);
	return r;
}

int agent_handle_request(void *ctx, const char *req, char *buf, size_t len)
{
	if (!strcmp(req, "status"))
		return agent_status_json(ctx, buf, len);
	if (!strncmp(req, "container ", 10))
		return admit_timed(ctx, req + 10, buf, len);
	return -EINVAL;
}
