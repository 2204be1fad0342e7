#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tclctl events and tclctl top against a stand-in for the agent's socket (tests/host/live/
# fakeagent.py serving recorded records): readable lines vs JSON lines (the default follows
# whether stdout is a terminal: script(1) gives it one), colour and NO_COLOR, escaping of a
# path that carries a terminal escape, the filters, --follow, and top's table.
# env: O (build directory, default build).  Prints "N passed, N failed" last.
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
CTL=$PWD/$O/tclctl
D=$PWD/tests/host/live
tmp=$(mktemp -d)
SOCK=$tmp/events.sock
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   - $*"; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }
# is WHAT GOT WANT
is() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1"; echo "    got:  $2" | cat -A | head -20; echo "    want: $3"; fi; }
/usr/bin/python3 $D/fakeagent.py $SOCK $D/records.jsonl $D/late.jsonl 1 &
FAKE=$!
trap 'kill $FAKE 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do [ -S $SOCK ] && break; sleep 0.1; done
ev() { TZ=UTC "$CTL" --socket $SOCK events "$@"; }
# on a terminal (script(1)); its CR LF line ends made LF
tty_run() { TZ=UTC script -qec "$1" /dev/null | tr -d '\r'; }

is "not a terminal: the agent's JSON lines, unchanged" "$(ev)" "$(cat $D/records.jsonl)"
is "-o json on a terminal: JSON lines" "$(tty_run "$CTL --socket $SOCK events -o json")" \
	"$(cat $D/records.jsonl)"
out=$(ev -o text)
is "-o text: one line per record" "$(echo "$out" | wc -l)" 8
is "-o text: an allowed exec" "$(echo "$out" | sed -n 3p)" \
	"2026-12-02 10:00:02.000 allow exec            shop/web-1/nginx /bin/busybox 0123456789ab"
is "-o text: a denial, its terminal escape shown as text" "$(echo "$out" | sed -n 4p)" \
	'2026-12-02 10:00:03.000 DENY  exec            shop/web-1/nginx /tmp/evil\x1b[2J.sh fedcba987654 not_allowed'
is "-o text: an unattributed process is its cgroup" "$(echo "$out" | sed -n 7p)" \
	"2026-12-02 10:00:06.000 AUDIT exec            cgroup:777 /usr/local/bin/x efefefefefef not_allowed"
is "-o text: a drop record" "$(echo "$out" | sed -n 8p)" \
	"2026-12-02 10:00:07.000 -     drop            - ringbuf_full count=3"
is "-o text: local time (TZ)" "$(TZ=Europe/Berlin "$CTL" --socket $SOCK events -o text | sed -n 3p | cut -c1-23)" \
	"2026-12-02 11:00:02.000"
esc=$(printf '\033')
echo "$out" | grep -q "$esc" && bad "no escape byte reaches the terminal uncoloured" ||
	ok "no escape byte reaches the terminal uncoloured"
out=$(tty_run "$CTL --socket $SOCK events --verdict deny")
is "a terminal: readable lines, the denial in bold red" "$out" \
	"2026-12-02 10:00:03.000 ${esc}[1;31mDENY ${esc}[0m exec            shop/web-1/nginx /tmp/evil\\x1b[2J.sh fedcba987654 not_allowed"
out=$(NO_COLOR=1 tty_run "$CTL --socket $SOCK events --verdict deny")
echo "$out" | grep -q "$esc" && bad "NO_COLOR: no colour" || ok "NO_COLOR: no colour"
out=$(tty_run "$CTL --socket $SOCK events --verdict deny --color=never")
echo "$out" | grep -q "$esc" && bad "--color=never: no colour" || ok "--color=never: no colour"
ev -o text --color=always --verdict audit | grep -q "${esc}\[1;33mAUDIT" &&
	ok "--color=always: an audit in bold yellow" || bad "--color=always: an audit in bold yellow"

