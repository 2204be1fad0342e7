// SPDX-License-Identifier: GPL-2.0
/* The agent's revocations and the keys that verified its images (see revocations.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "canonjson.h"
#include "diag.h"
#include "fileio.h"
#include "hexb64.h"
#include "jsonb.h"
#include "revocations.h"

#define STATE_MAX_BYTES (16u << 20)

struct image_key {
	char digest[72];
	char keyid[65];
};

struct tcl_arev {
	char *path;
	struct tcl_revocation_list list;
	struct image_key *keys;
	size_t n_keys;
};

int tcl_arev_new(const char *path, struct tcl_arev **out)
{
	struct tcl_arev *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r || !(r->path = strdup(path))) {
		free(r);
		return -ENOMEM;
	}
	*out = r;
	return 0;
}

void tcl_arev_free(struct tcl_arev *r)
{
	if (!r)
		return;
	tcl_revocation_list_free(&r->list);
	free(r->keys);
	free(r->path);
	free(r);
}

const struct tcl_revocation_list *tcl_arev_list(const struct tcl_arev *r)
{
	return &r->list;
}

static int save(struct tcl_arev *r)
{
	struct json_object *o = json_object_new_object(), *k = json_object_new_object();
	char *text = NULL;
	size_t len;
	int rc = -ENOMEM;

	if (!o || !k)
		goto out;
	for (size_t i = 0; i < r->n_keys; i++)
		if (tcl_json_add_str(k, r->keys[i].digest, r->keys[i].keyid))
			goto out;
	if (tcl_json_add_int(o, "version", 1) ||
	    tcl_json_add(o, "revocations", tcl_revocation_list_json(&r->list)))
		goto out;
	rc = tcl_json_add(o, "image_keys", k);
	k = NULL;
	if (!rc)
		rc = tcl_canon_json(o, &text, &len);
	if (!rc)
		rc = tcl_write_file_atomic(r->path, text, len, 0600);
out:
	if (rc)
		pr_err("revoke", "cannot write %s: %s; the revocations apply until the agent "
		       "stops", r->path, strerror(-rc));
	free(text);
	json_object_put(k);
	json_object_put(o);
	return rc;
}

static bool digest_ok(const char *s)
{
	return strlen(s) == 71 && !strncmp(s, "sha256:", 7) && tcl_is_hex(s + 7, 64);
}

static int load(struct tcl_arev *r, const char *buf, size_t len, char *err, size_t errlen)
{
	struct json_object *o = NULL, *v, *keys;
	int rc;

	rc = tcl_json_parse(r->path, buf, len, STATE_MAX_BYTES, &o);
	if (rc) {
		snprintf(err, errlen, "not valid JSON (or over 16 MiB)");
		return rc == -ENOMEM ? rc : -EBADMSG;
	}
	rc = -EBADMSG;
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "version", &v) || json_object_get_int64(v) != 1 ||
	    !json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "not a version 1 revocation state");
		goto out;
	}
	json_object_object_foreach(o, key, val) {
		(void)val;
		if (strcmp(key, "version") && strcmp(key, "revocations") &&
		    strcmp(key, "image_keys")) {
			snprintf(err, errlen, "unknown key \"%.64s\"", key);
			goto out;
		}
	}
	if (!json_object_object_get_ex(o, "revocations", &v) ||
	    tcl_revocation_list_from_json(v, &r->list, err, errlen))
		goto out;
	if (!json_object_object_get_ex(o, "image_keys", &keys) ||
	    !json_object_is_type(keys, json_type_object) ||
	    json_object_object_length(keys) > TCL_REVOKE_IMAGE_KEYS_MAX) {
		snprintf(err, errlen, "\"image_keys\" is not an object of at most %d keys",
			 TCL_REVOKE_IMAGE_KEYS_MAX);
		goto out;
	}
	r->keys = calloc((size_t)json_object_object_length(keys) + 1, sizeof(*r->keys));
	if (!r->keys) {
		rc = -ENOMEM;
		goto out;
	}
	json_object_object_foreach(keys, d, k) {
		const char *id = json_object_get_string(k);

		if (!digest_ok(d) || !json_object_is_type(k, json_type_string) || strlen(id) != 64 ||
		    !tcl_is_hex(id, 64)) {
			snprintf(err, errlen, "\"image_keys\": \"%.80s\" is not an image digest with a "
				 "key id", d);
			goto out;
		}
		snprintf(r->keys[r->n_keys].digest, sizeof(r->keys[0].digest), "%s", d);
		snprintf(r->keys[r->n_keys].keyid, sizeof(r->keys[0].keyid), "%s", id);
		r->n_keys++;
	}
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

int tcl_arev_open(const char *path, struct tcl_arev **out, char *err, size_t errlen)
{
	struct tcl_arev *r;
	char *buf = NULL;
	size_t len;
	int rc;

	*out = NULL;
	rc = tcl_arev_new(path, &r);
	if (rc)
		return rc;
	rc = tcl_read_file(path, STATE_MAX_BYTES, &buf, &len);
	if (rc == -ENOENT) {
		*out = r;
		return 0;
	}
	if (rc)
		snprintf(err, errlen, "cannot read it: %s", strerror(-rc));
	else
		rc = load(r, buf, len, err, errlen);
	free(buf);
	if (rc) {
		tcl_arev_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

const char *tcl_arev_key_of(const struct tcl_arev *r, const char *image_digest)
{
	if (!image_digest)
		return NULL;
	for (size_t i = 0; i < r->n_keys; i++)
		if (!strcmp(r->keys[i].digest, image_digest))
			return r->keys[i].keyid;
	return NULL;
}

int tcl_arev_remember_key(struct tcl_arev *r, const char *image_digest, const char *keyid)
{
	const char *known;
	struct image_key *nk;

	if (!image_digest || !keyid || !digest_ok(image_digest) || strlen(keyid) != 64)
		return 0;
	known = tcl_arev_key_of(r, image_digest);
	if (known && !strcmp(known, keyid))
		return 0;
	if (known) {	/* re-signed by another key: the latest verification counts */
		for (size_t i = 0; i < r->n_keys; i++)
			if (!strcmp(r->keys[i].digest, image_digest))
				snprintf(r->keys[i].keyid, sizeof(r->keys[i].keyid), "%s", keyid);
		return save(r);
	}
	if (r->n_keys >= TCL_REVOKE_IMAGE_KEYS_MAX) {
		/* the oldest goes: its image is the least likely still to run here */
		memmove(r->keys, r->keys + 1, (r->n_keys - 1) * sizeof(*r->keys));
		r->n_keys--;
	}
	nk = realloc(r->keys, (r->n_keys + 1) * sizeof(*nk));
	if (!nk)
		return -ENOMEM;
	r->keys = nk;
	snprintf(nk[r->n_keys].digest, sizeof(nk->digest), "%s", image_digest);
	snprintf(nk[r->n_keys].keyid, sizeof(nk->keyid), "%s", keyid);
	r->n_keys++;
	return save(r);
}

const struct tcl_revocation *tcl_arev_match(const struct tcl_arev *r, const char *image_digest)
{
	if (!image_digest || !*image_digest)
		return NULL;
	return tcl_revocation_match(&r->list, image_digest, tcl_arev_key_of(r, image_digest));
}

static bool same(const struct tcl_revocation_list *a, const struct tcl_revocation_list *b)
{
	if (a->version != b->version || a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].id != b->v[i].id || a->v[i].kind != b->v[i].kind ||
		    strcmp(a->v[i].value, b->v[i].value) || strcmp(a->v[i].reason, b->v[i].reason))
			return false;
	return true;
}

int tcl_arev_update(struct tcl_arev *r, struct tcl_revocation_list *l)
{
	if (same(&r->list, l)) {
		tcl_revocation_list_free(l);
		return 0;
	}
	tcl_revocation_list_free(&r->list);
	r->list = *l;
	memset(l, 0, sizeof(*l));
	save(r);
	return 1;
}
