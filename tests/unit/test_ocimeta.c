// SPDX-License-Identifier: GPL-2.0
/* OCI bundle metadata: CRI annotations of containerd and CRI-O, digests, bounds, bundle lookup
 * through every root (containerd tasks, CRI-O storage, runc state), the container_start record.
 * Fixtures: tests/unit/data/ocimeta (runc-state.json is what runc 1.1 wrote for a real
 * `runc run`; its bundle is rewritten to a temp dir at test time). */
#include <errno.h>
#include <fcntl.h>
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
#include <json-c/json.h>

#include "canonjson.h"
#include "diag.h"
#include "ocimeta.h"

#define CID "3f7c9b2a6e1d4c8b9a0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3"
#define SID "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
#define CRIO "9e8d7c6b5a4938271605f4e3d2c1b0a99e8d7c6b5a4938271605f4e3d2c1b0a9"
#define CRIOS "5d4c3b2a19080706f5e4d3c2b1a099885d4c3b2a19080706f5e4d3c2b1a09988"
#define RUNC_ID "8b8cdc1f2c3b4a5d6e7f80912a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d"
#define UID "d2f9a4c1-7b3e-4e5a-9c8d-1f2e3d4c5b6a"
#define UID2 "0c1d2e3f-4a5b-4c6d-8e7f-901a2b3c4d5e"
#define HEX64 "7d3f1c2b4a5968778695a4b3c2d1e0f9a8b7c6d5e4f30201a1b2c3d4e5f60718"

/* computed independently (python hashlib) from the fixtures per the definitions in ocimeta.h */
#define CD_ENV "00d7465b5482e76b65b0393af9f7a8e28de9429e0516cc37b16442f192932c5c"
#define CD_ARGS "663569be45b7bd5525ad3a1313d8b524aaf0143ff4fa9b9a1b0bc8ab3a2b308c"
#define CD_MOUNTS "34fe1b93632736d70ac936641bc461865be5c4e763e83463476897e6610ed34a"
#define CRIO_ENV "cc36f140102db8d52cdd55b72df3d1542ff277c9027b88de7c9c6103cd6a6381"
#define CRIO_ARGS "12a8e01cfad9a80192a32a10f8789751846921c8b654fc6f924f63938f1c75c1"
#define SPEC_MOUNTS "f17600eb8242a7c9f59f7a96108a648b8d76f69cb216e71d1445708bacbb81bc"
#define PLAIN_ENV "9473da3123ddc2b5527eadc261983e56caa92fb3431db5cf428adc83e09e3a26"
#define PLAIN_ARGS "ef35d747b2401f0d4fc29792ce2857f00aa31e117914ea34938a9a16e7918352"
/* SHA-256 of nothing: an empty env */
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* snprintf into a path buffer, failing the test instead of truncating */
#define PATHF(buf, ...) assert_true(snprintf(buf, sizeof(buf), __VA_ARGS__) < (int)sizeof(buf))

static char data[PATH_MAX];
static char tmp[PATH_MAX];
static struct tcl_container_meta *m;

static void fixture(char *buf, const char *name)
{
	assert_true(snprintf(buf, PATH_MAX, "%s/%s", data, name) < PATH_MAX);
}

