/*
 * fuzz_alert.c - what the alert sinks read from outside: a webhook server's
 * reply header lines (Retry-After), a webhook secret from a file or the
 * environment (whsec_ + base64), and alert text built from process names
 * and peers' bytes, which must always come out as JSON that our own parser
 * accepts, with the text intact.
 */
#include "alert/alert.h"
#include "core/jsonparse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	long secs = -1;
	if (pc_alert_webhook_retry_after((const char *)data, size, &secs) &&
	    (secs < 0 || secs > 86400))
		abort();

	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	unsigned char key[256];
	size_t key_len = sizeof(key);
	if (pc_alert_webhook_secret_decode(s, key, &key_len) == 0 &&
	    (key_len == 0 || key_len > sizeof(key)))
		abort();

	struct pc_alert a = {.kind = PC_ALERT_NEW_LISTENER, .severity = PC_SEV_HIGH,
			     .host = s, .time_ms = 1, .text = s};
	struct pc_buf b;
	pc_buf_init(&b, 1u << 20);
	if (pc_alert_to_json(&a, &b) == 0) {
		struct pc_jdoc *doc = NULL;
		struct pc_error err;
		struct pc_jparse_opts o = {0};
		if (pc_jparse(b.data, b.len, &o, &doc, NULL, &err) != 0)
			abort(); /* the escaper let something through */
		const char *text = pc_jval_str(pc_jval_get(doc->root, "text"));
		/* valid UTF-8 without NUL comes back byte for byte */
		if (text && strlen(s) == size && strcmp(text, s) != 0 && !strstr(text, "\xef\xbf\xbd"))
			abort();
		pc_jdoc_free(doc);
	}
	pc_buf_free(&b);
	free(s);
	return 0;
}
