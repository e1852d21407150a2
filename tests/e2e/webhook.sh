#!/usr/bin/env bash
# webhook.sh - the webhook alert sink against a lab receiver (python3
# http.server in a lab namespace on 198.18.7.2; the sender in another lab
# namespace; nothing touches the host's loopback): Standard Webhooks
# signature checked with the test's own HMAC, retries and backoff on 429
# (Retry-After honoured) and 500, a stall cut by the timeout, a redirect to
# file: refused and not retried, an http redirect followed as a POST, a 403
# not retried, the Slack form, one request per second, and the secret
# absent from everything the sender printed or the receiver saw.
set -u
. "$(dirname "$0")/../lab/lab.sh"
lab_init
command -v python3 >/dev/null || lab_fail "needs python3"
[ -x "${ALERT_DRIVER:-}" ] || lab_fail "ALERT_DRIVER not set (run through meson test)"

recv=$(lab_ns recv)
send=$(lab_ns send)
lab_link "$send" 198.18.7.1/24 "$recv" 198.18.7.2/24
log=$LAB_TMP/requests.jsonl
: >"$log"
lab_spawn "$recv" python3 "$LAB_DIR/webhook_receiver.py" 198.18.7.2 8080 "$log" >/dev/null
lab_wait_listen "$recv" tcp 8080
base=http://198.18.7.2:8080

key_b64=$(head -c 32 /dev/urandom | base64 -w0)
secret="whsec_$key_b64"
printf '%s\n' "$secret" >"$LAB_TMP/secret"
chmod 600 "$LAB_TMP/secret"
export PC_TEST_WEBHOOK_SECRET=$secret
out=$LAB_TMP/out
mkdir -p "$out"

# drive NAME ARGS...: run the driver in the sender namespace, keep its
# stdout and stderr, return its exit code
drive() {
	local name=$1
	shift
	ip netns exec "$send" "$ALERT_DRIVER" webhook "$@" >"$out/$name.out" 2>"$out/$name.err"
}

