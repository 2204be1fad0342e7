// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "runtime.h"
#include "util.h"

static const char *const runtime_names[] = { "runc", "crun", "containerd-shim-runc-v2", "conmon" };
static const char *const bin_dirs[] = { "/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
					"/usr/bin", "/sbin", "/bin" };
static const char *const lib_dirs[] = { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
					"/lib64", "/usr/lib64", "/lib", "/usr/lib",
					"/usr/local/lib" };

#define MAX_DEPS 64

struct visit {
	char *seen[MAX_DEPS * 2];
	size_t n;
};

static bool visited(struct visit *v, const char *real)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->seen[i], real))
			return true;
	if (v->n < MAX_DEPS * 2)
		v->seen[v->n++] = strdup(real);
	return false;
}

static int add_file(struct tcl_policy *p, struct visit *v, const char *path, int depth);

static int add_needed(struct tcl_policy *p, struct visit *v, Elf *elf, int depth)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t phnum;
	int added = 0;

	/* The ELF interpreter (ld.so) maps the program: it is as much a part of it. */
	if (elf_getphdrnum(elf, &phnum) == 0) {
		for (size_t i = 0; i < phnum; i++) {
			GElf_Phdr ph;
			size_t len;
			char *raw;

			if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_INTERP)
				continue;
			raw = elf_rawfile(elf, &len);
			if (raw && ph.p_offset + ph.p_filesz <= len && ph.p_filesz > 1 &&
			    ph.p_filesz < PATH_MAX && raw[ph.p_offset + ph.p_filesz - 1] == '\0') {
				int r = add_file(p, v, raw + ph.p_offset, depth + 1);

				added += r > 0 ? r : 0;
			}
		}
	}
	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC)
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < sh.sh_size / (sh.sh_entsize ? sh.sh_entsize : 1);
		     i++) {
			GElf_Dyn dyn;
			const char *name;

			if (!gelf_getdyn(data, i, &dyn) || dyn.d_tag != DT_NEEDED)
				continue;
			name = elf_strptr(elf, sh.sh_link, dyn.d_un.d_val);
			if (!name || strchr(name, '/'))
				continue;
			for (size_t d = 0; d < sizeof(lib_dirs) / sizeof(lib_dirs[0]); d++) {
				char lib[PATH_MAX];
				int r;

				snprintf(lib, sizeof(lib), "%s/%s", lib_dirs[d], name);
				if (access(lib, R_OK))
					continue;
				r = add_file(p, v, lib, depth + 1);
				added += r > 0 ? r : 0;
				break;
			}
		}
	}
	return added;
}

static int add_file(struct tcl_policy *p, struct visit *v, const char *path, int depth)
{
	char real[PATH_MAX];
	uint8_t sha[32];
	Elf *elf = NULL;
	int fd, ret, added = 0;

	if (depth > 8 || !realpath(path, real))
		return 0;
	if (visited(v, real))
		return 0;
	fd = open(real, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ret = tcl_sha256_fd(fd, sha);
	if (ret)
		goto out;
	ret = tcl_policy_add(p, sha, real);
	if (ret)
		goto out;
	added = 1;
	/* The link names (e.g. /lib64/ld-linux-x86-64.so.2) hash the same as their targets. */
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf && elf_kind(elf) == ELF_K_ELF)
		added += add_needed(p, v, elf, depth);
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return ret ? ret : added;
}

int tcl_runtime_allow_elf(struct tcl_policy *p, const char *path)
{
	struct visit v = { .n = 0 };
	int ret;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOTSUP;
	ret = add_file(p, &v, path, 0);
	for (size_t i = 0; i < v.n; i++)
		free(v.seen[i]);
	return ret;
}

int tcl_runtime_allow(struct tcl_policy *p)
{
	struct visit v = { .n = 0 };
	int total = 0, ret = 0;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOTSUP;
	/* One visit set for all: /bin and /usr/bin are often the same directory. */
	for (size_t r = 0; r < sizeof(runtime_names) / sizeof(runtime_names[0]); r++) {
		for (size_t d = 0; d < sizeof(bin_dirs) / sizeof(bin_dirs[0]); d++) {
			char path[PATH_MAX];
			int n;

			snprintf(path, sizeof(path), "%s/%s", bin_dirs[d], runtime_names[r]);
			if (access(path, X_OK))
				continue;
			n = add_file(p, &v, path, 0);
			if (n < 0) {
				ret = n;
				goto out;
			}
			if (n > 0)
				pr_info("policy", "allowing runtime %s (%d files with its libraries)",
					path, n);
			total += n;
		}
	}
	ret = total;
out:
	for (size_t i = 0; i < v.n; i++)
		free(v.seen[i]);
	return ret;
}
