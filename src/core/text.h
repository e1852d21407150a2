/*
 * text.h - what may reach a terminal or a spreadsheet.
 *
 * Names, banners, host names and messages come from processes, peers and
 * files we do not control. Every byte that portcensus prints for a person
 * (table cells, CSV fields, dot labels, warnings and errors on stderr) goes
 * through pc_text_sanitize(), the one place that decides what is safe to
 * show. JSON and XML keep their own escaping (core/json.c, report/escape.c):
 * they are read by programs, which need the bytes, not a cleaned view.
 */
#ifndef PC_CORE_TEXT_H
#define PC_CORE_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid
 * (overlong, surrogate, above U+10FFFF, truncated). len >= 1. */
int pc_utf8_seq_len(const unsigned char *s, size_t len);

/* Whether the code point of the valid sequence at s[0..n) must not be
 * shown: C0 controls, DEL, C1 controls (U+0080..U+009F), the bidi
 * embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069) and
 * marks (U+200E, U+200F, U+061C), and the line and paragraph separators
 * (U+2028, U+2029). */
bool pc_text_is_unsafe(const unsigned char *s, int n);

/* Copy s (NULL reads as "") into out, at most outlen-1 bytes and always
 * NUL-terminated, with every unsafe code point and every byte of invalid
 * UTF-8 replaced by one '?'. A sequence that does not fit whole becomes
 * '?' too, so the copy never ends in half a character. Returns out. */
char *pc_text_sanitize(const char *s, char *out, size_t outlen);

#endif
