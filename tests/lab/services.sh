# services.sh - real services from Debian packages, started inside a lab
# namespace with throw-away configuration and data in the lab's temp dir.
#
# Source after lab.sh and lab_init:
#
#   . "$LAB_DIR/services.sh"
#   svc_require                     # skip (77) when a package is missing
#   svc_start_all "$ns" 198.18.1.2  # everything, standard + other ports
#   # $SVC_EXPECT: one line per endpoint: "PORT NAME PRODUCT VERSION AUTH TLS"
#   # $SVC_EXPECT_UDP: the same for the UDP endpoints (memcached)
#
# Or one at a time: svc_redis NS ADDR PORT [PASSWORD], svc_memcached,
# svc_postgres NS ADDR PORT trust|scram, svc_mariadb, svc_nginx, svc_sshd,
# svc_mosquitto, svc_etcd, svc_node_exporter; the slow ones (initdb,
# mariadb-install-db) have a *_prepare step so that several can prepare in
# parallel before the servers start.
#
# Every server runs in the foreground under lab_spawn (so lab_cleanup ends
# it), as its own Debian system user, bound to the lab address only. The
# non-standard ports are nftables redirects in the service namespace
# (16379 -> 6379, ...): a single-port server such as PostgreSQL then answers
# on a port no port table associates with it, which is what identification
# by protocol has to prove, without starting every server twice.
# Nothing here touches the machine's own services, configs or data dirs.

