// SPDX-License-Identifier: GPL-2.0
/* tcl-agent: loads the BPF LSM programs, keeps their maps in step with the policy, and turns
 * kernel records into the event stream. See README.md "tcl-agent". */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "admit.h"
#include "agent.h"
#include "agent_conf.h"
#include "agent_metrics.h"
#include "attest_worker.h"
#include "bpf_loader.h"
#include "diag.h"
#include "events.h"
#include "evstream.h"
#include "jsonb.h"
#include "canonjson.h"
#include "cgroup.h"
#include "ocimeta.h"
#include "maps.h"
#include "log.h"
#include "measure.h"
#include "policy.h"
#include "runtime.h"
#include "scope.h"
#include "sdnotify.h"
#include "status.h"
#include "util.h"
#include "verify.h"

#define TCL_STATE_FILE "/run/tcl/agent.json"
#define TCL_ATTEST_CERT "/etc/tcl/attest/tls.crt"
#define TCL_ATTEST_KEY "/etc/tcl/attest/tls.key"
#define TCL_ATTEST_STATE "/var/lib/tcl/attest.json"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: tcl-agent [--config FILE] [OPTIONS]\n"
		"Measure and enforce what containers execute, with BPF LSM programs.\n"
		"\n"
		"  --config FILE        'key = value' lines, keys = these option names (default %s,\n"
		"                       which may be missing); the command line wins\n"
		"  --check-config       check the options, the config file and the policy, print the\n"
		"                       settings given as config lines, and exit (0: valid)\n"
		"  --audit              report what is not allowed, deny nothing (default)\n"
		"  --enforce            deny what is not allowed with EPERM\n"
		"  --policy FILE        allowlist policy (JSON, version 1); SIGHUP reloads it\n"
		"  --scope SCOPE        containers (default) | all | cgroup:PATH\n"
		"  --events PATH|-      also write events as JSON lines to PATH (- = stdout)\n"
		"  --socket PATH        event/status socket for tclctl (default %s)\n"
		"  --pin-dir DIR        where programs, links and maps are pinned (default %s)\n"
		"  --max-digests N      capacity of the allow map, all images together (default %u);\n"
		"                       applies when the programs are loaded, not to pinned ones\n"
		"  --cgroup-root DIR    cgroup v2 mount (default /sys/fs/cgroup)\n"
		"  --log PATH           measurement log, IMA binary format (default %s)\n"
		"  --log-max-bytes N    bound on the log's disk use (default %llu; 0: unbounded):\n"
		"                       segments the attestor acknowledged are deleted past it\n"
		"  --tpm TCTI|none      TPM for the log's PCR, a libtss2 TCTI (default device:/dev/tpmrm0\n"
		"                       when it exists, else none: the log is then not anchored)\n"
		"  --pcr N              the PCR the log extends (default %d)\n"
		"  --registry URL       image storage: golden manifests are pulled from here\n"
		"  --trust-key PEM      public key that signs golden manifests (repeatable)\n"
		"  --golden-cache DIR   verified golden manifests (default %s)\n"
		"  --attestor URL       push evidence (quote + log) to tcl-attestor at URL (https://),\n"
		"                       every --attest-interval and after each container start\n"
		"  --attestor-cert PEM  this node's TLS client certificate (default %s)\n"
		"  --attestor-key PEM   its private key (default %s; the certificate's file when\n"
		"                       --attestor-cert is given, as the kubelet's holds both)\n"
		"  --attestor-ca PEM    CA bundle for the attestor's certificate (default: system)\n"
		"  --node-id NAME       node id at the attestor (default $NODE_NAME, else the\n"
		"                       certificate's CN without \"system:node:\")\n"
		"  --attest-interval S  seconds between pushes (default %d)\n"
		"  --attest-state FILE  what the attestor acknowledged (default %s)\n"
		"  --metrics HOST:PORT  serve Prometheus metrics on http://HOST:PORT/metrics\n"
		"                       (e.g. 127.0.0.1:9464, [::1]:9464; default off)\n"
		"  --revocation-state FILE  revocations the attestor sent, kept across restarts\n"
		"                       (default %s)\n"
		"  -v, --verbose        more messages (repeat for debug)\n"
		"  -q, --quiet          errors only\n"
		"  -h, --help           this text\n"
		"\n"
		"The programs stay attached when the agent exits or is killed: enforcement goes on.\n"
		"A restarted agent re-attaches to them. `tclctl unload --yes` removes them.\n",
		TCL_AGENT_CONFIG, TCL_DEFAULT_SOCKET, TCL_DEFAULT_PIN_DIR, TCL_DEFAULT_MAX_DIGESTS,
		TCL_MEASURE_DEFAULT_LOG, (unsigned long long)TCL_MEASURE_DEFAULT_LOG_MAX,
		TCL_MEASURE_DEFAULT_PCR,
		TCL_DEFAULT_GOLDEN_CACHE, TCL_ATTEST_CERT, TCL_ATTEST_KEY,
		TCL_ATTEST_DEFAULT_INTERVAL, TCL_ATTEST_STATE, TCL_REVOKE_STATE);
}

