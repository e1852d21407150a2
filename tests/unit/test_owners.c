/*
 * test_owners.c - owners, namespaces and the /proc fallback on a fake proc
 * tree built in a temporary directory: processes with fd symlinks
 * ("socket:[N]", pipes, files), comm, exe, status and cgroup files, network
 * namespace links, and /proc/PID/net/{tcp,tcp6,udp,udp6}. Nothing here
 * reads the real /proc or opens a socket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/error.h"
#include "core/model.h"
#include "inventory/inventory.h"
#include "inventory/netns.h"
#include "inventory/owners.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define NS1 4026531111ULL
#define NS2 4026532222ULL
#define NS3 4026533333ULL
#define NS4 4026534444ULL
#define CID "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899"
#define CID2 "aaaa5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899"
#define POD "0a1b2c3d-4e5f-6789-abcd-ef0123456789"
#define POD_ "0a1b2c3d_4e5f_6789_abcd_ef0123456789"

static char root[64];

static void path_of(char *out, size_t len, const char *rel)
{
	snprintf(out, len, "%s/%s", root, rel);
}

static void mkdirs(const char *rel)
{
	char p[512], q[512];
	path_of(p, sizeof(p), rel);
	for (char *s = p + strlen(root) + 1; *s; s++) {
		if (*s == '/') {
			memcpy(q, p, (size_t)(s - p));
			q[s - p] = '\0';
			mkdir(q, 0755);
		}
	}
	mkdir(p, 0755);
}

static void put(const char *rel, const char *content)
{
	char p[512];
	path_of(p, sizeof(p), rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void link_to(const char *rel, const char *target)
{
	char p[512];
	path_of(p, sizeof(p), rel);
	assert_int_equal(symlink(target, p), 0);
}

static const char tcp_hdr[] = "  sl  local_address rem_address   st tx_queue rx_queue tr "
			      "tm->when retrnsmt   uid  timeout inode\n";
static const char tcp6_hdr[] = "  sl  local_address                         remote_address "
			       "                       st tx_queue rx_queue tr tm->when retrnsmt "
			       "  uid  timeout inode\n";

static void proc(int pid, unsigned long long ns, const char *comm, const char *uid,
		 const char *cgroup)
{
	char rel[128], val[256];
	snprintf(rel, sizeof(rel), "%d/fd", pid);
	mkdirs(rel);
	snprintf(rel, sizeof(rel), "%d/ns", pid);
	mkdirs(rel);
	snprintf(rel, sizeof(rel), "%d/ns/net", pid);
	snprintf(val, sizeof(val), "net:[%llu]", ns);
	link_to(rel, val);
	snprintf(rel, sizeof(rel), "%d/comm", pid);
	snprintf(val, sizeof(val), "%s\n", comm);
	put(rel, val);
	snprintf(rel, sizeof(rel), "%d/exe", pid);
	snprintf(val, sizeof(val), "/usr/sbin/%s", comm);
	link_to(rel, val);
	if (uid) {
		snprintf(rel, sizeof(rel), "%d/status", pid);
		snprintf(val, sizeof(val), "Name:\t%s\nUmask:\t0022\nState:\tS (sleeping)\n"
					   "Uid:\t%s\nGid:\t0\t0\t0\t0\n",
			 comm, uid);
		put(rel, val);
	}
	if (cgroup) {
		snprintf(rel, sizeof(rel), "%d/cgroup", pid);
		put(rel, cgroup);
	}
}

static void fd(int pid, int n, const char *target)
{
	char rel[64];
	snprintf(rel, sizeof(rel), "%d/fd/%d", pid, n);
	link_to(rel, target);
}

static void net(int pid, const char *file, const char *hdr, const char *lines)
{
	char rel[64], val[2048];
	snprintf(rel, sizeof(rel), "%d/net", pid);
	mkdirs(rel);
	snprintf(rel, sizeof(rel), "%d/net/%s", pid, file);
	snprintf(val, sizeof(val), "%s%s", hdr, lines);
	put(rel, val);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/pc-test-proc-XXXXXX");
	assert_non_null(mkdtemp(root));
	link_to("self", "100");
	mkdirs("abc");     /* not a process */
	mkdirs("netns");   /* /run/netns stand-in; "stale" is not an nsfs mount */
	put("netns/stale", "");

	/* a pre-fork server: parent 100 and children 101, 102 share socket 1111 */
	proc(100, NS1, "nginx", "0\t0\t0\t0", "0::/system.slice/nginx.service\n");
	fd(100, 0, "/dev/null");
	fd(100, 3, "socket:[1111]");
	fd(100, 4, "socket:[2222]");
	fd(100, 5, "pipe:[99]");
	fd(100, 6, "socket:[1111]"); /* a dup: still one owner */
	fd(100, 7, "socket:[3333]");
	fd(100, 8, "socket:[77777]"); /* a socket that is not an endpoint */
	proc(101, NS1, "nginx", "33\t33\t33\t33", "0::/system.slice/nginx.service\n");
	fd(101, 3, "socket:[1111]");
	/* 102 lost its status file (exiting): uid unknown, still an owner */
	proc(102, NS1, "nginx", NULL, NULL);
	fd(102, 3, "socket:[1111]");
	net(100, "tcp", tcp_hdr,
	    "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0 "
	    "       0 1111 1 0000000000000000 100 0 0 10 0\n"
	    "   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0 "
	    "       0 3333 1 0000000000000000 20 0 0 10 -1\n"
	    "   2: 0100007F:C350 0100007F:1F90 06 00000000:00000000 00:00000000 00000000     0 "
	    "       0 0 1 0000000000000000 20 0 0 10 -1\n");
	net(100, "tcp6", tcp6_hdr,
	    "   0: 00000000000000000000000000000000:20FB 00000000000000000000000000000000:0000 0A "
	    "00000000:00000000 00:00000000 00000000     0        0 2222 1 0000000000000000 100 0 "
	    "0 10 0\n");
	net(100, "udp", tcp_hdr,
	    "  7: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0 "
	    "       0 4444 2 0000000000000000 0\n"
	    "  8: 00000000:0000 00000000:0000 07 00000000:00000000 00:00000000 00000000     0 "
	    "       0 4445 2 0000000000000000 0\n");
	net(100, "udp6", tcp6_hdr, "");

	/* another namespace: sshd in a docker container, and a second process
	 * in the same namespace (read once) */
	proc(200, NS2, "sshd", "0\t0\t0\t0", "0::/system.slice/docker-" CID ".scope\n");
	fd(200, 3, "socket:[5555]");
	fd(200, 4, "socket:[6666]");
	proc(400, NS2, "sleep", "0\t0\t0\t0", NULL);
	/* same namespace, same files: whichever pid discovery picks */
	for (int pid = 200; pid <= 400; pid += 200) {
		net(pid, "tcp", tcp_hdr,
		    "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000 "
		    "    0        0 5555 1 0000000000000000 100 0 0 10 0\n");
		net(pid, "udp", tcp_hdr,
		    "   0: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000 "
		    "    0        0 6666 2 0000000000000000 0\n");
		net(pid, "tcp6", tcp6_hdr, "");
		net(pid, "udp6", tcp6_hdr, "");
	}

	/* a Kubernetes pod's namespace, named by the kubelet's log directory */
	proc(500, NS3, "web", "0\t0\t0\t0",
	     "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD_
	     ".slice/cri-containerd-" CID2 ".scope\n");
	fd(500, 3, "socket:[7777]");
	net(500, "tcp", tcp_hdr,
	    "   0: 00000000:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0 "
	    "       0 7777 1 0000000000000000 100 0 0 10 0\n");
	net(500, "udp", tcp_hdr, "");
	net(500, "tcp6", tcp6_hdr, "");
	net(500, "udp6", tcp6_hdr, "");
	mkdirs("var/log/pods/default_web-0_" POD "/web");
	/* containerd's task bundle, with the CRI plugin's annotations */
	mkdirs("run/containerd/io.containerd.runtime.v2.task/k8s.io/" CID2);
	put("run/containerd/io.containerd.runtime.v2.task/k8s.io/" CID2 "/config.json",
	    "{\"ociVersion\":\"1.0.2\",\"annotations\":{"
	    "\"io.kubernetes.cri.container-type\":\"container\","
	    "\"io.kubernetes.cri.container-name\":\"web\","
	    "\"io.kubernetes.cri.image-name\":\"registry.example/web:1\","
	    "\"io.kubernetes.cri.sandbox-name\":\"web-0\","
	    "\"io.kubernetes.cri.sandbox-namespace\":\"default\","
	    "\"io.kubernetes.cri.sandbox-uid\":\"" POD "\"}}");
	mkdirs("var/log/pods/not-a-pod-dir");

	/* two containers sharing one namespace: no single name for it */
	proc(600, NS4, "a", "0\t0\t0\t0", "0::/system.slice/docker-" CID ".scope\n");
	proc(601, NS4, "b", "0\t0\t0\t0", "0::/system.slice/docker-" CID2 ".scope\n");
	fd(600, 3, "socket:[8888]");
	fd(601, 3, "socket:[8888]");
	for (int pid = 600; pid <= 601; pid++) {
		net(pid, "tcp", tcp_hdr,
		    "   0: 00000000:2328 00000000:0000 0A 00000000:00000000 00:00000000 00000000 "
		    "    0        0 8888 1 0000000000000000 100 0 0 10 0\n");
		net(pid, "udp", tcp_hdr, "");
		net(pid, "tcp6", tcp6_hdr, "");
		net(pid, "udp6", tcp6_hdr, "");
	}

	/* the runtimes' state: docker names both containers (a volume's
	 * "Name" deeper in the file is not the container's) */
	mkdirs("var/lib/docker/containers/" CID);
	put("var/lib/docker/containers/" CID "/config.v2.json",
	    "{\"ID\":\"" CID "\",\"MountPoints\":{\"/data\":{\"Name\":\"vol\"}},"
	    "\"Name\":\"/sshd-box\",\"Config\":{\"Hostname\":\"x\"}}");
	mkdirs("var/lib/docker/containers/" CID2);
	put("var/lib/docker/containers/" CID2 "/config.v2.json", "{\"Name\":\"/other\"}");

	/* a cgroup v1 file of 12 KB whose systemd line comes last: read
	 * whole, not cut at one page */
	{
		static char cg[12500];
		size_t len = 0;
		for (int i = 2; len + 600 < 12000; i++) {
			len += (size_t)snprintf(cg + len, sizeof(cg) - len, "%d:ctl%d:/", i, i);
			memset(cg + len, 'x', 500);
			len += 500;
			cg[len++] = '\n';
		}
		snprintf(cg + len, sizeof(cg) - len, "1:name=systemd:/system.slice/long.service\n");
		proc(700, NS1, "long", "0\t0\t0\t0", cg);
		fd(700, 3, "socket:[9191]");
	}

	/* a process that exited between readdir and our look: only a dir */
	mkdirs("300");
	return 0;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int teardown(void **state)
{
	(void)state;
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void test_netns_discover(void **state)
{
	(void)state;
	char nsdir[512];
	path_of(nsdir, sizeof(nsdir), "netns");
	struct pc_netns_set *set = NULL;
	struct pc_error err = {0};
	assert_int_equal(pc_netns_discover(&set, root, nsdir, true, NULL, &err), 0);
	assert_int_equal(pc_netns_count(set), 4);
	assert_int_equal(pc_netns_self(set), NS1);
	const struct pc_netns_entry *e = pc_netns_find(set, NS2);
	assert_non_null(e);
	assert_true(e->pid == 200 || e->pid == 400);
	assert_null(e->name);
	assert_int_equal(e->fd, -1); /* a symlink in a temp dir is no namespace */
	e = pc_netns_find(set, NS1);
	assert_non_null(e);
	assert_int_equal(e->pid, 100); /* ours, through "self" */
	assert_null(pc_netns_find(set, 12345));
	/* sorted by inode */
	assert_int_equal(pc_netns_get(set, 0)->inode, NS1);
	assert_int_equal(pc_netns_get(set, 1)->inode, NS2);
	assert_int_equal(pc_netns_get(set, 3)->inode, NS4);
	assert_null(pc_netns_get(set, 4));
	assert_int_equal(pc_netns_denied(set), 0);
	/* a namespace we cannot enter gives no socket, and says why */
	assert_int_equal(pc_netns_socket(set, NS2, AF_INET, SOCK_STREAM, 0), -EACCES);
	assert_int_equal(pc_netns_socket(set, 999, AF_INET, SOCK_STREAM, 0), -ENOENT);
	pc_netns_set_free(set);

	assert_int_equal(pc_netns_discover(&set, root, nsdir, false, NULL, &err), 0);
	assert_int_equal(pc_netns_count(set), 1);
	pc_netns_set_free(set);
	pc_netns_set_free(NULL);
}

static struct pc_endpoint *ep_with(struct pc_snapshot *snap, uint64_t inode)
{
	struct pc_endpoint *ep = pc_snapshot_add_endpoint(snap);
	assert_non_null(ep);
	ep->sock_inode = inode;
	return ep;
}

static void test_owners_attribute(void **state)
{
	(void)state;
	struct pc_snapshot *snap = pc_snapshot_new("test");
	assert_non_null(snap);
	ep_with(snap, 42);   /* before `first`: not ours to touch */
	ep_with(snap, 1111); /* shared by 100, 101, 102 */
	ep_with(snap, 2222); /* 100 only */
	ep_with(snap, 9999); /* nobody */
	ep_with(snap, 0);    /* no inode known */
	ep_with(snap, 5555);
	ep_with(snap, 9191); /* the process with a 12 KB cgroup file */
	struct pc_owners_stats st;
	assert_int_equal(pc_owners_attribute(snap, 1, root, NULL, &st), 0);
	assert_int_equal(st.procs, 10); /* 100 101 102 200 300 400 500 600 601 700 */
	assert_int_equal(st.procs_gone, 1); /* 300 has no fd dir */
	assert_int_equal(st.procs_denied, 0);
	assert_int_equal(st.fds, 15);

	struct pc_endpoint *e = &snap->endpoints[0];
	assert_int_equal(e->n_owners, 0);
	e = &snap->endpoints[1];
	assert_int_equal(e->n_owners, 3);
	assert_int_equal(e->owners[0].pid, 100);
	assert_int_equal(e->owners[1].pid, 101);
	assert_int_equal(e->owners[2].pid, 102);
	assert_string_equal(e->owners[0].comm, "nginx");
	assert_string_equal(e->owners[0].exe, "/usr/sbin/nginx");
	assert_int_equal(e->owners[0].uid, 0);
	assert_string_equal(e->owners[0].user, "root");
	assert_string_equal(e->owners[0].unit, "nginx.service");
	assert_null(e->owners[0].container.id);
	assert_int_equal(e->owners[1].uid, 33); /* the effective uid */
	assert_int_equal(e->owners[2].uid, -1);
	assert_null(e->owners[2].user);
	assert_null(e->owners[2].unit);

	e = &snap->endpoints[2];
	assert_int_equal(e->n_owners, 1);
	assert_int_equal(e->owners[0].pid, 100);
	assert_int_equal(snap->endpoints[3].n_owners, 0);
	assert_int_equal(snap->endpoints[4].n_owners, 0);
	e = &snap->endpoints[5];
	assert_int_equal(e->n_owners, 1);
	assert_string_equal(e->owners[0].comm, "sshd");
	assert_string_equal(e->owners[0].container.id, CID);
	assert_string_equal(e->owners[0].container.runtime, "docker");
	assert_string_equal(e->owners[0].unit, "docker-" CID ".scope");
	e = &snap->endpoints[6];
	assert_int_equal(e->n_owners, 1);
	assert_string_equal(e->owners[0].unit, "long.service");
	pc_snapshot_free(snap);

	/* a proc root that is not there: an error, not a crash */
	snap = pc_snapshot_new("test");
	ep_with(snap, 1111);
	assert_int_equal(pc_owners_attribute(snap, 0, "/nonexistent-proc", NULL, &st), -ENOENT);
	assert_int_equal(snap->endpoints[0].n_owners, 0);
	pc_snapshot_free(snap);
}

static const struct pc_endpoint *find(const struct pc_snapshot *snap, enum pc_proto proto,
				      uint16_t port, enum pc_state state)
{
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		const struct pc_endpoint *e = &snap->endpoints[i];
		if (e->proto == proto && e->port == port && e->state == state)
			return e;
	}
	return NULL;
}

