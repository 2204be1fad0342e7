// SPDX-License-Identifier: GPL-2.0
/* Two unary CRI calls over containerd's socket; see cri.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "cri.h"
#include "ocimeta.h"

#define CRI_TIMEOUT_MS 5000L

struct cri_buf {
	unsigned char *p;
	size_t len, cap;
	bool too_big;
	int grpc_status; /* -1: none seen */
	char grpc_msg[256];
};

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct cri_buf *b = ctx;
	size_t add = size * n;

	if (b->len + add > TCL_CRI_MAX) {
		b->too_big = true;
		return 0;
	}
	if (b->len + add > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		unsigned char *np;

		while (cap < b->len + add)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np)
			return 0;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, add);
	b->len += add;
	return add;
}

/* Headers and trailers: gRPC puts its status in "grpc-status" / "grpc-message". */
static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	struct cri_buf *b = ctx;
	size_t len = size * n, vl;
	const char *v;

	if (len > 12 && !strncasecmp(data, "grpc-status:", 12)) {
		b->grpc_status = atoi(data + 12);
	} else if (len > 13 && !strncasecmp(data, "grpc-message:", 13)) {
		v = data + 13;
		vl = len - 13;
		while (vl && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
			vl--;
		snprintf(b->grpc_msg, sizeof(b->grpc_msg), "%.*s", (int)vl, v);
	}
	return len;
}

/* One unary call: @msg (a serialized request) to /<method>; the answer's message in *out. */
static int cri_call(const char *socket, const char *method, const unsigned char *msg, size_t len,
		    unsigned char **out, size_t *out_len, char *err, size_t errlen)
{
	struct cri_buf b = { .grpc_status = -1 };
	struct curl_slist *hdr = NULL;
	unsigned char *frame = NULL;
	char url[256];
	uint32_t mlen;
	CURLcode cc;
	CURL *c;
	int ret;

	*out = NULL;
	*out_len = 0;
	if (err && errlen)
		err[0] = '\0';
	frame = malloc(5 + len);
	c = curl_easy_init();
	if (!frame || !c) {
		ret = -ENOMEM;
		goto out;
	}
	frame[0] = 0; /* not compressed */
	frame[1] = len >> 24;
	frame[2] = len >> 16;
	frame[3] = len >> 8;
	frame[4] = len;
	memcpy(frame + 5, msg, len);
	snprintf(url, sizeof(url), "http://localhost/%s", method);
	hdr = curl_slist_append(hdr, "Content-Type: application/grpc");
	hdr = curl_slist_append(hdr, "TE: trailers");
	hdr = curl_slist_append(hdr, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, frame);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(5 + len));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, CRI_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		ret = b.too_big ? -E2BIG :
		      cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT :
		      cc == CURLE_COULDNT_CONNECT ? -ECONNREFUSED : -EPROTO;
		if (err)
			snprintf(err, errlen, "CRI %s on %s: %s", method, socket,
				 curl_easy_strerror(cc));
		goto out;
	}
	if (b.grpc_status != 0) {
		/* 5 = NOT_FOUND */
		ret = b.grpc_status == 5 ? -ENOENT : -EREMOTEIO;
		if (err)
			snprintf(err, errlen, "CRI %s: gRPC status %d: %s", method, b.grpc_status,
				 b.grpc_msg[0] ? b.grpc_msg : "(no message)");
		goto out;
	}
	if (b.len < 5 || b.p[0] != 0) {
		ret = -EPROTO;
		goto bad;
	}
	mlen = (uint32_t)b.p[1] << 24 | (uint32_t)b.p[2] << 16 | (uint32_t)b.p[3] << 8 | b.p[4];
	if (mlen != b.len - 5) {
		ret = -EPROTO;
		goto bad;
	}
	*out = malloc(mlen ? mlen : 1);
	if (!*out) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(*out, b.p + 5, mlen);
	*out_len = mlen;
	ret = 0;
	goto out;
bad:
	if (err)
		snprintf(err, errlen, "CRI %s: malformed answer", method);
out:
	curl_slist_free_all(hdr);
	if (c)
		curl_easy_cleanup(c);
	free(frame);
	free(b.p);
	return ret;
}