static int quiet(void)
{
	int v = tcl_verbosity;

	tcl_verbosity = -1;
	return v;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc(n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void spit(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void mkdirs(const char *fmt, ...)
{
	char p[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	assert_true(vsnprintf(p, sizeof(p), fmt, ap) < (int)sizeof(p));
	va_end(ap);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
}

static void copy_fixture(const char *name, const char *dst)
{
	char src[PATH_MAX];
	size_t n;
	char *buf;

	fixture(src, name);
	buf = slurp(src, &n);
	spit(dst, buf, n);
	free(buf);
}

static int from_str(const char *json)
{
	return tcl_ocimeta_from_buf("inline", json, strlen(json), m);
}

static int setup(void **state)
{
	const char *env = getenv("TCL_UNIT_DATA");
	char exe[PATH_MAX];
	ssize_t n;

	if (env) {
		PATHF(data, "%s/ocimeta", env);
	} else if (access("tests/unit/data/ocimeta/plain.json", R_OK) == 0) {
		PATHF(data, "tests/unit/data/ocimeta");
	} else {
		/* build/unit[-san]/test_ocimeta -> tests/unit/data/ocimeta */
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n <= 0)
			return -1;
		exe[n] = '\0';
		for (int i = 0; i < 3; i++)
			*strrchr(exe, '/') = '\0';
		PATHF(data, "%s/tests/unit/data/ocimeta", exe);
	}
	PATHF(tmp, "/tmp/tcl-ocimeta-XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	m = malloc(sizeof(*m));
	return m ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	free(m);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_containerd(void **state)
{
	char p[PATH_MAX];

	fixture(p, "containerd-cri.json");
	assert_int_equal(tcl_ocimeta_from_config(p, m), 0);
	assert_string_equal(m->pod, "web-7c5ddbdf54-x2x4k");
	assert_string_equal(m->namespace_, "shop");
	assert_string_equal(m->pod_uid, UID);
	assert_string_equal(m->container, "nginx");
	assert_string_equal(m->image, "docker.io/library/nginx:1.25.3");
	assert_string_equal(m->image_digest, "");	/* a tag is not a digest */
	assert_string_equal(m->image_id, "");
	assert_string_equal(m->sandbox_id, SID);
	assert_false(m->is_sandbox);
	assert_string_equal(m->container_id, "");	/* containerd does not say; load() does */
	assert_string_equal(m->runtime, "");
	assert_string_equal(m->bundle, data);
	assert_true(m->has_process);
	assert_true(m->has_user);
	assert_int_equal(m->uid, 101);
	assert_int_equal(m->gid, 101);
	assert_string_equal(m->cwd, "/");
	assert_int_equal(m->nargs, 4);
	assert_string_equal(tcl_meta_arg(m, 0), "/docker-entrypoint.sh");
	assert_string_equal(tcl_meta_arg(m, 3), "daemon off;");
	assert_null(tcl_meta_arg(m, 4));
	assert_int_equal(m->args_len, sizeof("/docker-entrypoint.sh nginx -g daemon off;"));
	assert_string_equal(m->env_sha256, CD_ENV);
	assert_string_equal(m->args_sha256, CD_ARGS);
	assert_string_equal(m->mounts_sha256, CD_MOUNTS);
}

static void test_crio(void **state)
{
	char p[PATH_MAX];

	fixture(p, "crio.json");
	assert_int_equal(tcl_ocimeta_from_config(p, m), 0);
	assert_string_equal(m->pod, "api-0");
	assert_string_equal(m->namespace_, "payments");
	assert_string_equal(m->pod_uid, UID2);
	/* from Labels, not the composite k8s_api_api-0_... name */
	assert_string_equal(m->container, "api");
	assert_string_equal(m->image, "quay.io/example/api:2.4.1");
	assert_string_equal(m->image_digest, "sha256:" HEX64);
	assert_string_equal(m->image_id, "");
	assert_string_equal(m->container_id, CRIO);
	assert_string_equal(m->sandbox_id, CRIOS);
	assert_false(m->is_sandbox);
	assert_int_equal(m->uid, 1000);
	assert_int_equal(m->gid, 1000);
	assert_string_equal(m->cwd, "/app");
	assert_int_equal(m->nargs, 3);
	assert_string_equal(tcl_meta_arg(m, 1), "--port=8080");
	assert_string_equal(m->env_sha256, CRIO_ENV);
	assert_string_equal(m->args_sha256, CRIO_ARGS);
	assert_string_equal(m->mounts_sha256, SPEC_MOUNTS);
}

static void test_sandbox(void **state)
{
	char p[PATH_MAX];

	fixture(p, "containerd-sandbox.json");
	assert_int_equal(tcl_ocimeta_from_config(p, m), 0);
	assert_true(m->is_sandbox);
	assert_string_equal(m->container_id, SID);	/* a sandbox's id is its sandbox id */
	assert_string_equal(m->sandbox_id, SID);
	assert_string_equal(m->pod, "web-7c5ddbdf54-x2x4k");
	assert_string_equal(m->namespace_, "shop");
	assert_string_equal(m->pod_uid, UID);
	assert_string_equal(m->container, "");
	assert_string_equal(m->image, "");
	assert_int_equal(m->uid, 65535);
	assert_int_equal(m->nargs, 1);
	assert_string_equal(tcl_meta_arg(m, 0), "/pause");

	/* CRI-O's pause container: Metadata name is the pod's, not a container name */
	assert_int_equal(from_str("{\"annotations\":{"
				  "\"io.kubernetes.cri-o.ContainerType\":\"sandbox\","
				  "\"io.kubernetes.cri-o.SandboxID\":\"" CRIOS "\","
				  "\"io.kubernetes.cri-o.ContainerID\":\"" CRIOS "\","
				  "\"io.kubernetes.cri-o.ContainerName\":\"k8s_POD_api-0_payments_"
				  UID2 "_0\","
				  "\"io.kubernetes.cri-o.KubeName\":\"api-0\","
				  "\"io.kubernetes.cri-o.Namespace\":\"payments\","
				  "\"io.kubernetes.cri-o.Metadata\":\"{\\\"name\\\":\\\"api-0\\\","
				  "\\\"uid\\\":\\\"" UID2 "\\\","
				  "\\\"namespace\\\":\\\"payments\\\"}\","
				  "\"io.kubernetes.cri-o.Labels\":\"{\\\"io.kubernetes.pod.uid\\\":"
				  "\\\"" UID2 "\\\"}\"}}"), 0);
	assert_true(m->is_sandbox);
	assert_string_equal(m->container_id, CRIOS);
	assert_string_equal(m->pod, "api-0");
	assert_string_equal(m->namespace_, "payments");
	assert_string_equal(m->pod_uid, UID2);
	assert_string_equal(m->container, "");
	assert_false(m->has_process);
	assert_string_equal(m->args_sha256, "");
}

static void test_plain(void **state)
{
	struct json_object *rec, *v;
	char p[PATH_MAX];

	fixture(p, "plain.json");
	assert_int_equal(tcl_ocimeta_from_config(p, m), 0);
	assert_string_equal(m->container_id, "");
	assert_string_equal(m->sandbox_id, "");
	assert_string_equal(m->pod, "");
	assert_string_equal(m->namespace_, "");
	assert_string_equal(m->pod_uid, "");
	assert_string_equal(m->container, "");
	assert_string_equal(m->image, "");
	assert_string_equal(m->image_digest, "");
	assert_string_equal(m->image_id, "");
	assert_string_equal(m->runtime, "");
	assert_false(m->is_sandbox);
	assert_true(m->has_user);
	assert_int_equal(m->uid, 0);
	assert_string_equal(m->env_sha256, PLAIN_ENV);
	assert_string_equal(m->args_sha256, PLAIN_ARGS);
	assert_string_equal(m->mounts_sha256, SPEC_MOUNTS);

	rec = tcl_ocimeta_start_record(m);
	assert_non_null(rec);
	for (const char *const *k = (const char *const[]){ "container_id", "pod_uid", "pod",
			"namespace", "container", "image", "image_digest", "sandbox_id", "sandbox",
			"runtime", NULL }; *k; k++)
		assert_false(json_object_object_get_ex(rec, *k, NULL));
	assert_true(json_object_object_get_ex(rec, "uid", &v));
	assert_int_equal(json_object_get_int64(v), 0);
	assert_true(json_object_object_get_ex(rec, "args", &v));
	assert_int_equal(json_object_array_length(v), 1);
	json_object_put(rec);

	/* {} is a valid, empty config: nothing at all is reported */
	assert_int_equal(from_str("{}"), 0);
	assert_false(m->has_process);
	assert_string_equal(m->mounts_sha256, "");
	rec = tcl_ocimeta_start_record(m);
	assert_non_null(rec);
	assert_int_equal(json_object_object_length(rec), 0);
	json_object_put(rec);
}

static void test_record(void **state)
{
	struct json_object *rec, *v;
	char p[PATH_MAX];

	fixture(p, "containerd-cri.json");
	assert_int_equal(tcl_ocimeta_from_config(p, m), 0);
	strcpy(m->container_id, CID);
	strcpy(m->runtime, "containerd");
	rec = tcl_ocimeta_start_record(m);
	assert_non_null(rec);
#define STR(k, want)                                                           \
	do {                                                                   \
		assert_true(json_object_object_get_ex(rec, k, &v));            \
		assert_string_equal(json_object_get_string(v), want);          \
	} while (0)
	STR("container_id", CID);
	STR("pod_uid", UID);
	STR("pod", "web-7c5ddbdf54-x2x4k");
	STR("namespace", "shop");
	STR("container", "nginx");
	STR("sandbox_id", SID);
	STR("image", "docker.io/library/nginx:1.25.3");
	STR("runtime", "containerd");
	STR("env_sha256", CD_ENV);
	STR("cwd", "/");
	STR("mounts_sha256", CD_MOUNTS);
#undef STR
	assert_false(json_object_object_get_ex(rec, "image_digest", NULL));
	assert_false(json_object_object_get_ex(rec, "sandbox", NULL));
	assert_true(json_object_object_get_ex(rec, "uid", &v));
	assert_int_equal(json_object_get_int64(v), 101);
	assert_true(json_object_object_get_ex(rec, "gid", &v));
	assert_int_equal(json_object_get_int64(v), 101);
	assert_true(json_object_object_get_ex(rec, "args", &v));
	assert_int_equal(json_object_array_length(v), 4);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 2)), "-g");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 3)),
			    "daemon off;");
	/* what gets measured: the record must have a canonical form */
	{
		char *canon = NULL;
		size_t clen = 0;

		assert_int_equal(tcl_canon_json(rec, &canon, &clen), 0);
		assert_non_null(strstr(canon, "\"args\":[\"/docker-entrypoint.sh\",\"nginx\","));
		assert_non_null(strstr(canon, "\"uid\":101"));
		free(canon);
	}
	json_object_put(rec);

	/* a hand-made struct with nonsense offsets stays inside the buffer */
	memset(m, 0, sizeof(*m));
	m->has_process = true;
	m->nargs = 5000;
	m->arg_off[0] = sizeof(m->args) - 1;
	m->arg_off[1] = UINT32_MAX;
	memset(m->args, 'x', sizeof(m->args));
	rec = tcl_ocimeta_start_record(m);
	assert_non_null(rec);
	json_object_put(rec);
	assert_null(tcl_ocimeta_start_record(NULL));
}

