// SPDX-License-Identifier: GPL-2.0
/* Measurement log in the IMA binary runtime measurement list format; see log.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "diag.h"
#include "escape.h"
#include "hexb64.h"
#include "log.h"
#include "logseg.h"

#define HDR_LEN		(4 + 20 + 4)	/* pcr, template sha1, template name length */
#define DNG_LEN		(sizeof("sha256:") + 32)
#define ENTRY_MAX	(HDR_LEN + TCL_LOG_TEMPLATE_NAME_MAX + 4 + TCL_LOG_DATA_MAX)

static const uint8_t zero_digest[TCL_LOG_DIGEST_MAX];

static const struct {
	const char *name;
	uint32_t len;
} known_algos[] = {
	{ "sha1", 20 }, { "sha256", 32 }, { "sha384", 48 }, { "sha512", 64 },
};

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static int digest(const char *algo, const void *p, size_t len, uint8_t *out)
{
	const EVP_MD *md = EVP_get_digestbyname(algo);

	if (!md || !EVP_Digest(p, len, out, NULL, md, NULL))
		return -EIO;
	return 0;
}

static const struct {
	const char *name;
	size_t len;
	const EVP_MD *(*md)(void);
} banks[TCL_LOG_NR_ALGS] = {
	[TCL_LOG_SHA1] = { "sha1", 20, EVP_sha1 },
	[TCL_LOG_SHA256] = { "sha256", 32, EVP_sha256 },
	[TCL_LOG_SHA384] = { "sha384", 48, EVP_sha384 },
	[TCL_LOG_SHA512] = { "sha512", 64, EVP_sha512 },
};

size_t tcl_log_alg_size(enum tcl_log_alg alg)
{
	return (unsigned int)alg < TCL_LOG_NR_ALGS ? banks[alg].len : 0;
}

const char *tcl_log_alg_name(enum tcl_log_alg alg)
{
	return (unsigned int)alg < TCL_LOG_NR_ALGS ? banks[alg].name : NULL;
}

int tcl_log_alg_from_name(const char *name)
{
	for (int i = 0; name && i < TCL_LOG_NR_ALGS; i++)
		if (!strcmp(name, banks[i].name))
			return i;
	return -EINVAL;
}

static uint8_t *digest_slot(struct tcl_log_digests *d, enum tcl_log_alg alg)
{
	switch (alg) {
	case TCL_LOG_SHA1:
		return d->sha1;
	case TCL_LOG_SHA256:
		return d->sha256;
	case TCL_LOG_SHA384:
		return d->sha384;
	case TCL_LOG_SHA512:
		return d->sha512;
	default:
		return NULL;
	}
}

const uint8_t *tcl_log_digest_of(const struct tcl_log_digests *d, enum tcl_log_alg alg)
{
	return digest_slot((struct tcl_log_digests *)d, alg);
}

static uint8_t *pcr_slot(struct tcl_log_pcr *p, enum tcl_log_alg alg)
{
	switch (alg) {
	case TCL_LOG_SHA1:
		return p->sha1;
	case TCL_LOG_SHA256:
		return p->sha256;
	case TCL_LOG_SHA384:
		return p->sha384;
	case TCL_LOG_SHA512:
		return p->sha512;
	default:
		return NULL;
	}
}

const uint8_t *tcl_log_pcr_value(const struct tcl_log_pcr *p, enum tcl_log_alg alg)
{
	return pcr_slot((struct tcl_log_pcr *)p, alg);
}

/* The template data hashed in every bank, as IMA's ima_calc_field_array_hash does for each
 * allocated bank. */
static int all_digests(const void *p, size_t len, struct tcl_log_digests *d)
{
	for (int i = 0; i < TCL_LOG_NR_ALGS; i++)
		if (!EVP_Digest(p, len, digest_slot(d, i), NULL, banks[i].md(), NULL))
			return -EIO;
	return 0;
}

/* ---- encoding ---- */

static int buf_reserve(struct tcl_log_buf *b, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (n <= b->cap - b->len)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap - b->len < n)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

