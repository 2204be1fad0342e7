// SPDX-License-Identifier: GPL-2.0
/* The model: nodes, containers, their findings and verdicts.  Its JSON forms are in
 * state_json.c, their loader in state_persist.c, the database in store.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hexb64.h"
#include "diag.h"
#include "state.h"
#include "tpm.h"

const char *att_verdict_name(enum att_verdict v)
{
	switch (v) {
	case ATT_TRUSTED:
		return "trusted";
	case ATT_UNTRUSTED:
		return "untrusted";
	case ATT_STALE:
		return "stale";
	default:
		return "unknown";
	}
}

const char *att_mode_name(enum att_mode m)
{
	switch (m) {
	case ATT_MODE_AUDIT:
		return "audit";
	case ATT_MODE_ENFORCE:
		return "enforce";
	default:
		return "unknown";
	}
}

int64_t att_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

int64_t att_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t att_mono(void)
{
	return att_mono_ms() / 1000;
}

bool att_node_id_valid(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > ATT_NODE_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && ((c != '-' && c != '.') || i == 0 || i == n - 1))
			return false;
	}
	return true;
}

bool att_container_id_valid(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > ATT_CID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

/* ---- findings ---- */

static void finding_free(struct att_finding *f)
{
	free(f->name);
	free(f->digest);
	free(f->container_id);
	free(f->reason);
}

void att_findings_free(struct att_findings *f)
{
	for (size_t i = 0; i < f->n; i++)
		finding_free(&f->v[i]);
	free(f->v);
	memset(f, 0, sizeof(*f));
}

static int dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

int att_finding_add(struct att_findings *f, uint64_t offset, int64_t now, const char *name,
		    const char *digest, const char *container_id, const char *reason)
{
	struct att_finding x = { .offset = offset, .time = now };

	f->total++;
	if (f->n >= ATT_FINDINGS_KEPT)
		return 0;
	if (!f->v) {
		f->v = calloc(ATT_FINDINGS_KEPT, sizeof(*f->v));
		if (!f->v)
			return -ENOMEM;
	}
	if (dup_opt(name, &x.name) || dup_opt(digest, &x.digest) ||
	    dup_opt(container_id, &x.container_id) || dup_opt(reason ? reason : "?", &x.reason)) {
		finding_free(&x);
		return -ENOMEM;
	}
	f->v[f->n++] = x;
	return 0;
}

int att_node_finding(struct att_node *n, uint64_t offset, int64_t now, const char *name,
		     const char *digest, const char *reason)
{
	return att_finding_add(&n->findings, offset, now, name, digest, NULL, reason);
}

int att_container_finding(struct att_node *n, struct att_container *c, uint64_t offset,
			  int64_t now, const char *name, const char *digest, const char *reason)
{
	if (!c->findings.total)
		n->untrusted_containers++;
	return att_finding_add(&c->findings, offset, now, name, digest, c->id, reason);
}

int att_container_refusal(struct att_container *c, uint64_t offset, int64_t now,
			  const char *name, const char *digest, const char *reason)
{
	return att_finding_add(&c->refusals, offset, now, name, digest, c->id, reason);
}

/* ---- nodes and containers ---- */

static void container_free(void *p)
{
	struct att_container *c = p;

	att_findings_free(&c->findings);
	att_findings_free(&c->refusals);
	free(c);
}

void att_node_free(struct att_node *n)
{
	if (!n)
		return;
	att_findings_free(&n->findings);
	tcl_map_free(&n->containers, container_free);
	free(n->ak_pem);
	free(n);
}

static void node_free(void *p)
{
	att_node_free(p);
}

int att_node_replace(struct att_state *st, struct att_node *n)
{
	struct att_node *old = tcl_map_del(&st->nodes, n->id);
	int rc = tcl_map_put(&st->nodes, n->id, n);

	if (rc) {
		if (old)
			tcl_map_put(&st->nodes, old->id, old);	/* was there: no allocation */
		return rc;
	}
	att_node_free(old);
	return 0;
}

struct att_node *att_node_get(struct att_state *st, const char *id)
{
	return tcl_map_get(&st->nodes, id);
}