# requests PATH-PREFIX: the logged requests whose path starts with it
requests() { python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["path"].startswith(sys.argv[2]):
        print(line.strip())' "$log" "$1"; }

# 1. signed, generic JSON: the test verifies the signature itself
drive signed -t "$base/ok" -F "$LAB_TMP/secret" || lab_fail "signed send failed: $(cat "$out/signed.err")"
requests /ok | python3 -c '
import base64, hashlib, hmac, json, sys, time
key = base64.b64decode(sys.argv[1])
reqs = [json.loads(l) for l in sys.stdin]
assert len(reqs) == 1, reqs
h, body = reqs[0]["headers"], reqs[0]["body"]
assert h["webhook-id"].startswith("msg_"), h
assert abs(int(h["webhook-timestamp"]) - time.time()) < 60, h
want = base64.b64encode(hmac.new(key, (h["webhook-id"] + "." + h["webhook-timestamp"] + "." + body).encode(), hashlib.sha256).digest()).decode()
assert h["webhook-signature"] == "v1," + want, (h["webhook-signature"], want)
assert h["content-type"] == "application/json", h
doc = json.loads(body)
assert doc["kind"] == "new_listener" and doc["severity"] == "high" and doc["host"] == "lab-host", doc
assert doc["change"]["port"] == 6379, doc
print("# signature verified")' "$key_b64" || lab_fail "signature or body wrong"

# 2. 429 twice with Retry-After: 1, then 200: three requests, >= 1 s apart,
# one webhook-id for all (the receiver can de-duplicate)
drive r429 -t "$base/fail429/2" -E PC_TEST_WEBHOOK_SECRET -b 200 -r 3 ||
	lab_fail "429 then 200 should succeed: $(cat "$out/r429.err")"
requests /fail429 | python3 -c '
import json, sys
r = [json.loads(l) for l in sys.stdin]
assert len(r) == 3, len(r)
gaps = [b["t"] - a["t"] for a, b in zip(r, r[1:])]
assert all(g >= 0.95 for g in gaps), gaps
assert len({x["headers"]["webhook-id"] for x in r}) == 1, "one id for every retry"
print("# 429: 3 attempts, gaps %s" % ["%.2f" % g for g in gaps])' || lab_fail "429 retries wrong"

# 3. 500 twice: backoff doubles (1.1 s, then 2.2 s)
drive r500 -t "$base/fail500/2" -b 1100 -r 3 || lab_fail "500 then 200 should succeed: $(cat "$out/r500.err")"
requests /fail500 | python3 -c '
import json, sys
r = [json.loads(l) for l in sys.stdin]
assert len(r) == 3, len(r)
gaps = [b["t"] - a["t"] for a, b in zip(r, r[1:])]
assert gaps[0] >= 1.05 and gaps[1] >= 2.15, gaps
assert gaps[1] < 6, gaps
print("# 500: backoff gaps %s" % ["%.2f" % g for g in gaps])' || lab_fail "500 backoff wrong"

# 4. 500 for ever: gives up after 1 + 2 retries, exit 1, says why
if drive r500x -t "$base/fail500/99" -b 200 -r 2; then lab_fail "endless 500 reported success"; fi
grep -q "HTTP status 500" "$out/r500x.err" || lab_fail "no status in error: $(cat "$out/r500x.err")"
lab_assert_eq "attempts on endless 500" 3 "$(requests /fail500/99 | wc -l)"

# 5. a stall: the timeout ends each attempt; one retry; bounded total
t0=$(date +%s%N)
if drive stall -t "$base/stall" -T 2000 -r 1 -b 200; then lab_fail "stalled receiver reported success"; fi
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
grep -q "timed out or stalled" "$out/stall.err" || lab_fail "stall error: $(cat "$out/stall.err")"
lab_assert_eq "attempts on stall" 2 "$(requests /stall | wc -l)"
[ "$ms" -lt 8000 ] || lab_fail "stall took ${ms} ms"
lab_log "stall: 2 attempts in $ms ms"

# 6. redirect to file: refused, not retried, nothing of the file leaks
if drive redir -t "$base/redirect-file" -r 3 -b 200; then lab_fail "redirect to file: followed"; fi
grep -q "refused to follow a redirect outside http and https" "$out/redir.err" ||
	lab_fail "redirect error: $(cat "$out/redir.err")"
lab_assert_eq "attempts on file: redirect" 1 "$(requests /redirect-file | wc -l)"
if grep -q "root:" "$out/redir.out" "$out/redir.err"; then lab_fail "file content leaked"; fi

# 7. an http redirect on the same server is followed, still a POST with the body
drive redirok -t "$base/redirect-ok" || lab_fail "http redirect: $(cat "$out/redirok.err")"
lab_assert_eq "requests after http redirect" 1 "$(requests /ok | wc -l | awk '{print $1 - 1}')"

# 8. 403 is final
if drive forbidden -t "$base/forbidden" -r 3 -b 200; then lab_fail "403 reported success"; fi
lab_assert_eq "attempts on 403" 1 "$(requests /forbidden | wc -l)"

# 9. Slack form and the rate limit: 3 messages, >= 1 s apart
: >"$log.slack"
drive slack -t "$base/slack" -s -n 3 || lab_fail "slack: $(cat "$out/slack.err")"
requests /slack | python3 -c '
import json, sys
r = [json.loads(l) for l in sys.stdin]
assert len(r) == 3, len(r)
doc = json.loads(r[0]["body"])
assert list(doc) == ["text"], doc
assert doc["text"].startswith("[portcensus] lab-host high: new listener"), doc
assert "webhook-signature" not in r[0]["headers"], "unsigned without a secret"
gaps = [b["t"] - a["t"] for a, b in zip(r, r[1:])]
assert all(g >= 0.95 for g in gaps), gaps
print("# slack: 3 messages, gaps %s" % ["%.2f" % g for g in gaps])' || lab_fail "slack or rate limit wrong"

# 10. only http and https, and a bad secret is named, never shown
if ip netns exec "$send" "$ALERT_DRIVER" webhook -t "file:///etc/passwd" >"$out/scheme.out" 2>"$out/scheme.err"; then
	lab_fail "file: URL accepted"
fi
grep -q "only http and https" "$out/scheme.err" || lab_fail "scheme error: $(cat "$out/scheme.err")"
PC_BAD_SECRET="${secret}x" ip netns exec "$send" "$ALERT_DRIVER" webhook -t "$base/ok" -E PC_BAD_SECRET \
	>"$out/bad.out" 2>"$out/bad.err" && lab_fail "bad secret accepted"
grep -q "PC_BAD_SECRET" "$out/bad.err" || lab_fail "bad secret error: $(cat "$out/bad.err")"

# 11. the secret (whole, or its base64 key) appears in no output and in
# nothing the receiver saw
for f in "$out"/* "$log" "$LAB_TMP/spawn.log"; do
	if grep -qF -e "$key_b64" -e "$secret" "$f"; then lab_fail "secret found in $(basename "$f")"; fi
done
echo "PASS webhook"