static void emit_agent_event(struct agent *a, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void emit_agent_event(struct agent *a, const char *reason, const char *fmt, ...)
{
	char msg[512], line[TCL_EVENT_JSON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit_line(a, line,
		  tcl_event_format_simple("agent", NULL, reason, msg, -1, NULL, line, sizeof(line)));
}

/* Every digest the kernel reports is measured with the kernel's verdict: what ran (allowed,
 * or audit mode's "would deny") as an ima-ng file entry, what the kernel refused (enforce
 * mode: the file never ran) as an exec_refused entry.  The pipeline keeps one entry of each
 * kind per (container, digest); the event stream shows every attempt. */
static void measure_event(struct agent *a, const struct tcl_event *e,
			  const struct tcl_event_meta *m)
{
	const char *cid = m->container_id && *m->container_id ? m->container_id : NULL;
	char path[TCL_PATH_LEN + 1];
	int ret;

	if (!a->measure || !tcl_event_has_digest(e))
		return;
	memcpy(path, e->path, TCL_PATH_LEN);
	path[TCL_PATH_LEN] = '\0';
	if (e->verdict == TCL_VERDICT_DENY)
		ret = tcl_measure_refused(a->measure, cid, path, e->sha256, tcl_hook_type(e->hook),
					  tcl_reason_name(e->reason));
	else
		ret = tcl_measure_file(a->measure, cid, path, e->sha256);
	if (ret && ret != -ENOTRECOVERABLE && ret != -ENOBUFS)
		pr_warn("measure", "%s not measured: %s", path, strerror(-ret));
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct agent *a = ctx;
	struct tcl_event_meta meta = {};
	char line[TCL_EVENT_JSON_MAX];
	const struct tcl_event *e = data;

	if (size < sizeof(struct tcl_event))
		return 0;
	if (e->hook == TCL_HOOK_CGROUP_MKDIR && e->reason == TCL_REASON_SCOPE_FULL) {
		/* The kernel could not put a new container cgroup in scope: its hook refuses it. */
		emit_agent_event(a, "scope_full",
				 "scope map full: container cgroup %.200s has no scope entry; in "
				 "enforce mode its container is refused at creation",
				 e->path);
		return 0;
	}
	if (e->hook == TCL_HOOK_CGROUP_MKDIR || e->hook == TCL_HOOK_CGROUP_RMDIR) {
		tcl_scope_cgroup_record(a->scope, e);
		return 0;
	}
	tcl_scope_meta(a->scope, e->scope_cgid, &meta);
	emit_line(a, line, tcl_event_format(e, &meta, line, sizeof(line)));
	/* Guard refusals and refused write-opens ran nothing and carry no digest: not measured. */
	measure_event(a, e, &meta);
	return 0;
}

static void on_container(void *ctx, bool started, const struct tcl_container_view *c)
{
	struct agent *a = ctx;
	char line[TCL_EVENT_JSON_MAX], msg[300];

	snprintf(msg, sizeof(msg), "cgroup %s, runtime %s%s", c->cgroup_path ? c->cgroup_path : "?",
		 c->runtime ? c->runtime : "unknown",
		 started && !c->image_idx ? ", no image set: global allowlist only" : "");
	emit_line(a, line,
		  tcl_event_format_simple(started ? "container_start" : "container_stop", NULL, NULL,
					  msg, -1, &c->meta, line, sizeof(line)));
	if (started)
		tcl_attest_worker_kick(a->attest);
	if (started && a->measure && c->start_record) {
		int ret = tcl_measure_buf(a->measure, "container_start", c->start_record);

		if (ret && ret != -ENOTRECOVERABLE)
			pr_warn("measure", "container_start not measured: %s", strerror(-ret));
	} else if (started) {
		measure_record(a, "container_start",
			       (const char *const[]){ "container_id", c->meta.container_id,
						      "pod_uid", c->meta.pod_uid, "image",
						      c->meta.image, "image_digest",
						      c->meta.image_digest, "cgroup", c->cgroup_path,
						      NULL });
	} else if (c->meta.container_id && *c->meta.container_id) {
		/* The attestor forgets a stopped container first when a node reaches its
		 * container limit; without the stop, churn alone would fill it. */
		measure_record(a, "container_stop",
			       (const char *const[]){ "container_id", c->meta.container_id,
						      "pod_uid", c->meta.pod_uid, "cgroup",
						      c->cgroup_path, NULL });
	}
}

/* Records the kernel could not deliver (ring buffer full) may have been measurements: the
 * stream says so, and so does the measurement log (a records_lost entry, source "kernel"), so
 * that an attestor never takes the log for complete. */
static void check_drops(struct agent *a)
{
	uint64_t c[TCL_CNT_MAX], n;
	char line[512];
	int ret;

	if (tcl_bpf_counters(a->bpf, c) || c[TCL_CNT_DROPS] <= a->last_drops)
		return;
	n = c[TCL_CNT_DROPS] - a->last_drops;
	a->last_drops = c[TCL_CNT_DROPS];
	emit_line(a, line,
		  tcl_event_format_simple("drop", NULL, "ringbuf_full", NULL, (int64_t)n, NULL,
					  line, sizeof(line)));
	if (!a->measure)
		return;
	ret = tcl_measure_lost(a->measure, TCL_MEASURE_LOST_KERNEL, n);
	if (ret && ret != -ENOTRECOVERABLE)
		pr_warn("measure", "%llu lost kernel records not recorded in the log: %s",
			(unsigned long long)n, strerror(-ret));
}

/* Build the global allowlist (policy + runtime binaries) and the image sets; load them. */
static int apply_policy(struct agent *a, struct tcl_policy *p)
{
	uint8_t(*d)[32] = NULL;
	size_t added, removed, total_added = 0, total_removed = 0;
	int ret, n;

	n = tcl_runtime_allow(p);
	if (n < 0)
		pr_warn("policy", "cannot hash the runtime binaries: %s", strerror(-n));
	d = malloc((p->n_allow + 1) * 32);
	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_allow; i++)
		memcpy(d[i], p->allow[i].sha256, 32);
	ret = tcl_allow_sync(a->bpf, 0, (const uint8_t(*)[32])d, p->n_allow, &added, &removed);
	free(d);
	if (ret)
		return ret;
	total_added += added;
	total_removed += removed;
	ret = tcl_scope_apply_images(a->scope, p, &added, &removed);
	if (ret)
		return ret;
	total_added += added;
	total_removed += removed;
	a->n_allow = p->n_allow;
	{
		char n_global[24], n_images[24], sha[65] = "";
		uint8_t file_sha[32];

		snprintf(n_global, sizeof(n_global), "%zu", p->n_allow);
		snprintf(n_images, sizeof(n_images), "%zu", p->n_images);
		if (a->policy_path && !tcl_sha256_file(a->policy_path, file_sha))
			tcl_hex(file_sha, 32, sha);
		measure_record(a, "policy_load",
			       (const char *const[]){ "policy", a->policy_path, "sha256", sha,
						      "global_digests", n_global, "image_sets",
						      n_images, NULL });
	}
	pr_info("policy", "%zu global digests, %zu image sets (%zu added, %zu removed)", p->n_allow,
		p->n_images, total_added, total_removed);
	/* The parse of a large policy leaves the heap grown by several times the file's size;
	 * give it back rather than keep it for the agent's life. */
	malloc_trim(0);
	return 0;
}

static int load_policy(struct agent *a, struct tcl_policy **out)
{
	char err[1024];
	int ret;

	if (!a->policy_path) {
		*out = calloc(1, sizeof(**out));
		if (!*out)
			return -ENOMEM;
		(*out)->version = 1;
		return 0;
	}
	ret = tcl_policy_load(a->policy_path, out, err, sizeof(err));
	if (ret)
		pr_err("policy", "%s", err);
	return ret;
}

static void reload_policy(struct agent *a)
{
	struct tcl_policy *p = NULL;
	int ret;

	ret = load_policy(a, &p);
	if (!ret)
		ret = apply_policy(a, p);
	if (ret) {
		tcl_policy_free(p);
		emit_agent_event(a, "policy_reload_failed",
				 "policy reload failed, keeping the previous policy: %s",
				 strerror(-ret));
		/* Re-apply the old one: a partial sync must not leave a mixed set. */
		if (ret != -EINVAL)
			apply_policy(a, a->policy);
		return;
	}
	tcl_policy_free(a->policy);
	a->policy = p;
	emit_agent_event(a, "policy_loaded", "policy reloaded: %zu digests", p->n_allow);
}

static void report_measure_open(struct agent *a)
{
	const struct tcl_measure_report *r = &a->mrep;

	if (r->torn_bytes)
		emit_agent_event(a, "log_torn_tail",
				 "measurement log: a torn last entry (%llu bytes) was truncated%s%s",
				 (unsigned long long)r->torn_bytes,
				 r->torn_saved_to[0] ? ", saved to " : "", r->torn_saved_to);
	if (r->recovered)
		emit_agent_event(a, "log_recovered",
				 "measurement log: %zu entries logged before a crash were extended now",
				 r->recovered);
	if (r->rotated_to[0])
		emit_agent_event(a, "log_rotated", "the TPM was reset: previous log kept as %s",
				 r->rotated_to);
	if (r->ak_err)
		emit_agent_event(a, "ak_unavailable", "attestation key unavailable: %s",
				 strerror(-r->ak_err));
	if (r->state != TCL_MEASURE_OK)
		emit_agent_event(a, "log_mismatch",
				 "measurement log refuses appends (%s): %s; enforcement goes on",
				 tcl_measure_state_name(r->state), r->why);
	measure_record(a, "agent_start",
		       (const char *const[]){ "mode", a->mode == TCL_MODE_ENFORCE ? "enforce" : "audit",
					      "scope", a->scope_arg, "policy", a->policy_path,
					      "registry", a->vopts.registry_url, NULL });
}

/* One `agent` event per change of the attestor's verdict or of the push error. */
static void check_attest(struct agent *a)
{
	struct tcl_attest_worker_status as;

	if (!a->attest)
		return;
	tcl_attest_worker_status(a->attest, &as);
	if (as.changes == a->attest_changes)
		return;
	a->attest_changes = as.changes;
	if (as.last_error)
		emit_agent_event(a, "attest_failed", "evidence not delivered to %s: %s", as.url,
				 as.reason);
	else
		emit_agent_event(a, "attest_verdict", "attestor %s: node %s %s%s%s", as.url,
				 as.node_id, as.verdict, as.reason[0] ? ": " : "", as.reason);
}

/* ---- revocations (agent/revocations.h): the attestor's list, applied to the containers ---- */

static const struct tcl_revocation *revoked_of(void *ctx, const char *image_digest)
{
	struct agent *a = ctx;

	return tcl_arev_match(a->revs, image_digest);
}

/* One container's revocation applied (r) or lifted (NULL): measured, and an event. */
static void on_revocation_applied(void *ctx, const struct tcl_container_view *c,
				  const struct tcl_revocation *r)
{
	struct agent *a = ctx;
	const struct tcl_revocation_list *l = tcl_arev_list(a->revs);
	const char *digest = c->meta.image_digest;
	char line[TCL_EVENT_JSON_MAX], msg[600], id[24], ver[24];
	bool enforce = a->mode == TCL_MODE_ENFORCE;

	snprintf(id, sizeof(id), "%llu", r ? (unsigned long long)r->id : 0ULL);
	snprintf(ver, sizeof(ver), "%llu", (unsigned long long)l->version);
	if (r)
		snprintf(msg, sizeof(msg), "image revoked (revocation %s, %s %s: %s): %s", id,
			 tcl_revoke_kind_name(r->kind), r->value, r->reason,
			 enforce ? "no new exec or executable mapping in this container" :
				   "audit mode: its execs are reported, not denied");
	else
		snprintf(msg, sizeof(msg), "revocation withdrawn (list version %s): %s", ver,
			 c->image_idx ? "the image's golden set applies again" :
					"no image set here: the global allowlist only");
	emit_line(a, line,
		  tcl_event_format_simple("agent", r ? (enforce ? "deny" : "audit") : NULL,
					  r ? "revoked" : "revocation_lifted", msg, -1, &c->meta, line,
					  sizeof(line)));
	measure_record(a, r ? "revocation_applied" : "revocation_lifted",
		       (const char *const[]){ "container_id", c->meta.container_id, "image",
					      c->meta.image, "image_digest", digest, "keyid",
					      tcl_arev_key_of(a->revs, digest), "revocation",
					      r ? id : NULL, "kind",
					      r ? tcl_revoke_kind_name(r->kind) : NULL, "value",
					      r ? r->value : NULL, "reason", r ? r->reason : NULL,
					      "list_version", ver, "mode",
					      enforce ? "enforce" : "audit", NULL });
	pr_warn("revoke", "container %.64s (%.200s): %s", c->meta.container_id ?
		c->meta.container_id : "?", c->meta.image ? c->meta.image : "?", msg);
}

/* A new list from the attestor: kept (state file), measured, applied to every container. */
static void check_revocations(struct agent *a)
{
	struct tcl_revocation_list l;
	char ver[24], n[24], sha[65] = "", *text = NULL;
	size_t len, changed;

	if (!tcl_attest_worker_take_revocations(a->attest, &l))
		return;
	if (tcl_arev_update(a->revs, &l) <= 0)
		return;
	l = *tcl_arev_list(a->revs);
	snprintf(ver, sizeof(ver), "%llu", (unsigned long long)l.version);
	snprintf(n, sizeof(n), "%zu", l.n);
	if (!tcl_revocation_list_text(&l, &text, &len))
		tcl_sha256_hex(text, len, false, sha);
	free(text);
	measure_record(a, "revocations",
		       (const char *const[]){ "list_version", ver, "entries", n, "sha256", sha,
					      NULL });
	changed = tcl_scope_apply_revocations(a->scope);
	emit_agent_event(a, "revocations", "revocation list version %s from the attestor: %s "
			 "entries, %zu containers changed", ver, n, changed);
}

static void write_state(struct agent *a)
{
	char buf[4096];
	int n = agent_status_json(a, buf, sizeof(buf));

	tcl_mkdir_p("/run/tcl", 0755);
	if (n > 0 && tcl_write_file_atomic(TCL_STATE_FILE, buf, n, 0644))
		pr_warn("agent", "cannot write %s", TCL_STATE_FILE);
}

static int run(struct agent *a)
{
	struct pollfd fds[2 + 1 + 1 + TCL_EVSTREAM_MAX_CLIENTS + 1];
	struct itimerspec tick = { { 1, 0 }, { 1, 0 } };
	int sfd, tfd, ret = 0;
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (sfd < 0 || tfd < 0 || timerfd_settime(tfd, 0, &tick, NULL))
		return -errno;

	for (;;) {
		struct signalfd_siginfo si;
		uint64_t ticks;
		int n = 0;

		fds[n++] = (struct pollfd){ .fd = ring_buffer__epoll_fd(a->rb), .events = POLLIN };
		fds[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		fds[n++] = (struct pollfd){ .fd = tfd, .events = POLLIN };
		int first_stream = n;
		n += tcl_evstream_pollfds(a->stream, &fds[n], (int)(sizeof(fds) / sizeof(fds[0])) - n);

		if (poll(fds, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		if (fds[0].revents)
			ring_buffer__consume(a->rb);
		tcl_evstream_handle(a->stream, &fds[first_stream], n - first_stream);
		if (fds[2].revents && read(tfd, &ticks, sizeof(ticks)) > 0) {
			ring_buffer__consume(a->rb);
			check_drops(a);
			check_attest(a);
			check_revocations(a);
			tcl_scope_tick(a->scope);
		}
		if (fds[1].revents && read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGHUP) {
				reload_policy(a);
				continue;
			}
			pr_info("agent", "signal %d: exiting; the programs stay attached", si.ssi_signo);
			ring_buffer__consume(a->rb);
			check_drops(a);
			break;
		}
	}
	close(sfd);
	close(tfd);
	return ret;
}

/* A decimal option value in [min, max]; anything else is a usage error, said once here. */
static int number_opt(const char *name, const char *arg, unsigned long min, unsigned long max,
		      unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end || errno || v < min || v > max) {
		fprintf(stderr, "tcl-agent: bad --%s %s (%lu-%lu)\n", name, arg, min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* --attestor and its companions, checked before anything is attached. */
static int check_attest_opts(struct agent *a)
{
	struct tcl_attest_opts *o = &a->aopts.client;
	const char *env = getenv("NODE_NAME");

	if (!o->url) {
		if (o->cert || o->key || o->ca_file || o->node_id || o->state_path ||
		    a->aopts.interval_s) {
			fprintf(stderr, "tcl-agent: --attestor-* and --node-id need --attestor URL\n");
			return -EINVAL;
		}
		return 0;
	}
	if (strncmp(o->url, "https://", 8) || !o->url[8]) {
		fprintf(stderr, "tcl-agent: --attestor %s: an https:// URL is needed\n", o->url);
		return -EINVAL;
	}
	if (a->mopts.tcti && !strcmp(a->mopts.tcti, "none")) {
		fprintf(stderr, "tcl-agent: --attestor needs a TPM: evidence is a TPM quote "
				"(--tpm none given)\n");
		return -EINVAL;
	}
	if (!o->key)
		o->key = o->cert ? o->cert : TCL_ATTEST_KEY;
	if (!o->cert)
		o->cert = TCL_ATTEST_CERT;
	if (!o->node_id && env && *env)
		o->node_id = env;
	if (!o->state_path)
		o->state_path = TCL_ATTEST_STATE;
	/* Before the log is opened (and its PCR extended) by an agent that would not start. */
	const char *files[] = { o->cert, o->key, o->ca_file };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (files[i] && access(files[i], R_OK)) {
			fprintf(stderr, "tcl-agent: %s: %s\n", files[i], strerror(errno));
			return -EINVAL;
		}
	}
	o->log_path = a->mopts.log_path ? a->mopts.log_path : TCL_MEASURE_DEFAULT_LOG;
	o->timeout_s = 15;
	return 0;
}

/* The revocations kept by the last run.  Fail closed: in enforce mode a state file that
 * cannot be read stops the start (its revocations would silently not apply); in audit mode the
 * agent starts with none and says so (nothing is denied in audit mode anyway), and the next
 * answer from the attestor brings the list back. */
static int open_revocations(struct agent *a)
{
	char err[300] = "";
	int ret;

	if (!a->revoke_path)
		a->revoke_path = TCL_REVOKE_STATE;
	ret = tcl_arev_open(a->revoke_path, &a->revs, err, sizeof(err));
	if (!ret) {
		if (tcl_arev_list(a->revs)->n)
			pr_info("revoke", "%zu revocations in force (list version %llu, %s)",
				tcl_arev_list(a->revs)->n,
				(unsigned long long)tcl_arev_list(a->revs)->version, a->revoke_path);
		return 0;
	}
	if (a->mode == TCL_MODE_ENFORCE) {
		pr_err("revoke", "%s: %s; refusing to start in enforce mode without the "
		       "revocations in force (move the file away: the attestor sends the list "
		       "again with its next answer)", a->revoke_path, err);
		return ret;
	}
	pr_warn("revoke", "%s: %s; audit mode: starting with no revocations until the "
		"attestor's next answer", a->revoke_path, err);
	return tcl_arev_new(a->revoke_path, &a->revs);
}

/* --check-config: the settings given (config file and command line merged), as config lines. */
static void print_config(const struct agent *a)
{
	const struct tcl_attest_opts *o = &a->aopts.client;
	const char *const kv[] = {
		"policy", a->policy_path, "scope", a->scope_arg, "events", a->events_path,
		"socket", a->socket_path, "pin-dir", a->pin_dir, "cgroup-root", a->cgroup_root,
		"log", a->mopts.log_path, "tpm", a->mopts.tcti, "registry", a->vopts.registry_url,
		"golden-cache", a->vopts.cache_dir, "attestor", o->url, "attestor-cert", o->cert,
		"attestor-key", o->key, "attestor-ca", o->ca_file, "node-id", o->node_id,
		"attest-state", o->state_path, "metrics", a->metrics_addr, "revocation-state",
		a->revoke_path, NULL
	};

	printf("%s = true\n", a->mode == TCL_MODE_ENFORCE ? "enforce" : "audit");
	for (size_t i = 0; kv[i]; i += 2)
		if (kv[i + 1])
			printf("%s = %s\n", kv[i], kv[i + 1]);
	for (size_t i = 0; i < a->vopts.n_trust_keys; i++)
		printf("trust-key = %s\n", a->vopts.trust_keys[i]);
	if (a->mopts.pcr)
		printf("pcr = %u\n", a->mopts.pcr);
	if (a->log_max_set)
		printf("log-max-bytes = %llu\n", (unsigned long long)a->mopts.log_max_bytes);
	if (a->bopts.max_digests)
		printf("max-digests = %u\n", a->bopts.max_digests);
	if (a->aopts.interval_s)
		printf("attest-interval = %u\n", a->aopts.interval_s);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "audit", no_argument, NULL, 'A' },	  { "enforce", no_argument, NULL, 'E' },
		{ "policy", required_argument, NULL, 'p' }, { "scope", required_argument, NULL, 's' },
		{ "events", required_argument, NULL, 'e' }, { "socket", required_argument, NULL, 'S' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "cgroup-root", required_argument, NULL, 'C' },
		{ "registry", required_argument, NULL, 'R' },
		{ "log", required_argument, NULL, 'L' },
		{ "log-max-bytes", required_argument, NULL, 'B' },
		{ "tpm", required_argument, NULL, 'T' },
		{ "pcr", required_argument, NULL, 'N' },
		{ "trust-key", required_argument, NULL, 'K' },
		{ "golden-cache", required_argument, NULL, 'G' },
		{ "max-digests", required_argument, NULL, 'D' },
		{ "attestor", required_argument, NULL, 'a' },
		{ "attestor-cert", required_argument, NULL, 'c' },
		{ "attestor-key", required_argument, NULL, 'k' },
		{ "attestor-ca", required_argument, NULL, 'x' },
		{ "node-id", required_argument, NULL, 'n' },
		{ "attest-interval", required_argument, NULL, 'i' },
		{ "attest-state", required_argument, NULL, 'z' },
		{ "metrics", required_argument, NULL, 'M' },
		{ "revocation-state", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },	  { "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "config", required_argument, NULL, 'F' },
		{ "check-config", no_argument, NULL, 'Y' },
		{}
	};
	struct agent a = {
		.mode = TCL_MODE_AUDIT,
		.scope_arg = "containers",
		.socket_path = TCL_DEFAULT_SOCKET,
		.pin_dir = TCL_DEFAULT_PIN_DIR,
		.cgroup_root = "/sys/fs/cgroup",
		.mopts.log_max_bytes = TCL_MEASURE_DEFAULT_LOG_MAX,
	};
	struct tcl_config cfg;
	struct timespec now;
	sigset_t sigs;
	unsigned long num;
	char why[256];
	bool check_only = false;
	int c, ret;

	tcl_prog = "tcl-agent";
	/* Before any thread exists: the measurement worker must inherit the blocked mask, or a
	 * SIGHUP delivered to it would kill the agent instead of reloading the policy. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* The config file's settings go before the command line's: the command line wins. */
	if (tcl_agent_conf_argv(&argc, &argv, opts, stderr))
		return 2;
	while ((c = getopt_long(argc, argv, "vqh", opts, NULL)) != -1) {
		switch (c) {
		case 'A':
			a.mode = TCL_MODE_AUDIT;
			break;
		case 'E':
			a.mode = TCL_MODE_ENFORCE;
			break;
		case 'p':
			a.policy_path = optarg;
			break;
		case 's':
			a.scope_arg = optarg;
			break;
		case 'e':
			a.events_path = optarg;
			break;
		case 'S':
			a.socket_path = optarg;
			break;
		case 'P':
			a.pin_dir = optarg;
			break;
		case 'C':
			a.cgroup_root = optarg;
			break;
		case 'R':
			a.vopts.registry_url = optarg;
			break;
		case 'L':
			a.mopts.log_path = optarg;
			break;
		case 'B':
			if (number_opt("log-max-bytes", optarg, 0, 1ul << 50, &num))
				return 2;
			if (num && num < TCL_LOG_BOUND_MIN) {
				fprintf(stderr, "tcl-agent: --log-max-bytes is 0 (unbounded) or at "
					"least %u\n", TCL_LOG_BOUND_MIN);
				return 2;
			}
			a.mopts.log_max_bytes = num;
			a.log_max_set = true;
			break;
		case 'T':
			a.mopts.tcti = optarg;
			break;
		case 'N':
			/* 0-23 here; tcl_measure_open says why a PCR outside 10-15 cannot be used */
			if (number_opt("pcr", optarg, 0, 23, &num))
				return 2;
			a.mopts.pcr = (uint32_t)num;
			break;
		case 'K':
			if (a.vopts.n_trust_keys == TCL_MAX_TRUST_KEYS) {
				fprintf(stderr, "tcl-agent: at most %d --trust-key\n",
					TCL_MAX_TRUST_KEYS);
				return 2;
			}
			a.vopts.trust_keys[a.vopts.n_trust_keys++] = optarg;
			break;
		case 'G':
			a.vopts.cache_dir = optarg;
			break;
		case 'D':
			/* the kernel caps a hash map's entries well below 2^31 */
			if (number_opt("max-digests", optarg, 1024, 1ul << 28, &num))
				return 2;
			a.bopts.max_digests = (uint32_t)num;
			break;
		case 'a':
			a.aopts.client.url = optarg;
			break;
		case 'c':
			a.aopts.client.cert = optarg;
			break;
		case 'k':
			a.aopts.client.key = optarg;
			break;
		case 'x':
			a.aopts.client.ca_file = optarg;
			break;
		case 'n':
			a.aopts.client.node_id = optarg;
			break;
		case 'z':
			a.aopts.client.state_path = optarg;
			break;
		case 'r':
			a.revoke_path = optarg;
			break;
		case 'i':
			if (number_opt("attest-interval", optarg, 1, 86400, &num))
				return 2;
			a.aopts.interval_s = (unsigned int)num;
			break;
		case 'M':
			if (agent_metrics_check_addr(optarg))
				return 2;
			a.metrics_addr = optarg;
			break;
		case 'v':
			tcl_verbosity++;
			break;
		case 'q':
			tcl_verbosity = TCL_ERR;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'F':
			break;
		case 'Y':
			check_only = true;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tcl-agent: unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (check_attest_opts(&a))
		return 2;
	ret = tcl_scope_new(a.scope_arg, a.cgroup_root, &a.scope);
	if (ret)
		return 2;
	/* A bad policy or key is refused before anything is attached. */
	if (load_policy(&a, &a.policy))
		return 1;
	if ((a.vopts.registry_url || a.vopts.n_trust_keys) &&
	    tcl_verifier_new(&a.vopts, &a.verifier))
		return 1;
	if (check_only) {
		print_config(&a);
		return 0;
	}
	if (geteuid() != 0) {
		pr_err("agent", "must run as root (CAP_BPF, CAP_SYS_ADMIN, CAP_MAC_ADMIN)");
		return 1;
	}
	if (tcl_bpf_probe(why, sizeof(why))) {
		pr_err("bpf", "%s", why);
		return 1;
	}
	if (a.events_path) {
		a.events_out = strcmp(a.events_path, "-") ? fopen(a.events_path, "ae") : stdout;
		if (!a.events_out) {
			pr_err("events", "cannot open %s: %s", a.events_path, strerror(errno));
			return 1;
		}
	}
	clock_gettime(CLOCK_REALTIME, &now);
	tcl_rfc3339(now.tv_sec, now.tv_nsec, a.started, sizeof(a.started));

	/* The measurement log opens before anything is attached: a log that cannot be written
	 * (or a TPM that cannot be used) is a start-up error, not a silent gap. */
	if (!a.mopts.tcti) {
		a.mopts.tcti = access("/dev/tpmrm0", R_OK | W_OK) ? "none" : "device:/dev/tpmrm0";
		if (!strcmp(a.mopts.tcti, "none") && a.aopts.client.url) {
			pr_err("attest", "--attestor needs a TPM and there is none at /dev/tpmrm0 "
			       "(--tpm TCTI)");
			return 1;
		}
		if (!strcmp(a.mopts.tcti, "none"))
			pr_warn("measure", "no TPM at /dev/tpmrm0: the log is not anchored (--tpm)");
	}
	if (open_revocations(&a))
		return 1;
	if (tcl_measure_open(&a.mopts, &a.measure, &a.mrep))
		return 1;
	if (a.aopts.client.url && tcl_attest_worker_new(&a.aopts, tcl_measure_tpm(a.measure),
							a.measure, &a.attest)) {
		tcl_measure_close(a.measure);
		return 1;
	}

	ret = tcl_bpf_open_opts(a.pin_dir, &a.bopts, &a.bpf);
	if (ret)
		return 1;
	ret = tcl_bpf_get_config(a.bpf, &cfg);
	if (ret)
		goto out;
	if (a.bpf->reattached) {
		uint64_t cnt[TCL_CNT_MAX] = {};

		tcl_bpf_counters(a.bpf, cnt);
		a.last_drops = cnt[TCL_CNT_DROPS];
		pr_info("agent",
			"pinned state: mode %s, %zu scope entries, %zu global digests, %llu denials so far",
			cfg.mode == TCL_MODE_ENFORCE ? "enforce" : "audit", tcl_scope_count(a.bpf),
			tcl_allow_count(a.bpf, 0), (unsigned long long)cnt[TCL_CNT_DENIALS]);
	}
	tcl_scope_on_container(a.scope, on_container, &a);
	tcl_scope_on_revoked(a.scope, revoked_of, on_revocation_applied, &a);
	tcl_scope_on_reverify(a.scope, agent_reverify, &a);
	ret = tcl_scope_attach(a.scope, a.bpf, &cfg);
	if (ret)
		goto out;
	ret = apply_policy(&a, a.policy);
	if (ret)
		goto out;
	/* Mode last: enforcement starts only once the allow sets are in place. Ready with it:
	 * from here on the kernel enforces what this agent was asked to. */
	cfg.mode = a.mode;
	cfg.ready = 1;
	ret = tcl_bpf_set_config(a.bpf, &cfg);
	if (ret)
		goto out;
	a.ready = true;

	a.rb = ring_buffer__new(a.bpf->map_fd[TCL_MAP_EVENTS], on_record, &a, NULL);
	if (!a.rb) {
		ret = -errno;
		pr_err("events", "cannot open the ring buffer: %s", strerror(-ret));
		goto out;
	}
	ret = tcl_evstream_open(a.socket_path, agent_handle_request, &a, &a.stream);
	if (ret)
		goto out;
	if (a.metrics_addr && (ret = agent_metrics_start(&a, a.metrics_addr)))
		goto out;
	report_measure_open(&a);
	/* After agent_start is queued: the first evidence already says how we run. */
	if (a.attest && tcl_attest_worker_run(a.attest)) {
		ret = -1;
		goto out;
	}
	write_state(&a);
	/* systemd (Type=notify): ready when `tclctl status` would say so, the socket answering */
	tcl_sd_notify("READY=1");
	emit_agent_event(&a, a.bpf->reattached ? "reattached" : "started",
			 "tcl-agent %s, mode %s, scope %s, %zu global digests",
			 a.bpf->reattached ? "re-attached to pinned programs" : "attached programs",
			 a.mode == TCL_MODE_ENFORCE ? "enforce" : "audit", a.scope_arg,
			 a.policy->n_allow);
	pr_info("agent", "%s, mode %s, scope %s; events on %s",
		a.bpf->reattached ? "re-attached" : "attached",
		a.mode == TCL_MODE_ENFORCE ? "enforce" : "audit", a.scope_arg, a.socket_path);
	ret = run(&a);
	tcl_sd_notify("STOPPING=1");
out:
	agent_metrics_stop();
	tcl_attest_worker_stop(a.attest);
	ring_buffer__free(a.rb);
	tcl_evstream_close(a.stream);
	tcl_scope_free(a.scope);
	tcl_bpf_close(a.bpf);
	tcl_policy_free(a.policy);
	tcl_verifier_free(a.verifier);
	tcl_measure_close(a.measure);
	tcl_arev_free(a.revs);
	if (a.events_out && a.events_out != stdout)
		fclose(a.events_out);
	unlink(TCL_STATE_FILE);
	return ret ? 1 : 0;
}