void tcl_log_buf_free(struct tcl_log_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static uint8_t *put_field(uint8_t *p, const void *data, size_t len)
{
	put_le32(p, len);
	memcpy(p + 4, data, len);
	return p + 4 + len;
}

/* Both templates start with d-ng and n-ng; ima-buf adds buf when @buf is non-NULL. */
static int encode(struct tcl_log_buf *b, uint32_t pcr, const uint8_t sha256[32],
		  const char *name, const void *buf, size_t buf_len,
		  struct tcl_log_digests *d)
{
	const char *tname = buf ? "ima-buf" : "ima-ng";
	size_t tlen = strlen(tname), nlen, dlen, total;
	uint8_t dng[DNG_LEN], *p, *data;
	struct tcl_log_digests dd;
	int err;

	if (pcr >= TCL_LOG_NR_PCRS || !name)
		return -EINVAL;
	nlen = strnlen(name, TCL_LOG_NAME_MAX) + 1;
	if (nlen < 2 || nlen > TCL_LOG_NAME_MAX)
		return -EINVAL;
	dlen = 4 + DNG_LEN + 4 + nlen;
	if (buf) {
		if (buf_len > TCL_LOG_DATA_MAX - dlen - 4)
			return -EINVAL;
		dlen += 4 + buf_len;
	}
	total = HDR_LEN + tlen + 4 + dlen;
	err = buf_reserve(b, total);
	if (err)
		return err;

	memcpy(dng, "sha256:", sizeof("sha256:"));
	memcpy(dng + sizeof("sha256:"), sha256, 32);

	p = b->p + b->len;
	put_le32(p, pcr);
	put_le32(p + 24, tlen);
	memcpy(p + HDR_LEN, tname, tlen);
	put_le32(p + HDR_LEN + tlen, dlen);
	data = p + HDR_LEN + tlen + 4;
	p = put_field(data, dng, DNG_LEN);
	p = put_field(p, name, nlen);
	if (buf)
		put_field(p, buf, buf_len);

	err = all_digests(data, dlen, &dd);
	if (err)
		return err;
	memcpy(b->p + b->len + 4, dd.sha1, 20);
	if (d)
		*d = dd;
	b->len += total;
	return 0;
}

int tcl_log_encode_ng(struct tcl_log_buf *b, uint32_t pcr, const uint8_t sha256[32],
		      const char *name, struct tcl_log_digests *d)
{
	return encode(b, pcr, sha256, name, NULL, 0, d);
}

int tcl_log_encode_buf(struct tcl_log_buf *b, uint32_t pcr, const char *name,
		       const void *buf, size_t buf_len, struct tcl_log_digests *d)
{
	uint8_t sha256[32];
	int err;

	/* IMA measures a buffer by its digest: d-ng is SHA-256 of the bytes themselves. */
	if (!buf && buf_len)
		return -EINVAL;
	if (!buf)
		buf = "";
	err = digest("sha256", buf, buf_len, sha256);
	if (err)
		return err;
	return encode(b, pcr, sha256, name, buf, buf_len, d);
}

int tcl_log_boot_aggregate(const uint8_t pcr_sha256[10][32], uint8_t out[32])
{
	/* Without a TPM IMA leaves the aggregate zeroed rather than hashing zeros. */
	if (!pcr_sha256) {
		memset(out, 0, 32);
		return 0;
	}
	return digest("sha256", pcr_sha256, 10 * 32, out);
}

/* ---- parsing ---- */

#define BAD(msg)			\
	do {				\
		if (why)		\
			*why = msg;	\
		return -EBADMSG;	\
	} while (0)

#define NEED(n)				\
	do {				\
		if (len < (n)) {	\
			*consumed = (n);\
			return -ENODATA;\
		}			\
	} while (0)

/* Template data fields; the data is complete here, only its inner lengths are checked. */
static int parse_fields(struct tcl_log_entry *e, bool is_buf, const char **why)
{
	const uint8_t *p = e->data, *end = e->data + e->data_len, *nul;
	uint32_t flen, alen;
	size_t i;

	if (end - p < 4 || (flen = get_le32(p)) > (size_t)(end - p - 4))
		BAD("d-ng field overruns the template data");
	p += 4;
	nul = memchr(p, 0, flen < sizeof(e->digest_algo) ? flen : sizeof(e->digest_algo));
	if (!nul || nul - p < 2 || nul[-1] != ':')
		BAD("d-ng field has no \"algo:\" prefix");
	alen = nul - p - 1;
	memcpy(e->digest_algo, p, alen);
	e->digest_algo[alen] = '\0';
	e->digest = nul + 1;
	e->digest_len = flen - alen - 2;
	for (i = 0; i < sizeof(known_algos) / sizeof(known_algos[0]); i++)
		if (!strcmp(e->digest_algo, known_algos[i].name))
			break;
	if (i == sizeof(known_algos) / sizeof(known_algos[0]))
		BAD("d-ng field has an unknown hash algorithm");
	if (e->digest_len != known_algos[i].len)
		BAD("d-ng digest length does not match its algorithm");
	p += flen;

	if (end - p < 4 || (flen = get_le32(p)) > (size_t)(end - p - 4))
		BAD("n-ng field overruns the template data");
	p += 4;
	if (flen < 2 || flen > TCL_LOG_NAME_MAX)
		BAD("n-ng name is empty or too long");
	if (p[flen - 1] != '\0' || memchr(p, 0, flen - 1))
		BAD("n-ng name is not one NUL-terminated string");
	e->name = (const char *)p;
	p += flen;

	if (is_buf) {
		if (end - p < 4 || (flen = get_le32(p)) > (size_t)(end - p - 4))
			BAD("buf field overruns the template data");
		e->buf = p + 4;
		e->buf_len = flen;
		p += 4 + flen;
	}
	if (p != end)
		BAD("trailing bytes after the template fields");
	return 0;
}

int tcl_log_parse_entry(const uint8_t *p, size_t len, struct tcl_log_entry *e,
			size_t *consumed, const char **why)
{
	uint8_t md[TCL_LOG_DIGEST_MAX];
	uint32_t tlen, dlen;
	size_t total, dummy;
	bool is_buf;
	int err;

	if (!consumed)
		consumed = &dummy;
	*consumed = 0;
	memset(e, 0, sizeof(*e));

	/* Each field is judged as soon as it is there, so "incomplete" means "valid so far". */
	NEED(4);
	e->pcr = get_le32(p);
	if (e->pcr >= TCL_LOG_NR_PCRS)
		BAD("PCR index out of range");
	NEED(HDR_LEN);
	memcpy(e->template_sha1, p + 4, 20);
	tlen = get_le32(p + 24);
	if (tlen == 0 || tlen > TCL_LOG_TEMPLATE_NAME_MAX)
		BAD("template name length out of range");
	NEED(HDR_LEN + tlen);
	memcpy(e->template_name, p + HDR_LEN, tlen);
	e->template_name[tlen] = '\0';
	if (!strcmp(e->template_name, "ima-ng"))
		is_buf = false;
	else if (!strcmp(e->template_name, "ima-buf"))
		is_buf = true;
	else
		BAD("unsupported template (not ima-ng or ima-buf)");
	NEED(HDR_LEN + tlen + 4);
	dlen = get_le32(p + HDR_LEN + tlen);
	if (dlen > TCL_LOG_DATA_MAX)
		BAD("template data too long");
	total = HDR_LEN + tlen + 4 + dlen;
	NEED(total);
	e->data = p + HDR_LEN + tlen + 4;
	e->data_len = dlen;

	err = parse_fields(e, is_buf, why);
	if (err)
		return err;

	/* Hashes last: the structure is checked (and fuzzed) without knowing them. */
	if (!memcmp(e->template_sha1, zero_digest, 20))
		BAD("zero template digest (IMA violation record)");
	if (digest("sha1", e->data, e->data_len, md))
		return -EIO;
	if (memcmp(md, e->template_sha1, 20))
		BAD("template digest does not match the template data");
	if (is_buf) {
		if (digest(e->digest_algo, e->buf, e->buf_len, md))
			return -EIO;
		if (memcmp(md, e->digest, e->digest_len))
			BAD("ima-buf digest does not match the buffer");
	}
	*consumed = total;
	return 0;
}

#undef BAD
#undef NEED

int tcl_log_entry_digests(const struct tcl_log_entry *e, struct tcl_log_digests *d)
{
	/* tcl_log_parse_entry checked the SHA-1 already: only the other banks are hashed. */
	memcpy(digest_slot(d, TCL_LOG_SHA1), e->template_sha1, 20);
	for (int i = TCL_LOG_SHA1 + 1; i < TCL_LOG_NR_ALGS; i++)
		if (!EVP_Digest(e->data, e->data_len, digest_slot(d, i), NULL, banks[i].md(), NULL))
			return -EIO;
	return 0;
}

/* ---- walking ---- */

static bool all_zero(const uint8_t *p, size_t len)
{
	while (len && !*p) {
		p++;
		len--;
	}
	return !len;
}

/* Source of bytes for the walker: a whole buffer, or a file read in chunks. */
struct src {
	const char *label;
	int fd;			/* -1: buffer only */
	uint8_t *buf;
	size_t cap, start, end;
	uint64_t nread;		/* bytes taken from the source so far */
	uint64_t base;		/* log offset of the source's first byte (its segment's) */
	bool eof;
};

/* Make at least @need bytes available from start, or hit EOF. */
static int src_fill(struct src *s, size_t need)
{
	ssize_t n;

	if (s->fd < 0)
		return 0;
	if (s->start) {
		memmove(s->buf, s->buf + s->start, s->end - s->start);
		s->end -= s->start;
		s->start = 0;
	}
	if (need > s->cap) {
		size_t cap = s->cap;
		uint8_t *p;

		while (cap < need)
			cap *= 2;
		p = realloc(s->buf, cap);
		if (!p)
			return -ENOMEM;
		s->buf = p;
		s->cap = cap;
	}
	while (!s->eof && s->end < need) {
		n = read(s->fd, s->buf + s->end, s->cap - s->end);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			pr_err("log", "%s: read: %s", s->label, strerror(-n));
			return n;
		}
		if (n == 0)
			s->eof = true;
		s->end += n;
		s->nread += n;
	}
	return 0;
}

