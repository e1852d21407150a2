/*
 * fuzz_text.c - the terminal sanitizer over hostile bytes. Whatever comes
 * in (process names, banners, host names, file contents), what comes out
 * must be NUL-terminated within the buffer, valid UTF-8, and free of every
 * class that must not reach a terminal; and a clean string must come out
 * unchanged. The checks here decode by hand, independently of text.c.
 */
#include "core/text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_clean(const unsigned char *p)
{
	while (*p) {
		unsigned cp, n;
		if (*p < 0x80) {
			cp = *p;
			n = 1;
		} else if (*p >= 0xc2 && *p <= 0xdf) {
			cp = *p & 0x1fu;
			n = 2;
		} else if (*p >= 0xe0 && *p <= 0xef) {
			cp = *p & 0x0fu;
			n = 3;
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			cp = *p & 0x07u;
			n = 4;
		} else {
			abort();
		}
		for (unsigned i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				abort();
			cp = cp << 6 | (p[i] & 0x3fu);
		}
		if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			abort();
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
		    (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029)
			abort();
		p += n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 4096)
		return 0;
	/* the first byte picks the output size, to test truncation too */
	size_t outlen = (size_t)data[0] % 64 + 1;
	char *in = malloc(size);
	char *out = malloc(outlen);
	char *big = malloc(size * 4 + 1);
	if (!in || !out || !big)
		goto done;
	memcpy(in, data + 1, size - 1);
	in[size - 1] = '\0';
	pc_text_sanitize(in, out, outlen);
	if (strnlen(out, outlen) >= outlen)
		abort();
	check_clean((const unsigned char *)out);
	/* with room for everything: clean, and a clean result is a fixed point */
	pc_text_sanitize(in, big, size * 4 + 1);
	check_clean((const unsigned char *)big);
	char *again = malloc(size * 4 + 1);
	if (again) {
		pc_text_sanitize(big, again, size * 4 + 1);
		if (strcmp(again, big) != 0)
			abort();
		free(again);
	}
done:
	free(in);
	free(out);
	free(big);
	return 0;
}
