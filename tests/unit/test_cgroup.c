/*
 * test_cgroup.c - unit and container from /proc/PID/cgroup text: docker,
 * containerd, cri-o, podman, systemd services and Kubernetes pods, under
 * cgroup v1 and v2 and both cgroup drivers, plus text that must give
 * nothing (conmon, near-miss ids, junk).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/error.h"
#include "inventory/cgroup.h"

#include <stdio.h>
#include <string.h>

#define ID "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899"
#define POD "0a1b2c3d-4e5f-6789-abcd-ef0123456789"
#define POD_ "0a1b2c3d_4e5f_6789_abcd_ef0123456789"

static void expect(const char *text, const char *unit, const char *id, const char *runtime,
		   const char *pod)
{
	struct pc_cgroup_info info;
	memset(&info, 0x55, sizeof(info)); /* must be overwritten */
	int r = pc_cgroup_parse(text, strlen(text), &info);
	if (r != 0)
		fail_msg("parse failed (%d) on: %s", r, text);
	assert_string_equal(info.unit, unit);
	assert_string_equal(info.id, id);
	if (runtime)
		assert_non_null(info.runtime), assert_string_equal(info.runtime, runtime);
	else
		assert_null(info.runtime);
	assert_string_equal(info.pod_uid, pod);
}

static void test_docker(void **state)
{
	(void)state;
	/* v1, cgroupfs driver (hybrid: the unified line says "/") */
	expect("12:pids:/docker/" ID "\n"
	       "11:memory:/docker/" ID "\n"
	       "4:cpu,cpuacct:/docker/" ID "\n"
	       "1:name=systemd:/docker/" ID "\n"
	       "0::/\n",
	       "", ID, "docker", "");
	/* v2, systemd driver */
	expect("0::/system.slice/docker-" ID ".scope\n", "docker-" ID ".scope", ID, "docker", "");
	/* v2, cgroupfs driver, no trailing newline */
	expect("0::/docker/" ID, "", ID, "docker", "");
	/* v1, systemd driver */
	expect("5:devices:/system.slice/docker-" ID ".scope\n"
	       "1:name=systemd:/system.slice/docker-" ID ".scope\n",
	       "docker-" ID ".scope", ID, "docker", "");
}

static void test_containerd(void **state)
{
	(void)state;
	/* Kubernetes, v2, systemd driver, burstable QoS */
	expect("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_
	       ".slice/cri-containerd-" ID ".scope\n",
	       "cri-containerd-" ID ".scope", ID, "containerd", POD);
	/* guaranteed QoS has no QoS slice */
	expect("0::/kubepods.slice/kubepods-pod" POD_ ".slice/cri-containerd-" ID ".scope\n",
	       "cri-containerd-" ID ".scope", ID, "containerd", POD);
	/* containerd's own systemd-style path under containerd.service */
	expect("0::/system.slice/containerd.service/kubepods-besteffort-pod" POD_
	       ".slice:cri-containerd:" ID "\n",
	       "containerd.service", ID, "containerd", POD);
	/* nerdctl */
	expect("0::/system.slice/nerdctl-" ID ".scope\n", "nerdctl-" ID ".scope", ID,
	       "containerd", "");
}

static void test_kubernetes_cgroupfs(void **state)
{
	(void)state;
	/* v1, cgroupfs driver: the runtime is not named in the path */
	expect("11:memory:/kubepods/burstable/pod" POD "/" ID "\n"
	       "1:name=systemd:/kubepods/burstable/pod" POD "/" ID "\n",
	       "", ID, NULL, POD);
	/* guaranteed pods sit right under /kubepods */
	expect("0::/kubepods/pod" POD "/" ID "\n", "", ID, NULL, POD);
	/* the pod's own cgroup (pause process gone): pod uid only */
	expect("0::/kubepods/besteffort/pod" POD "\n", "", "", NULL, POD);
}

static void test_crio(void **state)
{
	(void)state;
	expect("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD_
	       ".slice/crio-" ID ".scope\n",
	       "crio-" ID ".scope", ID, "cri-o", POD);
	/* cgroupfs driver */
	expect("3:cpu:/kubepods/besteffort/pod" POD "/crio-" ID "\n", "", ID, "cri-o", POD);
	/* conmon is the monitor, not the container */
	expect("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD_
	       ".slice/crio-conmon-" ID ".scope\n",
	       "crio-conmon-" ID ".scope", "", NULL, POD);
}

