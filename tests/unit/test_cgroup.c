// SPDX-License-Identifier: GPL-2.0
/* Cgroup path -> container attribution over a table of real-world layouts; id <-> path on the
 * host's own cgroup2 mount. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgroup.h"
#include "data/cgroup_cases.h"

#define ID "8b8cdc1f2c3b4a5d6e7f80912a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d"
#define ID2 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID63 "8b8cdc1f2c3b4a5d6e7f80912a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5"
#define ID65 ID "e"
#define IDUP "8B8CDC1F2C3B4A5D6E7F80912A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D"
#define UID "5f1d7b3e-09a2-4c6e-8d4f-7a1b2c3d4e5f"
#define UID_ "5f1d7b3e_09a2_4c6e_8d4f_7a1b2c3d4e5f"
/* static pods: UID is the hex of a hash of the manifest */
#define SUID "e0c9a1b2c3d4e5f60718293a4b5c6d7e"

#define BURST "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice"
#define BEST "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_ ".slice"
#define GUAR "/kubepods.slice/kubepods-pod" UID_ ".slice"

enum { CD = TCL_RT_CONTAINERD, CRIO = TCL_RT_CRIO, DOCK = TCL_RT_DOCKER, UNK = TCL_RT_UNKNOWN,
       NONE = TCL_RT_NONE };
enum { QG = TCL_QOS_GUARANTEED, QBU = TCL_QOS_BURSTABLE, QBE = TCL_QOS_BESTEFFORT,
       QN = TCL_QOS_NONE };

struct row {
	const char *path;
	int ret;
	int rt;
	int qos;
	const char *id;
	const char *uid;
};

