// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <syslog.h>
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
	"tcl_path_truncate", "tcl_cgroup_mkdir", "tcl_cgroup_rmdir", "tcl_guard_map",
	"tcl_guard_prog",  "tcl_guard_bpf",	"tcl_guard_inode",   "tcl_guard_unlink",
	"tcl_guard_rename", "tcl_guard_ptrace", "tcl_file_truncate",
};
const char *const tcl_map_names[TCL_MAP_COUNT] = {
	[TCL_MAP_CONFIG] = "tcl_config",     [TCL_MAP_SCOPE] = "tcl_scope",
	[TCL_MAP_ALLOW] = "tcl_allow",	     [TCL_MAP_DIGESTS] = "tcl_digests",
	[TCL_MAP_INVAL] = "tcl_inval",	     [TCL_MAP_SEEN] = "tcl_seen",
	[TCL_MAP_COUNTERS] = "tcl_counters", [TCL_MAP_EVENTS] = "tcl_events",
	[TCL_MAP_GUARD] = "tcl_guard",	     [TCL_MAP_EXEC_MAPPED] = "tcl_exec_mapped",
	[TCL_MAP_STATS] = "tcl_stats",
};

/* Programs on hooks that only some kernels have: the hook's BTF name, NULL for all others. */
static const char *const prog_hook[TCL_NUM_PROGS] = {
	[14] = "bpf_lsm_file_truncate", /* Linux >= 6.2: ftruncate no longer calls path_truncate */
};

bool tcl_bpf_prog_supported(int i)
{
	static int known[TCL_NUM_PROGS]; /* 0 unknown, 1 yes, -1 no */
	struct btf *btf;

	if (i < 0 || i >= TCL_NUM_PROGS)
		return false;
	if (!prog_hook[i])
		return true;
	if (!known[i]) {
		btf = btf__load_vmlinux_btf();
		known[i] = btf && btf__find_by_name_kind(btf, prog_hook[i], BTF_KIND_FUNC) >= 0 ?
				   1 : -1;
		btf__free(btf);
	}
	return known[i] > 0;
}

int tcl_bpf_expected_progs(void)
{
	int n = 0;

	for (int i = 0; i < TCL_NUM_PROGS; i++)
		n += tcl_bpf_prog_supported(i);
	return n;
}

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
		if (!tcl_bpf_prog_supported(i) || pin_path(pin_dir, "link_", tcl_prog_names[i], p))
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

static int unpin_all(const char *pin_dir)
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

int tcl_bpf_unload(const char *pin_dir)
{
	char comm[64] = "?", *text = NULL;
	int removed, err;

	if (tcl_read_file("/proc/self/comm", sizeof(comm), &text, NULL) == 0) {
		snprintf(comm, sizeof(comm), "%s", text);
		comm[strcspn(comm, "\n")] = '\0';
		free(text);
	}
	/* Said before acting: a removal that fails half-way is still an attempt worth a line. */
	syslog(LOG_AUTHPRIV | LOG_WARNING,
	       "tcl: unload of %s requested by uid %u pid %d ppid %d (%s): enforcement ends",
	       pin_dir, (unsigned)getuid(), (int)getpid(), (int)getppid(), comm);
	removed = unpin_all(pin_dir);
	err = errno;
	syslog(LOG_AUTHPRIV | LOG_WARNING, "tcl: %d pins under %s removed by pid %d", removed,
	       pin_dir, (int)getpid());
	errno = err;
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
		if (i != TCL_MAP_CONFIG)
			continue;
		/* The ABI first: another ABI's state may lack maps of this one. */
		ret = tcl_bpf_get_config(b, &cfg);
		if (ret)
			goto fail;
		if (cfg.abi_version != TCL_ABI_VERSION) {
			pr_err("bpf", "pinned state in %s has ABI %u, this build is %u: run tclctl "
			       "unload --yes", pin_dir, cfg.abi_version, TCL_ABI_VERSION);
			ret = -EPROTO;
			goto fail;
		}
	}
	b->reattached = true;
	*out = b;
	return 0;
fail:
	tcl_bpf_close(b);
	return ret;
}

