#!/usr/bin/env bash
# ensure-mariadb.sh — makes a MariaDB/MySQL server reachable over TCP for the tests and
# prints, on stdout, the DSN to use as ROOMBRIDGE_TEST_MYSQL
# (USER:PASS@tcp(127.0.0.1:PORT)/, no database: the tests create and drop their own).
#
# In order, the first that works:
#   a. ROOMBRIDGE_TEST_MYSQL, when it is set and answers;
#   b. root with an empty password on 127.0.0.1:PORT, or the roombridge user made by (c);
#   c. a server that answers but refuses root over TCP (Debian's default: root may log
#      in only through the unix socket): through the socket, as root, create the user
#      roombridge@127.0.0.1 and roombridge@localhost (password roombridge, ALL on *.*);
#   d. mariadbd installed but not running: initialise the data directory when it is
#      empty, start the server with start-stop-daemon, wait until it answers, then (c);
#   e. no server installed: install Debian's mariadb-server and mariadb-client, then (d).
#
# Idempotent, never prompts, every wait is bounded. Diagnostics go to stderr.
#
# Settings (environment), defaulting to the standard Debian server:
#   ROOMBRIDGE_MARIADB_PORT     TCP port on 127.0.0.1      (3306)
#   ROOMBRIDGE_MARIADB_SOCKET   unix socket                (/run/mysqld/mysqld.sock)
#   ROOMBRIDGE_MARIADB_DATADIR  data directory             (/var/lib/mysql)
#   ROOMBRIDGE_MARIADB_PIDFILE  pid file                   (socket path with .pid)
#   ROOMBRIDGE_MARIADB_LOG      error log                  (the server's own setting)
#   ROOMBRIDGE_MARIADB_WAIT     seconds to wait for start  (60)
#   ROOMBRIDGE_MARIADBD         server binary              (/usr/sbin/mariadbd)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

host=127.0.0.1
port=${ROOMBRIDGE_MARIADB_PORT:-3306}
socket=${ROOMBRIDGE_MARIADB_SOCKET:-/run/mysqld/mysqld.sock}
datadir=${ROOMBRIDGE_MARIADB_DATADIR:-/var/lib/mysql}
pidfile=${ROOMBRIDGE_MARIADB_PIDFILE:-${socket%.sock}.pid}
errlog=${ROOMBRIDGE_MARIADB_LOG:-}
wait_secs=${ROOMBRIDGE_MARIADB_WAIT:-60}
mariadbd=${ROOMBRIDGE_MARIADBD:-/usr/sbin/mariadbd}
app_user=roombridge
app_pass=roombridge

log() { echo "ensure-mariadb: $*" >&2; }

die() {
	log "$*"
	exit 1
}

# die_with_log is die for a server that did not start: it shows the end of its error log.
die_with_log() {
	log "$*"
	local f=${errlog:-$(server_log_setting)}
	if [ -n "$f" ] && [ -r "$f" ]; then
		log "last lines of $f:"
		tail -n 20 "$f" >&2 || true
	fi
	exit 1
}

if [ "$(id -u)" -eq 0 ]; then
	as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	as_root=(sudo -n)
else
	as_root=()
fi

# server_log_setting prints the log-error file the server's option files name, if any.
server_log_setting() {
	command -v my_print_defaults >/dev/null 2>&1 || return 0
	my_print_defaults mysqld mariadbd 2>/dev/null | sed -n 's/^--log[-_]error=//p' | tail -n 1
}

client=""
find_client() {
	client=$(command -v mariadb || command -v mysql || true)
	if [ -z "$client" ]; then
		"$here/apt-install.sh" mariadb-client
		client=$(command -v mariadb || command -v mysql || true)
		[ -n "$client" ] || die "no mariadb or mysql client after installing mariadb-client"
	fi
}

