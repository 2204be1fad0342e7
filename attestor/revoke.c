// SPDX-License-Identifier: GPL-2.0
/* What a revocation reaches (see revoke.h). */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jsonb.h"
#include "revoke.h"

bool att_revocation_affects(const struct tcl_revocation *r, const struct att_container *c)
{
	struct tcl_revocation_list one = { .n = 1, .v = (struct tcl_revocation *)r };

	return tcl_revocation_match(&one, c->image_digest, c->golden_keyid) != NULL;
}

struct walk {
	const struct tcl_revocation *r;
	bool stopped;
	size_t max, nodes, containers;
	struct json_object *arr;
	bool truncated;
};

static void walk_node(const struct att_node *n, struct walk *w)
{
	void **vals = NULL;
	size_t nc = 0, hit = 0;

	if (!n->enrolled || tcl_map_sorted(&n->containers, &vals, &nc))
		return;
	for (size_t i = 0; i < nc; i++) {
		const struct att_container *c = vals[i];
		struct json_object *o;

		if ((c->stopped && !w->stopped) || !att_revocation_affects(w->r, c))
			continue;
		hit++;
		w->containers++;
		if (!w->arr)
			continue;
		if (json_object_array_length(w->arr) >= w->max) {
			w->truncated = true;
			continue;
		}
		o = json_object_new_object();
		if (!o || tcl_json_add_str(o, "node", n->id) ||
		    tcl_json_add_str(o, "container", c->id) ||
		    tcl_json_add_str_opt(o, "image", c->image) ||
		    tcl_json_add_str_opt(o, "image_digest", c->image_digest) ||
		    tcl_json_add_str_opt(o, "golden_keyid", c->golden_keyid) ||
		    tcl_json_add_bool(o, "stopped", c->stopped)) {
			json_object_put(o);
			continue;
		}
		tcl_json_push(w->arr, o);
	}
	if (hit)
		w->nodes++;
	free(vals);
}

static void walk(struct att_state *st, struct walk *w)
{
	void **vals = NULL;
	size_t n = 0;

	if (tcl_map_sorted(&st->nodes, &vals, &n))
		return;
	for (size_t i = 0; i < n; i++)
		walk_node(vals[i], w);
	free(vals);
}

struct json_object *att_revocation_affected(struct att_state *st, const struct tcl_revocation *r,
					    bool stopped, size_t max)
{
	struct walk w = { .r = r, .stopped = stopped, .max = max };
	struct json_object *o = json_object_new_object();

	w.arr = json_object_new_array();
	if (!o || !w.arr) {
		json_object_put(o);
		json_object_put(w.arr);
		return NULL;
	}
	walk(st, &w);
	if (tcl_json_add_int(o, "id", (int64_t)r->id) ||
	    tcl_json_add_int(o, "nodes", (int64_t)w.nodes) ||
	    tcl_json_add_int(o, "count", (int64_t)w.containers) ||
	    tcl_json_add(o, "containers", w.arr) ||
	    (w.truncated && tcl_json_add_bool(o, "truncated", true))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

void att_revocation_count(struct att_state *st, const struct tcl_revocation *r, size_t *nodes,
			  size_t *containers)
{
	struct walk w = { .r = r };

	walk(st, &w);
	*nodes = w.nodes;
	*containers = w.containers;
}