/* Whether everything from start to the end of the source is zero bytes. */
static int src_rest_zero(struct src *s, bool *zero)
{
	int err;

	for (;;) {
		if (!all_zero(s->buf + s->start, s->end - s->start)) {
			*zero = false;
			return 0;
		}
		if (s->fd < 0 || s->eof)
			break;
		s->start = s->end;
		err = src_fill(s, s->cap);
		if (err)
			return err;
	}
	*zero = true;
	return 0;
}

static int walk(struct src *s, tcl_log_cb cb, void *arg, struct tcl_log_scan *sc)
{
	struct tcl_log_entry e;
	const char *why = NULL;
	uint64_t off = 0;
	size_t n;
	bool zero;
	int err;

	memset(sc, 0, sizeof(*sc));
	err = src_fill(s, HDR_LEN);
	if (err)
		return err;
	for (;;) {
		if (s->start == s->end && (s->fd < 0 || s->eof))
			break;
		err = tcl_log_parse_entry(s->buf + s->start, s->end - s->start, &e, &n, &why);
		if (!err) {
			sc->entries++;
			sc->valid_len = off + n;
			if (cb) {
				err = cb(&e, s->base + off, arg);
				if (err)
					return err;
			}
			s->start += n;
			off += n;
			if (s->end - s->start < HDR_LEN) {
				err = src_fill(s, HDR_LEN);
				if (err)
					return err;
			}
			continue;
		}
		if (err == -ENODATA && !(s->fd < 0 || s->eof)) {
			err = src_fill(s, n);
			if (err)
				return err;
			continue;
		}
		if (err == -ENODATA) {
			sc->tail_len = s->nread - off;
			break;
		}
		if (err != -EBADMSG)
			return err;
		/* After a crash, blocks allocated but never written read back as zeros. */
		err = src_rest_zero(s, &zero);
		if (err)
			return err;
		if (zero) {
			sc->tail_len = s->nread - off;
			break;
		}
		sc->bad_off = s->base + off;
		pr_err("log", "%s: corrupt entry at offset %llu: %s", s->label,
		       (unsigned long long)(s->base + off), why);
		return -EBADMSG;
	}
	return 0;
}