static void test_image_digest(void **state)
{
	static const char *const cases[][3] = {
		/* annotations, image_digest, image_id */
		{ "\"io.kubernetes.cri.image-name\":\"registry.local/app@sha256:" HEX64 "\"",
		  "sha256:" HEX64, "" },
		{ "\"io.kubernetes.cri.image-name\":\"registry.local/app:v1@sha256:" HEX64 "\"",
		  "sha256:" HEX64, "" },
		{ "\"io.kubernetes.cri.image-name\":\"registry.local/app@sha256:" HEX64 "0\"",
		  "", "" },
		{ "\"io.kubernetes.cri.image-name\":\"sha256:" HEX64 "\"", "", "" },
		{ "\"io.kubernetes.cri-o.ImageRef\":\"sha256:" HEX64 "\"", "sha256:" HEX64, "" },
		/* CRI-O's image ID: kept apart, not passed off as the manifest digest */
		{ "\"io.kubernetes.cri-o.ImageRef\":\"" HEX64 "\"", "", "sha256:" HEX64 },
		{ "\"io.kubernetes.cri-o.ImageRef\":\"" HEX64 "\","
		  "\"io.kubernetes.cri-o.ImageName\":\"q.io/a@sha256:" SID "\"",
		  "sha256:" SID, "sha256:" HEX64 },
		{ "\"io.kubernetes.cri-o.ImageRef\":\"docker.io/x@sha256:" HEX64 "\"",
		  "sha256:" HEX64, "" },
		{ "\"io.kubernetes.cri-o.ImageRef\":\"docker.io/x@md5:abc\"", "", "" },
		{ "\"io.kubernetes.cri-o.ImageRef\":\"" "7D3F1C2B4A5968778695A4B3C2D1E0F9"
		  "A8B7C6D5E4F30201A1B2C3D4E5F60718\"", "", "" },
		/* ours wins over everything */
		{ "\"org.tcl.image.digest\":\"sha256:" SID "\","
		  "\"io.kubernetes.cri-o.ImageRef\":\"x@sha256:" HEX64 "\","
		  "\"io.kubernetes.cri.image-name\":\"y@sha256:" HEX64 "\"", "sha256:" SID, "" },
		{ "\"org.tcl.image.digest\":\"" SID "\"", "sha256:" SID, "" },
		{ "\"org.tcl.image.digest\":\"\"", "", "" },
	};
	char buf[1024];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), "{\"annotations\":{%s}}", cases[i][0]);
		assert_int_equal(from_str(buf), 0);
		if (strcmp(m->image_digest, cases[i][1]) || strcmp(m->image_id, cases[i][2]))
			fail_msg("case %zu: digest '%s' id '%s'", i, m->image_digest, m->image_id);
	}
	{
		int v = quiet();

		assert_int_equal(from_str("{\"annotations\":{\"org.tcl.image.digest\":"
					  "\"sha256:abc\"}}"), -EINVAL);
		assert_int_equal(from_str("{\"annotations\":{\"org.tcl.image.digest\":"
					  "\"sha512:" HEX64 "\"}}"), -EINVAL);
		tcl_verbosity = v;
	}
}