static const struct row rows[] = {
	/* systemd cgroup driver */
	{ BURST "/cri-containerd-" ID ".scope", 0, CD, QBU, ID, UID },
	{ BEST "/crio-" ID ".scope", 0, CRIO, QBE, ID, UID },
	{ BURST "/docker-" ID ".scope", 0, DOCK, QBU, ID, UID },
	{ GUAR "/cri-containerd-" ID ".scope", 0, CD, QG, ID, UID },
	{ GUAR "/crio-" ID ".scope", 0, CRIO, QG, ID, UID },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" SUID ".slice/"
	  "cri-containerd-" ID ".scope", 0, CD, QBU, ID, SUID },
	/* kubelet --cgroup-root=/kubelet.slice (kind, some distributions) */
	{ "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
	  "kubelet-kubepods-besteffort-pod" UID_ ".slice/cri-containerd-" ID ".scope",
	  0, CD, QBE, ID, UID },
	{ "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod" UID_ ".slice/crio-" ID
	  ".scope", 0, CRIO, QG, ID, UID },
	/* below the container: same container */
	{ BURST "/cri-containerd-" ID ".scope/init", 0, CD, QBU, ID, UID },
	{ BEST "/crio-" ID ".scope/container/system.slice/x.service", 0, CRIO, QBE, ID, UID },
	/* cgroupfs driver: containerd and dockershim both use the bare id */
	{ "/kubepods/burstable/pod" UID "/" ID, 0, UNK, QBU, ID, UID },
	{ "/kubepods/besteffort/pod" UID "/crio-" ID, 0, CRIO, QBE, ID, UID },
	{ "/kubepods/pod" UID "/" ID, 0, UNK, QG, ID, UID },
	{ "/kubepods/pod" UID "/crio-" ID, 0, CRIO, QG, ID, UID },
	{ "/kubepods/besteffort/pod" SUID "/" ID, 0, UNK, QBE, ID, SUID },
	{ "/kubelet/kubepods/burstable/pod" UID "/" ID "/sub", 0, UNK, QBU, ID, UID },
	{ "/kubepods/burstable/pod" UID "/cri-containerd-" ID ".scope", 0, CD, QBU, ID, UID },
	/* containerd without SystemdCgroup: runc takes "slice:prefix:id" literally */
	{ "/system.slice/containerd.service/kubepods-burstable-pod" UID_ ".slice:cri-containerd:"
	  ID, 0, CD, QBU, ID, UID },
	{ "/kubepods-besteffort-pod" UID_ ".slice:cri-containerd:" ID, 0, CD, QBE, ID, UID },
	{ "/kubepods-pod" UID_ ".slice:crio:" ID "/init", 0, CRIO, QG, ID, UID },
	{ BURST "/kubepods-burstable-pod" UID_ ".slice:cri-containerd:" ID, 0, CD, QBU, ID, UID },
	{ "/system.slice:docker:" ID, 0, DOCK, QN, ID, "" },
	/* docker outside Kubernetes */
	{ "/system.slice/docker-" ID ".scope", 0, DOCK, QN, ID, "" },
	{ "/docker/" ID, 0, DOCK, QN, ID, "" },
	{ "docker/" ID "/", 0, DOCK, QN, ID, "" },
	{ "//docker//" ID, 0, DOCK, QN, ID, "" },
	/* the outermost container owns everything below it (kind node without cgroupns) */
	{ "/system.slice/docker-" ID2 ".scope/kubepods/burstable/pod" UID "/" ID, 0, DOCK, QN, ID2,
	  "" },
	{ "/docker/" ID2 "/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" ID ".scope",
	  0, DOCK, QN, ID2, "" },

	/* host cgroups */
	{ "/", -ENOENT, NONE, QN, "", "" },
	{ "/init.scope", -ENOENT, NONE, QN, "", "" },
	{ "/system.slice/containerd.service", -ENOENT, NONE, QN, "", "" },
	{ "/system.slice/docker.service", -ENOENT, NONE, QN, "", "" },
	{ "/system.slice/docker-registry.service", -ENOENT, NONE, QN, "", "" },
	{ "/system.slice/crio.service", -ENOENT, NONE, QN, "", "" },
	{ "/user.slice/user-1000.slice/user@1000.service/app.slice/dbus.socket", -ENOENT, NONE, QN,
	  "", "" },
	{ "/user.slice/user-0.slice/session-3.scope", -ENOENT, NONE, QN, "", "" },
	/* Kubernetes levels that are not containers */
	{ "/kubepods.slice", -ENOENT, NONE, QN, "", "" },
	{ "/kubepods.slice/kubepods-burstable.slice", -ENOENT, NONE, QBU, "", "" },
	{ BURST, -ENOENT, NONE, QBU, "", UID },
	{ GUAR "/", -ENOENT, NONE, QG, "", UID },
	{ "/kubepods", -ENOENT, NONE, QN, "", "" },
	{ "/kubepods/besteffort/pod" UID, -ENOENT, NONE, QBE, "", UID },
	{ "/docker", -ENOENT, NONE, QN, "", "" },
	/* conmon is CRI-O's monitor process, not the container */
	{ BURST "/crio-conmon-" ID ".scope", -ENOENT, NONE, QBU, "", UID },
	{ "/system.slice/crio-conmon-" ID ".scope", -ENOENT, NONE, QN, "", "" },
	{ "/kubepods/pod" UID "/crio-conmon-" ID, -ENOENT, NONE, QG, "", UID },
	{ "/machine.slice/libpod-conmon-" ID ".scope", -ENOENT, NONE, QN, "", "" },

	/* container-ish but not a layout we know: never guessed */
	{ BURST "/cri-containerd-" ID63 ".scope", -EPROTO, NONE, QN, "", "" },
	{ BURST "/cri-containerd-" ID65 ".scope", -EPROTO, NONE, QN, "", "" },
	{ BURST "/cri-containerd-" IDUP ".scope", -EPROTO, NONE, QN, "", "" },
	{ "/system.slice/docker-" ID63 ".scope", -EPROTO, NONE, QN, "", "" },
	{ "/kubepods/burstable/pod" UID "/" ID63, -EPROTO, NONE, QN, "", "" },
	{ "/kubepods/burstable/pod" UID "/crio-" ID65, -EPROTO, NONE, QN, "", "" },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-besteffort-pod" UID_ ".slice/"
	  "crio-" ID ".scope", -EPROTO, NONE, QN, "", "" },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID ".slice/"
	  "crio-" ID ".scope", -EPROTO, NONE, QN, "", "" },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podxyz.slice",
	  -EPROTO, NONE, QN, "", "" },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ "0.slice",
	  -EPROTO, NONE, QN, "", "" },
	{ "/kubepods.slice/system.slice", -EPROTO, NONE, QN, "", "" },
	{ "/kubepods.slice/cri-containerd-" ID ".scope", -EPROTO, NONE, QN, "", "" },
	{ BURST "/" ID, -EPROTO, NONE, QN, "", "" },
	{ BURST "/something.scope", -EPROTO, NONE, QN, "", "" },
	{ "/kubepods/guaranteed/pod" UID "/" ID, -EPROTO, NONE, QN, "", "" },
	{ "/kubepods/burstable/pod" UID_ "/" ID, -EPROTO, NONE, QN, "", "" },
	{ "/kubepods-burstable.slice", -EPROTO, NONE, QN, "", "" },
	{ "/kubelet-kubepods.slice/kubelet-kubepods-pod" UID_ ".slice", -EPROTO, NONE, QN, "", "" },
	{ "/docker/not-an-id", -EPROTO, NONE, QN, "", "" },
	{ "/k8s.io/" ID, -EPROTO, NONE, QN, "", "" },
	{ "/machine.slice/libpod-" ID ".scope", -EPROTO, NONE, QN, "", "" },
	{ "/kubepods-burstable-pod" UID_ ".slice:cri-containerd:" ID63, -EPROTO, NONE, QN, "", "" },
	{ "/kubepods-burstable-podzz.slice:cri-containerd:" ID, -EPROTO, NONE, QN, "", "" },
	{ BEST "/kubepods-burstable-pod" UID_ ".slice:cri-containerd:" ID, -EPROTO, NONE, QN,
	  "", "" },
	{ "/kubepods-burstable-pod" UID_ ".service:crio:" ID, -EPROTO, NONE, QN, "", "" },

	/* malformed input */
	{ "", -EINVAL, NONE, QN, "", "" },
	{ "/docker/" ID "/../x", -EINVAL, NONE, QN, "", "" },
	{ "/kubepods/./burstable", -EINVAL, NONE, QN, "", "" },
};