/* protobuf: a varint at *p (< end); advances *p. -EPROTO when malformed. */
static int pb_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (*p >= end)
			return -EPROTO;
		*v |= (uint64_t)(**p & 0x7f) << shift;
		if (!(*(*p)++ & 0x80))
			return 0;
	}
	return -EPROTO;
}

/*
 * The next length-delimited field numbered @field in [*p, end): its bytes in *val and *vlen.
 * Other fields are skipped. 0 found, -ENOENT none left, -EPROTO malformed.
 */
static int pb_next(const unsigned char **p, const unsigned char *end, uint32_t field,
		   const unsigned char **val, size_t *vlen)
{
	uint64_t key, v;

	while (*p < end) {
		if (pb_varint(p, end, &key))
			return -EPROTO;
		switch (key & 7) {
		case 0:
			if (pb_varint(p, end, &v))
				return -EPROTO;
			break;
		case 1:
			if (end - *p < 8)
				return -EPROTO;
			*p += 8;
			break;
		case 5:
			if (end - *p < 4)
				return -EPROTO;
			*p += 4;
			break;
		case 2:
			if (pb_varint(p, end, &v) || v > (uint64_t)(end - *p))
				return -EPROTO;
			if ((key >> 3) == field) {
				*val = *p;
				*vlen = v;
				*p += v;
				return 0;
			}
			*p += v;
			break;
		default:
			return -EPROTO;
		}
	}
	return -ENOENT;
}

/* Append field @field = string @s (under 16 KiB) to buf: returns the
 * new length or -E2BIG. */
static int pb_put_str(unsigned char *buf, size_t cap, size_t at, uint32_t field, const void *s,
		      size_t len)
{
	size_t n = at;

	if (field > 15 || len > 0x3fff || at + 3 + len > cap)
		return -E2BIG;
	buf[n++] = field << 3 | 2;
	if (len < 0x80) {
		buf[n++] = len;
	} else {
		buf[n++] = (len & 0x7f) | 0x80;
		buf[n++] = len >> 7;
	}
	memcpy(buf + n, s, len);
	return n + len;
}

/* "<repo>@sha256:<64 hex>" -> "sha256:<hex>" */
static int digest_of_ref(const unsigned char *ref, size_t len, char *digest, size_t dlen)
{
	const unsigned char *at = NULL;

	for (size_t i = 0; i < len; i++)
		if (ref[i] == '@')
			at = ref + i;
	if (!at || ref + len - at - 1 != 71 || memcmp(at + 1, "sha256:", 7))
		return -ENODATA;
	for (int i = 8; i < 72; i++)
		if (!((at[i] >= '0' && at[i] <= '9') || (at[i] >= 'a' && at[i] <= 'f')))
			return -ENODATA;
	if (dlen < 72)
		return -ENAMETOOLONG;
	memcpy(digest, at + 1, 71);
	digest[71] = '\0';
	return 0;
}

int tcl_cri_container_digest(const char *socket, const char *id, char *digest, size_t len,
			     char *err, size_t errlen)
{
	unsigned char req[256], *resp = NULL;
	const unsigned char *p, *end, *st, *ref;
	size_t rlen, stlen, reflen;
	int n, ret;

	n = pb_put_str(req, sizeof(req), 0, 1, id, strlen(id)); /* container_id = 1 */
	if (n < 0)
		return n;
	ret = cri_call(socket ? socket : TCL_CRI_DEFAULT_SOCKET,
		       "runtime.v1.RuntimeService/ContainerStatus", req, n, &resp, &rlen, err,
		       errlen);
	if (ret)
		return ret;
	p = resp;
	end = resp + rlen;
	/* ContainerStatusResponse.status = 1 -> ContainerStatus.image_ref = 9 */
	ret = pb_next(&p, end, 1, &st, &stlen);
	if (!ret) {
		p = st;
		ret = pb_next(&p, st + stlen, 9, &ref, &reflen);
	}
	if (!ret)
		ret = digest_of_ref(ref, reflen, digest, len);
	else if (ret == -ENOENT)
		ret = -ENODATA;
	if (ret == -EPROTO && err)
		snprintf(err, errlen, "CRI ContainerStatus: malformed answer");
	free(resp);
	return ret;
}