/* The whole inventory over the fake tree, through the /proc/net fallback. */
static void test_inventory_fallback(void **state)
{
	(void)state;
	char nsdir[512];
	path_of(nsdir, sizeof(nsdir), "netns");
	struct pc_inventory_opts opts;
	pc_inventory_opts_default(&opts);
	opts.force_proc = true;
	opts.established = true;
	opts.proc_root = root;
	opts.netns_dir = nsdir;
	opts.runtime_root = root;
	struct pc_snapshot *snap = pc_snapshot_new("test");
	struct pc_error err = {0};
	struct pc_netns_set *set = NULL;
	assert_int_equal(pc_inventory_collect(snap, &opts, &set, &err), 0);
	assert_non_null(set);
	assert_int_equal(pc_netns_count(set), 4);
	/* 8080 listen + established, 8443, udp 5353 (udp port 0 is not
	 * bound; the TIME_WAIT line is neither), 22, udp 53, 8000, 9000 */
	assert_int_equal(snap->n_endpoints, 8);
	assert_int_equal(snap->n_warnings, 0);
	char buf[64];

	const struct pc_endpoint *e = find(snap, PC_PROTO_TCP, 8080, PC_STATE_LISTEN);
	assert_non_null(e);
	assert_string_equal(pc_addr_format(&e->addr, buf, sizeof(buf)), "127.0.0.1");
	assert_int_equal(e->bind, PC_BIND_LOOPBACK);
	assert_int_equal(e->netns.inode, NS1);
	assert_int_equal(e->source, PC_SOURCE_HOST);
	assert_int_equal(e->sock_inode, 1111);
	assert_int_equal(e->n_owners, 3);
	assert_false(e->has_peer);

	e = find(snap, PC_PROTO_TCP, 8080, PC_STATE_ESTABLISHED);
	assert_non_null(e);
	assert_true(e->has_peer);
	assert_int_equal(e->peer_port, 50000);
	assert_int_equal(e->n_owners, 1);

	e = find(snap, PC_PROTO_TCP, 8443, PC_STATE_LISTEN);
	assert_non_null(e);
	assert_int_equal(e->addr.family, AF_INET6);
	assert_int_equal(e->bind, PC_BIND_ANY);

	e = find(snap, PC_PROTO_UDP, 5353, PC_STATE_LISTEN);
	assert_non_null(e);
	assert_int_equal(e->n_owners, 0);

	e = find(snap, PC_PROTO_TCP, 22, PC_STATE_LISTEN);
	assert_non_null(e);
	assert_int_equal(e->netns.inode, NS2);
	assert_int_equal(e->bind, PC_BIND_ANY);
	assert_int_equal(e->n_owners, 1);
	assert_int_equal(e->owners[0].pid, 200);
	assert_string_equal(e->owners[0].container.runtime, "docker");

	assert_string_equal(e->owners[0].container.name, "sshd-box");
	assert_string_equal(e->netns.name, "sshd-box"); /* named after its container */

	e = find(snap, PC_PROTO_UDP, 53, PC_STATE_LISTEN);
	assert_non_null(e);
	assert_int_equal(e->bind, PC_BIND_LOOPBACK);
	assert_string_equal(e->netns.name, "sshd-box");
	assert_int_equal(e->netns.inode, NS2);

	/* our own namespace is never named after a container */
	e = find(snap, PC_PROTO_TCP, 8080, PC_STATE_LISTEN);
	assert_null(e->netns.name);

	/* a pod: "namespace/pod"; containerd's bundle names the container,
	 * its image and its pod */
	e = find(snap, PC_PROTO_TCP, 8000, PC_STATE_LISTEN);
	assert_non_null(e);
	assert_string_equal(e->netns.name, "default/web-0");
	assert_string_equal(e->owners[0].container.runtime, "containerd");
	assert_string_equal(e->owners[0].container.pod_uid, POD);
	assert_string_equal(e->owners[0].container.name, "web");
	assert_string_equal(e->owners[0].container.image, "registry.example/web:1");
	assert_null(e->owners[0].container.image_id);
	assert_string_equal(e->owners[0].container.pod, "web-0");
	assert_string_equal(e->owners[0].container.pod_namespace, "default");

	/* two containers in one namespace: no name, but each owner has its own */
	e = find(snap, PC_PROTO_TCP, 9000, PC_STATE_LISTEN);
	assert_non_null(e);
	assert_null(e->netns.name);
	assert_int_equal(e->n_owners, 2);
	assert_string_equal(e->owners[0].container.name, "sshd-box");
	assert_string_equal(e->owners[1].container.name, "other");
	pc_netns_set_free(set);
	pc_snapshot_free(snap);

	/* listeners only, no owners, only our namespace */
	opts.established = false;
	opts.owners = false;
	opts.all_netns = false;
	snap = pc_snapshot_new("test");
	assert_int_equal(pc_inventory_collect(snap, &opts, NULL, &err), 0);
	assert_int_equal(snap->n_endpoints, 3);
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		assert_int_equal(snap->endpoints[i].n_owners, 0);
		assert_int_equal(snap->endpoints[i].state, PC_STATE_LISTEN);
		assert_int_equal(snap->endpoints[i].netns.inode, NS1);
	}
	pc_snapshot_free(snap);
}