static void test_table(void **state)
{
	unsigned ok = 0;

	assert_int_equal(strlen(ID), 64);
	assert_int_equal(strlen(ID2), 64);
	assert_int_equal(strlen(ID63), 63);
	assert_int_equal(strlen(UID), 36);
	assert_int_equal(strlen(SUID), 32);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct tcl_cgroup_info ci;
		int ret;

		memset(&ci, 0xa5, sizeof(ci));
		ret = tcl_cgroup_parse(r->path, &ci);
		if (ret != r->ret || (int)ci.runtime != r->rt || (int)ci.qos != r->qos ||
		    strcmp(ci.container_id, r->id) || strcmp(ci.pod_uid, r->uid)) {
			print_error("row %zu: %s\n"
				    "  got ret %d rt %s qos %s id '%.64s' uid '%.36s'\n"
				    "  want ret %d rt %s qos %s id '%s' uid '%s'\n",
				    i, r->path, ret, tcl_runtime_name(ci.runtime),
				    tcl_qos_name(ci.qos), ci.container_id, ci.pod_uid, r->ret,
				    tcl_runtime_name(r->rt), tcl_qos_name(r->qos), r->id, r->uid);
			fail();
		}
		ok++;
	}
	assert_true(ok >= 25);
}

/*
 * The shared table (data/cgroup_cases.h): the grammar as the kernel runs it on a name and its
 * parent, and the whole-path parser on the same cgroup; the guest runs the same rows through the
 * BPF build (tests/guest/test_grammar.sh).
 */
