# lab.sh - build throw-away test hosts out of network namespaces.
#
# Source it from a bash test or benchmark:
#
#   . "$(dirname "$0")/../lab/lab.sh"
#   lab_isolate "$@"          # optional: re-run this script inside
#                             # unshare --pid --net --mount --fork --mount-proc
#   lab_init                  # unique ids, cleanup trap
#   a=$(lab_ns a)             # a named namespace (lo up), cleaned up on exit
#   b=$(lab_ns b)
#   lab_link "$a" 198.18.0.1/24 "$b" 198.18.0.2/24   # veth pair
#   lab_anyip "$b" 198.18.0.0/16                      # one host answers a /16
#   pid=$(lab_spawn "$b" socat TCP-LISTEN:80,fork,reuseaddr -)
#   lab_wait_listen "$b" tcp 80
#
# Rules this file enforces, because tests must never send a packet outside
# the namespaces they made (DEVELOPERS.md): addresses given to lab_link and
# lab_anyip must be inside the RFC 2544 range 198.18.0.0/15 or IPv6 ULA
# fd00::/8 (IPv6 lab range: fd00:198:18::/48); names are unique per run
# (LAB_ID), so tests may run in parallel; every namespace and process made
# here is removed on exit, success or failure.
#
# Exit code 77 means "skipped" (lab_skip); under CI=true a skip is a failure.

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_ROOT=$(cd "$LAB_DIR/../.." && pwd)
: "${PORTCENSUS:=$LAB_ROOT/build/portcensus}"
export PORTCENSUS

LAB_NS=()
LAB_PIDS=()
LAB_TMP=""

lab_log() { printf '# %s\n' "$*" >&2; }

lab_fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

lab_skip() {
	if [ "${CI:-}" = "true" ]; then
		printf 'FAIL (skip not allowed under CI=true): %s\n' "$*" >&2
		exit 1
	fi
	printf 'SKIP: %s\n' "$*" >&2
	exit 77
}

lab_require_root() {
	[ "$(id -u)" -eq 0 ] || lab_skip "needs root for network namespaces"
	command -v ip >/dev/null || lab_skip "needs iproute2"
}

# Re-exec the calling script in fresh pid, net and mount namespaces with
# its own /proc and /run/netns, so that host-wide walks (listeners, audit)
# see only this test's processes and namespaces.
lab_isolate() {
	if [ -n "${LAB_ISOLATED:-}" ]; then
		mkdir -p /run/netns
		mount -t tmpfs -o mode=755 lab-netns /run/netns || lab_fail "cannot mount /run/netns"
		ip link set lo up
		return 0
	fi
	lab_require_root
	command -v unshare >/dev/null || lab_skip "needs unshare (util-linux)"
	LAB_ISOLATED=1 exec unshare --pid --net --mount --fork --mount-proc \
		--propagation private bash "$0" "$@"
}

lab_init() {
	lab_require_root
	# short: veth names are limited to 15 bytes
	LAB_ID="pc$(printf '%x' $$)$(printf '%x' $((RANDOM % 256)))"
	LAB_TMP=$(mktemp -d "/tmp/portcensus-lab.$LAB_ID.XXXXXX")
	# audit and scan store every run: never in the host's ledger from a test
	export PORTCENSUS_DB="$LAB_TMP/ledger.db"
	LAB_VETH=0
	trap lab_cleanup EXIT
	trap 'exit 130' INT TERM
}

lab_cleanup() {
	local rc=$?
	local p ns
	# lab_ns and lab_spawn are usually called as $(...), in a subshell whose
	# array appends never reach this shell: they also list what they made in
	# files, read back here
	if [ -n "$LAB_TMP" ] && [ -f "$LAB_TMP/.pids" ]; then
		mapfile -t -O "${#LAB_PIDS[@]}" LAB_PIDS <"$LAB_TMP/.pids"
	fi
	if [ -n "$LAB_TMP" ] && [ -f "$LAB_TMP/.namespaces" ]; then
		mapfile -t -O "${#LAB_NS[@]}" LAB_NS <"$LAB_TMP/.namespaces"
	fi
	for p in "${LAB_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${LAB_PIDS[@]}"; do
		# give it a moment, then insist
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$p" 2>/dev/null
	done
	for ns in "${LAB_NS[@]}"; do
		# any stray process we started in ns (by its pids list only)
		ip netns pids "$ns" 2>/dev/null | while read -r p; do kill -KILL "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "$LAB_TMP" ] && rm -rf "$LAB_TMP"
	return $rc
}

