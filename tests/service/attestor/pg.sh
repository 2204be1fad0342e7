# SPDX-License-Identifier: GPL-2.0
# A throwaway PostgreSQL cluster (Debian's postgresql) for the attestor's replica test and
# benchmark: initdb and pg_ctl run as the unprivileged user postgres (initdb refuses root), the
# server listens on a unix socket in its own directory only (no TCP at all), trust
# authentication for that socket.  Sourced; sets PG_DIR, PG_CONNINFO (for --db
# postgresql:CONNINFO) and PG_URI (for --db postgresql://...).

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

pg_as() {	# CMD ARGS...: as the postgres user
	runuser -u postgres -- "$@"
}

pg_start() {	# [SERVER OPTIONS...]
	[ -x "$PG_BIN/initdb" ] || { echo "pg_start: no PostgreSQL server (postgresql)" >&2; return 1; }
	id postgres >/dev/null 2>&1 || { echo "pg_start: no user postgres" >&2; return 1; }
	PG_DIR=$(mktemp -d /tmp/tcl-pg.XXXXXX) && chown postgres: "$PG_DIR" || return 1
	pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 \
		>"$PG_DIR/initdb.log" 2>&1 || {
		echo "pg_start: initdb failed: $(tail -3 "$PG_DIR/initdb.log")" >&2
		return 1
	}
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
		-o "-c listen_addresses='' -k $PG_DIR $*" start >/dev/null || {
		echo "pg_start: the server does not start: $(tail -3 "$PG_DIR/server.log")" >&2
		return 1
	}
	pg_as "$PG_BIN/createdb" -h "$PG_DIR" tcl || return 1
	PG_CONNINFO="host=$PG_DIR dbname=tcl user=postgres"
	PG_URI="postgresql://postgres@/tcl?host=$PG_DIR"
}

pg_sql() {	# SQL: one query, unaligned output without headers
	pg_as "$PG_BIN/psql" -h "$PG_DIR" -U postgres -d tcl -XAtq -c "$1"
}

pg_stop() {
	[ -n "${PG_DIR:-}" ] || return 0
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1
	rm -rf "$PG_DIR"
	PG_DIR=
}
