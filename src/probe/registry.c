/*
 * registry.c - every probe, in one array, most likely first.
 *
 * The order is the engine's "rest by likelihood": after the probes listed
 * for the port and the passive banner read, the engine tries the others in
 * this order. HTTP comes first because nearly every TCP service answers a
 * GET quickly (with HTTP, an error, or by closing). Text protocols that
 * would wait silently on a binary ClientHello (redis, memcached) come
 * before TLS; a TLS server answers their plaintext with an alert, which
 * moves the handshake to the front anyway. Banner probes (ssh, smtp, ...) share the
 * passive read, so their place here only orders them among themselves.
 */
#include "probe/probe_ops.h"

#include <string.h>

extern const struct pc_probe_ops pc_probe_http, pc_probe_redis, pc_probe_memcached, pc_probe_tls,
	pc_probe_postgres, pc_probe_mongodb, pc_probe_mqtt, pc_probe_amqp, pc_probe_zookeeper,
	pc_probe_ldap, pc_probe_smb, pc_probe_rdp, pc_probe_rpcbind, pc_probe_dns_tcp,
	pc_probe_kafka, pc_probe_cassandra, pc_probe_x11,
	pc_probe_ssh, pc_probe_mysql, pc_probe_smtp, pc_probe_ftp, pc_probe_pop3, pc_probe_imap,
	pc_probe_vnc, pc_probe_dns_udp, pc_probe_snmp, pc_probe_memcached_udp;

const struct pc_probe_ops *const pc_probe_registry[] = {
	/* active TCP probes, by likelihood */
	&pc_probe_http,
	&pc_probe_redis,
	&pc_probe_memcached,
	&pc_probe_tls,
	&pc_probe_postgres,
	&pc_probe_mongodb,
	&pc_probe_mqtt,
	&pc_probe_amqp,
	&pc_probe_zookeeper,
	&pc_probe_ldap,
	&pc_probe_smb,
	&pc_probe_rdp,
	&pc_probe_rpcbind,
	&pc_probe_dns_tcp,
	&pc_probe_kafka,
	&pc_probe_cassandra,
	&pc_probe_x11,
	/* banner probes (passive read) */
	&pc_probe_ssh,
	&pc_probe_mysql,
	&pc_probe_smtp,
	&pc_probe_ftp,
	&pc_probe_pop3,
	&pc_probe_imap,
	&pc_probe_vnc,
	/* UDP */
	&pc_probe_dns_udp,
	&pc_probe_snmp,
	&pc_probe_memcached_udp,
};

const size_t pc_probe_registry_len = sizeof(pc_probe_registry) / sizeof(pc_probe_registry[0]);

const struct pc_probe_ops *pc_probe_find(const char *name)
{
	for (size_t i = 0; i < pc_probe_registry_len; i++)
		if (strcmp(pc_probe_registry[i]->name, name) == 0)
			return pc_probe_registry[i];
	return NULL;
}
