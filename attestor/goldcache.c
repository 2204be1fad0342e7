// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "canonjson.h"
#include "diag.h"
#include "golden.h"
#include "goldcache.h"
#include "hashmap.h"
#include "state.h"
#include "util.h"

struct trust_key {
	char keyid[65];
	char *pem;
	size_t len;
};

struct entry {
	char digest[TCL_DIGEST_LEN + 1];
	struct tcl_golden *g;
	char keyid[65];
	int rc;
	char err[ATT_REASON_MAX];
	int64_t fetched;	/* monotonic seconds */
	uint64_t epoch;		/* last handed out */
	uint64_t used;		/* LRU clock */
};

struct att_goldcache {
	struct tcl_registry *reg;
	struct trust_key *keys;
	size_t nkeys;
	struct tcl_map map;
	size_t max;
	int64_t neg_ttl;
	uint64_t epoch, clock;
	struct att_goldcache_stats st;
};

static void entry_free(void *p)
{
	struct entry *e = p;

	if (e)
		tcl_golden_free(e->g);
	free(e);
}

int att_goldcache_new(const struct att_goldcache_opts *o, struct att_goldcache **out)
{
	struct att_goldcache *c = calloc(1, sizeof(*c));
	int rc = -ENOMEM;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->max = o->max_entries ? o->max_entries : 256;
	c->neg_ttl = o->negative_ttl_s ? o->negative_ttl_s : 60;
	c->epoch = 1;
	if (o->n_trust) {
		c->keys = calloc(o->n_trust, sizeof(*c->keys));
		if (!c->keys)
			goto fail;
	}
	for (size_t i = 0; i < o->n_trust; i++) {
		struct trust_key *k = &c->keys[i];

		rc = tcl_golden_keyid(o->trust_keys[i], k->keyid);
		if (!rc)
			rc = tcl_read_file(o->trust_keys[i], 64 << 10, &k->pem, &k->len);
		if (rc) {
			pr_err("golden", "trust key %s: %s", o->trust_keys[i], strerror(-rc));
			goto fail;
		}
		c->nkeys++;
		pr_info("golden", "trusting golden manifests signed by key %s (%s)", k->keyid,
			o->trust_keys[i]);
	}
	if (o->registry_url) {
		rc = tcl_registry_open(o->registry_url, &o->reg, &c->reg);
		if (rc)
			goto fail;
	}
	*out = c;
	return 0;
fail:
	att_goldcache_free(c);
	return rc;
}

void att_goldcache_free(struct att_goldcache *c)
{
	if (!c)
		return;
	tcl_map_free(&c->map, entry_free);
	for (size_t i = 0; i < c->nkeys; i++)
		free(c->keys[i].pem);
	free(c->keys);
	tcl_registry_close(c->reg);
	free(c);
}

void att_goldcache_epoch(struct att_goldcache *c)
{
	c->epoch++;
}

void att_goldcache_stats(const struct att_goldcache *c, struct att_goldcache_stats *s)
{
	*s = c->st;
	s->entries = c->map.n;
}

/* The key id a signature file names (the signature is checked by tcl_golden_verify_pem). */
static int sig_keyid(const void *sig, size_t len, char keyid[65])
{
	struct json_object *o = NULL, *v;
	int rc = -EINVAL;

	if (tcl_json_parse("golden signature", sig, len, TCL_GOLDEN_MAX_SIG_BYTES, &o))
		return -EINVAL;
	if (json_object_object_get_ex(o, "keyid", &v) && json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) == 64) {
		memcpy(keyid, json_object_get_string(v), 65);
		rc = 0;
	}
	json_object_put(o);
	return rc;
}

static bool transient(int rc)
{
	return rc == -ECONNREFUSED || rc == -EHOSTUNREACH || rc == -ETIMEDOUT || rc == -EACCES ||
	       rc == -EPROTO || rc == -ENOMEM || rc == -EAGAIN || rc == -ECONNRESET;
}