# filters (a drop record passes the container filters)
is "--pod" "$(ev --pod api-7 | grep -o '"path":"[^"]*"\|"type":"drop"' | tr '\n' ' ')" \
	'"path":"/bin/cat" "path":"/bin/ls" "type":"drop" '
is "--namespace" "$(ev --namespace shop -o text | awk '{print $5}' | tr '\n' ' ')" \
	'shop/web-1/nginx shop/web-1/nginx shop/web-1/nginx - '
is "--image NAME (no tag)" "$(ev --image 127.0.0.1:5000/cart --type exec | wc -l)" 2
is "--image DIGEST" "$(ev --image sha256:1111111111111111111111111111111111111111111111111111111111111111 | wc -l)" 4
is "--image REF:TAG" "$(ev --image 127.0.0.1:5000/shop:1.0 --verdict deny | wc -l)" 1
is "--image of a name prefix only" "$(ev --image 127.0.0.1:5000/sho --type exec | wc -l)" 0
is "--container ID prefix and --verdict" "$(ev --container bbbb --verdict allow | wc -l)" 2
out=$(timeout 10 "$CTL" --socket $SOCK events --follow -o text --image 127.0.0.1:5000/cart)
is "--follow: the backlog, then the live record" "$(echo "$out" | awk '{print $4, $6}' | tr '\n' ' ')" \
	"exec /bin/cat exec /bin/ls drop ringbuf_full mmap /tmp/lib.so "

# top
out=$(TZ=UTC timeout 10 "$CTL" --socket $SOCK top --interval 1 | tail -n +2)
is "top, not a terminal: one table, sorted by denials then execs" "$out" \
"CONTAINER         IMAGE                      EXECS  DENIALS  LAST DENIAL
cart/api-7/app    127.0.0.1:5000/cart:2.0        2        1  2026-12-02 10:00:09.000 /tmp/lib.so
shop/web-1/nginx  127.0.0.1:5000/shop:1.0        2        1  2026-12-02 10:00:03.000 /tmp/evil\\x1b[2J.sh
cgroup:777        -                              1        1  2026-12-02 10:00:06.000 /usr/local/bin/x"
TZ=UTC timeout 10 "$CTL" --socket $SOCK top --interval 1 | head -1 | grep -q '3 containers, 9 records, 3 lost' &&
	ok "top: header counts containers, records and lost records" || bad "top: header counts"
is "top --namespace" "$(timeout 10 "$CTL" --socket $SOCK top --once --interval 1 --namespace shop | tail -n +3 | awk '{print $1, $3, $4}')" \
	"shop/web-1/nginx 2 1"
out=$(tty_run "timeout 4 $CTL --socket $SOCK top --interval 1")
n=$(printf '%s' "$out" | grep -o "${esc}\[H${esc}\[2J" | wc -l)
[ "$n" -ge 2 ] && ok "top on a terminal redraws in place ($n frames)" || bad "top on a terminal redraws in place ($n frames)"
out=$(tty_run "timeout 4 $CTL --socket $SOCK top --once --interval 1")
printf '%s' "$out" | grep -q "${esc}\[H" && bad "top --once on a terminal: one plain table" ||
	ok "top --once on a terminal: one plain table"

# errors
"$CTL" --socket $SOCK events -o xml >/dev/null 2>&1; is "events -o xml: usage error" $? 2
"$CTL" --socket $SOCK events --color=sometimes >/dev/null 2>&1; is "events --color=sometimes: usage error" $? 2
"$CTL" --socket $SOCK top --interval 0 >/dev/null 2>&1; is "top --interval 0: usage error" $? 2
"$CTL" --socket $tmp/none top --once >/dev/null 2>&1; is "top without an agent: exit 1" $? 1
"$CTL" events --help | grep -q -- '--namespace' && "$CTL" top --help | grep -q -- '--once' &&
	ok "--help names the new options" || bad "--help names the new options"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