static int walk_fd(int fd, const char *label, uint64_t base, tcl_log_cb cb, void *arg,
		   struct tcl_log_scan *sc)
{
	struct src s = { .label = label, .fd = fd, .cap = 64 * 1024, .base = base };
	int err;

	s.buf = malloc(s.cap);
	if (!s.buf)
		return -ENOMEM;
	err = walk(&s, cb, arg, sc);
	free(s.buf);
	return err;
}

/*
 * Walk the kept segments of @set in order, then the live one. Every file is opened first, so
 * a segment the agent deletes meanwhile is still read whole. A closed segment must end on an
 * entry boundary; only the live one may have an incomplete tail.
 */
static int foreach_set(const char *path, const struct tcl_logseg_set *set, tcl_log_cb cb,
		       void *arg, struct tcl_log_scan *s)
{
	char seg[PATH_MAX];
	struct tcl_log_scan one;
	int *fds, err = 0;
	size_t i;

	memset(s, 0, sizeof(*s));
	fds = malloc(set->n * sizeof(*fds));
	if (!fds)
		return -ENOMEM;
	for (i = 0; i < set->n; i++)
		fds[i] = -1;
	for (i = 0; i < set->n; i++) {
		bool live = i + 1 == set->n;

		if (!live) {
			err = tcl_logseg_path(path, set->seg[i].seq, seg);
			if (err)
				goto out;
		}
		fds[i] = open(live ? path : seg, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			err = -errno;
			/* the live segment is being created by a rotation: empty */
			if (live && err == -ENOENT && set->n > 1) {
				err = 0;
				continue;
			}
			pr_err("log", "%s: %s", live ? path : seg, strerror(-err));
			goto out;
		}
	}
	s->start = set->seg[0].offset;
	s->live_base = set->seg[set->n - 1].offset;
	s->valid_len = s->start;
	for (i = 0; i < set->n; i++) {
		bool live = i + 1 == set->n;

		if (fds[i] < 0)
			continue;
		if (!live && tcl_logseg_path(path, set->seg[i].seq, seg))
			goto out;
		err = walk_fd(fds[i], live ? path : seg, set->seg[i].offset, cb, arg, &one);
		s->entries += one.entries;
		if (err == -EBADMSG)
			s->bad_off = one.bad_off;
		if (err)
			goto out;
		if (!live && one.tail_len) {
			s->bad_off = set->seg[i].offset + one.valid_len;
			pr_err("log", "%s: closed segment ends inside an entry (offset %llu)",
			       seg, (unsigned long long)s->bad_off);
			err = -EBADMSG;
			goto out;
		}
		s->valid_len = set->seg[i].offset + one.valid_len;
		s->tail_len = one.tail_len;
	}
out:
	for (i = 0; i < set->n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	return err;
}

/* Whether @path has no segments and no live file: the log does not exist. */
static int list_existing(const char *path, struct tcl_logseg_set *set)
{
	struct stat st;
	int err;

	err = tcl_logseg_list(path, set);
	if (err)
		return err;
	if (set->n == 1 && !set->have_ckpt && stat(path, &st)) {
		err = -errno;
		pr_err("log", "%s: %s", path, strerror(-err));
		tcl_logseg_set_free(set);
	}
	return err;
}

int tcl_log_foreach(const char *path, tcl_log_cb cb, void *arg, struct tcl_log_scan *s)
{
	struct tcl_logseg_set set;
	struct tcl_log_scan dummy;
	int err;

	err = list_existing(path, &set);
	if (err)
		return err;
	err = foreach_set(path, &set, cb, arg, s ? s : &dummy);
	tcl_logseg_set_free(&set);
	return err;
}

int tcl_log_foreach_buf(const uint8_t *p, size_t len, tcl_log_cb cb, void *arg,
			struct tcl_log_scan *s)
{
	struct src src = { .label = "log buffer", .fd = -1, .buf = (uint8_t *)p,
			   .cap = len, .end = len, .nread = len, .eof = true };
	struct tcl_log_scan dummy;

	return walk(&src, cb, arg, s ? s : &dummy);
}

/* ---- replay ---- */

static int extend(const EVP_MD *md, uint8_t *pcr, const uint8_t *d, size_t len)
{
	uint8_t in[2 * TCL_LOG_DIGEST_MAX];

	memcpy(in, pcr, len);
	memcpy(in + len, d, len);
	return EVP_Digest(in, 2 * len, pcr, NULL, md, NULL) ? 0 : -EIO;
}

int tcl_log_pcr_extend(struct tcl_log_pcr *p, const struct tcl_log_digests *d)
{
	for (int i = 0; i < TCL_LOG_NR_ALGS; i++)
		if (extend(banks[i].md(), pcr_slot(p, i), tcl_log_digest_of(d, i), banks[i].len))
			return -EIO;
	p->entries++;
	return 0;
}

static int replay_cb(const struct tcl_log_entry *e, uint64_t off, void *arg)
{
	struct tcl_log_pcr *p = arg;
	struct tcl_log_digests d;
	int err;

	if (e->pcr != p->index)
		return 0;
	err = tcl_log_entry_digests(e, &d);
	if (!err)
		err = tcl_log_pcr_extend(p, &d);
	return err;
}

/* Where the kept log starts on @pcr: the checkpoint's values, or zero. */
static int start_values(const char *path, const struct tcl_logseg_set *set, uint32_t pcr,
			struct tcl_log_pcr *out)
{
	memset(out, 0, sizeof(*out));
	out->index = pcr;
	if (!set->have_ckpt)
		return 0;
	if (set->ckpt.values.index != pcr) {
		pr_err("log", "%s: the checkpoint is for PCR %u, not PCR %u", path,
		       set->ckpt.values.index, pcr);
		return -EBADMSG;
	}
	*out = set->ckpt.values;
	return 0;
}

int tcl_log_replay(const char *path, uint32_t pcr, struct tcl_log_pcr *out)
{
	struct tcl_logseg_set set;
	struct tcl_log_scan sc;
	int err;

	memset(out, 0, sizeof(*out));
	out->index = pcr;
	if (pcr >= TCL_LOG_NR_PCRS)
		return -EINVAL;
	err = list_existing(path, &set);
	if (err)
		return err;
	err = start_values(path, &set, pcr, out);
	if (!err)
		err = foreach_set(path, &set, replay_cb, out, &sc);
	tcl_logseg_set_free(&set);
	return err;
}

struct match {
	struct tcl_log_pcr pcr;
	enum tcl_log_alg alg;
	const uint8_t *want;
	bool found;
	size_t matched;
	struct tcl_log_digests *rest;
	size_t n_rest, cap;
};

static bool match_now(const struct match *m)
{
	return !memcmp(tcl_log_pcr_value(&m->pcr, m->alg), m->want, banks[m->alg].len);
}

static int match_cb(const struct tcl_log_entry *e, uint64_t off, void *arg)
{
	struct match *m = arg;
	struct tcl_log_digests d;
	int err;

	if (e->pcr != m->pcr.index)
		return 0;
	err = tcl_log_entry_digests(e, &d);
	if (err)
		return err;
	if (m->found) {
		/* Past the match: these were logged but never extended. */
		if (m->n_rest == m->cap) {
			size_t cap = m->cap ? 2 * m->cap : 64;
			struct tcl_log_digests *r = realloc(m->rest, cap * sizeof(*r));

			if (!r)
				return -ENOMEM;
			m->rest = r;
			m->cap = cap;
		}
		m->rest[m->n_rest++] = d;
		m->pcr.entries++;
		return 0;
	}
	err = tcl_log_pcr_extend(&m->pcr, &d);
	if (err)
		return err;
	if (match_now(m)) {
		m->found = true;
		m->matched = m->pcr.entries;
	}
	return 0;
}

int tcl_log_match_prefix(const char *path, uint32_t pcr, enum tcl_log_alg alg,
			 const uint8_t *pcr_value, size_t *matched, size_t *total,
			 struct tcl_log_digests **rest, size_t *n_rest)
{
	struct match m = { .pcr.index = pcr, .alg = alg, .want = pcr_value };
	struct tcl_logseg_set set = { 0 };
	struct tcl_log_scan sc;
	int err;

	*matched = *total = *n_rest = 0;
	*rest = NULL;
	if (pcr >= TCL_LOG_NR_PCRS || !tcl_log_alg_size(alg))
		return -EINVAL;
	err = list_existing(path, &set);
	if (err)
		return err;
	err = start_values(path, &set, pcr, &m.pcr);
	if (err)
		goto out;
	/* The empty prefix: a fresh PCR (or the checkpoint's values) with nothing extended
	 * since. */
	m.found = match_now(&m);
	m.matched = m.pcr.entries;
	err = foreach_set(path, &set, match_cb, &m, &sc);
	if (err)
		goto out;
	*total = m.pcr.entries;
	if (!m.found) {
		pr_err("log", "%s: PCR %u (%s) matches no prefix of the %zu entries logged",
		       path, pcr, banks[alg].name, m.pcr.entries);
		err = -ENOMSG;
		goto out;
	}
	*matched = m.matched;
	*n_rest = m.n_rest;
	*rest = m.rest;
	m.rest = NULL;
out:
	tcl_logseg_set_free(&set);
	free(m.rest);
	return err;
}

/* ---- text forms ---- */

static void put_hex(FILE *out, const uint8_t *p, size_t len)
{
	char chunk[2 * 256 + 1];
	size_t n;

	for (size_t i = 0; i < len; i += n) {
		n = len - i < 256 ? len - i : 256;
		tcl_hex(p + i, n, chunk);
		fwrite(chunk, 1, 2 * n, out);
	}
}

int tcl_log_format_ascii(const struct tcl_log_entry *e, FILE *out)
{
	fprintf(out, "%u ", e->pcr);
	put_hex(out, e->template_sha1, 20);
	fprintf(out, " %s %s:", e->template_name, e->digest_algo);
	put_hex(out, e->digest, e->digest_len);
	fputc(' ', out);
	tcl_esc_put(out, e->name);
	if (e->buf) {
		fputc(' ', out);
		put_hex(out, e->buf, e->buf_len);
	}
	fputc('\n', out);
	return ferror(out) ? -EIO : 0;
}

int tcl_log_write_pcrs_file(const char *path, enum tcl_log_alg alg, const uint8_t *pcrs)
{
	size_t dlen = tcl_log_alg_size(alg);
	char *tmp = NULL;
	FILE *f = NULL;
	int err = 0, fd;
	unsigned int i;

	if (!dlen)
		return -EINVAL;
	tmp = malloc(strlen(path) + sizeof(".tmpXXXXXX"));
	if (!tmp)
		return -ENOMEM;
	strcpy(tmp, path);
	strcat(tmp, ".tmpXXXXXX");
	fd = mkstemp(tmp);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
		unlink(tmp);
		goto out;
	}
	for (i = 0; i < TCL_LOG_NR_PCRS; i++) {
		fprintf(f, "PCR-%02u: ", i);
		put_hex(f, pcrs + i * dlen, dlen);
		fputc('\n', f);
	}
	if (fflush(f) || ferror(f) || fsync(fileno(f)))
		err = -EIO;
	if (fclose(f) && !err)
		err = -EIO;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
out:
	if (err)
		pr_err("log", "%s: cannot write PCR values: %s", path, strerror(-err));
	free(tmp);
	return err;
}