# port_open HOST PORT: something accepts TCP connections there.
port_open() {
	# shellcheck disable=SC2016 # expanded by the inner bash
	timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# sql_ok PASSWORD CLIENT-ARGS...: the server accepts the login and answers SELECT 1.
# The password travels in MYSQL_PWD, never on the command line; an empty one sends none.
sql_ok() {
	local pass=$1
	shift
	local env_pwd=(env -u MYSQL_PWD)
	[ -z "$pass" ] || env_pwd=(env "MYSQL_PWD=$pass")
	timeout 15 "${env_pwd[@]}" "$client" --no-defaults --connect-timeout=5 "$@" \
		-N -s -e 'SELECT 1' >/dev/null 2>&1
}

# tcp_ok USER PASSWORD: USER logs in over TCP on $host:$port.
tcp_ok() {
	sql_ok "$2" --protocol=TCP -h "$host" -P "$port" -u "$1"
}

# socket_root SQL: runs SQL as root through the unix socket (unix_socket authentication,
# so it needs the operating system's root).
socket_root() {
	timeout 30 "${as_root[@]}" env -u MYSQL_PWD "$client" --no-defaults --connect-timeout=5 \
		--protocol=SOCKET --socket="$socket" -u root -N -s -e "$1"
}

# dsn_ok DSN: a go-sql-driver DSN (tcp or unix) whose server accepts the login.
# Returns 2 when the DSN has a form this script cannot check.
dsn_ok() {
	local re='^([^:@/]*)(:(.*))?@(tcp|unix)\(([^)]*)\)/'
	[[ $1 =~ $re ]] || return 2
	local user=${BASH_REMATCH[1]} pass=${BASH_REMATCH[3]} net=${BASH_REMATCH[4]} addr=${BASH_REMATCH[5]}
	if [ "$net" = unix ]; then
		sql_ok "$pass" --protocol=SOCKET --socket="$addr" -u "$user"
		return
	fi
	local h=$addr p=3306
	if [[ $addr =~ ^\[(.*)\]:([0-9]+)$ ]] || [[ $addr =~ ^([^:]*):([0-9]+)$ ]]; then
		h=${BASH_REMATCH[1]} p=${BASH_REMATCH[2]}
	fi
	sql_ok "$pass" --protocol=TCP -h "${h:-127.0.0.1}" -P "$p" -u "$user"
}

redact() { sed -E 's/^([^:@]*):[^@]*@/\1:***@/' <<<"$1"; }

# start_server initialises $datadir when empty and starts mariadbd on $port/$socket,
# then waits until it answers both through the socket and over TCP.
start_server() {
	local sockdir piddir
	sockdir=$(dirname "$socket")
	piddir=$(dirname "$pidfile")
	for d in "$sockdir" "$piddir"; do
		if [ ! -d "$d" ]; then
			"${as_root[@]}" install -d -o mysql -g mysql -m 0755 "$d"
		elif [ "$d" = /run/mysqld ]; then
			"${as_root[@]}" chown mysql:mysql "$d"
		fi
	done
	if [ ! -d "$datadir/mysql" ]; then
		[ -d "$datadir" ] || "${as_root[@]}" install -d -o mysql -g mysql -m 0750 "$datadir"
		"${as_root[@]}" runuser -u mysql -- test -w "$datadir" ||
			die "user mysql cannot write $datadir (check the permissions of its parent folders)"
		local installdb
		installdb=$(command -v mariadb-install-db || command -v mysql_install_db || true)
		[ -n "$installdb" ] || die "$datadir is empty and there is no mariadb-install-db to initialise it"
		log "initialising $datadir"
		local out
		if ! out=$("${as_root[@]}" "$installdb" --user=mysql --datadir="$datadir" \
			--auth-root-authentication-method=socket --skip-test-db 2>&1); then
			echo "$out" >&2
			die "$installdb failed for $datadir"
		fi
	fi

	local args=(--user=mysql --datadir="$datadir" --port="$port" --socket="$socket"
		--pid-file="$pidfile" --bind-address="$host")
	[ -z "$errlog" ] || args+=(--log-error="$errlog")
	log "starting $mariadbd on $host:$port (datadir $datadir)"
	"${as_root[@]}" start-stop-daemon --start --oknodo --background --quiet \
		--pidfile "$pidfile" --exec "$mariadbd" -- "${args[@]}" ||
		die_with_log "start-stop-daemon could not start $mariadbd"

	local i
	for ((i = 0; i < wait_secs; i++)); do
		if socket_root 'SELECT 1' >/dev/null 2>&1 && port_open "$host" "$port"; then
			return 0
		fi
		sleep 1
	done
	die_with_log "mariadbd did not answer on $socket and $host:$port within ${wait_secs}s"
}

# connect prints the DSN of a login that works on the server at $host:$port, creating
# the roombridge user through the unix socket when root is refused over TCP.
connect() {
	if tcp_ok root ""; then
		echo "root:@tcp($host:$port)/"
		return 0
	fi
	if tcp_ok "$app_user" "$app_pass"; then
		echo "$app_user:$app_pass@tcp($host:$port)/"
		return 0
	fi
	log "$host:$port refuses root over TCP; creating user $app_user through $socket"
	local u sql=""
	for u in "'$app_user'@'127.0.0.1'" "'$app_user'@'localhost'"; do
		sql+="CREATE USER IF NOT EXISTS $u IDENTIFIED BY '$app_pass';"
		sql+="ALTER USER $u IDENTIFIED BY '$app_pass';"
		sql+="GRANT ALL PRIVILEGES ON *.* TO $u;"
	done
	socket_root "$sql" >&2 ||
		die "could not log in as root through $socket to create user $app_user"
	tcp_ok "$app_user" "$app_pass" ||
		die "user $app_user was created but still cannot log in over TCP on $host:$port"
	echo "$app_user:$app_pass@tcp($host:$port)/"
}

find_client

# a. An explicit DSN that works wins.
if [ -n "${ROOMBRIDGE_TEST_MYSQL:-}" ]; then
	rc=0
	dsn_ok "$ROOMBRIDGE_TEST_MYSQL" || rc=$?
	case $rc in
	0)
		echo "$ROOMBRIDGE_TEST_MYSQL"
		exit 0
		;;
	2)
		log "cannot check ROOMBRIDGE_TEST_MYSQL=$(redact "$ROOMBRIDGE_TEST_MYSQL"); using it as given"
		echo "$ROOMBRIDGE_TEST_MYSQL"
		exit 0
		;;
	*) log "ROOMBRIDGE_TEST_MYSQL=$(redact "$ROOMBRIDGE_TEST_MYSQL") does not answer; looking for a local server" ;;
	esac
fi

if ! port_open "$host" "$port"; then
	# e. Nothing installed: Debian's packages (their own start, if any, is checked below).
	if [ ! -x "$mariadbd" ]; then
		log "no server at $mariadbd; installing mariadb-server"
		"$here/apt-install.sh" mariadb-server mariadb-client
		[ -x "$mariadbd" ] || die "$mariadbd is missing after installing mariadb-server"
		find_client
	fi
	# d. Installed but not running.
	port_open "$host" "$port" || start_server
fi

# b, c.
connect
