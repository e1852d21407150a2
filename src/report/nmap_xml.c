/*
 * nmap_xml.c - the "nmap-xml" format: our network-side results in nmap's
 * own XML, valid against /usr/share/nmap/nmap.dtd, so ndiff, Metasploit's
 * importer and DefectDojo read them like an nmap run.
 *
 * The DTD fixes scanner="nmap"; `args` carries our command line and a
 * comment names portcensus. Hosts are the distinct addresses of the scan
 * (and import) endpoints, in address order, each with its ports in (proto,
 * port) order, so two files of the same network diff cleanly. Every string
 * that reaches an attribute (host names, banners, products, the command
 * line) is escaped, and bytes outside printable ASCII become '?': they may
 * come from the network, and one bad byte would make the file invalid XML.
 */
#include "core/error.h"
#include "report/escape.h"
#include "report/report.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static void xml_attr(FILE *f, const char *name, const char *v)
{
	fprintf(f, " %s=\"", name);
	pc_report_escape_write(f, v, &pc_report_escape_xml_attr);
	fputc('"', f);
}

static bool network_side(const struct pc_endpoint *ep)
{
	return (ep->source == PC_SOURCE_SCAN || ep->source == PC_SOURCE_IMPORT) &&
	       (ep->addr.family == AF_INET || ep->addr.family == AF_INET6) &&
	       ep->state != PC_STATE_ESTABLISHED;
}

static int cmp_ep(const void *pa, const void *pb)
{
	const struct pc_endpoint *a = *(const struct pc_endpoint *const *)pa;
	const struct pc_endpoint *b = *(const struct pc_endpoint *const *)pb;
	int c = pc_addr_compare(&a->addr, &b->addr);
	if (c)
		return c;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return 0;
}

/* nmap's state words: ours (pc_state_name), but a listener is "open" and
 * the host-side states nmap has no word for are "unknown" */
static const char *state_name(enum pc_state s)
{
	switch (s) {
	case PC_STATE_LISTEN:
		return "open";
	case PC_STATE_ESTABLISHED:
	case PC_STATE_FORWARDED:
		return "unknown";
	default:
		return pc_state_name(s);
	}
}

/* nmap's reason words, so tools that read them see familiar values */
static const char *reason(const struct pc_endpoint *ep, bool connect)
{
	bool udp = ep->proto == PC_PROTO_UDP;
	switch (ep->state) {
	case PC_STATE_LISTEN:
	case PC_STATE_OPEN:
		return udp ? "udp-response" : "syn-ack";
	case PC_STATE_CLOSED:
		return udp ? "port-unreach" : connect ? "conn-refused" : "reset";
	default:
		return "no-response";
	}
}

/* "22,80,443-445" from the sorted ports of one protocol */
static void services(FILE *f, struct pc_endpoint **v, size_t n, enum pc_proto proto)
{
	/* collect the distinct ports in a bitmap: the endpoints are sorted by
	 * address first, so ports repeat across hosts */
	uint8_t *bits = calloc(65536 / 8, 1);
	if (!bits)
		return;
	for (size_t i = 0; i < n; i++)
		if (v[i]->proto == proto)
			bits[v[i]->port / 8] |= (uint8_t)(1u << (v[i]->port % 8));
	bool first = true;
	for (unsigned p = 0; p < 65536; p++) {
		if (!(bits[p / 8] >> (p % 8) & 1))
			continue;
		unsigned q = p;
		while (q + 1 < 65536 && bits[(q + 1) / 8] >> ((q + 1) % 8) & 1)
			q++;
		if (q == p)
			fprintf(f, "%s%u", first ? "" : ",", p);
		else
			fprintf(f, "%s%u-%u", first ? "" : ",", p, q);
		first = false;
		p = q;
	}
	free(bits);
}

static void write_port(FILE *f, const struct pc_endpoint *ep, bool connect)
{
	fprintf(f, "<port protocol=\"%s\" portid=\"%u\">", pc_proto_name(ep->proto),
		(unsigned)ep->port);
	fprintf(f, "<state state=\"%s\" reason=\"%s\" reason_ttl=\"0\"/>", state_name(ep->state),
		reason(ep, connect));
	const struct pc_service *s = ep->service;
	if (s && s->name) {
		fputs("<service", f);
		xml_attr(f, "name", s->name);
		if (s->product)
			xml_attr(f, "product", s->product);
		if (s->version)
			xml_attr(f, "version", s->version);
		if (s->tls == PC_TRI_TRUE)
			fputs(" tunnel=\"ssl\"", f);
		fputs(" method=\"probed\" conf=\"10\"/>", f);
	}
	fputs("</port>\n", f);
}

