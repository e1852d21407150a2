#!/usr/bin/env python3
# gen_kb.py IN OUT - embed data/kb.yaml in the binary as bytes, xxd -i style.
# Nothing is parsed here: the program parses the embedded text at run time
# with the loader that reads --kb FILE, so there is one parser to trust and
# to fuzz; a mistake in kb.yaml fails the unit tests, which load it.
import sys

src, dst = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
if len(data) > (1 << 20):
    sys.exit(f"{src}: larger than the loader's 1 MiB cap")
with open(dst, "w") as out:
    out.write("/* generated from data/kb.yaml by gen_kb.py; do not edit */\n")
    out.write("#include <stddef.h>\n\n")
    out.write("extern const char pc_kb_builtin_text[];\n")
    out.write("extern const size_t pc_kb_builtin_len;\n\n")
    out.write("const char pc_kb_builtin_text[] = {\n")
    for i in range(0, len(data), 12):
        out.write("\t" + ", ".join(f"0x{b:02x}" for b in data[i:i + 12]) + ",\n")
    out.write("\t0x00\n};\n")
    out.write(f"const size_t pc_kb_builtin_len = {len(data)};\n")
