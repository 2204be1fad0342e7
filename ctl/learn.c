// SPDX-License-Identifier: GPL-2.0
/* The merge of tclctl golden learn; see learn.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "canonjson.h"
#include "escape.h"
#include "evview.h"
#include "golden.h"
#include "hashmap.h"
#include "hexb64.h"
#include "learn.h"

#define LEARN_LINE_MAX (64u << 10)
#define LEARN_WHO_MAX 16	/* containers named per addition; the rest counted */
#define DELETED " (deleted)"

struct addition {
	char *path;
	char sha256[65];
	uint64_t count;
	int64_t first, last;
	char *who[LEARN_WHO_MAX];
	size_t nwho;
	uint64_t more_who;	/* distinct containers beyond LEARN_WHO_MAX are not told apart */
	const char *refused;	/* NULL: added */
};

struct ctl_learn {
	const struct tcl_golden *g;
	char digest[80];
	int64_t since;
	struct tcl_map adds;	/* "path\n<hex>" -> struct addition */
	struct addition **sorted;
	size_t nsorted;
	struct ctl_learn_stats st;
};

int ctl_learn_new(const struct tcl_golden *g, const char *image_digest, int64_t since_ns,
		  struct ctl_learn **out)
{
	struct ctl_learn *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->g = g;
	snprintf(l->digest, sizeof(l->digest), "%s", image_digest);
	l->since = since_ns;
	*out = l;
	return 0;
}

static void free_add(void *v)
{
	struct addition *a = v;

	free(a->path);
	for (size_t i = 0; i < a->nwho; i++)
		free(a->who[i]);
	free(a);
}

void ctl_learn_free(struct ctl_learn *l)
{
	if (!l)
		return;
	free(l->sorted);
	tcl_map_free(&l->adds, free_add);
	free(l);
}

/* Absolute, normalised (no empty, "." or ".." component, no trailing '/'), valid UTF-8. */
static bool usable_path(const char *p, size_t n)
{
	if (n < 2 || n > 4096 || p[0] != '/' || p[n - 1] == '/' || !tcl_utf8_valid(p, n))
		return false;
	for (const char *c = p; c < p + n; c++) {
		const char *seg = c + 1, *end;

		if (*c != '/')
			continue;
		end = memchr(seg, '/', (size_t)(p + n - seg));
		end = end ? end : p + n;
		if (end == seg || (end - seg == 1 && seg[0] == '.') ||
		    (end - seg == 2 && seg[0] == '.' && seg[1] == '.'))
			return false;
	}
	return true;
}

static int note_who(struct addition *a, json_object *o)
{
	const char *cid = ctl_ev_str(o, "container_id");
	char who[300], label[340];

	ctl_ev_who(o, who, sizeof(who));
	if (cid && strncmp(who, cid, 12))
		snprintf(label, sizeof(label), "%s (%.12s)", who, cid);
	else
		snprintf(label, sizeof(label), "%s", who);
	for (size_t i = 0; i < a->nwho; i++)
		if (!strcmp(a->who[i], label))
			return 0;
	if (a->nwho == LEARN_WHO_MAX) {
		a->more_who++;
		return 0;
	}
	a->who[a->nwho] = strdup(label);
	if (!a->who[a->nwho])
		return -ENOMEM;
	a->nwho++;
	return 0;
}

int ctl_learn_record(struct ctl_learn *l, const char *line, size_t len)
{
	const char *type, *verdict, *reason, *dig, *path, *sha, *ts;
	unsigned char raw[32];
	struct addition *a;
	json_object *o;
	char *key = NULL;
	size_t plen;
	int64_t ns;
	int ret = 0;

	if (strspn(line, " \t\r\n") == len)
		return 0; /* a blank line */
	l->st.records++;
	o = len <= LEARN_LINE_MAX ? json_tokener_parse(line) : NULL;
	if (!o || !json_object_is_type(o, json_type_object)) {
		l->st.bad++;
		json_object_put(o);
		return 0;
	}
	type = ctl_ev_str(o, "type");
	verdict = ctl_ev_str(o, "verdict");
	reason = ctl_ev_str(o, "reason");
	dig = ctl_ev_str(o, "image_digest");
	ts = ctl_ev_str(o, "ts");
	if (!type || (strcmp(type, "exec") && strcmp(type, "mmap")) || !verdict ||
	    strcmp(verdict, "audit") || !reason || strcmp(reason, "not_allowed") || !dig ||
	    strcmp(dig, l->digest) || !ts || ctl_parse_rfc3339(ts, &ns) || ns < l->since)
		goto out;
	l->st.matched++;
	path = ctl_ev_str(o, "path");
	sha = ctl_ev_str(o, "sha256");
	if (!path || !sha || strlen(sha) != 64 || !tcl_is_hex(sha, 64) ||
	    tcl_unhex(sha, raw, sizeof(raw))) {
		l->st.unusable++;
		goto out;
	}
	if (tcl_golden_has_digest(l->g, raw)) {
		l->st.golden++;
		goto out;
	}
	plen = strlen(path);
	if (plen > strlen(DELETED) && !strcmp(path + plen - strlen(DELETED), DELETED))
		plen -= strlen(DELETED);
	if (!usable_path(path, plen)) {
		l->st.unusable++;
		goto out;
	}
	if (asprintf(&key, "%.*s\n%s", (int)plen, path, sha) < 0) {
		key = NULL;
		ret = -ENOMEM;
		goto out;
	}
	a = tcl_map_get(&l->adds, key);
	if (!a) {
		a = calloc(1, sizeof(*a));
		if (!a || !(a->path = strndup(path, plen))) {
			free(a);
			ret = -ENOMEM;
			goto out;
		}
		memcpy(a->sha256, sha, 65);
		a->first = a->last = ns;
		ret = tcl_map_put(&l->adds, key, a);
		if (ret) {
			free_add(a);
			goto out;
		}
	}
	a->count++;
	a->first = ns < a->first ? ns : a->first;
	a->last = ns > a->last ? ns : a->last;
	ret = note_who(a, o);
out:
	free(key);
	json_object_put(o);
	return ret;
}