static void test_podman(void **state)
{
	(void)state;
	/* rootful, v2, with the "container" sub-cgroup of podman 4 */
	expect("0::/machine.slice/libpod-" ID ".scope/container\n", "libpod-" ID ".scope", ID,
	       "podman", "");
	/* rootless, in the user's manager */
	expect("0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID
	       ".scope\n",
	       "libpod-" ID ".scope", ID, "podman", "");
	/* cgroupfs manager */
	expect("0::/libpod_parent/libpod-" ID "\n", "", ID, "podman", "");
	expect("0::/libpod_parent/" ID "\n", "", ID, "podman", "");
	/* conmon */
	expect("0::/machine.slice/libpod-conmon-" ID ".scope\n", "libpod-conmon-" ID ".scope", "",
	       NULL, "");
}

static void test_systemd(void **state)
{
	(void)state;
	expect("0::/system.slice/nginx.service\n", "nginx.service", "", NULL, "");
	expect("0::/system.slice/system-getty.slice/getty@tty1.service\n", "getty@tty1.service", "",
	       NULL, "");
	expect("0::/user.slice/user-1000.slice/session-3.scope\n", "session-3.scope", "", NULL, "");
	expect("0::/user.slice/user-1000.slice/user@1000.service/app.slice/"
	       "app-gnome-firefox-1234.scope\n",
	       "app-gnome-firefox-1234.scope", "", NULL, "");
	/* v1: the name=systemd hierarchy is believed over the others */
	expect("12:cpu,cpuacct:/\n"
	       "3:memory:/system.slice/redis-server.service\n"
	       "1:name=systemd:/system.slice/redis-server.service\n",
	       "redis-server.service", "", NULL, "");
	/* v1 without name=systemd: another hierarchy that shows the unit */
	expect("4:memory:/\n3:pids:/system.slice/sshd.service\n", "sshd.service", "", NULL, "");
	/* the root cgroup: nothing, and that is fine */
	expect("0::/\n", "", "", NULL, "");
	expect("", "", "", NULL, "");
	/* a unit name too long for the field is dropped, not cut */
	char longunit[600];
	memset(longunit, 'a', sizeof(longunit));
	memcpy(longunit, "0::/", 4);
	memcpy(longunit + sizeof(longunit) - 9, ".service", 9);
	expect(longunit, "", "", NULL, "");
}

static void test_not_containers(void **state)
{
	(void)state;
	/* 63 and 65 hex digits, and a non-hex digit: no id */
	expect("0::/docker/" "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa0011223344556677889\n",
	       "", "", NULL, "");
	expect("0::/system.slice/docker-" ID "0.scope\n", "docker-" ID "0.scope", "", NULL, "");
	expect("0::/docker/3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778g99\n",
	       "", "", NULL, "");
	/* a bare id under a directory that names no runtime */
	expect("0::/somewhere/" ID "\n", "", "", NULL, "");
	/* pod uid with a wrong shape */
	expect("0::/kubepods/burstable/pod0a1b2c3d-4e5f-6789-abcd-ef012345678\n", "", "", NULL, "");
	expect("0::/kubepods.slice/kubepods-pod0a1b2c3d_4e5f_6789_abcd_ef01234567zz.slice\n", "", "",
	       NULL, "");
	/* a near-miss pod uid leaves nothing behind when something else is
	 * found (found by the fuzzer: half a uid was once kept) */
	expect("0::/kubepods.slice/kubepods-burstable-pod0a1b\xff\xff`\x10__ghf_6789_abcd_"
	       "ef0123456789.slice/app.service\n",
	       "app.service", "", NULL, "");
}

static void test_junk(void **state)
{
	(void)state;
	struct pc_cgroup_info info;
	assert_int_equal(pc_cgroup_parse("hello\n", 6, &info), PC_EPARSE);
	assert_string_equal(info.id, "");
	assert_int_equal(pc_cgroup_parse("x:y:/docker/" ID, strlen("x:y:/docker/" ID), &info),
			 PC_EPARSE);
	assert_int_equal(pc_cgroup_parse(":::::", 5, &info), PC_EPARSE);
	/* NUL bytes inside: the length rules, not the terminator */
	static const char nul[] = "0::/system.slice/a\0b.service\n";
	assert_int_equal(pc_cgroup_parse(nul, sizeof(nul) - 1, &info), 0);
	assert_string_equal(info.unit, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docker),
		cmocka_unit_test(test_containerd),
		cmocka_unit_test(test_kubernetes_cgroupfs),
		cmocka_unit_test(test_crio),
		cmocka_unit_test(test_podman),
		cmocka_unit_test(test_systemd),
		cmocka_unit_test(test_not_containers),
		cmocka_unit_test(test_junk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