int att_node_get_or_add(struct att_state *st, const char *id, size_t max, struct att_node **out)
{
	struct att_node *n = tcl_map_get(&st->nodes, id);
	int rc;

	*out = n;
	if (n)
		return 0;
	if (!att_node_id_valid(id))
		return -EINVAL;
	if (st->nodes.n >= max)
		return -ENOSPC;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	strcpy(n->id, id);
	strcpy(n->ek_cert, "none");
	n->pcr_bank = TCL_LOG_SHA256;	/* until its first evidence says otherwise */
	n->db_version = -1;		/* no row yet */
	rc = tcl_map_put(&st->nodes, id, n);
	if (rc) {
		free(n);
		return rc;
	}
	*out = n;
	return 0;
}

void att_node_remove(struct att_state *st, const char *id)
{
	node_free(tcl_map_del(&st->nodes, id));
}

void att_node_reset_log(struct att_node *n)
{
	n->have_reset_count = false;
	n->reset_count = 0;
	n->log_offset = 0;
	n->log_entries = 0;
	memset(n->pcr, 0, sizeof(n->pcr));
	n->mode = ATT_MODE_UNKNOWN;
	n->last_evidence = 0;
	n->unappraised = 0;
	att_findings_free(&n->findings);
	tcl_map_free(&n->containers, container_free);
	n->untrusted_containers = 0;
}

int att_node_set_ak(struct att_node *n, const uint8_t *pub, size_t len)
{
	uint8_t name[TCL_TPM_NAME_MAX];
	size_t nl = sizeof(name);
	char *pem = NULL;
	int rc;

	if (len > sizeof(n->ak_pub))
		return -EFBIG;
	rc = tcl_tpm_ak_check_sw(pub, len, name, &nl);
	if (!rc)
		rc = tcl_tpm_pub_pem_sw(pub, len, &pem);
	if (rc)
		return rc;
	memcpy(n->ak_pub, pub, len);
	n->ak_pub_len = len;
	free(n->ak_pem);
	n->ak_pem = pem;
	tcl_hex(name, nl, n->ak_name);
	return 0;
}

struct att_container *att_container_get(struct att_node *n, const char *id)
{
	return tcl_map_get(&n->containers, id);
}

struct victim {
	struct att_container *c;	/* stopped, no finding, no refusal: nothing is lost */
	struct att_container *refused;	/* stopped, refusals only */
};

/* The oldest stopped container whose verdict carries no finding; failing that, the oldest
 * stopped one with refusals only.  Refusals never weigh on the node's verdict and were alerted
 * when found, so forgetting them beats refusing the node: a tenant who gets execs refused in
 * many short-lived containers must not be able to fill the node's container table. */
static void pick_victim(void *val, void *arg)
{
	struct att_container *c = val;
	struct victim *v = arg;

	if (!c->stopped || c->findings.total)
		return;
	if (c->refusals.total) {
		if (!v->refused || c->start_offset < v->refused->start_offset)
			v->refused = c;
		return;
	}
	if (!v->c || c->start_offset < v->c->start_offset)
		v->c = c;
}