static void test_first_wins(void **state)
{
	/* runtime-specific annotations before the generic io.kubernetes.pod.* ones */
	assert_int_equal(from_str("{\"annotations\":{"
				  "\"io.kubernetes.pod.name\":\"generic\","
				  "\"io.kubernetes.pod.namespace\":\"gns\","
				  "\"io.kubernetes.pod.uid\":\"guid\","
				  "\"io.kubernetes.container.name\":\"gc\","
				  "\"io.kubernetes.cri.sandbox-name\":\"cri\","
				  "\"io.kubernetes.cri.sandbox-namespace\":\"\"}}"), 0);
	assert_string_equal(m->pod, "cri");
	assert_string_equal(m->namespace_, "gns");	/* empty counts as absent */
	assert_string_equal(m->pod_uid, "guid");
	assert_string_equal(m->container, "gc");
	/* CRI-O Metadata name used for containers when Labels lack it */
	assert_int_equal(from_str("{\"annotations\":{"
				  "\"io.kubernetes.cri-o.ContainerType\":\"container\","
				  "\"io.kubernetes.cri-o.ContainerName\":\"k8s_db_p_ns_u_0\","
				  "\"io.kubernetes.cri-o.Metadata\":\"{\\\"name\\\":\\\"db\\\","
				  "\\\"attempt\\\":0}\"}}"), 0);
	assert_string_equal(m->container, "db");
	assert_false(m->is_sandbox);
	/* annotations: null is no annotations */
	assert_int_equal(from_str("{\"annotations\":null,\"process\":{\"args\":[]}}"), 0);
	assert_true(m->has_process);
	assert_false(m->has_user);
	assert_string_equal(m->args_sha256, EMPTY_SHA);
	assert_string_equal(m->env_sha256, EMPTY_SHA);
}

