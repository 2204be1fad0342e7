// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpf_loader.h"
#include "diag.h"
#include "tcl.skel.h"
#include "util.h"

const char *const tcl_prog_names[TCL_NUM_PROGS] = {
	"tcl_bprm_check",  "tcl_mmap_file",	"tcl_file_mprotect", "tcl_file_open",
	"tcl_path_truncate", "tcl_cgroup_mkdir", "tcl_cgroup_rmdir",
};
const char *const tcl_map_names[TCL_MAP_COUNT] = {
	[TCL_MAP_CONFIG] = "tcl_config",     [TCL_MAP_SCOPE] = "tcl_scope",
	[TCL_MAP_ALLOW] = "tcl_allow",	     [TCL_MAP_DIGESTS] = "tcl_digests",
	[TCL_MAP_INVAL] = "tcl_inval",	     [TCL_MAP_SEEN] = "tcl_seen",
	[TCL_MAP_COUNTERS] = "tcl_counters", [TCL_MAP_EVENTS] = "tcl_events",
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && tcl_verbosity < TCL_DEBUG)
		return 0;
	if (level == LIBBPF_INFO && tcl_verbosity < TCL_INFO)
		return 0;
	fprintf(stderr, "%s: libbpf: ", tcl_prog);
	return vfprintf(stderr, fmt, ap);
}

int tcl_bpf_probe(char *why, size_t len)
{
	struct btf *btf;
	char *lsm = NULL;
	int ret;

	if (tcl_read_file("/sys/kernel/security/lsm", 4096, &lsm, NULL) == 0) {
		bool on = false;

		for (char *tok = strtok(lsm, ",\n"); tok; tok = strtok(NULL, ",\n"))
			on |= !strcmp(tok, "bpf");
		free(lsm);
		if (!on) {
			snprintf(why, len,
				 "the BPF LSM is not active: boot with lsm=...,bpf (see /sys/kernel/security/lsm)");
			return -EOPNOTSUPP;
		}
	}
	ret = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_LSM, NULL);
	if (ret <= 0) {
		snprintf(why, len, "the kernel cannot load BPF LSM programs (CONFIG_BPF_LSM)");
		return -EOPNOTSUPP;
	}
	/* The helper is sleepable-only, which libbpf's helper probe cannot express: look for its
	 * prototype in the kernel's BTF instead. */
	btf = btf__load_vmlinux_btf();
	ret = btf ? btf__find_by_name_kind(btf, "btf_bpf_ima_file_hash", BTF_KIND_TYPEDEF) : -ENOENT;
	btf__free(btf);
	if (ret < 0) {
		snprintf(why, len, "the kernel lacks bpf_ima_file_hash (needs CONFIG_IMA, Linux >= 6.0)");
		return -EOPNOTSUPP;
	}
	return 0;
}

