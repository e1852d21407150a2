#!/usr/bin/env python3
"""gen_kube.py SERVICES ENDPOINTS_PER_SERVICE - a kube-proxy-sized nat table
in iptables-restore format, in the shape kube-proxy's iptables mode writes
(see tests/e2e/forward/kube-iptables.rules for one service): per service a
KUBE-SERVICES ClusterIP rule, a KUBE-NODEPORTS rule, a KUBE-EXT chain (2
rules), a KUBE-SVC chain (a masquerade rule and one statistic rule per
endpoint) and a KUBE-SEP chain (2 rules) per endpoint. 2,000 services x 5
endpoints is 40,000 rules. Addresses: ClusterIPs in 198.18.128.0/17,
endpoints in 198.19.0.0/16 (lab ranges; no packet is sent)."""
import hashlib
import sys


def h(s):
    return hashlib.sha256(s.encode()).hexdigest()[:16].upper()


def main():
    nsvc, neps = int(sys.argv[1]), int(sys.argv[2])
    chains, rules = [], []
    head = ["*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
            ":POSTROUTING ACCEPT [0:0]"]
    for c in ["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"]:
        chains.append(":%s - [0:0]" % c)
    rules += [
        '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
        "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
        "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000",
        '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" '
        "-j MASQUERADE --random-fully",
        "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000",
    ]
    svc_rules = []
    for s in range(nsvc):
        name = "bench/svc%d:http" % s
        vip = "198.18.%d.%d" % (128 + s // 250, 1 + s % 250)
        node_port = 30000 + s
        svc, ext = "KUBE-SVC-" + h(name), "KUBE-EXT-" + h(name)
        chains += [":%s - [0:0]" % svc, ":%s - [0:0]" % ext]
        svc_rules.append('-A KUBE-SERVICES -d %s/32 -p tcp -m comment --comment "%s cluster IP" '
                         "-m tcp --dport 80 -j %s" % (vip, name, svc))
        rules.append('-A KUBE-NODEPORTS -p tcp -m comment --comment "%s" -m tcp --dport %d -j %s'
                     % (name, node_port, ext))
        rules.append('-A %s -m comment --comment "masquerade traffic for %s external destinations" '
                     "-j KUBE-MARK-MASQ" % (ext, name))
        rules.append("-A %s -j %s" % (ext, svc))
        rules.append('-A %s ! -s 198.19.0.0/16 -d %s/32 -p tcp -m comment --comment "%s cluster IP" '
                     "-m tcp --dport 80 -j KUBE-MARK-MASQ" % (svc, vip, name))
        for e in range(neps):
            n = s * neps + e
            ip = "198.19.%d.%d" % (n // 250, 1 + n % 250)
            sep = "KUBE-SEP-" + h(name + ip)
            chains.append(":%s - [0:0]" % sep)
            left = neps - e
            stat = ("-m statistic --mode random --probability %.11f " % (1.0 / left)) if left > 1 else ""
            rules.append('-A %s -m comment --comment "%s -> %s:8080" %s-j %s'
                         % (svc, name, ip, stat, sep))
            rules.append('-A %s -s %s/32 -m comment --comment "%s" -j KUBE-MARK-MASQ' % (sep, ip, name))
            rules.append('-A %s -p tcp -m comment --comment "%s" -m tcp -j DNAT --to-destination %s:8080'
                         % (sep, name, ip))
    svc_rules.append('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this '
                     'must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS')
    print("\n".join(head + chains + rules + svc_rules + ["COMMIT"]))


main()
