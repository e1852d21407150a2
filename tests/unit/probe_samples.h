/*
 * probe_samples.h - recorded server answers for every probe, written by
 * hand from the protocol specifications (RFCs, vendor protocol docs), with
 * the verdict each must produce. Shared by the probe unit tests (which
 * replay them whole, split at every byte boundary and byte by byte) and by
 * the generator of the fuzz seed corpus.
 */
#ifndef PC_TEST_PROBE_SAMPLES_H
#define PC_TEST_PROBE_SAMPLES_H

#include "core/model.h"
#include "probe/probe_ops.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SAMPLE_MAX_SEGS 10

struct probe_sample {
	const char *label;  /* "redis-noauth" */
	const char *probe;  /* registry name */
	uint16_t port;
	bool tls;
	struct pc_probe_segment segs[SAMPLE_MAX_SEGS];
	size_t n_segs;
	/* expectations; NULL strings are not checked, match=false means the
	 * probe must say NOMATCH */
	bool match;
	const char *name, *product, *version;
	enum pc_auth auth;
	const char *evidence; /* substring of the evidence */
	const char *evidence_absent; /* must not be in the evidence */
};

/* All samples (built once). */
const struct probe_sample *probe_samples(size_t *ret_n);

#endif