static void test_digests(void **state)
{
	char a[65], b[65];

	/* env: order does not matter */
	assert_int_equal(from_str("{\"process\":{\"env\":[\"B=2\",\"A=1\",\"C=3\"]}}"), 0);
	strcpy(a, m->env_sha256);
	assert_int_equal(from_str("{\"process\":{\"env\":[\"C=3\",\"A=1\",\"B=2\"]}}"), 0);
	assert_string_equal(a, m->env_sha256);
	/* but the NUL separator keeps entries apart */
	assert_int_equal(from_str("{\"process\":{\"env\":[\"A=1B=2\",\"C=3\"]}}"), 0);
	assert_string_not_equal(a, m->env_sha256);
	/* args: order matters */
	assert_int_equal(from_str("{\"process\":{\"args\":[\"a\",\"b\"]}}"), 0);
	strcpy(a, m->args_sha256);
	assert_int_equal(from_str("{\"process\":{\"args\":[\"b\",\"a\"]}}"), 0);
	assert_string_not_equal(a, m->args_sha256);
	assert_int_equal(from_str("{\"process\":{\"args\":[\"ab\"]}}"), 0);
	assert_string_not_equal(a, m->args_sha256);
	/* mounts: options order and field boundaries matter, absent fields are "" */
	assert_int_equal(from_str("{\"mounts\":[{\"destination\":\"/a\",\"type\":\"bind\","
				  "\"source\":\"/s\",\"options\":[\"ro\",\"rbind\"]}]}"), 0);
	strcpy(a, m->mounts_sha256);
	assert_int_equal(from_str("{\"mounts\":[{\"destination\":\"/a\",\"type\":\"bind\","
				  "\"source\":\"/s\",\"options\":[\"rbind\",\"ro\"]}]}"), 0);
	assert_string_not_equal(a, m->mounts_sha256);
	assert_int_equal(from_str("{\"mounts\":[{\"destination\":\"/a\",\"source\":\"/s\"}]}"),
			 0);
	strcpy(b, m->mounts_sha256);
	assert_int_equal(from_str("{\"mounts\":[{\"destination\":\"/a\",\"type\":\"\","
				  "\"source\":\"/s\",\"options\":[]}]}"), 0);
	assert_string_equal(b, m->mounts_sha256);
	/* "/a" NUL "" NUL "/s" NUL "" NUL */
	assert_string_equal(b, "491a2debdd1d3eb21d341bcacec72acaa63d83d2cefd236cbcbd79a3cfc8fbf6");
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"[]",
		"\"x\"",
		"{\"annotations\":[]}",
		"{\"annotations\":{\"io.kubernetes.cri.sandbox-name\":7}}",
		"{\"annotations\":{\"io.kubernetes.cri.container-type\":false}}",
		"{\"annotations\":{\"io.kubernetes.cri.sandbox-name\":\"a\\u0000b\"}}",
		"{\"annotations\":{\"io.kubernetes.cri.sandbox-id\":\"abc\"}}",
		"{\"annotations\":{\"io.kubernetes.cri-o.SandboxID\":\"" HEX64 "0\"}}",
		"{\"annotations\":{\"io.kubernetes.cri-o.ContainerID\":\"../../etc\"}}",
		"{\"annotations\":{\"io.kubernetes.cri-o.Labels\":\"{not json\"}}",
		"{\"annotations\":{\"io.kubernetes.cri-o.Labels\":\"[1]\"}}",
		"{\"annotations\":{\"io.kubernetes.cri-o.Labels\":\"{\\\"io.kubernetes.pod.name\\\""
		":1}\"}}",
		"{\"process\":[]}",
		"{\"process\":{\"args\":\"sh\"}}",
		"{\"process\":{\"args\":[\"sh\",1]}}",
		"{\"process\":{\"args\":[\"a\\u0000b\"]}}",
		"{\"process\":{\"env\":{}}}",
		"{\"process\":{\"cwd\":5}}",
		"{\"process\":{\"user\":{\"uid\":-1,\"gid\":0}}}",
		"{\"process\":{\"user\":{\"uid\":4294967296,\"gid\":0}}}",
		"{\"process\":{\"user\":{\"uid\":1.5,\"gid\":0}}}",
		"{\"process\":{\"user\":{\"uid\":\"0\",\"gid\":0}}}",
		"{\"process\":{\"user\":{\"uid\":0}}}",
		"{\"process\":{\"user\":[]}}",
		"{\"mounts\":{}}",
		"{\"mounts\":[1]}",
		"{\"mounts\":[{\"destination\":1}]}",
		"{\"mounts\":[{\"options\":\"ro\"}]}",
		"{\"a\":1}x",
		"{\"a\":1,}",
		"{\"a\":\"\xff\"}",
	};
	char p[PATH_MAX];
	int v = quiet();

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(m, 0x5a, sizeof(*m));
		if (from_str(bad[i]) != -EINVAL)
			fail_msg("case %zu accepted: %s", i, bad[i]);
		/* nothing half-parsed is left behind */
		assert_string_equal(m->pod, "");
		assert_false(m->has_process);
	}
	fixture(p, "malformed.json");
	assert_int_equal(tcl_ocimeta_from_config(p, m), -EINVAL);
	assert_string_equal(m->bundle, "");
	fixture(p, "does-not-exist.json");
	assert_int_equal(tcl_ocimeta_from_config(p, m), -ENOENT);
	assert_int_equal(tcl_ocimeta_from_config(NULL, m), -EINVAL);
	assert_int_equal(tcl_ocimeta_from_config(p, NULL), -EINVAL);
	assert_int_equal(tcl_ocimeta_from_config(data, m), -EINVAL);	/* a directory */

	/* a FIFO planted as config.json is refused, not read (we would block forever) */
	PATHF(p, "%s/fifo.json", tmp);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(tcl_ocimeta_from_config(p, m), -EINVAL);
	unlink(p);
	tcl_verbosity = v;
}