int tcl_cri_image_digest(const char *socket, const char *image, char *digest, size_t len,
			 char *err, size_t errlen)
{
	unsigned char spec[1024], req[1100], *resp = NULL;
	const unsigned char *p, *end, *im, *ref;
	size_t rlen, imlen, reflen;
	int n, m, ret;

	n = pb_put_str(spec, sizeof(spec), 0, 1, image, strlen(image)); /* ImageSpec.image = 1 */
	if (n < 0)
		return n;
	m = pb_put_str(req, sizeof(req), 0, 1, spec, n); /* ImageStatusRequest.image = 1 */
	if (m < 0)
		return m;
	ret = cri_call(socket ? socket : TCL_CRI_DEFAULT_SOCKET,
		       "runtime.v1.ImageService/ImageStatus", req, m, &resp, &rlen, err, errlen);
	if (ret)
		return ret;
	p = resp;
	end = resp + rlen;
	/* ImageStatusResponse.image = 1 (absent: no such image) -> Image.repo_digests = 3 */
	ret = pb_next(&p, end, 1, &im, &imlen);
	if (!ret) {
		p = im;
		ret = pb_next(&p, im + imlen, 3, &ref, &reflen);
		if (!ret)
			ret = digest_of_ref(ref, reflen, digest, len);
		else if (ret == -ENOENT)
			ret = -ENODATA;
	}
	if (ret == -EPROTO && err)
		snprintf(err, errlen, "CRI ImageStatus: malformed answer");
	free(resp);
	return ret;
}

int tcl_cri_sandbox_image(const char *socket, char *image, size_t len, char *err, size_t errlen)
{
	static const unsigned char req[] = { 0x08, 0x01 }; /* StatusRequest.verbose = true */
	const unsigned char *p, *end, *ent, *k, *v;
	size_t rlen, elen, klen, vlen;
	unsigned char *resp = NULL;
	json_object *cfg = NULL, *si;
	char *text;
	int ret;

	ret = cri_call(socket ? socket : TCL_CRI_DEFAULT_SOCKET, "runtime.v1.RuntimeService/Status",
		       req, sizeof(req), &resp, &rlen, err, errlen);
	if (ret)
		return ret;
	p = resp;
	end = resp + rlen;
	/* StatusResponse.info = 2: map entries {key = 1, value = 2}; "config" is the plugin's */
	while ((ret = pb_next(&p, end, 2, &ent, &elen)) == 0) {
		const unsigned char *q = ent;

		if (pb_next(&q, ent + elen, 1, &k, &klen) || klen != 6 || memcmp(k, "config", 6))
			continue;
		q = ent;
		ret = pb_next(&q, ent + elen, 2, &v, &vlen);
		break;
	}
	if (ret) {
		ret = ret == -ENOENT ? -ENODATA : ret;
		if (err)
			snprintf(err, errlen, "CRI Status: no plugin config in the answer");
		goto out;
	}
	text = strndup((const char *)v, vlen);
	cfg = text ? json_tokener_parse(text) : NULL;
	free(text);
	if (!cfg || !json_object_object_get_ex(cfg, "sandboxImage", &si) ||
	    !json_object_is_type(si, json_type_string) || !json_object_get_string_len(si)) {
		ret = -ENODATA;
		if (err)
			snprintf(err, errlen, "CRI Status: the plugin config names no sandboxImage");
		goto out;
	}
	if ((size_t)json_object_get_string_len(si) >= len) {
		ret = -ENAMETOOLONG;
		goto out;
	}
	strcpy(image, json_object_get_string(si));
out:
	json_object_put(cfg);
	free(resp);
	return ret;
}

int tcl_cri_fill_meta(const char *socket, struct tcl_container_meta *m, char *err, size_t errlen)
{
	int ret;

	if (m->image_digest[0])
		return 0;
	if (m->is_sandbox) {
		if (!m->image[0]) {
			ret = tcl_cri_sandbox_image(socket, m->image, sizeof(m->image), err, errlen);
			if (ret)
				return ret;
		}
		return tcl_cri_image_digest(socket, m->image, m->image_digest,
					    sizeof(m->image_digest), err, errlen);
	}
	return tcl_cri_container_digest(socket, m->container_id, m->image_digest,
					sizeof(m->image_digest), err, errlen);
}