static int write_nmap_xml(FILE *f, const struct pc_snapshot *snap,
			  const struct pc_report_opts *opts, bool streamed)
{
	(void)streamed;
	size_t n = 0;
	for (size_t i = 0; i < snap->n_endpoints; i++)
		n += network_side(&snap->endpoints[i]);
	struct pc_endpoint **v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return PC_ENOMEM;
	n = 0;
	for (size_t i = 0; i < snap->n_endpoints; i++)
		if (network_side(&snap->endpoints[i]))
			v[n++] = &snap->endpoints[i];
	qsort(v, n, sizeof(*v), cmp_ep);

	const struct pc_scan_stats *st = &snap->scan;
	bool connect = !st->engine || strstr(st->engine, "connect") != NULL ||
		       strstr(st->engine, "syn") == NULL;
	long long start = snap->started_at_ms / 1000;
	long long end = (snap->finished_at_ms ? snap->finished_at_ms : snap->started_at_ms) / 1000;
	char tbuf[64] = "";
	time_t tt = (time_t)start;
	struct tm tm;
	if (gmtime_r(&tt, &tm))
		strftime(tbuf, sizeof(tbuf), "%a %b %e %H:%M:%S %Y", &tm);

	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE nmaprun>\n", f);
	fprintf(f, "<!-- portcensus %s nmap-compatible output -->\n",
		opts->version ? opts->version : "");
	fputs("<nmaprun scanner=\"nmap\"", f);
	xml_attr(f, "args", snap->command);
	fprintf(f, " start=\"%lld\"", start);
	xml_attr(f, "startstr", tbuf);
	xml_attr(f, "version", opts->version ? opts->version : "0");
	fputs(" xmloutputversion=\"1.05\">\n", f);
	for (int p = 0; p < 2; p++) {
		enum pc_proto proto = p ? PC_PROTO_UDP : PC_PROTO_TCP;
		bool any = false;
		for (size_t i = 0; i < n && !any; i++)
			any = v[i]->proto == proto;
		if (!any && (p == 1 || !st->present))
			continue;
		const char *type = proto == PC_PROTO_UDP ? "udp" : connect ? "connect" : "syn";
		fprintf(f, "<scaninfo type=\"%s\" protocol=\"%s\" numservices=\"%llu\" services=\"",
			type, pc_proto_name(proto),
			(unsigned long long)(p == 0 && st->present ? st->ports : 0));
		services(f, v, n, proto);
		fputs("\"/>\n", f);
	}
	fputs("<verbose level=\"0\"/>\n<debugging level=\"0\"/>\n", f);

	size_t hosts = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && pc_addr_equal(&v[j]->addr, &v[i]->addr))
			j++;
		char ab[PC_ADDR_STRLEN];
		pc_addr_format(&v[i]->addr, ab, sizeof(ab));
		fprintf(f, "<host starttime=\"%lld\" endtime=\"%lld\">", start, end);
		fputs("<status state=\"up\" reason=\"user-set\" reason_ttl=\"0\"/>\n", f);
		fprintf(f, "<address addr=\"%s\" addrtype=\"%s\"/>\n", ab,
			v[i]->addr.family == AF_INET6 ? "ipv6" : "ipv4");
		fputs("<hostnames>", f);
		const char *name = NULL;
		for (size_t k = i; k < j && !name; k++)
			name = v[k]->hostname;
		if (name) {
			fputs("<hostname", f);
			xml_attr(f, "name", name);
			fputs(" type=\"user\"/>", f);
		}
		fputs("</hostnames>\n<ports>", f);
		for (size_t k = i; k < j; k++)
			write_port(f, v[k], connect);
		fputs("</ports>\n</host>\n", f);
		hosts++;
		i = j;
	}
	uint64_t total = st->present && st->targets > hosts ? st->targets : hosts;
	double elapsed = st->present ? st->duration_s
				     : (double)(snap->finished_at_ms - snap->started_at_ms) / 1000.0;
	if (elapsed < 0)
		elapsed = 0;
	char sum[160];
	snprintf(sum, sizeof(sum), "portcensus done at %s; %llu addresses scanned in %.2f seconds",
		 tbuf, (unsigned long long)total, elapsed);
	fprintf(f, "<runstats><finished time=\"%lld\"", end);
	xml_attr(f, "timestr", tbuf);
	fprintf(f, " elapsed=\"%.2f\"", elapsed);
	xml_attr(f, "summary", sum);
	fputs(" exit=\"success\"/>", f);
	fprintf(f, "<hosts up=\"%zu\" down=\"%llu\" total=\"%llu\"/>\n</runstats>\n</nmaprun>\n",
		hosts, (unsigned long long)(total - hosts), (unsigned long long)total);
	free(v);
	return 0;
}

const struct pc_report_ops pc_report_nmap_xml = {
	.name = "nmap-xml",
	.description = "nmap XML (valid against nmap.dtd; ndiff reads it)",
	.write = write_nmap_xml,
};