SVC_PG_BIN=${SVC_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
SVC_REDIS_PASSWORD=lab-secret-$$

svc_require() {
	local missing=() b
	for b in redis-server memcached mariadbd mariadb-install-db nginx /usr/sbin/sshd \
		mosquitto etcd prometheus-node-exporter openssl setpriv nft; do
		command -v "$b" >/dev/null 2>&1 || missing+=("$b")
	done
	[ -x "$SVC_PG_BIN/postgres" ] || missing+=(postgresql)
	[ ${#missing[@]} -eq 0 ] || lab_skip "missing service packages: ${missing[*]} (run scripts/deps)"
}

# svc_dir NAME USER: a fresh directory owned by USER under the lab temp dir
svc_dir() {
	local d="$LAB_TMP/svc/$1"
	mkdir -p "$d"
	chmod 711 "$LAB_TMP" "$LAB_TMP/svc"
	chown "$2:" "$d"
	chmod 700 "$d"
	printf '%s\n' "$d"
}

# svc_as USER CMD...: the command line that runs CMD as USER (no fork)
svc_as() {
	local u=$1
	shift
	printf '%s\n' setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- "$@"
}

svc_redis() {
	local ns=$1 addr=$2 port=$3 pass=${4:-}
	local d
	d=$(svc_dir "redis-$port" redis)
	local args=(--port "$port" --bind "$addr" --dir "$d" --save "" --appendonly no
		--daemonize no --logfile "$d/redis.log" --protected-mode no)
	[ -n "$pass" ] && args+=(--requirepass "$pass")
	lab_spawn "$ns" setpriv --reuid=redis --regid=redis --init-groups -- \
		redis-server "${args[@]}" >/dev/null
}

# svc_memcached NS ADDR PORT [UDP_PORT]: UDP only when asked (memcached's
# UDP is the classic amplification vector; the lab shows it can be found)
svc_memcached() {
	local ns=$1 addr=$2 port=$3 udp=${4:-0}
	lab_spawn "$ns" memcached -u memcache -l "$addr" -p "$port" -U "$udp" -m 16 -c 64 >/dev/null
}

# svc_postgres_prepare NAME trust|scram: initdb into a temp dir
svc_postgres_prepare() {
	local name=$1 mode=$2
	local d
	d=$(svc_dir "pg-$name" postgres)
	local auth=trust
	[ "$mode" = scram ] && auth=scram-sha-256
	printf 'lab-pg-password\n' >"$d/pw"
	chown postgres: "$d/pw"
	setpriv --reuid=postgres --regid=postgres --init-groups -- \
		"$SVC_PG_BIN/initdb" -D "$d/data" -U postgres --auth="$auth" --pwfile="$d/pw" \
		--no-sync -E UTF8 --locale=C >"$d/initdb.log" 2>&1 ||
		{ cat "$d/initdb.log" >&2; return 1; }
	printf 'host all all 198.18.0.0/15 %s\nhost all all fd00::/8 %s\n' "$auth" "$auth" \
		>>"$d/data/pg_hba.conf"
	mkdir -p "$d/sock"
	chown postgres: "$d/sock"
}

svc_postgres() {
	local ns=$1 addr=$2 port=$3 name=$4
	local d="$LAB_TMP/svc/pg-$name"
	lab_spawn "$ns" setpriv --reuid=postgres --regid=postgres --init-groups -- \
		"$SVC_PG_BIN/postgres" -D "$d/data" -k "$d/sock" -h "$addr" -p "$port" \
		-c fsync=off -c logging_collector=off -c shared_buffers=16MB >/dev/null
}

svc_mariadb_prepare() {
	local d
	d=$(svc_dir mariadb mysql)
	# root authenticates by unix_socket (the Debian default): over TCP,
	# root without a password is refused, as on a fresh install
	setpriv --reuid=mysql --regid=mysql --init-groups -- \
		mariadb-install-db --no-defaults --user=mysql --datadir="$d/data" \
		--auth-root-authentication-method=socket --skip-test-db \
		>"$d/install.log" 2>&1 || { tail -20 "$d/install.log" >&2; return 1; }
}

svc_mariadb() {
	local ns=$1 addr=$2 port=$3
	local d="$LAB_TMP/svc/mariadb"
	lab_spawn "$ns" setpriv --reuid=mysql --regid=mysql --init-groups -- \
		mariadbd --no-defaults --datadir="$d/data" --socket="$d/mysqld.sock" \
		--pid-file="$d/mysqld.pid" --port="$port" --bind-address="$addr" \
		--skip-name-resolve --innodb-buffer-pool-size=16M --log-error="$d/error.log" \
		>/dev/null
}

# svc_nginx_prepare: a self-signed certificate made here, for the TLS server
svc_nginx_prepare() {
	local d
	d=$(svc_dir nginx www-data)
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=lab.portcensus.test" \
		-keyout "$d/key.pem" -out "$d/cert.pem" >/dev/null 2>&1 || return 1
	chmod 644 "$d/cert.pem" "$d/key.pem"
}

svc_nginx() {
	local ns=$1 addr=$2 http=$3 https=$4
	local d="$LAB_TMP/svc/nginx"
	mkdir -p "$d/www"
	printf '<html><head><title>lab nginx</title></head><body>ok</body></html>\n' \
		>"$d/www/index.html"
	chmod -R a+rX "$d/www"
	chmod 711 "$d"
	cat >"$d/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
user www-data;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 128; }
http {
	access_log off;
	client_body_temp_path $d/tmp_body;
	proxy_temp_path $d/tmp_proxy;
	fastcgi_temp_path $d/tmp_fastcgi;
	uwsgi_temp_path $d/tmp_uwsgi;
	scgi_temp_path $d/tmp_scgi;
	server {
		listen $addr:$http;
		root $d/www;
	}
	server {
		listen $addr:$https ssl;
		ssl_certificate $d/cert.pem;
		ssl_certificate_key $d/key.pem;
		root $d/www;
	}
}
EOF
	lab_spawn "$ns" nginx -c "$d/nginx.conf" -p "$d" >/dev/null
}

svc_sshd_prepare() {
	local d
	d=$(svc_dir sshd root)
	ssh-keygen -q -t ed25519 -N "" -f "$d/host_ed25519" >/dev/null || return 1
	mkdir -p /run/sshd # privilege separation directory sshd insists on
}

svc_sshd() {
	local ns=$1 addr=$2 port=$3
	local d="$LAB_TMP/svc/sshd"
	cat >"$d/sshd_config" <<EOF
ListenAddress $addr:$port
HostKey $d/host_ed25519
PidFile $d/sshd.pid
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AuthorizedKeysFile none
EOF
	lab_spawn "$ns" /usr/sbin/sshd -D -e -f "$d/sshd_config" >/dev/null
}

# svc_mosquitto NS ADDR ANON_PORT AUTH_PORT: one broker, two listeners; the
# first lets anonymous clients in, the second refuses them
svc_mosquitto() {
	local ns=$1 addr=$2 anon=$3 auth=$4
	local d
	d=$(svc_dir mosquitto mosquitto)
	: >"$d/passwd"
	chown mosquitto: "$d/passwd"
	chmod 600 "$d/passwd"
	cat >"$d/mosquitto.conf" <<EOF
per_listener_settings true
persistence false
log_dest stderr
listener $anon $addr
allow_anonymous true
listener $auth $addr
allow_anonymous false
password_file $d/passwd
EOF
	chown mosquitto: "$d/mosquitto.conf"
	lab_spawn "$ns" setpriv --reuid=mosquitto --regid=mosquitto --init-groups -- \
		mosquitto -c "$d/mosquitto.conf" >/dev/null
}

svc_etcd() {
	local ns=$1 addr=$2 port=$3
	local d
	d=$(svc_dir etcd etcd)
	lab_spawn "$ns" setpriv --reuid=etcd --regid=etcd --init-groups -- \
		env ETCD_UNSUPPORTED_ARCH= etcd --name lab --data-dir "$d/data" \
		--listen-client-urls "http://$addr:$port" --advertise-client-urls "http://$addr:$port" \
		--listen-peer-urls http://127.0.0.1:12380 --initial-advertise-peer-urls \
		http://127.0.0.1:12380 --initial-cluster lab=http://127.0.0.1:12380 \
		--log-level error >/dev/null
}

svc_node_exporter() {
	local ns=$1 addr=$2 port=$3
	lab_spawn "$ns" setpriv --reuid=prometheus --regid=prometheus --init-groups -- \
		prometheus-node-exporter --web.listen-address="$addr:$port" \
		--collector.disable-defaults --collector.cpu --collector.meminfo \
		--collector.loadavg >/dev/null
}

# svc_redirect NS [udp/]FROM:TO ...: connections (TCP, or UDP with the
# udp/ prefix) to port FROM reach port TO
svc_redirect() {
	local ns=$1
	shift
	local rules="" m proto
	for m in "$@"; do
		proto=tcp
		case "$m" in udp/*) proto=udp m=${m#udp/} ;; esac
		rules+="		$proto dport ${m%%:*} redirect to :${m##*:}
"
	done
	ip netns exec "$ns" nft -f - <<NFT || lab_fail "nft redirect failed in $ns"
table ip lab_redirect {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
$rules	}
}
NFT
}

# What the lab runs, one line per TCP endpoint, as the wire tells it:
#   PORT NAME PRODUCT VERSION AUTH TLS   ("-" for none; spaces as "_")
# Versions are those of the installed Debian packages, read at run time.
# Where the protocol does not say a thing, the line says "-" or "unknown":
#  - MariaDB refuses a host that no account names before any greeting
#    ("Host ... is not allowed to connect", a fresh install has only
#    root@localhost by unix_socket): no version on the wire, auth required;
#  - SSH always authenticates, but which methods (and whether "none" is
#    accepted) is only said after a key exchange: auth unknown;
#  - PostgreSQL says its version (server_version) only after a login, so
#    only the trust instance shows it; mosquitto tells its version only to
#    a client that subscribes to $SYS topics, which a read-only CONNECT
#    probe does not do.
svc_expectations() {
	local redis_v pg_v nginx_v ssh_v etcd_v memc_v
	redis_v=$(redis-server --version | sed -n 's/.* v=\([0-9.]*\).*/\1/p')
	memc_v=$(memcached -V | awk '{print $2}')
	pg_v=$("$SVC_PG_BIN/postgres" -V | sed 's/^postgres (PostgreSQL) //; s/ /_/g')
	nginx_v=$(nginx -v 2>&1 | sed -n 's|.*nginx/\([0-9.]*\).*|\1|p')
	# the banner carries the upstream version with its portable suffix
	ssh_v=$(dpkg-query -W -f='${Version}' openssh-server | sed 's/^[0-9]*://; s/-[^-]*$//')
	etcd_v=$(etcd --version | sed -n 's/^etcd Version: //p')
	cat <<EOF
6379 redis Redis $redis_v none no
16379 redis Redis $redis_v none no
6380 redis Redis - required no
16380 redis Redis - required no
11211 memcached memcached $memc_v none no
21211 memcached memcached $memc_v none no
5432 postgresql PostgreSQL $pg_v none no
15432 postgresql PostgreSQL $pg_v none no
5433 postgresql PostgreSQL - required no
15433 postgresql PostgreSQL - required no
3306 mysql MariaDB - required no
13306 mysql MariaDB - required no
80 http nginx $nginx_v none no
10080 http nginx $nginx_v none no
443 http nginx $nginx_v none yes
10443 http nginx $nginx_v none yes
22 ssh OpenSSH $ssh_v required no
10022 ssh OpenSSH $ssh_v required no
1883 mqtt - - none no
11883 mqtt - - none no
1884 mqtt - - required no
11884 mqtt - - required no
2379 etcd etcd $etcd_v none no
12379 etcd etcd $etcd_v none no
9100 prometheus-metrics node_exporter - none no
19100 prometheus-metrics node_exporter - none no
EOF
}

# svc_start_all NS ADDR: every service above, started in parallel, waited for
svc_start_all() {
	local ns=$1 addr=$2 t0=$SECONDS
	svc_require
	# slow preparation in parallel: initdb x2, mariadb-install-db, cert, key
	local pids=() p
	svc_postgres_prepare trust trust &
	pids+=($!)
	svc_postgres_prepare scram scram &
	pids+=($!)
	svc_mariadb_prepare &
	pids+=($!)
	svc_nginx_prepare &
	pids+=($!)
	svc_sshd_prepare &
	pids+=($!)
	for p in "${pids[@]}"; do
		wait "$p" || lab_fail "preparing a lab service failed (see above)"
	done
	svc_redis "$ns" "$addr" 6379
	svc_redis "$ns" "$addr" 6380 "$SVC_REDIS_PASSWORD"
	svc_memcached "$ns" "$addr" 11211 11211
	svc_postgres "$ns" "$addr" 5432 trust
	svc_postgres "$ns" "$addr" 5433 scram
	svc_mariadb "$ns" "$addr" 3306
	svc_nginx "$ns" "$addr" 80 443
	svc_sshd "$ns" "$addr" 22
	svc_mosquitto "$ns" "$addr" 1883 1884
	svc_etcd "$ns" "$addr" 2379
	svc_node_exporter "$ns" "$addr" 9100
	svc_redirect "$ns" 16379:6379 16380:6380 21211:11211 15432:5432 15433:5433 \
		13306:3306 10080:80 10443:443 10022:22 11883:1883 11884:1884 12379:2379 \
		19100:9100 udp/21211:11211
	for p in 6379 6380 11211 5432 5433 3306 80 443 22 1883 1884 2379 9100; do
		lab_wait_listen "$ns" tcp "$p" 60
	done
	lab_wait_listen "$ns" udp 11211 10
	SVC_EXPECT=$(svc_expectations)
	# UDP: memcached answers "version" over UDP too (same lines)
	SVC_EXPECT_UDP=$(echo "$SVC_EXPECT" | grep -E '^(11211|21211) ')
	lab_log "lab services up in $((SECONDS - t0)) s"
}