static void test_bounds(void **state)
{
	size_t lim = TCL_META_MAX_FILE, n;
	char p[PATH_MAX], *buf, *s;
	int v = quiet();

	/* a valid config.json padded to exactly the limit is read; one byte more is not */
	buf = malloc(lim + 2);
	assert_non_null(buf);
	memset(buf, ' ', lim + 1);
	memcpy(buf, "{\"annotations\":{\"io.kubernetes.pod.name\":\"big\"}}", 48);
	PATHF(p, "%s/big.json", tmp);
	spit(p, buf, lim);
	tcl_verbosity = v;
	assert_int_equal(tcl_ocimeta_from_config(p, m), 0);
	assert_string_equal(m->pod, "big");
	spit(p, buf, lim + 1);
	v = quiet();
	assert_int_equal(tcl_ocimeta_from_config(p, m), -E2BIG);
	assert_int_equal(tcl_ocimeta_from_buf("big", buf, lim + 1, m), -E2BIG);
	unlink(p);
	free(buf);

	/* args: 1024 entries pass, 1025 do not */
	buf = malloc(256 * 1024);
	assert_non_null(buf);
	for (int count = 1024; count <= 1025; count++) {
		n = (size_t)sprintf(buf, "{\"process\":{\"args\":[");
		for (int i = 0; i < count; i++)
			n += (size_t)sprintf(buf + n, "%s\"a%d\"", i ? "," : "", i);
		strcpy(buf + n, "]}}");
		assert_int_equal(from_str(buf), count == 1024 ? 0 : -E2BIG);
	}
	assert_int_equal(m->nargs, 0);
	assert_int_equal(from_str(buf) , -E2BIG);
	/* args bytes: 64 KiB NULs included pass, one more do not */
	for (int extra = 0; extra <= 1; extra++) {
		/* 64 args of 1023 chars + NUL = 65536 bytes */
		n = (size_t)sprintf(buf, "{\"process\":{\"args\":[");
		for (int i = 0; i < 64; i++) {
			size_t len = 1023 + (i == 63 ? (size_t)extra : 0);

			n += (size_t)sprintf(buf + n, "%s\"", i ? "," : "");
			memset(buf + n, 'a' + i % 26, len);
			n += len;
			buf[n++] = '"';
		}
		strcpy(buf + n, "]}}");
		assert_int_equal(from_str(buf), extra ? -E2BIG : 0);
		if (!extra) {
			assert_int_equal(m->args_len, 65536);
			assert_int_equal(strlen(tcl_meta_arg(m, 63)), 1023);
		}
	}
	/* field sizes: a 253-byte pod name fits, 254 does not */
	s = buf;
	n = (size_t)sprintf(s, "{\"annotations\":{\"io.kubernetes.pod.name\":\"");
	memset(s + n, 'p', 253);
	strcpy(s + n + 253, "\"}}");
	assert_int_equal(from_str(buf), 0);
	assert_int_equal(strlen(m->pod), 253);
	memset(s + n, 'p', 254);
	strcpy(s + n + 254, "\"}}");
	assert_int_equal(from_str(buf), -E2BIG);
	/* too many mounts */
	n = (size_t)sprintf(buf, "{\"mounts\":[");
	for (int i = 0; i <= TCL_META_MAX_MOUNTS; i++)
		n += (size_t)sprintf(buf + n, "%s{}", i ? "," : "");
	strcpy(buf + n, "]}");
	assert_int_equal(from_str(buf), -E2BIG);
	/* nesting beyond the parser's depth limit */
	n = 0;
	for (int i = 0; i < 100; i++)
		buf[n++] = '[';
	for (int i = 0; i < 100; i++)
		buf[n++] = ']';
	buf[n] = '\0';
	assert_int_equal(from_str(buf), -EINVAL);
	free(buf);
	tcl_verbosity = v;
}