static int pin_path(const char *dir, const char *prefix, const char *name, char *buf)
{
	if (snprintf(buf, PATH_MAX, "%s/%s%s", dir, prefix, name) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

int tcl_bpf_links(const char *pin_dir, struct tcl_bpf_link_state st[TCL_NUM_PROGS])
{
	int attached = 0;

	for (int i = 0; i < TCL_NUM_PROGS; i++) {
		struct bpf_link_info info = {};
		__u32 ilen = sizeof(info);
		char p[PATH_MAX];
		int fd;

		memset(&st[i], 0, sizeof(st[i]));
		if (pin_path(pin_dir, "link_", tcl_prog_names[i], p))
			continue;
		fd = bpf_obj_get(p);
		if (fd < 0)
			continue;
		st[i].pinned = true;
		if (!bpf_obj_get_info_by_fd(fd, &info, &ilen)) {
			st[i].prog_id = info.prog_id;
			st[i].link_id = info.id;
			attached += info.prog_id != 0;
		}
		close(fd);
	}
	return attached;
}

int tcl_bpf_unload(const char *pin_dir)
{
	char p[PATH_MAX];
	int removed = 0;

	for (int i = 0; i < TCL_NUM_PROGS; i++) {
		pin_path(pin_dir, "link_", tcl_prog_names[i], p);
		removed += unlink(p) == 0;
		pin_path(pin_dir, "prog_", tcl_prog_names[i], p);
		removed += unlink(p) == 0;
	}
	for (int i = 0; i < TCL_MAP_COUNT; i++) {
		pin_path(pin_dir, "", tcl_map_names[i], p);
		removed += unlink(p) == 0;
	}
	if (rmdir(pin_dir) && errno != ENOENT && errno != ENOTEMPTY)
		pr_warn("bpf", "cannot remove %s: %s", pin_dir, strerror(errno));
	return removed;
}

static struct tcl_bpf *bpf_new(const char *pin_dir)
{
	struct tcl_bpf *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	for (int i = 0; i < TCL_MAP_COUNT; i++)
		b->map_fd[i] = -1;
	snprintf(b->pin_dir, sizeof(b->pin_dir), "%s", pin_dir);
	return b;
}

int tcl_bpf_open_pinned(const char *pin_dir, struct tcl_bpf **out)
{
	struct tcl_bpf *b = bpf_new(pin_dir);
	struct tcl_config cfg;
	char p[PATH_MAX];
	int ret;

	if (!b)
		return -ENOMEM;
	for (int i = 0; i < TCL_MAP_COUNT; i++) {
		ret = pin_path(pin_dir, "", tcl_map_names[i], p);
		if (ret)
			goto fail;
		b->map_fd[i] = bpf_obj_get(p);
		if (b->map_fd[i] < 0) {
			ret = -errno;
			goto fail;
		}
	}
	ret = tcl_bpf_get_config(b, &cfg);
	if (ret)
		goto fail;
	if (cfg.abi_version != TCL_ABI_VERSION) {
		pr_err("bpf", "pinned state in %s has ABI %u, this build is %u: run tclctl unload --yes",
		       pin_dir, cfg.abi_version, TCL_ABI_VERSION);
		ret = -EPROTO;
		goto fail;
	}
	b->reattached = true;
	*out = b;
	return 0;
fail:
	tcl_bpf_close(b);
	return ret;
}

static int load_fresh(const char *pin_dir, struct tcl_bpf **out)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	struct tcl_bpf *b = bpf_new(pin_dir);
	struct tcl_config cfg = { .abi_version = TCL_ABI_VERSION };
	struct bpf_program *progs[TCL_NUM_PROGS];
	struct tcl_skel *skel = NULL;
	struct timespec now;
	char p[PATH_MAX];
	int ret;

	if (!b)
		return -ENOMEM;
	/* Partial state from an interrupted start or unload would be reused by pin_root_path. */
	tcl_bpf_unload(pin_dir);
	ret = tcl_mkdir_p(pin_dir, 0700);
	if (ret) {
		pr_err("bpf", "cannot create pin dir %s: %s (is bpffs mounted on /sys/fs/bpf?)",
		       pin_dir, strerror(-ret));
		goto fail;
	}
	skel = tcl_skel__open_opts(&opts);
	if (!skel) {
		ret = -errno;
		pr_err("bpf", "cannot open BPF object: %s", strerror(-ret));
		goto fail;
	}
	ret = tcl_skel__load(skel);
	if (ret) {
		pr_err("bpf", "cannot load BPF programs: %s", strerror(-ret));
		goto fail;
	}
	b->skel = skel;
	b->map_fd[TCL_MAP_CONFIG] = bpf_map__fd(skel->maps.tcl_config);
	b->map_fd[TCL_MAP_SCOPE] = bpf_map__fd(skel->maps.tcl_scope);
	b->map_fd[TCL_MAP_ALLOW] = bpf_map__fd(skel->maps.tcl_allow);
	b->map_fd[TCL_MAP_DIGESTS] = bpf_map__fd(skel->maps.tcl_digests);
	b->map_fd[TCL_MAP_INVAL] = bpf_map__fd(skel->maps.tcl_inval);
	b->map_fd[TCL_MAP_SEEN] = bpf_map__fd(skel->maps.tcl_seen);
	b->map_fd[TCL_MAP_COUNTERS] = bpf_map__fd(skel->maps.tcl_counters);
	b->map_fd[TCL_MAP_EVENTS] = bpf_map__fd(skel->maps.tcl_events);
	for (int i = 0; i < TCL_MAP_COUNT; i++)
		b->map_fd[i] = dup(b->map_fd[i]);

	/* Config before attach: the programs must never run with an unset ABI/mode. */
	clock_gettime(CLOCK_BOOTTIME, &now);
	cfg.loaded_at_ns = (uint64_t)now.tv_sec * 1000000000ULL + now.tv_nsec;
	ret = tcl_bpf_set_config(b, &cfg);
	if (ret)
		goto fail;

	progs[0] = skel->progs.tcl_bprm_check;
	progs[1] = skel->progs.tcl_mmap_file;
	progs[2] = skel->progs.tcl_file_mprotect;
	progs[3] = skel->progs.tcl_file_open;
	progs[4] = skel->progs.tcl_path_truncate;
	progs[5] = skel->progs.tcl_cgroup_mkdir;
	progs[6] = skel->progs.tcl_cgroup_rmdir;
	for (int i = 0; i < TCL_NUM_PROGS; i++) {
		struct bpf_link *link = bpf_program__attach(progs[i]);

		if (!link) {
			ret = -errno;
			pr_err("bpf", "cannot attach %s: %s", tcl_prog_names[i], strerror(-ret));
			goto fail;
		}
		pin_path(pin_dir, "prog_", tcl_prog_names[i], p);
		ret = bpf_program__pin(progs[i], p);
		if (!ret) {
			pin_path(pin_dir, "link_", tcl_prog_names[i], p);
			ret = bpf_link__pin(link, p);
		}
		/* The pinned link keeps the program attached; our handle can go. */
		bpf_link__destroy(link);
		if (ret) {
			pr_err("bpf", "cannot pin %s under %s: %s", tcl_prog_names[i], pin_dir,
			       strerror(-ret));
			goto fail;
		}
	}
	*out = b;
	return 0;
fail:
	if (b->skel) {
		b->skel = NULL;
	}
	tcl_bpf_close(b);
	tcl_skel__destroy(skel);
	tcl_bpf_unload(pin_dir);
	return ret;
}

int tcl_bpf_open(const char *pin_dir, struct tcl_bpf **out)
{
	struct tcl_bpf_link_state st[TCL_NUM_PROGS];
	int ret;

	libbpf_set_print(libbpf_print);
	if (tcl_bpf_links(pin_dir, st) == TCL_NUM_PROGS) {
		ret = tcl_bpf_open_pinned(pin_dir, out);
		if (ret == 0) {
			pr_info("bpf", "re-attached to the programs pinned in %s", pin_dir);
			return 0;
		}
		if (ret == -EPROTO)
			return ret;
		pr_warn("bpf", "pinned state in %s is incomplete (%s): loading afresh", pin_dir,
			strerror(-ret));
	}
	return load_fresh(pin_dir, out);
}

void tcl_bpf_close(struct tcl_bpf *b)
{
	if (!b)
		return;
	for (int i = 0; i < TCL_MAP_COUNT; i++)
		if (b->map_fd[i] >= 0)
			close(b->map_fd[i]);
	/* Destroying the skeleton drops our references only: the pins keep everything alive. */
	if (b->skel)
		tcl_skel__destroy(b->skel);
	free(b);
}

int tcl_bpf_get_config(struct tcl_bpf *b, struct tcl_config *cfg)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(b->map_fd[TCL_MAP_CONFIG], &zero, cfg) ? -errno : 0;
}

int tcl_bpf_set_config(struct tcl_bpf *b, const struct tcl_config *cfg)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(b->map_fd[TCL_MAP_CONFIG], &zero, cfg, BPF_ANY)) {
		pr_err("bpf", "cannot write config map: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int tcl_bpf_counters(struct tcl_bpf *b, uint64_t out[TCL_CNT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (__u32 k = 0; k < TCL_CNT_MAX; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(b->map_fd[TCL_MAP_COUNTERS], &k, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	free(vals);
	return 0;
}
