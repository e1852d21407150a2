/*
 * text.c - the terminal sanitizer (see text.h) and the UTF-8 decoder that
 * it and the JSON escaper share.
 *
 * Why these classes: C0 and C1 controls start escape sequences (ESC, CSI
 * 0x9b, OSC 0x9d) that can move the cursor, rewrite a table row, set the
 * window title or, on some terminals, answer back; DEL erases; the bidi
 * overrides and isolates reorder what follows them ("Trojan Source"), so a
 * process name can make a row read differently from its bytes; U+2028 and
 * U+2029 are line breaks to some viewers and spreadsheets; invalid UTF-8 is
 * replaced byte by byte so that one bad byte cannot swallow the next
 * character. Replacing with a plain '?' keeps the column widths of the
 * table predictable and says "something was here".
 */
#include "core/text.h"

#include <stdint.h>
#include <string.h>

int pc_utf8_seq_len(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	int n;
	unsigned int cp;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len < (size_t)n)
		return 0;
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0; /* overlong or out of range */
	if (cp >= 0xd800 && cp <= 0xdfff)
		return 0; /* surrogate */
	return n;
}

/* The code point of a valid sequence of n bytes. */
static uint32_t code_point(const unsigned char *s, int n)
{
	static const unsigned char lead_mask[5] = {0, 0x7f, 0x1f, 0x0f, 0x07};
	uint32_t cp = s[0] & lead_mask[n];
	for (int i = 1; i < n; i++)
		cp = cp << 6 | (s[i] & 0x3f);
	return cp;
}

bool pc_text_is_unsafe(const unsigned char *s, int n)
{
	uint32_t cp = code_point(s, n);
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||  /* C0, DEL, C1 */
	       (cp >= 0x202a && cp <= 0x202e) ||            /* LRE RLE PDF LRO RLO */
	       (cp >= 0x2066 && cp <= 0x2069) ||            /* LRI RLI FSI PDI */
	       cp == 0x200e || cp == 0x200f || cp == 0x061c || /* LRM RLM ALM */
	       cp == 0x2028 || cp == 0x2029;                /* line, paragraph sep. */
}

char *pc_text_sanitize(const char *str, char *out, size_t outlen)
{
	if (!outlen)
		return out;
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t len = strlen((const char *)s), i = 0, o = 0;
	while (i < len && o + 1 < outlen) {
		int n = pc_utf8_seq_len(s + i, len - i);
		if (n && o + (size_t)n + 1 > outlen) {
			out[o++] = '?'; /* the end: a character that does not fit whole */
			break;
		}
		if (n == 0 || pc_text_is_unsafe(s + i, n)) {
			out[o++] = '?';
			i += n ? (size_t)n : 1;
		} else {
			memcpy(out + o, s + i, (size_t)n);
			o += (size_t)n;
			i += (size_t)n;
		}
	}
	out[o] = '\0';
	return out;
}
