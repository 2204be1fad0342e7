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
				err = cb(&e, off, arg);
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
		sc->bad_off = off;
		pr_err("log", "%s: corrupt entry at offset %llu: %s", s->label,
		       (unsigned long long)off, why);
		return -EBADMSG;
	}
	return 0;
}

static int walk_fd(int fd, const char *label, tcl_log_cb cb, void *arg,
		   struct tcl_log_scan *sc)
{
	struct src s = { .label = label, .fd = fd, .cap = 64 * 1024 };
	int err;

	s.buf = malloc(s.cap);
	if (!s.buf)
		return -ENOMEM;
	err = walk(&s, cb, arg, sc);
	free(s.buf);
	return err;
}

int tcl_log_foreach(const char *path, tcl_log_cb cb, void *arg, struct tcl_log_scan *s)
{
	struct tcl_log_scan dummy;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_err("log", "%s: %s", path, strerror(-err));
		return err;
	}
	err = walk_fd(fd, path, cb, arg, s ? s : &dummy);
	close(fd);
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

int tcl_log_replay(const char *path, uint32_t pcr, struct tcl_log_pcr *out)
{
	memset(out, 0, sizeof(*out));
	out->index = pcr;
	if (pcr >= TCL_LOG_NR_PCRS)
		return -EINVAL;
	return tcl_log_foreach(path, replay_cb, out, NULL);
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
	int err;

	*matched = *total = *n_rest = 0;
	*rest = NULL;
	if (pcr >= TCL_LOG_NR_PCRS || !tcl_log_alg_size(alg))
		return -EINVAL;
	/* The empty prefix: a fresh PCR and a log with nothing extended yet. */
	m.found = match_now(&m);
	err = tcl_log_foreach(path, match_cb, &m, NULL);
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
	int fd;
	char *path;
	uint64_t size;
	size_t entries;
	bool broken;
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

int tcl_log_open(const char *path, struct tcl_log **out, struct tcl_log_open_report *r)
{
	struct tcl_log_open_report dummy;
	struct tcl_log *l = NULL;
	struct tcl_log_scan sc;
	struct stat st;
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
	l->fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (l->fd < 0 && errno == ENOENT) {
		l->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0640);
		r->created = l->fd >= 0;
	}
	if (l->fd < 0) {
		err = -errno;
		pr_err("log", "%s: %s", path, strerror(-err));
		goto fail;
	}
	if (flock(l->fd, LOCK_EX | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		pr_err("log", "%s: held by another process (%s)", path, strerror(-err));
		goto fail;
	}
	if (fstat(l->fd, &st)) {
		err = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		pr_err("log", "%s: not a regular file", path);
		goto fail;
	}
	if (r->created) {
		err = fsync_parent(path);
		if (err) {
			pr_err("log", "%s: fsync of directory: %s", path, strerror(-err));
			goto fail;
		}
	}

	err = walk_fd(l->fd, path, NULL, NULL, &sc);
	if (err == -EBADMSG)
		r->bad_off = sc.bad_off;
	if (err)
		goto fail;
	if (sc.tail_len) {
		/* Never extended: the PCR extend only follows a completed fdatasync. */
		if (ftruncate(l->fd, sc.valid_len) || fsync(l->fd)) {
			err = -errno;
			pr_err("log", "%s: cannot drop torn tail: %s", path, strerror(-err));
			goto fail;
		}
		pr_warn("log", "%s: dropped a torn tail of %llu bytes at offset %llu",
			path, (unsigned long long)sc.tail_len,
			(unsigned long long)sc.valid_len);
	}
	l->size = sc.valid_len;
	l->entries = sc.entries;
	r->entries = sc.entries;
	r->size = sc.valid_len;
	r->dropped = sc.tail_len;
	*out = l;
	return 0;
fail:
	tcl_log_close(l);
	return err;
}

int tcl_log_append(struct tcl_log *l, const uint8_t *entries, size_t len)
{
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
		n = pwrite(l->fd, entries + done, len - done, l->size + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			pr_err("log", "%s: append: %s", l->path, strerror(-err));
			/* Take back a partial batch so no reader ever sees half of it. */
			if (ftruncate(l->fd, l->size)) {
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

uint64_t tcl_log_size(const struct tcl_log *l)
{
	return l->size;
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
	free(l->path);
	free(l);
}
