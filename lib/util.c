// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "util.h"

int tcl_sha256_fd(int fd, uint8_t out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t buf[1 << 16];
	unsigned int len = 32;
	int ret = 0;
	ssize_t n;

	if (!ctx)
		return -ENOMEM;
	if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		ret = -EIO;
		goto out;
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out;
		}
		EVP_DigestUpdate(ctx, buf, n);
	}
	if (!EVP_DigestFinal_ex(ctx, out, &len))
		ret = -EIO;
out:
	EVP_MD_CTX_free(ctx);
	return ret;
}

int tcl_sha256_file(const char *path, uint8_t out[32])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int ret;

	if (fd < 0)
		return -errno;
	ret = tcl_sha256_fd(fd, out);
	close(fd);
	return ret;
}

int tcl_mkdir_p(const char *path, unsigned int mode)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

void tcl_rfc3339(int64_t sec, long nsec, char *buf, size_t len)
{
	time_t t = sec;
	struct tm tm;
	char base[24];

	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09ldZ", base, nsec);
}

void tcl_boot_to_wall(uint64_t boot_ns, int64_t *sec, long *nsec)
{
	struct timespec rt, bt;
	int64_t now_rt, now_bt, wall;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	now_rt = (int64_t)rt.tv_sec * 1000000000LL + rt.tv_nsec;
	now_bt = (int64_t)bt.tv_sec * 1000000000LL + bt.tv_nsec;
	wall = now_rt - (now_bt - (int64_t)boot_ns);
	*sec = wall / 1000000000LL;
	*nsec = wall % 1000000000LL;
}

bool tcl_is_elf(int fd)
{
	char magic[4];

	return pread(fd, magic, 4, 0) == 4 && memcmp(magic, "\x7f" "ELF", 4) == 0;
}

int tcl_parse_hostport(const char *addr, char *host, size_t len, uint16_t *port)
{
	const char *colon, *h = addr;
	size_t hl;
	char *end;
	long v;

	if (addr[0] == '[') {
		const char *rb = strchr(addr, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		h = addr + 1;
		hl = rb - h;
		colon = rb + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return -EINVAL;
		hl = colon - addr;
	}
	if (!hl || hl >= len || colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(colon + 1, &end, 10);
	if (errno || *end || v < 1 || v > 65535)
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (uint16_t)v;
	return 0;
}