/* Every byte of real configs replaced by a few hostile values: no crash, no leak. */
static void test_mutations(void **state)
{
	static const char vals[] = { '"', '{', ']', '\\', 0x00, (char)0xc3, '9', ':' };
	const char *names[] = { "containerd-cri.json", "crio.json" };
	int v = quiet();

	for (size_t f = 0; f < 2; f++) {
		char p[PATH_MAX], *buf;
		size_t n;

		fixture(p, names[f]);
		buf = slurp(p, &n);
		for (size_t i = 0; i < n; i += 3) {
			char saved = buf[i];

			for (size_t k = 0; k < sizeof(vals); k++) {
				int ret;

				buf[i] = vals[k];
				ret = tcl_ocimeta_from_buf("mut", buf, n, m);
				assert_true(ret == 0 || ret == -EINVAL || ret == -E2BIG);
			}
			buf[i] = saved;
		}
		/* and every truncation length */
		for (size_t i = 0; i < n; i += 7)
			assert_int_equal(tcl_ocimeta_from_buf("trunc", buf, i, m) == 0, false);
		free(buf);
	}
	tcl_verbosity = v;
}

/* Rewrite the real runc state.json so that its bundle label points at @bundle. */
static void write_runc_state(const char *path, const char *id, const char *bundle,
			     bool top_level)
{
	struct json_object *st, *cfg, *labels, *nl;
	char p[PATH_MAX];
	const char *s;

	fixture(p, "runc-state.json");
	st = json_object_from_file(p);
	assert_non_null(st);
	json_object_object_add(st, "id", json_object_new_string(id));
	assert_true(json_object_object_get_ex(st, "config", &cfg));
	assert_true(json_object_object_get_ex(cfg, "labels", &labels));
	nl = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(labels); i++) {
		s = json_object_get_string(json_object_array_get_idx(labels, i));
		if (!strncmp(s, "bundle=", 7)) {
			if (!bundle || top_level)
				continue;
			PATHF(p, "bundle=%s", bundle);
			json_object_array_add(nl, json_object_new_string(p));
		} else {
			json_object_array_add(nl, json_object_new_string(s));
		}
	}
	json_object_object_add(cfg, "labels", nl);
	if (top_level && bundle)
		json_object_object_add(st, "bundle", json_object_new_string(bundle));
	assert_int_equal(json_object_to_file(path, st), 0);
	json_object_put(st);
}

static void test_runc_state(void **state)
{
	struct tcl_ocimeta_roots r = { 0 };
	char root[PATH_MAX], bundle[PATH_MAX], p[PATH_MAX], out[PATH_MAX], want[PATH_MAX];
	int v;

	PATHF(root, "%s/runc", tmp);
	PATHF(bundle, "%s/bundles/%s", tmp, RUNC_ID);
	mkdirs("%s/%s", root, RUNC_ID);
	mkdirs("%s", bundle);
	PATHF(p, "%s/config.json", bundle);
	copy_fixture("containerd-cri.json", p);
	PATHF(want, "%s/config.json", bundle);
	PATHF(p, "%s/%s/state.json", root, RUNC_ID);
	r.runc_root = root;

	/* what runc writes on disk: bundle in config.labels */
	write_runc_state(p, RUNC_ID, bundle, false);
	assert_int_equal(tcl_ocimeta_find_bundle(&r, RUNC_ID, out, sizeof(out)), 0);
	assert_string_equal(out, want);
	assert_int_equal(tcl_ocimeta_load(&r, RUNC_ID, m), 0);
	assert_string_equal(m->container_id, RUNC_ID);
	assert_string_equal(m->runtime, "runc");
	assert_string_equal(m->bundle, bundle);
	assert_string_equal(m->pod, "web-7c5ddbdf54-x2x4k");
	assert_string_equal(m->env_sha256, CD_ENV);
	assert_int_equal(tcl_ocimeta_find_bundle(&r, RUNC_ID, out, strlen(want)), -ENAMETOOLONG);

	/* `runc state` / OCI state shape: top-level "bundle" */
	write_runc_state(p, RUNC_ID, bundle, true);
	assert_int_equal(tcl_ocimeta_find_bundle(&r, RUNC_ID, out, sizeof(out)), 0);
	assert_string_equal(out, want);

	v = quiet();
	/* a state.json that belongs to another container */
	write_runc_state(p, CID, bundle, false);
	assert_int_equal(tcl_ocimeta_find_bundle(&r, RUNC_ID, out, sizeof(out)), -EINVAL);
	/* no bundle at all */
	write_runc_state(p, RUNC_ID, NULL, false);
	assert_int_equal(tcl_ocimeta_find_bundle(&r, RUNC_ID, out, sizeof(out)), -EINVAL);
	/* relative bundle */
	write_runc_state(p, RUNC_ID, "bundles/x", false);
	assert_int_equal(tcl_ocimeta_find_bundle(&r, RUNC_ID, out, sizeof(out)), -EINVAL);
	/* bundle without config.json */
	write_runc_state(p, RUNC_ID, tmp, false);
	assert_int_equal(tcl_ocimeta_find_bundle(&r, RUNC_ID, out, sizeof(out)), -ENOENT);
	/* malformed state.json */
	spit(p, "{\"id\":", 6);
	assert_int_equal(tcl_ocimeta_find_bundle(&r, RUNC_ID, out, sizeof(out)), -EINVAL);
	/* ids are validated before any path is built */
	assert_int_equal(tcl_ocimeta_find_bundle(&r, "../../etc", out, sizeof(out)), -EINVAL);
	assert_int_equal(tcl_ocimeta_find_bundle(&r, CID "0", out, sizeof(out)), -EINVAL);
	assert_int_equal(tcl_ocimeta_find_bundle(&r, NULL, out, sizeof(out)), -EINVAL);
	tcl_verbosity = v;
	assert_int_equal(tcl_ocimeta_find_bundle(&r, CID, out, sizeof(out)), -ENOENT);
	assert_int_equal(tcl_ocimeta_load(&r, CID, m), -ENOENT);
	write_runc_state(p, RUNC_ID, bundle, false);
}

