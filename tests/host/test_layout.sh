#!/bin/bash
# tests/host/test_layout.sh: the rules of docs/architecture.md, checked on the tree.
#   - every quoted #include in lib/ names a header in lib/ or include/ (or the generated skeleton)
#   - a program folder includes lib/, include/ and itself, never another program folder
#   - bpf/ includes only bpf/, include/, vmlinux/ and the grammar header of lib/ meant for both
#   - no test #includes a .c file (tests link the archives)
#   - every top-level folder and every tests/ folder is named in the README's Layout section
set -u
cd "$(dirname "$0")/../.."
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   - $*"; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }

# check_includes DIR ALLOWED_DIRS...: every #include "x" of DIR's sources resolves in ALLOWED_DIRS
check_includes() {
	local dir=$1 f inc d found errs=0
	shift
	for f in "$dir"/*.[ch]; do
		[ -f "$f" ] || continue
		while read -r inc; do
			found=
			case $inc in *.skel.h) found=generated ;; esac
			for d in "$@"; do
				[ -n "$found" ] && break
				[ -f "$d/$inc" ] && found=$d
			done
			if [ -z "$found" ]; then
				bad "$f includes \"$inc\", not in: $*"
				errs=$((errs + 1))
			fi
		done < <(sed -n 's/^#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
	done
	[ $errs -eq 0 ] && ok "$dir/ includes only from: $*"
}

check_includes lib lib include
for p in agent ctl hook attestor; do
	[ -d "$p" ] && check_includes "$p" "$p" lib include
done
check_includes bpf bpf include vmlinux lib
# bpf/ may use lib/ only for headers written for both compilers
if grep -hs '^#[[:space:]]*include[[:space:]]*"' bpf/*.[ch] | sed 's/.*"\(.*\)".*/\1/' |
	while read -r h; do [ -f "lib/$h" ] && ! grep -q 'both compilers' "lib/$h" && echo "$h"; done |
	grep -q .; then
	bad "bpf/ includes a lib/ header that is not written for both compilers"
else
	ok "bpf/ uses only lib/ headers meant for BPF and user space"
fi

if grep -rlE '^#[[:space:]]*include[[:space:]]*"[^"]*\.c"' tests/ >/dev/null 2>&1; then
	bad "tests #include .c files: $(grep -rlE '^#[[:space:]]*include[[:space:]]*"[^"]*\.c"' tests/ | tr '\n' ' ')"
else
	ok "no test #includes a .c file"
fi

layout=$(sed -n '/^## Layout/,/^## /p' README.md)
missing=
for d in */ tests/*/; do
	d=${d%/}
	case $d in build* | tests/unit/data) continue ;; esac
	grep -qF "\`$d" <<<"$layout" || missing="$missing $d"
done
if [ -z "$missing" ]; then
	ok "README Layout names every folder"
else
	bad "README Layout does not name:$missing"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