/* ---- the log file ---- */

struct tcl_log {
	int fd;			/* the live segment */
	char *path;
	uint64_t size;		/* log offset of the end: every entry since the log began */
	size_t entries;		/* entries since the log began, deleted ones included */
	uint64_t live_base;	/* log offset of the live segment's first byte */
	bool broken;
	/* segments (tcl_log_set_bound) */
	struct tcl_log_ckpt ckpt;
	bool have_ckpt;
	struct tcl_logseg *closed;	/* kept closed segments, oldest first */
	size_t n_closed, cap_closed;
	uint64_t live_seq;
	uint64_t max_bytes, seg_bytes;	/* 0: unbounded, one segment */
	bool over_warned;
};

static int mkdir_parents(const char *path)
{
	char *dir = strdup(path), *p;
	int err = 0;

	if (!dir)
		return -ENOMEM;
	for (p = dir + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(dir, 0750) && errno != EEXIST) {
			err = -errno;
			pr_err("log", "mkdir %s: %s", dir, strerror(-err));
			break;
		}
		*p = '/';
	}
	free(dir);
	return err;
}

/* Make a newly created file's directory entry durable too. */
static int fsync_parent(const char *path)
{
	char *dir = strdup(path), *slash;
	int fd, err = 0;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd))
		err = -errno;
	if (fd >= 0)
		close(fd);
	free(dir);
	return err;
}

