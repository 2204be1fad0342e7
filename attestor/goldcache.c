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
#include "workq.h"

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

/* What a fetch needs besides its digest: set by att_goldcache_new, never changed after, so the
 * worker threads read it without a lock. */
struct gc_conf {
	char *url;				/* NULL: no registry */
	struct tcl_registry_opts ropts;
	struct trust_key *keys;
	size_t nkeys;
};

/* One fetch on a worker: inputs (conf, image, e->digest) set before it is submitted; the worker
 * writes the result (e's g, keyid, rc, err and transient) only; the rest is the loop's. */
struct fetch {
	struct tcl_work w;			/* first */
	const struct gc_conf *conf;
	char *image;
	struct entry *e;
	bool transient;
	struct att_goldcache *c;		/* loop side from here on */
	struct att_gc_waiter **waiters;
	size_t nw, capw;
};

struct att_goldcache {
	struct gc_conf conf;
	struct tcl_registry *reg;		/* fetches in the caller (no threads) */
	struct tcl_workq *wq;			/* NULL: no threads */
	struct tcl_map inflight;		/* digest -> struct fetch */
	struct att_gc_waiter *waiter;		/* att_goldcache_wait's */
	bool closing;
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
	c->conf.ropts = o->reg;
	if (o->n_trust) {
		c->conf.keys = calloc(o->n_trust, sizeof(*c->conf.keys));
		if (!c->conf.keys)
			goto fail;
	}
	for (size_t i = 0; i < o->n_trust; i++) {
		struct trust_key *k = &c->conf.keys[i];

		rc = tcl_golden_keyid(o->trust_keys[i], k->keyid);
		if (!rc)
			rc = tcl_read_file(o->trust_keys[i], 64 << 10, &k->pem, &k->len);
		if (rc) {
			pr_err("golden", "trust key %s: %s", o->trust_keys[i], strerror(-rc));
			goto fail;
		}
		c->conf.nkeys++;
		pr_info("golden", "trusting golden manifests signed by key %s (%s)", k->keyid,
			o->trust_keys[i]);
	}
	if (o->registry_url) {
		rc = tcl_registry_open(o->registry_url, &o->reg, &c->reg);
		if (rc)
			goto fail;
		rc = -ENOMEM;
		c->conf.url = strdup(o->registry_url);
		if (!c->conf.url)
			goto fail;
	}
	if (o->fetch_threads) {
		rc = tcl_workq_new(o->fetch_threads, o->max_fetches ? o->max_fetches : 64, &c->wq);
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
	/* running fetches end (at most the registry timeout); nobody is told any more */
	c->closing = true;
	tcl_workq_free(c->wq);
	tcl_map_free(&c->inflight, NULL);	/* emptied by the fetches' done */
	tcl_map_free(&c->map, entry_free);
	for (size_t i = 0; i < c->conf.nkeys; i++)
		free(c->conf.keys[i].pem);
	free(c->conf.keys);
	free(c->conf.url);
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
	s->inflight = c->inflight.n;
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

static bool unreachable(int rc)
{
	return rc == -ECONNREFUSED || rc == -EHOSTUNREACH || rc == -ETIMEDOUT || rc == -EACCES ||
	       rc == -EPROTO || rc == -ENOMEM || rc == -EAGAIN || rc == -ECONNRESET;
}

/* Pull, check and parse the golden manifest of e->digest into @e (g, keyid, err); touches
 * nothing but @e and @transient, so a worker thread may run it.  -EAGAIN with *transient: the
 * registry could not be reached. */
static int pull(const struct gc_conf *k, struct tcl_registry *reg, const char *image,
		struct entry *e, bool *transient)
{
	void *man = NULL, *sig = NULL;
	size_t mlen = 0, slen = 0;
	struct tcl_ref ref;
	const struct trust_key *key = NULL;
	char kid[65] = "";
	int rc;

	*transient = false;
	if (tcl_ref_parse(image, &ref))
		return -EINVAL;		/* checked by precheck */
	rc = tcl_golden_pull(reg, ref.repo, e->digest, &man, &mlen, &sig, &slen);
	if (rc) {
		snprintf(e->err, sizeof(e->err), "%s", tcl_registry_last_error(reg));
		if (unreachable(rc)) {
			*transient = true;
			return -EAGAIN;
		}
		goto out;
	}
	rc = sig_keyid(sig, slen, kid);
	for (size_t i = 0; !rc && i < k->nkeys; i++)
		if (!strcmp(k->keys[i].keyid, kid))
			key = &k->keys[i];
	if (rc || !key) {
		snprintf(e->err, sizeof(e->err), rc ? "golden manifest signature is malformed" :
			 "golden manifest is signed by key %s, which is not a trusted key", kid);
		rc = -EKEYREJECTED;
		goto out;
	}
	rc = tcl_golden_verify_pem(key->pem, key->len, man, mlen, sig, slen, NULL);
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
	free(man);
	free(sig);
	return rc;
}

/* What fails without asking the registry: no registry, an image reference that is not one. */
static int precheck(const struct att_goldcache *c, const char *image, struct entry *e)
{
	struct tcl_ref ref;

	if (!c->conf.url) {
		snprintf(e->err, sizeof(e->err), "the attestor has no --registry");
		return -ENOENT;
	}
	if (!image[0] || tcl_ref_parse(image, &ref) || !ref.repo[0]) {
		snprintf(e->err, sizeof(e->err), "image reference \"%.100s\" is not valid", image);
		return -EINVAL;
	}
	return 0;
}

/* The statistics of one finished fetch (on the loop). */
static void count(struct att_goldcache *c, int rc, bool transient)
{
	if (transient)
		c->st.unavailable++;
	else if (rc)
		c->st.fetch_failures++;
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

/* Cache @e (consumed), evicting the least recently used entry not handed out this epoch. */
static int insert(struct att_goldcache *c, struct entry *e)
{
	e->fetched = att_mono();
	if (c->map.n >= c->max) {
		struct lru l = { c, NULL };

		tcl_map_each(&c->map, pick, &l);
		if (l.victim)
			entry_free(tcl_map_del(&c->map, l.victim->digest));
	}
	if (tcl_map_put(&c->map, e->digest, e)) {
		entry_free(e);
		return -ENOMEM;
	}
	return 0;
}

/* ---- fetches on the worker threads ---- */

static void fetch_free(struct fetch *f)
{
	if (!f)
		return;
	entry_free(f->e);
	free(f->image);
	free(f->waiters);
	free(f);
}

static void fetch_run(struct tcl_work *w)
{
	struct fetch *f = (struct fetch *)w;
	struct tcl_registry *reg = NULL;
	int rc = 0;

	/* a registry handle of its own: struct tcl_registry is not thread safe */
	if (f->conf->url)
		rc = tcl_registry_open(f->conf->url, &f->conf->ropts, &reg);
	if (rc) {
		snprintf(f->e->err, sizeof(f->e->err), "cannot open the registry: %s",
			 strerror(-rc));
		f->e->rc = rc;
	} else {
		f->e->rc = pull(f->conf, reg, f->image, f->e, &f->transient);
	}
	tcl_registry_close(reg);
}

/* On the loop: cache the result, tell the waiters. */
static void fetch_done(struct tcl_work *w)
{
	struct fetch *f = (struct fetch *)w;
	struct att_goldcache *c = f->c;
	struct entry *e = f->e;
	char why[ATT_GC_ERR_MAX];
	int rc = 0;

	tcl_map_del(&c->inflight, e->digest);
	if (w->cancelled || c->closing) {
		fetch_free(f);
		return;
	}
	count(c, e->rc, f->transient);
	if (f->transient) {
		snprintf(why, sizeof(why), "golden manifest of %s unavailable: %.400s", e->digest,
			 e->err);
		rc = -EAGAIN;
	} else {
		f->e = NULL;
		if (insert(c, e)) {
			snprintf(why, sizeof(why), "out of memory caching a golden manifest");
			rc = -EAGAIN;
		}
	}
	for (size_t i = 0; i < f->nw; i++) {
		struct att_gc_waiter *wt = f->waiters[i];

		if (rc && !wt->rc) {
			wt->rc = rc;
			snprintf(wt->err, sizeof(wt->err), "%s", why);
		}
		if (!--wt->waiting)
			wt->ready(wt);
	}
	fetch_free(f);
}

static int add_waiter(struct fetch *f, struct att_gc_waiter *w)
{
	for (size_t i = 0; i < f->nw; i++)
		if (f->waiters[i] == w)
			return 0;
	if (f->nw == f->capw) {
		size_t cap = f->capw ? 2 * f->capw : 4;
		struct att_gc_waiter **n = realloc(f->waiters, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		f->waiters = n;
		f->capw = cap;
	}
	f->waiters[f->nw++] = w;
	w->waiting++;
	return 0;
}

static void drop_waiter(void *val, void *arg)
{
	struct fetch *f = val;

	for (size_t i = 0; i < f->nw; i++) {
		if (f->waiters[i] == arg) {
			f->waiters[i] = f->waiters[--f->nw];
			return;
		}
	}
}

void att_goldcache_wait(struct att_goldcache *c, struct att_gc_waiter *w)
{
	c->waiter = w;
}

void att_goldcache_unwait(struct att_goldcache *c, struct att_gc_waiter *w)
{
	tcl_map_each(&c->inflight, drop_waiter, w);
	w->waiting = 0;
	if (c->waiter == w)
		c->waiter = NULL;
}

int att_goldcache_fd(const struct att_goldcache *c)
{
	return c->wq ? tcl_workq_fd(c->wq) : -1;
}

void att_goldcache_reap(struct att_goldcache *c)
{
	if (c->wq)
		tcl_workq_reap(c->wq);
}

/* A miss with fetch threads: join the fetch of @digest or start one. */
static int fetch_async(struct att_goldcache *c, const char *image, const char *digest,
		       char *err, size_t errlen)
{
	struct fetch *f = tcl_map_get(&c->inflight, digest);

	if (!f) {
		f = calloc(1, sizeof(*f));
		if (!f || !(f->e = calloc(1, sizeof(*f->e))) || !(f->image = strdup(image)))
			goto nomem;
		f->w.run = fetch_run;
		f->w.done = fetch_done;
		f->conf = &c->conf;
		f->c = c;
		snprintf(f->e->digest, sizeof(f->e->digest), "%s", digest);
		if (tcl_map_put(&c->inflight, digest, f))
			goto nomem;
		if (tcl_workq_submit(c->wq, &f->w)) {
			tcl_map_del(&c->inflight, digest);
			fetch_free(f);
			c->st.busy++;
			snprintf(err, errlen, "golden manifest of %s: %zu fetches from the registry "
				 "are running, no room for another", digest,
				 tcl_workq_pending(c->wq));
			return -EAGAIN;
		}
		c->st.fetches++;
	}
	if (!c->waiter) {
		snprintf(err, errlen, "golden manifest of %s is being fetched", digest);
		return -EAGAIN;
	}
	if (add_waiter(f, c->waiter)) {
		snprintf(err, errlen, "out of memory");
		return -EAGAIN;
	}
	snprintf(err, errlen, "golden manifest of %s is being fetched", digest);
	return -EINPROGRESS;
nomem:
	fetch_free(f);
	snprintf(err, errlen, "out of memory");
	return -EAGAIN;
}

int att_goldcache_get(void *arg, const char *image, const char *image_digest,
		      const struct tcl_golden **g, const char **keyid, char *err, size_t errlen)
{
	struct att_goldcache *c = arg;
	struct entry *e = tcl_map_get(&c->map, image_digest);
	bool transient;
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
		rc = precheck(c, image, e);
		if (!rc && c->wq) {
			entry_free(e);
			return fetch_async(c, image, image_digest, err, errlen);
		}
		if (!rc) {
			c->st.fetches++;
			rc = pull(&c->conf, c->reg, image, e, &transient);
			count(c, rc, transient);
		}
		if (rc == -EAGAIN) {
			snprintf(err, errlen, "golden manifest of %s unavailable: %s", image_digest,
				 e->err);
			entry_free(e);
			return -EAGAIN;
		}
		e->rc = rc;
		if (insert(c, e))
			return -EAGAIN;
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