/* Sorts the additions by path, then digest, and marks the conflicts. */
static int settle(struct ctl_learn *l)
{
	void **vals = NULL;
	size_t n = 0, i, j;
	int ret;

	free(l->sorted);
	l->sorted = NULL;
	ret = tcl_map_sorted(&l->adds, &vals, &n);
	if (ret)
		return ret;
	l->sorted = (struct addition **)vals;
	l->nsorted = n;
	l->st.added = l->st.refused = 0;
	for (i = 0; i < n; i = j) {
		const struct tcl_golden_file *gf = tcl_golden_find(l->g, l->sorted[i]->path);

		for (j = i + 1; j < n && !strcmp(l->sorted[j]->path, l->sorted[i]->path); j++)
			;
		for (size_t k = i; k < j; k++) {
			if (gf)
				l->sorted[k]->refused = "the image has another file at this path";
			else if (j - i > 1)
				l->sorted[k]->refused = "seen with several digests: its content "
							"changes between runs";
			else
				l->sorted[k]->refused = NULL;
			if (l->sorted[k]->refused)
				l->st.refused++;
			else
				l->st.added++;
		}
	}
	return 0;
}

int ctl_learn_propose(struct ctl_learn *l, const char *old, size_t old_len, char **out,
		      size_t *out_len)
{
	json_object *o = NULL, *files;
	struct tcl_golden *check = NULL;
	int ret;

	*out = NULL;
	ret = settle(l);
	if (ret)
		return ret;
	if (!l->st.added)
		return -ENODATA;
	if (l->g->nfiles + l->st.added > TCL_GOLDEN_MAX_FILES)
		return -EFBIG;
	ret = tcl_json_parse("golden manifest", old, old_len, TCL_GOLDEN_MAX_BYTES, &o);
	if (ret)
		return ret;
	if (!json_object_object_get_ex(o, "files", &files) ||
	    !json_object_is_type(files, json_type_object)) {
		ret = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < l->nsorted; i++) {
		const struct addition *a = l->sorted[i];

		if (a->refused)
			continue;
		if (json_object_object_add(files, a->path, json_object_new_string(a->sha256))) {
			ret = -ENOMEM;
			goto out;
		}
	}
	ret = tcl_canon_json(o, out, out_len);
	if (ret)
		goto out;
	if (*out_len > TCL_GOLDEN_MAX_BYTES) {
		ret = -EFBIG;
		goto out;
	}
	ret = tcl_golden_parse(*out, *out_len, &check);
out:
	tcl_golden_free(check);
	json_object_put(o);
	if (ret) {
		free(*out);
		*out = NULL;
	}
	return ret;
}

void ctl_learn_stats(const struct ctl_learn *l, struct ctl_learn_stats *st)
{
	*st = l->st;
}

static void print_one(FILE *f, const struct addition *a)
{
	char p[1200], first[40], last[40];

	ctl_local_time(a->first, first, sizeof(first));
	ctl_local_time(a->last, last, sizeof(last));
	fprintf(f, "%c %s\n    sha256:%s\n    ran %llu time%s, first %s, last %s\n    in ",
		a->refused ? '!' : '+', tcl_esc_log(a->path, p, sizeof(p)), a->sha256,
		(unsigned long long)a->count, a->count == 1 ? "" : "s", first, last);
	for (size_t i = 0; i < a->nwho; i++)
		fprintf(f, "%s%s", i ? ", " : "", a->who[i]);
	if (a->more_who)
		fprintf(f, " and %llu more", (unsigned long long)a->more_who);
	fputc('\n', f);
	if (a->refused)
		fprintf(f, "    not added: %s\n", a->refused);
}

void ctl_learn_report(const struct ctl_learn *l, FILE *f)
{
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < l->nsorted; i++)
			if (!l->sorted[i]->refused == !pass)
				print_one(f, l->sorted[i]);
}