/* Open (creating) the live segment @path and lock it. */
static int open_live(struct tcl_log *l, bool *created)
{
	struct stat st;
	int err;

	*created = false;
	l->fd = open(l->path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (l->fd < 0 && errno == ENOENT) {
		l->fd = open(l->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0640);
		*created = l->fd >= 0;
	}
	if (l->fd < 0) {
		err = -errno;
		pr_err("log", "%s: %s", l->path, strerror(-err));
		return err;
	}
	if (flock(l->fd, LOCK_EX | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		pr_err("log", "%s: held by another process (%s)", l->path, strerror(-err));
		return err;
	}
	if (fstat(l->fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		pr_err("log", "%s: not a regular file", l->path);
		return -EINVAL;
	}
	if (*created) {
		err = fsync_parent(l->path);
		if (err) {
			pr_err("log", "%s: fsync of directory: %s", l->path, strerror(-err));
			return err;
		}
	}
	return 0;
}

int tcl_log_open(const char *path, struct tcl_log **out, struct tcl_log_open_report *r)
{
	struct tcl_log_open_report dummy;
	struct tcl_logseg_set set = { 0 };
	struct tcl_log *l = NULL;
	struct tcl_log_scan sc;
	bool created;
	int err;

	*out = NULL;
	if (!r)
		r = &dummy;
	memset(r, 0, sizeof(*r));
	if (!*path)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->fd = -1;
	l->path = strdup(path);
	if (!l->path) {
		err = -ENOMEM;
		goto fail;
	}
	err = mkdir_parents(path);
	if (err)
		goto fail;
	err = open_live(l, &created);
	if (err)
		goto fail;
	err = tcl_logseg_list(path, &set);
	if (err == -EBADMSG)
		r->bad_off = 0;
	if (err)
		goto fail;
	/* a deletion cut short: the checkpoint already covers them */
	err = tcl_logseg_remove_stale(path, &set);
	if (err)
		goto fail;
	r->created = created && set.n == 1 && !set.have_ckpt;
	err = foreach_set(path, &set, NULL, NULL, &sc);
	if (err == -EBADMSG)
		r->bad_off = sc.bad_off;
	if (err)
		goto fail;
	if (sc.tail_len) {
		/* Never extended: the PCR extend only follows a completed fdatasync. */
		if (ftruncate(l->fd, sc.valid_len - sc.live_base) || fsync(l->fd)) {
			err = -errno;
			pr_err("log", "%s: cannot drop torn tail: %s", path, strerror(-err));
			goto fail;
		}
		pr_warn("log", "%s: dropped a torn tail of %llu bytes at offset %llu",
			path, (unsigned long long)sc.tail_len,
			(unsigned long long)sc.valid_len);
	}
	l->have_ckpt = set.have_ckpt;
	l->ckpt = set.ckpt;
	l->live_seq = set.seg[set.n - 1].seq;
	l->live_base = sc.live_base;
	l->n_closed = l->cap_closed = set.n - 1;
	l->closed = set.seg;		/* the live one at the end is spare room */
	set.seg = NULL;
	l->size = sc.valid_len;
	l->entries = (set.have_ckpt ? set.ckpt.entries : 0) + sc.entries;
	r->entries = l->entries;
	r->size = sc.valid_len;
	r->dropped = sc.tail_len;
	*out = l;
	return 0;
fail:
	tcl_logseg_set_free(&set);
	tcl_log_close(l);
	return err;
}

int tcl_log_append(struct tcl_log *l, const uint8_t *entries, size_t len)
{
	uint64_t at = l->size - l->live_base;
	struct tcl_log_scan sc;
	size_t done = 0;
	ssize_t n;
	int err;

	if (l->broken)
		return -EIO;
	if (!len)
		return 0;
	err = tcl_log_foreach_buf(entries, len, NULL, NULL, &sc);
	if (err || sc.valid_len != len) {
		pr_err("log", "%s: refusing to append bytes that are not whole valid entries",
		       l->path);
		return -EINVAL;
	}
	while (done < len) {
		n = pwrite(l->fd, entries + done, len - done, at + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			pr_err("log", "%s: append: %s", l->path, strerror(-err));
			/* Take back a partial batch so no reader ever sees half of it. */
			if (ftruncate(l->fd, at)) {
				pr_err("log", "%s: cannot take back a partial append: %s",
				       l->path, strerror(errno));
				l->broken = true;
			}
			return err;
		}
		done += n;
	}
	if (fdatasync(l->fd)) {
		err = -errno;
		pr_err("log", "%s: fdatasync: %s; no more appends until reopened", l->path,
		       strerror(-err));
		l->broken = true;
		return err;
	}
	l->size += len;
	l->entries += sc.entries;
	return 0;
}

int tcl_log_set_bound(struct tcl_log *l, uint32_t pcr, uint64_t max_bytes)
{
	int err;

	if (max_bytes && max_bytes < TCL_LOG_BOUND_MIN) {
		pr_err("log", "%s: a bound of %llu bytes is too small (at least %u)", l->path,
		       (unsigned long long)max_bytes, TCL_LOG_BOUND_MIN);
		return -EINVAL;
	}
	if (l->have_ckpt && l->ckpt.values.index != pcr) {
		pr_err("log", "%s: its checkpoint is for PCR %u, not PCR %u", l->path,
		       l->ckpt.values.index, pcr);
		return -EBADMSG;
	}
	l->max_bytes = max_bytes;
	l->seg_bytes = max_bytes / TCL_LOG_SEGMENTS;
	if (!max_bytes || l->have_ckpt)
		return 0;
	/* The log's identity and start, before any segment can be closed or deleted. */
	err = tcl_logseg_ckpt_init(&l->ckpt, pcr);
	if (!err)
		err = tcl_logseg_ckpt_save(l->path, &l->ckpt);
	if (err)
		return err;
	l->have_ckpt = true;
	return 0;
}

/* Close the live segment: it becomes LOG.<live_seq>, a new empty live segment follows. */
static int rotate(struct tcl_log *l)
{
	char seg[PATH_MAX];
	int fd = l->fd, err;
	bool created;

	err = tcl_logseg_path(l->path, l->live_seq, seg);
	if (err)
		return err;
	if (l->n_closed == l->cap_closed) {
		size_t cap = l->cap_closed ? 2 * l->cap_closed : 16;
		struct tcl_logseg *p = realloc(l->closed, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->closed = p;
		l->cap_closed = cap;
	}
	if (rename(l->path, seg)) {
		err = -errno;
		pr_err("log", "%s: cannot close the segment as %s: %s", l->path, seg,
		       strerror(-err));
		return err;
	}
	l->fd = -1;
	err = open_live(l, &created);
	if (err) {
		/* appends go on into the closed file; the next open sees it as closed */
		pr_err("log", "%s: cannot start a new segment: %s", l->path, strerror(-err));
		if (l->fd >= 0)
			close(l->fd);
		l->fd = fd;
		l->broken = true;
		return err;
	}
	close(fd);
	l->closed[l->n_closed++] = (struct tcl_logseg){ .seq = l->live_seq,
		.size = l->size - l->live_base, .offset = l->live_base };
	l->live_seq++;
	l->live_base = l->size;
	return 0;
}

/* Delete the oldest closed segment: the checkpoint moves past it first. */
static int drop_oldest(struct tcl_log *l)
{
	struct tcl_logseg *g = &l->closed[0];
	struct tcl_log_ckpt c = l->ckpt;
	char seg[PATH_MAX];
	struct tcl_log_scan sc;
	int fd, err;

	err = tcl_logseg_path(l->path, g->seq, seg);
	if (err)
		return err;
	fd = open(seg, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_err("log", "%s: %s", seg, strerror(-err));
		return err;
	}
	err = walk_fd(fd, seg, g->offset, replay_cb, &c.values, &sc);
	close(fd);
	if (!err && (sc.tail_len || sc.valid_len != g->size))
		err = -EBADMSG;
	if (err) {
		pr_err("log", "%s: cannot replay the segment before deleting it: %s", seg,
		       strerror(-err));
		return err;
	}
	c.seq = g->seq + 1;
	c.entries += sc.entries;
	c.values.entries = c.entries;
	c.offset = g->offset + g->size;
	err = tcl_logseg_ckpt_save(l->path, &c);
	if (err)
		return err;
	l->ckpt = c;
	if (unlink(seg) || tcl_logseg_fsync_dir(seg)) {
		/* the checkpoint covers it: the next open removes it */
		pr_warn("log", "%s: %s", seg, strerror(errno));
	}
	memmove(l->closed, l->closed + 1, --l->n_closed * sizeof(*l->closed));
	return 0;
}

uint64_t tcl_log_disk_bytes(const struct tcl_log *l)
{
	return l->size - (l->have_ckpt ? l->ckpt.offset : 0);
}

int tcl_log_maintain(struct tcl_log *l, uint64_t acked, struct tcl_log_maint *r)
{
	int err = 0;

	if (r)
		memset(r, 0, sizeof(*r));
	if (!l->max_bytes || l->broken)
		return 0;
	if (l->size - l->live_base >= l->seg_bytes) {
		err = rotate(l);
		if (err)
			return err;
		if (r)
			r->rotated = true;
	}
	/* Keep room for the live segment to fill; only what the attestor acknowledged goes. */
	while (l->n_closed && tcl_log_disk_bytes(l) + l->seg_bytes > l->max_bytes &&
	       l->closed[0].offset + l->closed[0].size <= acked) {
		err = drop_oldest(l);
		if (err)
			return err;
		if (r)
			r->deleted++;
	}
	if (tcl_log_disk_bytes(l) > l->max_bytes) {
		if (!l->over_warned)
			pr_warn("log", "%s: %llu bytes kept, over the bound of %llu: segments are "
				"only deleted once the attestor acknowledged them (acknowledged "
				"up to offset %llu)", l->path,
				(unsigned long long)tcl_log_disk_bytes(l),
				(unsigned long long)l->max_bytes, (unsigned long long)acked);
		l->over_warned = true;
		if (r)
			r->over_bound = true;
	} else {
		l->over_warned = false;
	}
	return 0;
}

uint64_t tcl_log_size(const struct tcl_log *l)
{
	return l->size;
}

uint64_t tcl_log_start(const struct tcl_log *l)
{
	return l->have_ckpt ? l->ckpt.offset : 0;
}

size_t tcl_log_count(const struct tcl_log *l)
{
	return l->entries;
}

void tcl_log_close(struct tcl_log *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	free(l->closed);
	free(l->path);
	free(l);
}