# lab_ns SHORTNAME -> prints the full namespace name
lab_ns() {
	local ns="$LAB_ID-$1"
	ip netns add "$ns" || lab_fail "cannot create namespace $ns"
	LAB_NS+=("$ns")
	printf '%s\n' "$ns" >>"$LAB_TMP/.namespaces"
	ip -n "$ns" link set lo up
	printf '%s\n' "$ns"
}

_lab_check_addr() {
	case "$1" in
	198.18.* | 198.19.* | fd00:198:18:*) ;;
	*) lab_fail "lab address $1 is outside 198.18.0.0/15 and fd00:198:18::/48" ;;
	esac
}

# lab_link NS1 ADDR1/PLEN NS2 ADDR2/PLEN [ADDR6_1/PLEN ADDR6_2/PLEN]
lab_link() {
	local ns1=$1 a1=$2 ns2=$3 a2=$4 b1=${5:-} b2=${6:-}
	_lab_check_addr "$a1"
	_lab_check_addr "$a2"
	LAB_VETH=$((LAB_VETH + 1))
	local v1="v${LAB_ID}a$LAB_VETH" v2="v${LAB_ID}b$LAB_VETH"
	v1=${v1:0:15}
	v2=${v2:0:15}
	ip link add "$v1" netns "$ns1" type veth peer name "$v2" netns "$ns2" ||
		lab_fail "cannot create veth pair"
	ip -n "$ns1" addr add "$a1" dev "$v1"
	ip -n "$ns2" addr add "$a2" dev "$v2"
	if [ -n "$b1" ]; then
		_lab_check_addr "$b1"
		_lab_check_addr "$b2"
		ip -n "$ns1" addr add "$b1" dev "$v1" nodad
		ip -n "$ns2" addr add "$b2" dev "$v2" nodad
	fi
	ip -n "$ns1" link set "$v1" up
	ip -n "$ns2" link set "$v2" up
	LAB_LAST_IF1=$v1
	LAB_LAST_IF2=$v2
}

# lab_route NS CIDR VIA: route a lab range through the peer
lab_route() {
	_lab_check_addr "$2"
	ip -n "$1" route add "$2" via "$3"
}

# lab_anyip NS CIDR: every address of CIDR is local in NS (AnyIP)
lab_anyip() {
	_lab_check_addr "$2"
	case "$2" in
	*:*) ip -n "$1" -6 route add local "$2" dev lo ;;
	*) ip -n "$1" route add local "$2" dev lo ;;
	esac
}

# lab_exec NS CMD...: run in NS, in the foreground
lab_exec() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# lab_spawn NS CMD...: start in NS in the background; prints its pid
lab_spawn() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@" </dev/null >>"$LAB_TMP/spawn.log" 2>&1 &
	local pid=$!
	LAB_PIDS+=("$pid")
	printf '%s\n' "$pid" >>"$LAB_TMP/.pids"
	printf '%s\n' "$pid"
}

# lab_track PID: clean up a process started some other way
lab_track() {
	LAB_PIDS+=("$1")
	printf '%s\n' "$1" >>"$LAB_TMP/.pids"
}

# lab_wait_listen NS tcp|udp PORT [TIMEOUT_S]
lab_wait_listen() {
	local ns=$1 proto=$2 port=$3 t=${4:-10} i
	local flag=-Hltn
	[ "$proto" = udp ] && flag=-Hlun
	for ((i = 0; i < t * 20; i++)); do
		if ip netns exec "$ns" ss $flag "sport = :$port" | grep -q .; then
			return 0
		fi
		sleep 0.05
	done
	lab_fail "nothing listens on $proto/$port in $ns after ${t}s"
}

# lab_drop NS tcp|udp PORT: nftables drop of incoming packets to PORT in NS
lab_drop() {
	local ns=$1 proto=$2 port=$3
	command -v nft >/dev/null || lab_skip "needs nftables"
	ip netns exec "$ns" nft -f - <<NFT || lab_fail "nft failed in $ns"
table inet lab_filter {
	chain input {
		type filter hook input priority 0; policy accept;
		$proto dport $port drop
	}
}
NFT
}

lab_assert_eq() {
	# lab_assert_eq WHAT EXPECTED ACTUAL
	if [ "$2" != "$3" ]; then
		printf 'FAIL: %s\n--- expected\n%s\n--- actual\n%s\n' "$1" "$2" "$3" >&2
		exit 1
	fi
}

# Tiny lab listener: python3 sockets, no extra packages.
# lab_listener NS PROTO ADDR PORT [FORKS]: listen (TCP) or bind (UDP); with
# FORKS > 0 the socket is shared by the parent and FORKS children.
lab_listener() {
	local ns=$1 proto=$2 addr=$3 port=$4 forks=${5:-0}
	lab_spawn "$ns" python3 "$LAB_DIR/listener.py" "$proto" "$addr" "$port" "$forks"
}
