/*
 * report_sample.h - the hand-built snapshot the md and html golden tests
 * and the Chromium lab test render: listeners in two namespaces and one
 * network-side target, owners (unit, container), services, every severity
 * and verdict, findings and established connections for the map.
 *
 * With hostile=true, every string that comes from outside portcensus in
 * real life (process and container names, banner, product, imported
 * hostname, rule names and reasons, warnings) carries HOSTILE: markup of
 * both formats, quotes, C0 and C1 controls and bidi characters.
 */
#ifndef PC_TEST_REPORT_SAMPLE_H
#define PC_TEST_REPORT_SAMPLE_H

#include "core/model.h"

#include <stdbool.h>

/* <script>, an HTML attribute break, Markdown table/code/emphasis/link
 * markup, an entity, ESC, a C1 CSI, RLO, LRI and a line separator */
#define PC_TEST_HOSTILE                                                                            \
	"<script>alert(1)</script>\"' onerror=x |`x`*_[a](b)&amp;\x1b[31m\xc2\x9b"                 \
	"\xe2\x80\xae\xe2\x81\xa6\xe2\x80\xa8#$~\\"

struct pc_snapshot *pc_test_report_sample(bool hostile);

#endif
