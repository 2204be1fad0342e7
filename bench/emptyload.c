// SPDX-License-Identifier: GPL-2.0
/*
 * emptyload: load bench/empty.bpf.c's programs, attach them and pin their links in DIR, so that
 * they stay attached after this program exits (rm -r DIR detaches them). A hook the running
 * kernel does not have (file_truncate before Linux 6.2) is left out and named on stderr.
 * usage: emptyload OBJ DIR
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

/* "lsm/inode_permission" -> "bpf_lsm_inode_permission"; other sections need no check */
static int hook_exists(const struct btf *btf, const char *sec)
{
	char fn[128];
	const char *h = strchr(sec, '/');

	if (strncmp(sec, "lsm", 3) || !h || !btf)
		return 1;
	snprintf(fn, sizeof(fn), "bpf_lsm_%s", h + 1);
	return btf__find_by_name_kind(btf, fn, BTF_KIND_FUNC) >= 0;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj = NULL;
	struct bpf_program *p;
	struct btf *btf;
	char pin[512];
	int ret = 1, n = 0;

	if (argc != 3 || !strcmp(argv[1], "--help")) {
		fprintf(argc == 2 ? stdout : stderr, "usage: emptyload OBJ DIR\n");
		return argc == 2 ? 0 : 2;
	}
	btf = btf__load_vmlinux_btf();
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "emptyload: cannot open %s: %s\n", argv[1], strerror(errno));
		goto out;
	}
	bpf_object__for_each_program(p, obj) {
		if (!hook_exists(btf, bpf_program__section_name(p))) {
			fprintf(stderr, "emptyload: %s: no such hook here, left out\n",
				bpf_program__name(p));
			bpf_program__set_autoload(p, false);
		}
	}
	if (bpf_object__load(obj)) {
		fprintf(stderr, "emptyload: cannot load %s\n", argv[1]);
		goto out;
	}
	if (mkdir(argv[2], 0700) && errno != EEXIST) {
		fprintf(stderr, "emptyload: %s: %s\n", argv[2], strerror(errno));
		goto out;
	}
	bpf_object__for_each_program(p, obj) {
		struct bpf_link *l;

		if (!bpf_program__autoload(p))
			continue;
		l = bpf_program__attach(p);
		snprintf(pin, sizeof(pin), "%s/%s", argv[2], bpf_program__name(p));
		if (!l || bpf_link__pin(l, pin)) {
			fprintf(stderr, "emptyload: cannot attach %s: %s\n", bpf_program__name(p),
				strerror(errno));
			bpf_link__destroy(l);
			goto out;
		}
		bpf_link__destroy(l); /* the pin holds it */
		n++;
	}
	printf("emptyload: %d empty programs attached, links in %s\n", n, argv[2]);
	ret = 0;
out:
	bpf_object__close(obj);
	btf__free(btf);
	return ret;
}
