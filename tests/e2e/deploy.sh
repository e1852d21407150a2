#!/usr/bin/env bash
# deploy.sh - what can be tested of deploy/ and debian/ without a cluster
# or a registry:
#   1. the Kubernetes manifests render offline (`kubectl kustomize`, no
#      server), and their key fields hold: the DaemonSet runs `watch` with
#      hostNetwork and hostPID, a read-only root, ALL capabilities dropped
#      and each one added back justified by a comment, limits, the policy
#      from the ConfigMap and the ledger URL from the Secret; the CronJob
#      forbids concurrency; the Indexed Job turns its completion index into
#      --shard INDEX+1/N with N = completions and one --sweep-id;
#   2. the Containerfile's build stage (deploy/container-build.sh) builds
#      and installs into a scratch root, whose binary runs;
#   3. `dpkg-buildpackage -b -us -uc` builds a .deb from a copy of the tree;
#      `dpkg -x` into a scratch root holds the binary and the man page, and
#      the installed binary runs.
set -u
. "$(dirname "$0")/../lab/lab.sh"
root=$LAB_ROOT
tmp=$(mktemp -d /tmp/portcensus-deploy.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
command -v python3 >/dev/null || lab_skip "needs python3"
python3 -c 'import yaml' 2>/dev/null || lab_skip "needs python3-yaml"

# 1. manifests
if command -v kubectl >/dev/null; then
	kubectl kustomize "$root/deploy/kubernetes" >"$tmp/all.yaml" ||
		lab_fail "kubectl kustomize failed"
else
	lab_skip "needs kubectl (kubernetes-client) for kustomize"
fi
python3 - "$tmp/all.yaml" "$root/deploy/kubernetes/daemonset.yaml" <<'PY' || lab_fail "manifest checks"
import re, sys, yaml
docs = {d["kind"]: d for d in yaml.safe_load_all(open(sys.argv[1])) if d}
assert set(docs) >= {"Namespace", "Secret", "ConfigMap", "DaemonSet", "CronJob", "Job"}, docs.keys()
for d in docs.values():
    if d["kind"] != "Namespace":
        assert d["metadata"]["namespace"] == "portcensus", d["metadata"]
ds = docs["DaemonSet"]["spec"]["template"]["spec"]
assert ds["hostNetwork"] is True and ds["hostPID"] is True
c = ds["containers"][0]
assert c["args"][0] == "watch", c["args"]
sc = c["securityContext"]
assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
assert sc.get("privileged") is False
assert sc["capabilities"]["drop"] == ["ALL"]
added = sc["capabilities"]["add"]
assert added and "SYS_PTRACE" in added, added
lim = c["resources"]["limits"]
assert "cpu" in lim and "memory" in lim, lim
env = {e["name"]: e for e in c["env"]}
assert env["PORTCENSUS_LEDGER"]["valueFrom"]["secretKeyRef"]["name"] == "portcensus-ledger"
vols = {v["name"]: v for v in ds["volumes"]}
assert vols["policy"]["configMap"]["name"] == "portcensus-policy"
assert "--policy" in c["args"]
# every capability added back has its justification comment right above it
src = open(sys.argv[2]).read()
for cap in added:
    assert re.search(r"#[^\n]*\n(\s*#[^\n]*\n)*\s*- %s\n" % cap, src), "no comment for " + cap
    assert re.search(r"# %s: " % cap, src), "no justification naming " + cap
cj = docs["CronJob"]["spec"]
assert cj["concurrencyPolicy"] == "Forbid"
assert cj["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
job = docs["Job"]["spec"]
assert job["completionMode"] == "Indexed"
n = job["completions"]
jc = job["template"]["spec"]["containers"][0]
jenv = {e["name"]: e.get("value") for e in jc["env"]}
assert int(jenv["SHARDS"]) == n, (jenv, n)
cmd = " ".join(jc["args"])
assert '--shard "$((JOB_COMPLETION_INDEX + 1))/$SHARDS"' in cmd, cmd
assert '--sweep-id "$SWEEP_ID"' in cmd, cmd
PY
# the shard expression gives 1..N for indexes 0..N-1
for i in 0 7; do
	got=$(JOB_COMPLETION_INDEX=$i SHARDS=8 sh -c 'echo "$((JOB_COMPLETION_INDEX + 1))/$SHARDS"')
	lab_assert_eq "shard of index $i" "$((i + 1))/8" "$got"
done

# a copy of the tree, without build directories
mkdir -p "$tmp/src"
(cd "$root" && git ls-files -co --exclude-standard | grep -v '^build' | tar -cf - -T -) |
	tar -xf - -C "$tmp/src" || lab_fail "cannot copy the tree"

# 2. the Containerfile's build stage
grep -q '^RUN deploy/container-build.sh /src /out$' "$root/deploy/Containerfile" ||
	lab_fail "the Containerfile no longer runs deploy/container-build.sh"
nice sh "$tmp/src/deploy/container-build.sh" "$tmp/src" "$tmp/image" >"$tmp/cb.log" 2>&1 ||
	lab_fail "container build stage: $(tail -5 "$tmp/cb.log")"
[ -x "$tmp/image/usr/bin/portcensus" ] || lab_fail "the image root has no binary"
"$tmp/image/usr/bin/portcensus" help fleet >/dev/null || lab_fail "the image's binary does not run"

# 3. the Debian package
command -v dpkg-buildpackage >/dev/null || lab_skip "needs dpkg-dev"
(cd "$tmp/src" && nice dpkg-buildpackage -b -us -uc) >"$tmp/deb.log" 2>&1 ||
	lab_fail "dpkg-buildpackage: $(tail -5 "$tmp/deb.log")"
deb=$(ls "$tmp"/portcensus_*.deb) || lab_fail "no .deb built"
dpkg -x "$deb" "$tmp/root" || lab_fail "dpkg -x"
[ -f "$tmp/root/usr/share/man/man1/portcensus.1.gz" ] || lab_fail "the package has no man page"
zcat "$tmp/root/usr/share/man/man1/portcensus.1.gz" | grep -q fleet || lab_fail "the man page does not know fleet"
"$tmp/root/usr/bin/portcensus" version | grep -q portcensus || lab_fail "the installed binary does not run"
dpkg -I "$deb" | grep -q 'Depends:.*libpq5' || lab_fail "the package does not depend on libpq5"
if [ -d "$root/deploy/systemd" ]; then
	ls "$tmp/root/usr/lib/systemd/system/"*.service >/dev/null 2>&1 ||
		lab_fail "deploy/systemd exists but the package has no units"
fi
if [ -f "$root/data/kb.yaml" ]; then
	[ -f "$tmp/root/usr/share/portcensus/kb.yaml" ] || lab_fail "the package has no knowledge base"
fi
echo "deploy: ok"
