#!/usr/bin/env python3
# gen_top_ports.py IN OUT - compile data/top-ports.txt into top_ports.c.
# Fails on a malformed line or a repeated (proto, port), so the ranked list
# in the binary is exactly the file, in its order.
import sys

src, dst = sys.argv[1], sys.argv[2]
lists = {"tcp": [], "udp": []}
seen = set()
with open(src) as f:
    for n, line in enumerate(f, 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 3 or parts[0] not in lists or not parts[1].isdigit():
            sys.exit(f"{src}:{n}: expected 'tcp|udp PORT NAME'")
        port = int(parts[1])
        if not 1 <= port <= 65535:
            sys.exit(f"{src}:{n}: port out of range")
        if (parts[0], port) in seen:
            sys.exit(f"{src}:{n}: {parts[0]}/{port} listed twice")
        seen.add((parts[0], port))
        lists[parts[0]].append(port)
with open(dst, "w") as out:
    out.write("/* generated from data/top-ports.txt by gen_top_ports.py; do not edit */\n")
    out.write('#include "scan/ports.h"\n\n')
    for proto in ("tcp", "udp"):
        out.write(f"const uint16_t pc_top_{proto}_ports[] = {{\n")
        for i in range(0, len(lists[proto]), 12):
            out.write("\t" + " ".join(f"{p}," for p in lists[proto][i:i + 12]) + "\n")
        out.write("};\n")
        out.write(f"const size_t pc_top_{proto}_ports_count = {len(lists[proto])};\n\n")