static int load_fresh(const char *pin_dir, uint32_t max_digests, struct tcl_bpf **out)
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
	unpin_all(pin_dir);
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
	/* Preallocated (the kernel's default), although that reserves the whole capacity: the
	 * sleepable programs read this map, and hash maps without preallocation became usable
	 * from sleepable programs only with 6.1's new BPF memory allocator. With
	 * BPF_F_NO_PREALLOC, 6.1 guests showed soft lockups of processes starting containers
	 * (twice in about ten boots), never seen with preallocation. --max-digests sizes it. */
	if (!tcl_bpf_prog_supported(14))
		bpf_program__set_autoload(skel->progs.tcl_file_truncate, false);
	ret = bpf_map__set_max_entries(skel->maps.tcl_allow, max_digests);
	if (ret) {
		pr_err("bpf", "cannot size the allow map to %u digests: %s", max_digests,
		       strerror(-ret));
		goto fail;
	}
	ret = tcl_skel__load(skel);
	if (ret) {
		pr_err("bpf", "cannot load BPF programs: %s%s", strerror(-ret),
		       ret == -ENOMEM || ret == -E2BIG ? " (is --max-digests too large?)" : "");
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
	b->map_fd[TCL_MAP_GUARD] = bpf_map__fd(skel->maps.tcl_guard);
	b->map_fd[TCL_MAP_EXEC_MAPPED] = bpf_map__fd(skel->maps.tcl_exec_mapped);
	b->map_fd[TCL_MAP_STATS] = bpf_map__fd(skel->maps.tcl_stats);
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
	progs[7] = skel->progs.tcl_guard_map;
	progs[8] = skel->progs.tcl_guard_prog;
	progs[9] = skel->progs.tcl_guard_bpf;
	progs[10] = skel->progs.tcl_guard_inode;
	progs[11] = skel->progs.tcl_guard_unlink;
	progs[12] = skel->progs.tcl_guard_rename;
	progs[13] = skel->progs.tcl_guard_ptrace;
	progs[14] = skel->progs.tcl_file_truncate;
	for (int i = 0; i < TCL_NUM_PROGS; i++) {
		struct bpf_link *link;

		if (!tcl_bpf_prog_supported(i))
			continue;
		link = bpf_program__attach(progs[i]);

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
	unpin_all(pin_dir);
	return ret;
}

/* The kernel's dev_t encoding (MKDEV), which is what inode->i_sb->s_dev holds. */
static uint64_t kernel_dev(dev_t d)
{
	return ((uint64_t)major(d) << 20) | minor(d);
}

/* Our start time as /proc/self/stat field 22 gives it: clock ticks after boot. */
static int start_ticks(uint64_t *out)
{
	char *text = NULL, *p;
	int ret;

	ret = tcl_read_file("/proc/self/stat", 4096, &text, NULL);
	if (ret)
		return ret;
	/* comm may hold spaces and parentheses: fields resume after the last ')'. */
	p = strrchr(text, ')');
	ret = -EPROTO;
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p && sscanf(p + 1, "%" SCNu64, out) == 1)
		ret = 0;
	free(text);
	return ret;
}