static int fetch(struct att_goldcache *c, const char *image, struct entry *e)
{
	void *man = NULL, *sig = NULL;
	size_t mlen = 0, slen = 0;
	struct tcl_ref ref;
	struct trust_key *k = NULL;
	char kid[65] = "";
	int rc;

	if (!c->reg) {
		snprintf(e->err, sizeof(e->err), "the attestor has no --registry");
		return -ENOENT;
	}
	if (!image[0] || tcl_ref_parse(image, &ref) || !ref.repo[0]) {
		snprintf(e->err, sizeof(e->err), "image reference \"%.100s\" is not valid", image);
		return -EINVAL;
	}
	c->st.fetches++;
	rc = tcl_golden_pull(c->reg, ref.repo, e->digest, &man, &mlen, &sig, &slen);
	if (rc) {
		snprintf(e->err, sizeof(e->err), "%s", tcl_registry_last_error(c->reg));
		if (transient(rc)) {
			c->st.unavailable++;
			return -EAGAIN;
		}
		goto out;
	}
	rc = sig_keyid(sig, slen, kid);
	for (size_t i = 0; !rc && i < c->nkeys; i++)
		if (!strcmp(c->keys[i].keyid, kid))
			k = &c->keys[i];
	if (rc || !k) {
		snprintf(e->err, sizeof(e->err), rc ? "golden manifest signature is malformed" :
			 "golden manifest is signed by key %s, which is not a trusted key", kid);
		rc = -EKEYREJECTED;
		goto out;
	}
	rc = tcl_golden_verify_pem(k->pem, k->len, man, mlen, sig, slen, NULL);
	if (rc) {
		snprintf(e->err, sizeof(e->err), "golden manifest signature by key %s does not "
			 "verify", kid);
		goto out;
	}
	rc = tcl_golden_parse(man, mlen, &e->g);
	if (rc) {
		snprintf(e->err, sizeof(e->err), "golden manifest is malformed");
		goto out;
	}
	if (strcmp(e->g->manifest_digest, e->digest) && strcmp(e->g->index_digest, e->digest)) {
		snprintf(e->err, sizeof(e->err), "the signed golden manifest is for %s, not %s",
			 e->g->manifest_digest, e->digest);
		tcl_golden_free(e->g);
		e->g = NULL;
		rc = -EBADMSG;
		goto out;
	}
	memcpy(e->keyid, kid, sizeof(kid));
	pr_info("golden", "%s@%s: golden manifest %s (%zu files) signed by %s", ref.repo,
		e->digest, e->g->sha256, e->g->nfiles, kid);
out:
	if (rc)
		c->st.fetch_failures++;
	free(man);
	free(sig);
	return rc;
}

struct lru {
	const struct att_goldcache *c;
	struct entry *victim;
};

static void pick(void *val, void *arg)
{
	struct entry *e = val;
	struct lru *l = arg;

	if (e->epoch == l->c->epoch)
		return;
	if (!l->victim || e->used < l->victim->used)
		l->victim = e;
}

int att_goldcache_get(void *arg, const char *image, const char *image_digest,
		      const struct tcl_golden **g, const char **keyid, char *err, size_t errlen)
{
	struct att_goldcache *c = arg;
	struct entry *e = tcl_map_get(&c->map, image_digest);
	int rc;

	*g = NULL;
	*keyid = NULL;
	if (e && e->rc && att_mono() - e->fetched >= c->neg_ttl) {
		entry_free(tcl_map_del(&c->map, image_digest));
		e = NULL;
	}
	if (e) {
		c->st.hits++;
	} else {
		if (!tcl_digest_valid(image_digest)) {
			snprintf(err, errlen, "image digest is not sha256:<64 hex>");
			return -EINVAL;
		}
		e = calloc(1, sizeof(*e));
		if (!e)
			return -EAGAIN;
		snprintf(e->digest, sizeof(e->digest), "%s", image_digest);
		rc = fetch(c, image, e);
		if (rc == -EAGAIN) {
			snprintf(err, errlen, "golden manifest of %s unavailable: %s", image_digest,
				 e->err);
			entry_free(e);
			return -EAGAIN;
		}
		e->rc = rc;
		e->fetched = att_mono();
		if (c->map.n >= c->max) {
			struct lru l = { c, NULL };

			tcl_map_each(&c->map, pick, &l);
			if (l.victim)
				entry_free(tcl_map_del(&c->map, l.victim->digest));
		}
		if (tcl_map_put(&c->map, e->digest, e)) {
			entry_free(e);
			return -EAGAIN;
		}
	}
	e->epoch = c->epoch;
	e->used = ++c->clock;
	if (e->rc) {
		snprintf(err, errlen, "%s", e->err);
		return e->rc;
	}
	*g = e->g;
	*keyid = e->keyid;
	return 0;
}