static void test_roots(void **state)
{
	struct tcl_ocimeta_roots r = { 0 };
	char tasks[PATH_MAX], crio[PATH_MAX], crun[PATH_MAX], p[PATH_MAX], out[PATH_MAX];
	char bundle[PATH_MAX];
	int v;

	PATHF(tasks, "%s/tasks", tmp);
	PATHF(crio, "%s/overlay-containers", tmp);
	PATHF(crun, "%s/containerd-runc", tmp);
	r.containerd_tasks = tasks;
	r.crio_containers = crio;
	r.containerd_runc = crun;

	/* containerd: every namespace is tried (moby and default are empty) */
	mkdirs("%s/moby", tasks);
	mkdirs("%s/default/%s", tasks, SID);
	mkdirs("%s/k8s.io/%s", tasks, CID);
	PATHF(p, "%s/k8s.io/%s/config.json", tasks, CID);
	copy_fixture("containerd-cri.json", p);
	assert_int_equal(tcl_ocimeta_find_bundle(&r, CID, out, sizeof(out)), 0);
	assert_string_equal(out, p);
	assert_int_equal(tcl_ocimeta_load(&r, CID, m), 0);
	assert_string_equal(m->runtime, "containerd");
	assert_string_equal(m->container_id, CID);
	assert_string_equal(m->container, "nginx");

	/* CRI-O: <root>/<id>/userdata/config.json */
	mkdirs("%s/%s/userdata", crio, CRIO);
	PATHF(p, "%s/%s/userdata/config.json", crio, CRIO);
	copy_fixture("crio.json", p);
	assert_int_equal(tcl_ocimeta_find_bundle(&r, CRIO, out, sizeof(out)), 0);
	assert_string_equal(out, p);
	assert_int_equal(tcl_ocimeta_load(&r, CRIO, m), 0);
	assert_string_equal(m->runtime, "cri-o");
	assert_string_equal(m->container, "api");
	PATHF(p, "%s/%s/userdata", crio, CRIO);
	assert_string_equal(m->bundle, p);

	/* the config.json names another container than the one looked up */
	mkdirs("%s/%s/userdata", crio, CRIOS);
	PATHF(p, "%s/%s/userdata/config.json", crio, CRIOS);
	copy_fixture("crio.json", p);
	v = quiet();
	assert_int_equal(tcl_ocimeta_load(&r, CRIOS, m), -EINVAL);
	tcl_verbosity = v;
	assert_string_equal(m->container_id, "");

	/* containerd's runc root: <root>/<ns>/<id>/state.json -> bundle */
	PATHF(bundle, "%s/b/%s", tmp, RUNC_ID);
	mkdirs("%s", bundle);
	PATHF(p, "%s/config.json", bundle);
	copy_fixture("plain.json", p);
	mkdirs("%s/k8s.io/%s", crun, RUNC_ID);
	PATHF(p, "%s/k8s.io/%s/state.json", crun, RUNC_ID);
	write_runc_state(p, RUNC_ID, bundle, false);
	assert_int_equal(tcl_ocimeta_load(&r, RUNC_ID, m), 0);
	assert_string_equal(m->runtime, "containerd");
	assert_string_equal(m->bundle, bundle);
	assert_string_equal(m->args_sha256, PLAIN_ARGS);

	/* a root that is not configured is not searched */
	r.containerd_tasks = "";
	assert_int_equal(tcl_ocimeta_find_bundle(&r, CID, out, sizeof(out)), -ENOENT);
	/* defaults: nothing of ours is under /run */
	assert_int_equal(tcl_ocimeta_find_bundle(NULL, HEX64, out, sizeof(out)), -ENOENT);
	assert_string_equal(tcl_ocimeta_default_roots.containerd_tasks,
			    "/run/containerd/io.containerd.runtime.v2.task");
	assert_string_equal(tcl_ocimeta_default_roots.crio_containers,
			    "/run/containers/storage/overlay-containers");
	assert_string_equal(tcl_ocimeta_default_roots.runc_root, "/run/runc");
	assert_string_equal(tcl_ocimeta_default_roots.containerd_runc, "/run/containerd/runc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_containerd),
		cmocka_unit_test(test_crio),
		cmocka_unit_test(test_sandbox),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_image_digest),
		cmocka_unit_test(test_first_wins),
		cmocka_unit_test(test_digests),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_runc_state),
		cmocka_unit_test(test_roots),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
