// SPDX-License-Identifier: GPL-2.0
/* Challenge nonces, per node (declared in state.h: they live in struct att_node). */
#include <errno.h>
#include <string.h>

#include <openssl/rand.h>

#include "state.h"

int att_nonce_issue(struct att_node *n, int64_t now_ms, int64_t ttl_ms,
		    const uint8_t prefix[ATT_NONCE_PREFIX], uint8_t out[ATT_NONCE_LEN])
{
	struct att_nonce *slot = NULL;

	/* A free slot, else the one that expires first: expired nonces stay as long as possible
	 * so that a late answer is told "expired" rather than "unknown". */
	for (size_t i = 0; i < ATT_NONCES && !slot; i++)
		if (!n->nonces[i].expires)
			slot = &n->nonces[i];
	if (!slot) {
		slot = &n->nonces[0];
		for (size_t i = 1; i < ATT_NONCES; i++)
			if (n->nonces[i].expires < slot->expires)
				slot = &n->nonces[i];
	}
	memcpy(slot->v, prefix, ATT_NONCE_PREFIX);
	if (RAND_bytes(slot->v + ATT_NONCE_PREFIX, ATT_NONCE_LEN - ATT_NONCE_PREFIX) != 1)
		return -EIO;
	slot->expires = now_ms + ttl_ms;
	memcpy(out, slot->v, ATT_NONCE_LEN);
	return 0;
}

int att_nonce_take(struct att_node *n, const uint8_t nonce[ATT_NONCE_LEN], int64_t now_ms)
{
	for (size_t i = 0; i < ATT_NONCES; i++) {
		struct att_nonce *s = &n->nonces[i];
		int rc;

		if (!s->expires || memcmp(s->v, nonce, ATT_NONCE_LEN))
			continue;
		rc = s->expires <= now_ms ? -ETIME : 0;
		memset(s, 0, sizeof(*s));
		return rc;
	}
	return -ENOENT;
}