/* A malformed line in a /proc/net file: a warning, the rest still read. */
static void test_inventory_bad_line(void **state)
{
	(void)state;
	char p[512], nsdir[512];
	path_of(nsdir, sizeof(nsdir), "netns");
	for (int pid = 200; pid <= 400; pid += 200) {
		snprintf(p, sizeof(p), "%s/%d/net/udp", root, pid);
		FILE *f = fopen(p, "a");
		assert_non_null(f);
		fputs("   1: garbage\n", f);
		fclose(f);
	}
	struct pc_inventory_opts opts;
	pc_inventory_opts_default(&opts);
	opts.force_proc = true;
	opts.proc_root = root;
	opts.netns_dir = nsdir;
	opts.runtime_root = root;
	struct pc_snapshot *snap = pc_snapshot_new("test");
	struct pc_error err = {0};
	assert_int_equal(pc_inventory_collect(snap, &opts, NULL, &err), 0);
	assert_int_equal(snap->n_endpoints, 7);
	assert_int_equal(snap->n_warnings, 1);
	assert_non_null(strstr(snap->warnings[0], "malformed line 3"));
	pc_snapshot_free(snap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netns_discover),
		cmocka_unit_test(test_owners_attribute),
		cmocka_unit_test(test_inventory_fallback),
		cmocka_unit_test(test_inventory_bad_line),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
