// SPDX-License-Identifier: GPL-2.0
/* The measurement log's segments and checkpoint on disk; see logseg.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "fileio.h"
#include "hexb64.h"
#include "logseg.h"

#define CKPT_MAX	1024
#define CKPT_MAGIC	"tcl-log-checkpoint 1"

int tcl_logseg_path(const char *log, uint64_t seq, char *out)
{
	int n = snprintf(out, PATH_MAX, "%s.%08" PRIu64, log, seq);

	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

int tcl_logseg_ckpt_path(const char *log, char *out)
{
	int n = snprintf(out, PATH_MAX, "%s.checkpoint", log);

	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static int split(const char *path, char *dir, const char **base)
{
	const char *slash = strrchr(path, '/');

	if (strlen(path) >= PATH_MAX)
		return -ENAMETOOLONG;
	if (!slash) {
		strcpy(dir, ".");
		*base = path;
	} else if (slash == path) {
		strcpy(dir, "/");
		*base = slash + 1;
	} else {
		memcpy(dir, path, slash - path);
		dir[slash - path] = '\0';
		*base = slash + 1;
	}
	return **base ? 0 : -EINVAL;
}

int tcl_logseg_fsync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *base;
	int fd, err;

	err = split(path, dir, &base);
	if (err)
		return err;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = fsync(fd) ? -errno : 0;
	close(fd);
	return err;
}

int tcl_logseg_ckpt_init(struct tcl_log_ckpt *c, uint32_t pcr)
{
	uint8_t id[TCL_LOGSEG_ID_HEX / 2];

	memset(c, 0, sizeof(*c));
	if (getrandom(id, sizeof(id), 0) != (ssize_t)sizeof(id))
		return -EIO;
	tcl_hex(id, sizeof(id), c->id);
	c->seq = 1;
	c->values.index = pcr;
	return 0;
}

int tcl_logseg_ckpt_save(const char *log, const struct tcl_log_ckpt *c)
{
	char path[PATH_MAX], buf[CKPT_MAX], hex[2 * TCL_LOG_DIGEST_MAX + 1];
	size_t len;
	int err, n;

	err = tcl_logseg_ckpt_path(log, path);
	if (err)
		return err;
	n = snprintf(buf, sizeof(buf), CKPT_MAGIC "\nid %s\npcr %u\nseq %" PRIu64 "\nentries %"
		     PRIu64 "\noffset %" PRIu64 "\n", c->id, c->values.index, c->seq,
		     c->entries, c->offset);
	len = (size_t)n;
	for (int i = 0; i < TCL_LOG_NR_ALGS; i++) {
		tcl_hex(tcl_log_pcr_value(&c->values, i), tcl_log_alg_size(i), hex);
		len += snprintf(buf + len, sizeof(buf) - len, "%s %s\n", tcl_log_alg_name(i), hex);
	}
	err = tcl_write_file_atomic(path, buf, len, 0640);
	if (!err)
		err = tcl_logseg_fsync_dir(path);
	if (err)
		pr_err("log", "%s: cannot write the checkpoint: %s", path, strerror(-err));
	return err;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

int tcl_logseg_ckpt_load(const char *log, struct tcl_log_ckpt *c)
{
	char path[PATH_MAX], *buf = NULL, *line, *save = NULL;
	unsigned int seen = 0;
	const char *why = NULL;
	size_t len;
	uint64_t pcr = 0;
	int err, lineno = 0;

	memset(c, 0, sizeof(*c));
	err = tcl_logseg_ckpt_path(log, path);
	if (err)
		return err;
	err = tcl_read_regular_file(path, CKPT_MAX, &buf, &len);
	if (err == -ENOENT)
		return err;
	if (err) {
		pr_err("log", "%s: %s", path, err == -EFBIG ? "too large for a checkpoint" :
		       strerror(-err));
		return err == -EFBIG ? -EBADMSG : err;
	}
	if (strlen(buf) != len) {
		why = "NUL byte";
		goto bad;
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *val = strchr(line, ' ');
		int alg;

		if (!lineno++) {
			if (strcmp(line, CKPT_MAGIC)) {
				why = "not a tcl log checkpoint (first line)";
				goto bad;
			}
			continue;
		}
		if (!val) {
			why = "a line without a value";
			goto bad;
		}
		*val++ = '\0';
		if (!strcmp(line, "id")) {
			if (strlen(val) != TCL_LOGSEG_ID_HEX ||
			    tcl_unhex(val, (uint8_t[TCL_LOGSEG_ID_HEX / 2]){ 0 },
				      TCL_LOGSEG_ID_HEX / 2)) {
				why = "bad id";
				goto bad;
			}
			strcpy(c->id, val);
			seen |= 1;
		} else if (!strcmp(line, "pcr")) {
			if (parse_u64(val, &pcr) || pcr >= TCL_LOG_NR_PCRS) {
				why = "bad pcr";
				goto bad;
			}
			c->values.index = (uint32_t)pcr;
			seen |= 2;
		} else if (!strcmp(line, "seq")) {
			if (parse_u64(val, &c->seq) || !c->seq) {
				why = "bad seq";
				goto bad;
			}
			seen |= 4;
		} else if (!strcmp(line, "entries")) {
			if (parse_u64(val, &c->entries)) {
				why = "bad entries";
				goto bad;
			}
			seen |= 8;
		} else if (!strcmp(line, "offset")) {
			if (parse_u64(val, &c->offset) || c->offset > INT64_MAX) {
				why = "bad offset";
				goto bad;
			}
			seen |= 16;
		} else if ((alg = tcl_log_alg_from_name(line)) >= 0) {
			size_t dl = tcl_log_alg_size(alg);

			if (strlen(val) != 2 * dl ||
			    tcl_unhex(val, (uint8_t *)tcl_log_pcr_value(&c->values, alg), dl)) {
				why = "bad PCR value";
				goto bad;
			}
			seen |= 32u << alg;
		} else {
			why = "unknown key";
			goto bad;
		}
	}
	if (seen != (32u << TCL_LOG_NR_ALGS) - 1) {
		why = "a key is missing";
		goto bad;
	}
	if (!c->entries != !c->offset) {
		why = "entries and offset disagree";
		goto bad;
	}
	c->values.entries = c->entries;
	free(buf);
	return 0;
bad:
	pr_err("log", "%s: malformed checkpoint: %s", path, why);
	free(buf);
	memset(c, 0, sizeof(*c));
	return -EBADMSG;
}

/* LOG.<digits>: the seq, or 0 when @name is no segment of LOG. */
static uint64_t seg_seq(const char *name, const char *base, size_t blen)
{
	uint64_t v;

	if (strncmp(name, base, blen) || name[blen] != '.' || strlen(name + blen + 1) < 8 ||
	    strspn(name + blen + 1, "0123456789") != strlen(name + blen + 1) ||
	    parse_u64(name + blen + 1, &v))
		return 0;
	return v;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void tcl_logseg_set_free(struct tcl_logseg_set *s)
{
	free(s->seg);
	s->seg = NULL;
	s->n = 0;
}

int tcl_logseg_list(const char *log, struct tcl_logseg_set *s)
{
	char dir[PATH_MAX], path[PATH_MAX];
	uint64_t *seqs = NULL, first, off;
	size_t n = 0, cap = 0, blen, k;
	const char *base;
	struct dirent *de;
	struct stat st;
	DIR *d = NULL;
	int err;

	memset(s, 0, sizeof(*s));
	err = split(log, dir, &base);
	if (err)
		return err;
	blen = strlen(base);
	err = tcl_logseg_ckpt_load(log, &s->ckpt);
	if (err && err != -ENOENT)
		return err;
	s->have_ckpt = !err;
	d = opendir(dir);
	if (!d) {
		err = -errno;
		if (err != -ENOENT)
			pr_err("log", "%s: %s", dir, strerror(-err));
		goto out;
	}
	while ((de = readdir(d))) {
		uint64_t v = seg_seq(de->d_name, base, blen);

		if (!v)
			continue;
		if (n == cap) {
			uint64_t *p;

			cap = cap ? 2 * cap : 64;
			if (cap > TCL_LOGSEG_MAX * 2) {
				pr_err("log", "%s: more than %u segments", log, TCL_LOGSEG_MAX);
				err = -E2BIG;
				goto out;
			}
			p = realloc(seqs, cap * sizeof(*p));
			if (!p) {
				err = -ENOMEM;
				goto out;
			}
			seqs = p;
		}
		seqs[n++] = v;
	}
	if (n)
		qsort(seqs, n, sizeof(*seqs), cmp_u64);
	first = s->have_ckpt ? s->ckpt.seq : 1;
	for (k = 0; k < n && seqs[k] < first; k++)
		s->stale++;
	s->seg = calloc(n - k + 1, sizeof(*s->seg));
	if (!s->seg) {
		err = -ENOMEM;
		goto out;
	}
	off = s->have_ckpt ? s->ckpt.offset : 0;
	for (; k < n; k++) {
		struct tcl_logseg *g = &s->seg[s->n];

		if (seqs[k] != first + s->n) {
			pr_err("log", "%s: segment %" PRIu64 " is missing (the next kept one is %"
			       PRIu64 "): the log was cut", log, first + s->n, seqs[k]);
			err = -EBADMSG;
			goto out;
		}
		err = tcl_logseg_path(log, seqs[k], path);
		if (err)
			goto out;
		if (stat(path, &st) || !S_ISREG(st.st_mode)) {
			err = -EBADMSG;
			pr_err("log", "%s: not a regular file", path);
			goto out;
		}
		g->seq = seqs[k];
		g->size = (uint64_t)st.st_size;
		g->offset = off;
		off += g->size;
		s->n++;
	}
	s->seg[s->n].seq = first + s->n;
	s->seg[s->n].offset = off;
	if (!stat(log, &st)) {
		if (!S_ISREG(st.st_mode)) {
			pr_err("log", "%s: not a regular file", log);
			err = -EBADMSG;
			goto out;
		}
		s->seg[s->n].size = (uint64_t)st.st_size;
	}
	s->n++;
	err = 0;
out:
	if (d)
		closedir(d);
	free(seqs);
	if (err)
		tcl_logseg_set_free(s);
	return err;
}

int tcl_logseg_remove_stale(const char *log, const struct tcl_logseg_set *s)
{
	uint64_t first = s->have_ckpt ? s->ckpt.seq : 1;
	char path[PATH_MAX];
	size_t removed = 0;
	int err = 0;

	/* A deletion removes the oldest first, so the stale ones end just below first. */
	for (uint64_t q = first - 1; q >= 1 && removed < s->stale; q--) {
		err = tcl_logseg_path(log, q, path);
		if (err)
			return err;
		if (unlink(path) && errno != ENOENT) {
			err = -errno;
			pr_err("log", "%s: %s", path, strerror(-err));
			return err;
		}
		removed++;
	}
	return removed ? tcl_logseg_fsync_dir(log) : 0;
}

int tcl_logseg_move(const char *log, const char *dst)
{
	char from[PATH_MAX], to[PATH_MAX];
	struct tcl_logseg_set s;
	int err;

	err = tcl_logseg_list(log, &s);
	if (err)
		return err;
	for (size_t i = 0; i + 1 < s.n && !err; i++) {
		err = tcl_logseg_path(log, s.seg[i].seq, from);
		if (!err)
			err = tcl_logseg_path(dst, s.seg[i].seq, to);
		if (!err && rename(from, to))
			err = -errno;
	}
	if (!err && s.have_ckpt) {
		err = tcl_logseg_ckpt_path(log, from);
		if (!err)
			err = tcl_logseg_ckpt_path(dst, to);
		if (!err && rename(from, to))
			err = -errno;
	}
	if (!err && rename(log, dst) && errno != ENOENT)
		err = -errno;
	if (!err)
		err = tcl_logseg_fsync_dir(log);
	if (err)
		pr_err("log", "cannot move %s aside to %s: %s", log, dst, strerror(-err));
	tcl_logseg_set_free(&s);
	return err;
}

int tcl_logseg_read(const char *log, uint64_t from, size_t max, uint8_t **buf, size_t *len)
{
	char path[PATH_MAX];
	struct tcl_logseg_set set;
	const struct tcl_logseg *end;
	uint8_t *b = NULL;
	size_t want, got = 0;
	int err, fd;

	*buf = NULL;
	*len = 0;
	err = tcl_logseg_list(log, &set);
	if (err)
		return err;
	end = &set.seg[set.n - 1];
	if (from < set.seg[0].offset || from > end->offset + end->size) {
		err = -ESPIPE;
		goto out;
	}
	want = end->offset + end->size - from < max ? (size_t)(end->offset + end->size - from) :
						       max;
	b = malloc(want ? want : 1);
	if (!b) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < set.n && got < want; i++) {
		const struct tcl_logseg *g = &set.seg[i];
		bool live = i + 1 == set.n;
		ssize_t r;

		if (from + got >= g->offset + g->size && !live)
			continue;
		if (!live) {
			err = tcl_logseg_path(log, g->seq, path);
			if (err)
				goto out;
		}
		fd = open(live ? log : path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err = -errno;
			if (live && err == -ENOENT)
				break;
			goto out;
		}
		/* a closed segment is read to its listed size only; the live one may grow */
		do {
			size_t n = want - got;

			if (!live && from + got + n > g->offset + g->size)
				n = (size_t)(g->offset + g->size - from - got);
			r = pread(fd, b + got, n, (off_t)(from + got - g->offset));
			if (r > 0)
				got += (size_t)r;
		} while ((r > 0 || (r < 0 && errno == EINTR)) && got < want &&
			 (live || from + got < g->offset + g->size));
		err = r < 0 ? -errno : 0;
		close(fd);
		if (err)
			goto out;
		if (!live && from + got < g->offset + g->size)
			break;	/* shorter than listed: cut short, the caller sees fewer bytes */
	}
	*buf = b;
	*len = got;
	b = NULL;
	err = 0;
out:
	free(b);
	tcl_logseg_set_free(&set);
	return err;
}