int att_container_add(struct att_node *n, const char *id, struct att_container **out)
{
	struct att_container *c = tcl_map_get(&n->containers, id);
	int rc;

	*out = c;
	if (c)
		return 0;
	if (!att_container_id_valid(id))
		return -EINVAL;
	if (n->containers.n >= ATT_CONTAINERS_MAX) {
		struct victim v = { NULL, NULL };

		tcl_map_each(&n->containers, pick_victim, &v);
		if (!v.c)
			v.c = v.refused;
		if (!v.c)
			return -ENOSPC;
		container_free(tcl_map_del(&n->containers, v.c->id));
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	strcpy(c->id, id);
	rc = tcl_map_put(&n->containers, id, c);
	if (rc) {
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

/* ---- verdicts ---- */

struct first_bad {
	const struct att_container *c;
};

static void find_bad(void *val, void *arg)
{
	const struct att_container *c = val;
	struct first_bad *b = arg;

	if (c->findings.n && (!b->c || c->findings.v[0].time < b->c->findings.v[0].time ||
				  (c->findings.v[0].time == b->c->findings.v[0].time &&
				   strcmp(c->id, b->c->id) < 0)))
		b->c = c;
}

enum att_verdict att_node_verdict(const struct att_node *n, int64_t now, int64_t stale_after,
				  const char **reason, char *buf, size_t buflen)
{
	const char *r;
	enum att_verdict v;

	if (n->findings.total) {
		v = ATT_UNTRUSTED;
		r = n->findings.n ? n->findings.v[0].reason : "findings";
	} else if (n->untrusted_containers) {
		struct first_bad b = { NULL };

		tcl_map_each(&n->containers, find_bad, &b);
		v = ATT_UNTRUSTED;
		if (b.c && b.c->findings.n) {
			snprintf(buf, buflen, "container %s: %s", b.c->id,
				 b.c->findings.v[0].reason);
			r = buf;
		} else {
			r = "a container is untrusted";
		}
	} else {
		v = att_verdict_of(n->enrolled, n->last_evidence, now, stale_after, &r, buf,
				   buflen);
	}
	if (reason)
		*reason = r;
	return v;
}

enum att_verdict att_verdict_of(bool enrolled, int64_t last_evidence, int64_t now,
				int64_t stale_after, const char **reason, char *buf, size_t buflen)
{
	if (!enrolled) {
		*reason = "not enrolled";
		return ATT_UNKNOWN;
	}
	if (!last_evidence) {
		*reason = "no evidence accepted yet";
		return ATT_UNKNOWN;
	}
	if (stale_after > 0 && now - last_evidence > stale_after) {
		snprintf(buf, buflen, "last evidence %" PRId64 " s ago (stale after %" PRId64 " s)",
			 now - last_evidence, stale_after);
		*reason = buf;
		return ATT_STALE;
	}
	*reason = "";
	return ATT_TRUSTED;
}

enum att_verdict att_container_verdict(const struct att_node *n, const struct att_container *c,
				       int64_t now, int64_t stale_after, char *buf, size_t buflen)
{
	const char *r;
	char nb[ATT_REASON_MAX + 64];
	enum att_verdict v;

	if (c->findings.total) {
		snprintf(buf, buflen, "%s", c->findings.n ? c->findings.v[0].reason : "findings");
		return ATT_UNTRUSTED;
	}
	if (c->refusals.total) {
		snprintf(buf, buflen, "%s", c->refusals.n ? c->refusals.v[0].reason : "refusals");
		return ATT_UNTRUSTED;
	}
	v = att_node_verdict(n, now, stale_after, &r, nb, sizeof(nb));
	switch (v) {
	case ATT_UNTRUSTED:
		snprintf(buf, buflen, "node %s is untrusted: %s", n->id, r);
		break;
	case ATT_STALE:
		snprintf(buf, buflen, "node %s: %s", n->id, r);
		break;
	case ATT_UNKNOWN:
		snprintf(buf, buflen, "node %s: %s", n->id, r);
		break;
	default:
		buf[0] = '\0';
	}
	return v;
}

void att_state_drop_nodes(struct att_state *st)
{
	tcl_map_free(&st->nodes, node_free);
	tcl_revocation_list_free(&st->revocations);
}

void att_state_free(struct att_state *st)
{
	att_state_drop_nodes(st);
	free(st->path);
	st->path = NULL;
}

int att_revocation_add(struct att_state *st, const struct tcl_revocation *req, int64_t now,
		       const struct tcl_revocation **out)
{
	struct tcl_revocation_list *l = &st->revocations;
	struct tcl_revocation r = *req;
	int rc;

	*out = NULL;
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].kind == req->kind && !strcmp(l->v[i].value, req->value)) {
			*out = &l->v[i];
			return -EEXIST;
		}
	}
	r.id = l->version + 1;
	r.created = now;
	rc = tcl_revocation_list_add(l, &r);
	if (rc)
		return rc;
	l->version++;
	*out = &l->v[l->n - 1];
	return 0;
}

int att_revocation_del(struct att_state *st, uint64_t id)
{
	int rc = tcl_revocation_list_del(&st->revocations, id);

	if (!rc)
		st->revocations.version++;
	return rc;
}

const struct tcl_revocation_list *att_revocations(const struct att_state *st)
{
	return &st->revocations;
}

const struct tcl_revocation *att_revocation_get(const struct att_state *st, uint64_t id)
{
	for (size_t i = 0; i < st->revocations.n; i++)
		if (st->revocations.v[i].id == id)
			return &st->revocations.v[i];
	return NULL;
}
