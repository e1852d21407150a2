/*
 * fuzz_probe.c - every probe's response parser, through one target.
 *
 * Input: [probe index][flags][answer]["\xffSEG"][answer]... The first byte
 * picks the probe (modulo the registry, so every parser is reached); flags
 * bit 0 says "inside TLS", bits 1-7 a chunk size for feeding the answer
 * (0: whole); the answers are the segments a probe that reconnects sees,
 * one per connection. The run goes through pc_probe_replay, the same
 * driver the unit tests use, so the fuzzer exercises exactly the feed()
 * and done() paths the engine calls. Seeds: tests/fuzz/corpus/probe/,
 * written by `test_probe --write-corpus`.
 */
#include "probe/probe_ops.h"

#include <stdint.h>
#include <string.h>

#define MAX_SEGS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || pc_probe_registry_len == 0)
		return 0;
	const struct pc_probe_ops *ops = pc_probe_registry[data[0] % pc_probe_registry_len];
	if (!ops->feed)
		return 0;
	bool tls = data[1] & 1;
	size_t chunk = data[1] >> 1;
	data += 2;
	size -= 2;
	struct pc_probe_segment segs[MAX_SEGS];
	size_t n = 0, start = 0;
	for (size_t i = 0; i + 4 <= size && n < MAX_SEGS - 1; i++) {
		if (memcmp(data + i, "\xffSEG", 4) == 0) {
			segs[n].data = data + start;
			segs[n].len = i - start;
			n++;
			start = i + 4;
			i += 3;
		}
	}
	segs[n].data = data + start;
	segs[n].len = size - start;
	n++;
	struct pc_probe_result r;
	pc_probe_replay(ops, 1, tls, segs, n, 0, (ops->flags & PC_PROBE_F_UDP) ? 0 : chunk, &r);
	/* every field is one printable line (valid UTF-8, no controls), the
	 * banner within its cap */
	if (strlen(r.banner) > PC_PROBE_BANNER_MAX)
		__builtin_trap();
	const char *fields[] = { r.name, r.product, r.version, r.evidence, r.banner };
	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		const uint8_t *p = (const uint8_t *)fields[f];
		size_t flen = strlen(fields[f]);
		for (size_t i = 0; i < flen;) {
			size_t k = pc_probe_printable(p + i, flen - i);
			if (k == 0)
				__builtin_trap();
			i += k;
		}
	}
	return 0;
}