static int guard_add(struct tcl_bpf *b, uint32_t kind, uint64_t id)
{
	struct tcl_guard_key k = { .kind = kind, .id = id };
	uint8_t one = 1;

	if (bpf_map_update_elem(b->map_fd[TCL_MAP_GUARD], &k, &one, BPF_ANY)) {
		pr_err("bpf", "cannot add to the guard set: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* The pin at prefix+name: its inode, and the id of the map, program or link behind it. */
static int guard_pin(struct tcl_bpf *b, const char *prefix, const char *name, uint32_t kind)
{
	union {
		struct bpf_map_info map;
		struct bpf_prog_info prog;
		struct bpf_link_info link;
	} info;
	__u32 len = sizeof(info);
	char p[PATH_MAX];
	struct stat st;
	int fd, ret;

	ret = pin_path(b->pin_dir, prefix, name, p);
	if (ret)
		return ret;
	if (stat(p, &st)) {
		pr_err("bpf", "cannot stat pin %s: %s", p, strerror(errno));
		return -errno;
	}
	ret = guard_add(b, TCL_GUARD_INODE, st.st_ino);
	if (ret)
		return ret;
	fd = bpf_obj_get(p);
	if (fd < 0) {
		pr_err("bpf", "cannot open pin %s: %s", p, strerror(errno));
		return -errno;
	}
	memset(&info, 0, sizeof(info));
	ret = bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno : 0;
	close(fd);
	if (ret) {
		pr_err("bpf", "cannot read the id of %s: %s", p, strerror(-ret));
		return ret;
	}
	switch (kind) {
	case TCL_GUARD_MAP:
		return guard_add(b, kind, info.map.id);
	case TCL_GUARD_PROG:
		return guard_add(b, kind, info.prog.id);
	default:
		ret = guard_add(b, TCL_GUARD_PROG, info.link.prog_id);
		return ret ? ret : guard_add(b, TCL_GUARD_LINK, info.link.id);
	}
}

/*
 * Fill the guard set and register this process as the agent. Maps that are not pinned (scratch
 * space, .rodata) are only reachable through the object right after a fresh load; they stay in
 * the pinned guard set for later agents.
 */
static int guard_arm(struct tcl_bpf *b)
{
	struct tcl_skel *skel = b->skel;
	struct tcl_config cfg;
	uint64_t start;
	struct stat st;
	int ret;

	if (skel) {
		struct bpf_program *prog;
		struct bpf_map *map;

		bpf_object__for_each_map(map, skel->obj) {
			struct bpf_map_info info = {};
			__u32 len = sizeof(info);

			if (bpf_map__fd(map) < 0 ||
			    bpf_obj_get_info_by_fd(bpf_map__fd(map), &info, &len))
				continue;
			ret = guard_add(b, TCL_GUARD_MAP, info.id);
			if (ret)
				return ret;
		}
		bpf_object__for_each_program(prog, skel->obj) {
			struct bpf_prog_info info = {};
			__u32 len = sizeof(info);

			if (bpf_program__fd(prog) < 0 ||
			    bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
				continue;
			ret = guard_add(b, TCL_GUARD_PROG, info.id);
			if (ret)
				return ret;
		}
	}
	if (stat(b->pin_dir, &st)) {
		pr_err("bpf", "cannot stat %s: %s", b->pin_dir, strerror(errno));
		return -errno;
	}
	ret = guard_add(b, TCL_GUARD_INODE, st.st_ino);
	for (int i = 0; !ret && i < TCL_MAP_COUNT; i++)
		ret = guard_pin(b, "", tcl_map_names[i], TCL_GUARD_MAP);
	for (int i = 0; !ret && i < TCL_NUM_PROGS; i++) {
		if (!tcl_bpf_prog_supported(i))
			continue;
		ret = guard_pin(b, "prog_", tcl_prog_names[i], TCL_GUARD_PROG);
		if (!ret)
			ret = guard_pin(b, "link_", tcl_prog_names[i], TCL_GUARD_LINK);
	}
	if (ret)
		return ret;

	ret = tcl_bpf_get_config(b, &cfg);
	if (ret)
		return ret;
	ret = start_ticks(&start);
	if (ret) {
		pr_err("bpf", "cannot read this process's start time: %s", strerror(-ret));
		return ret;
	}
	cfg.agent_start = start;
	cfg.agent_tgid = getpid();
	cfg.pin_dev = kernel_dev(st.st_dev);
	ret = tcl_bpf_set_config(b, &cfg);
	if (!ret)
		b->agent = true;
	return ret;
}

static uint32_t allow_capacity(struct tcl_bpf *b)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(b->map_fd[TCL_MAP_ALLOW], &info, &len))
		return 0;
	return info.max_entries;
}

int tcl_bpf_open_opts(const char *pin_dir, const struct tcl_bpf_opts *opts, struct tcl_bpf **out)
{
	uint32_t want = opts && opts->max_digests ? opts->max_digests : TCL_DEFAULT_MAX_DIGESTS;
	struct tcl_bpf_link_state st[TCL_NUM_PROGS];
	struct tcl_bpf *b = NULL;
	int ret;

	libbpf_set_print(libbpf_print);
	if (tcl_bpf_links(pin_dir, st) == tcl_bpf_expected_progs()) {
		ret = tcl_bpf_open_pinned(pin_dir, &b);
		if (ret == 0)
			pr_info("bpf", "re-attached to the programs pinned in %s", pin_dir);
		else if (ret == -EPROTO)
			return ret;
		else
			pr_warn("bpf", "pinned state in %s is incomplete (%s): loading afresh",
				pin_dir, strerror(-ret));
	}
	if (!b) {
		ret = load_fresh(pin_dir, want, &b);
		if (ret)
			return ret;
	}
	b->max_digests = allow_capacity(b);
	if (b->reattached && opts && opts->max_digests && b->max_digests != want)
		pr_warn("bpf", "the pinned allow map holds %u digests, not %u: the new size "
			"applies after `tclctl unload --yes` and a restart", b->max_digests, want);
	ret = guard_arm(b);
	if (ret) {
		pr_err("bpf", "cannot arm self-protection: %s", strerror(-ret));
		tcl_bpf_close(b);
		return ret;
	}
	*out = b;
	return 0;
}

int tcl_bpf_open(const char *pin_dir, struct tcl_bpf **out)
{
	return tcl_bpf_open_opts(pin_dir, NULL, out);
}

void tcl_bpf_close(struct tcl_bpf *b)
{
	struct tcl_config cfg;

	if (!b)
		return;
	/* The next agent registers itself; until then no process is exempt by identity. */
	if (b->agent && !tcl_bpf_get_config(b, &cfg) && cfg.agent_tgid == (uint32_t)getpid()) {
		cfg.agent_tgid = 0;
		cfg.agent_start = 0;
		tcl_bpf_set_config(b, &cfg);
	}
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

/* Sum over CPUs of the first n elements of a per-CPU array of u64. */
static int percpu_sums(int fd, uint32_t n, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (__u32 k = 0; k < n; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	free(vals);
	return 0;
}

int tcl_bpf_counters(struct tcl_bpf *b, uint64_t out[TCL_CNT_MAX])
{
	return percpu_sums(b->map_fd[TCL_MAP_COUNTERS], TCL_CNT_MAX, out);
}

int tcl_bpf_stats(struct tcl_bpf *b, uint64_t out[TCL_STAT_MAX])
{
	return percpu_sums(b->map_fd[TCL_MAP_STATS], TCL_STAT_MAX, out);
}