static void test_shared_cases(void **state)
{
	unsigned bad = 0;

	for (size_t i = 0; i < TCL_CG_N_CASES; i++) {
		const struct tcl_cg_case *c = &tcl_cg_cases[i];
		struct tcl_cgroup_info ci;
		struct tcl_cg_match m;
		const char *name, *parent;
		int len, plen, kind, ret;
		char id[TCL_CG_ID_LEN + 1] = "";

		tcl_cg_case_split(c->path, &name, &len, &parent, &plen);
		kind = tcl_cg_classify(name, len, parent, plen, &m);
		if (kind == TCL_CG_CONTAINER)
			snprintf(id, sizeof(id), "%.64s", name + m.id);
		ret = tcl_cgroup_parse(c->path, &ci);
		if (kind != c->kind || m.kind != kind ||
		    (kind == TCL_CG_CONTAINER && m.rt != c->rt) || strcmp(id, c->id) ||
		    ret != c->user || (ret == 0 && strcmp(ci.container_id, c->id)) ||
		    /* what the kernel puts in scope, user space never calls host */
		    (kind == TCL_CG_CONTAINER && ret == -ENOENT)) {
			print_error("case %zu: %s\n  got kind %d rt %d id '%s' parse %d\n"
				    "  want kind %d rt %d id '%s' parse %d\n",
				    i, c->path, kind, m.rt, id, ret, c->kind, c->rt, c->id,
				    c->user);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
	assert_true(TCL_CG_N_CASES >= 40);
}

/* The grammar reads nothing outside the name it is given (ASan watches the heap copy). */
static void test_grammar_bounds(void **state)
{
	static const char *const names[] = {
		"crio-conmon-", "libpod-", "cri-containerd-" ID, ".scope", ":", "::", "a:crio:",
		"x.slice:cri-containerd:" ID63, "conmon", ID, "pod",
	};
	static const char *const parents[] = { "", "pod", "docker", "libpod_parent", "p" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		for (size_t j = 0; j < sizeof(parents) / sizeof(parents[0]); j++) {
			size_t n = strlen(names[i]), pn = strlen(parents[j]);
			char *a = malloc(n ? n : 1), *b = malloc(pn ? pn : 1);
			struct tcl_cg_match m;

			assert_non_null(a);
			assert_non_null(b);
			memcpy(a, names[i], n);
			memcpy(b, parents[j], pn);
			/* every prefix of the name: no NUL to stop at */
			for (size_t k = 0; k <= n; k++)
				tcl_cg_classify(a, (int)k, b, (int)pn, &m);
			free(a);
			free(b);
		}
	}
}

static void test_bounds(void **state)
{
	struct tcl_cgroup_info ci;
	char *p = malloc(PATH_MAX + 16);
	char comp[NAME_MAX + 2];
	size_t n;

	assert_non_null(p);
	assert_int_equal(tcl_cgroup_parse(NULL, &ci), -EINVAL);
	assert_int_equal(tcl_cgroup_parse("/", NULL), -EINVAL);

	/* exactly PATH_MAX - 1 bytes is allowed (and host); PATH_MAX is refused */
	memset(p, 'a', PATH_MAX + 15);
	for (size_t i = 0; i < PATH_MAX + 15; i += 100)
		p[i] = '/';
	p[PATH_MAX - 1] = '\0';
	assert_int_equal(tcl_cgroup_parse(p, &ci), -ENOENT);
	p[PATH_MAX - 1] = 'a';
	p[PATH_MAX] = '\0';
	assert_int_equal(tcl_cgroup_parse(p, &ci), -ENAMETOOLONG);
	p[PATH_MAX + 15] = '\0';
	assert_int_equal(tcl_cgroup_parse(p, &ci), -ENAMETOOLONG);

	/* a real container path padded out to just below PATH_MAX still parses */
	n = snprintf(p, PATH_MAX, "%s", "/docker/" ID "/");
	while (n + 2 < PATH_MAX - 1)
		n += snprintf(p + n, PATH_MAX - n, "x/");
	assert_int_equal(tcl_cgroup_parse(p, &ci), 0);
	assert_string_equal(ci.container_id, ID);

	/* one component longer than NAME_MAX */
	memset(comp, 'b', sizeof(comp) - 1);
	comp[sizeof(comp) - 1] = '\0';
	snprintf(p, PATH_MAX, "/system.slice/%s", comp);
	assert_int_equal(tcl_cgroup_parse(p, &ci), -ENAMETOOLONG);
	comp[NAME_MAX] = '\0';
	snprintf(p, PATH_MAX, "/system.slice/%s", comp);
	assert_int_equal(tcl_cgroup_parse(p, &ci), -ENOENT);
	free(p);
}

static void test_names(void **state)
{
	assert_string_equal(tcl_runtime_name(TCL_RT_CONTAINERD), "containerd");
	assert_string_equal(tcl_runtime_name(TCL_RT_CRIO), "cri-o");
	assert_string_equal(tcl_runtime_name(TCL_RT_DOCKER), "docker");
	assert_string_equal(tcl_runtime_name(TCL_RT_UNKNOWN), "unknown");
	assert_string_equal(tcl_runtime_name(TCL_RT_NONE), "none");
	assert_string_equal(tcl_runtime_name((enum tcl_runtime)99), "unknown");
	assert_string_equal(tcl_qos_name(TCL_QOS_GUARANTEED), "Guaranteed");
	assert_string_equal(tcl_qos_name(TCL_QOS_BURSTABLE), "Burstable");
	assert_string_equal(tcl_qos_name(TCL_QOS_BESTEFFORT), "BestEffort");
	assert_string_equal(tcl_qos_name(TCL_QOS_NONE), "none");
}

/* Every byte value in every position of a real path: no crash, no out-of-bounds read. */
static void test_mutations(void **state)
{
	char base[] = BURST "/cri-containerd-" ID ".scope/init";
	struct tcl_cgroup_info ci;

	for (size_t i = 0; i < sizeof(base) - 1; i++) {
		char saved = base[i];

		for (int b = 1; b < 256; b++) {
			int ret;

			base[i] = (char)b;
			ret = tcl_cgroup_parse(base, &ci);
			assert_true(ret == 0 || ret == -ENOENT || ret == -EPROTO || ret == -EINVAL);
			if (ret == 0)
				assert_int_equal(strlen(ci.container_id), 64);
			else
				assert_string_equal(ci.container_id, "");
		}
		base[i] = saved;
	}
}

static char root[PATH_MAX];

static int find_root(void **state)
{
	if (tcl_cgroup_find_root(root, sizeof(root)))
		root[0] = '\0';
	return 0;
}

static void test_root_id(void **state)
{
	char buf[PATH_MAX];
	uint64_t id = 0, id2 = 0;

	if (!root[0])
		skip();
	assert_int_equal(tcl_cgroup_id_of_path(root, &id), 0);
	assert_true(id != 0);
	assert_int_equal(tcl_cgroup_path_of_id(root, id, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/");
	assert_int_equal(tcl_cgroup_path_of_id(root, id, buf, 1), -ENAMETOOLONG);
	assert_int_equal(tcl_cgroup_path_of_id(root, UINT64_MAX, buf, sizeof(buf)), -ENOENT);

	/* the id of a cgroup2 directory is its inode number on 64-bit */
	{
		struct stat st;

		assert_int_equal(stat(root, &st), 0);
		assert_true(st.st_ino == id);
	}
	assert_int_equal(tcl_cgroup_id_of_path("/tmp", &id2), -EMEDIUMTYPE);
	assert_int_equal(tcl_cgroup_id_of_path("/nonexistent-tcl", &id2), -ENOENT);
	assert_int_equal(tcl_cgroup_path_of_id("/tmp", id, buf, sizeof(buf)), -EMEDIUMTYPE);
}

static void test_subdir_id(void **state)
{
	char top[PATH_MAX + 32], sub[PATH_MAX + 64], buf[PATH_MAX], want[128];
	uint64_t id_top = 0, id_sub = 0;

	if (!root[0])
		skip();
	snprintf(top, sizeof(top), "%s/tcl-unit-%d", root, (int)getpid());
	snprintf(sub, sizeof(sub), "%s/docker", top);
	if (mkdir(top, 0755)) {
		print_message("cannot create a cgroup in %s (%s): skipped\n", root,
			      strerror(errno));
		skip();
	}
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(tcl_cgroup_id_of_path(top, &id_top), 0);
	assert_int_equal(tcl_cgroup_id_of_path(sub, &id_sub), 0);
	assert_true(id_top != id_sub);

	snprintf(want, sizeof(want), "/tcl-unit-%d/docker", (int)getpid());
	assert_int_equal(tcl_cgroup_path_of_id(root, id_sub, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
	assert_int_equal(tcl_cgroup_path_of_id(root, id_sub, buf, strlen(want)), -ENAMETOOLONG);
	assert_int_equal(tcl_cgroup_path_of_id(root, id_top, buf, sizeof(buf)), 0);
	want[strlen(want) - strlen("/docker")] = '\0';
	assert_string_equal(buf, want);
	/* the walk's answer feeds the parser: "/tcl-unit-N/docker" is not a container */
	assert_int_equal(tcl_cgroup_parse(buf, &(struct tcl_cgroup_info){ 0 }), -ENOENT);

	assert_int_equal(rmdir(sub), 0);
	assert_int_equal(tcl_cgroup_path_of_id(root, id_sub, buf, sizeof(buf)), -ENOENT);
	assert_int_equal(rmdir(top), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_shared_cases),
		cmocka_unit_test(test_grammar_bounds),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_root_id),
		cmocka_unit_test(test_subdir_id),
	};

	return cmocka_run_group_tests(tests, find_root, NULL);
}
