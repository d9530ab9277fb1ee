// SPDX-License-Identifier: GPL-2.0
/*
 * Host mode (the seed's connecting/terminating programs): rent a virtual
 * address from guise-leased over mutual TLS and install the EGRESS half
 * of the lease in this host's module; the daemon installs the INGRESS
 * half on its gateway. Release removes the local lease, then returns it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "http_client.h"
#include "lease.h"
#include "lease_remote.h"
#include "log.h"
#include "nl.h"
#include "out.h"

/* The one IPv6 iPAddress subjectAltName of the PEM certificate @path:
 * the real address the daemon will see. 0 or -1 (printed). */
static int cert_real_address(const char *path, struct in6_addr *out,
			     const char *op)
{
	GENERAL_NAMES *names = NULL;
	X509 *cert = NULL;
	int i, found = 0;
	FILE *fp;

	fp = fopen(path, "r");
	if (fp) {
		cert = PEM_read_X509(fp, NULL, NULL, NULL);
		fclose(fp);
	}
	if (!cert) {
		guise_err("%s: %s: cannot read a PEM certificate", op, path);
		return -1;
	}
	names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);

		if (gn->type != GEN_IPADD ||
		    ASN1_STRING_length(gn->d.iPAddress) != 16)
			continue;
		memcpy(out, ASN1_STRING_get0_data(gn->d.iPAddress), 16);
		found++;
	}
	GENERAL_NAMES_free(names);
	X509_free(cert);
	if (found != 1) {
		guise_err("%s: %s must carry exactly one IPv6 address", op,
			  path);
		return -1;
	}
	return 0;
}

/* One request on an open socket (closed here). With @absent_ok the
 * kernel's -ENOENT (no such lease) is a warning, not an error. */
static int local_lease_talk(struct guise_nl *nl, const char *op, uint8_t cmd,
			    const struct guise_lease *l, bool absent_ok)
{
	char buf[GUISE_NL_MSG_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh;
	int ret, err;

	nlh = guise_msg_start(buf, guise_nl_family(nl), cmd,
			      NLM_F_REQUEST | NLM_F_ACK);
	if (guise_lease_put(nlh, sizeof(buf), l)) {
		guise_nl_close(nl);
		guise_err("%s: request too large", op);
		return CLI_EXIT_KERNEL;
	}
	err = guise_nl_talk(nl, nlh, NULL, NULL);
	if (err == -ENOENT && absent_ok) {
		guise_warn("%s: no such lease here", op);
		err = 0;
	}
	ret = err ? cli_request_error(nl, op, err) : CLI_EXIT_OK;
	guise_nl_close(nl);
	return ret;
}

/*
 * LEASE_NEW or LEASE_DEL in this host's module. An enum cli_exit; with
 * @absent_ok, the kernel having no such lease is success. With -n the
 * netlink part runs in that namespace and the process comes back to its
 * own afterwards: the daemon is reached from where the CLI started.
 */
static int local_lease(const struct cli_ctx *ctx, const char *op, uint8_t cmd,
		       const struct guise_lease *l, bool absent_ok)
{
	struct guise_nl *nl;
	int ret, home = -1;

	if (ctx->netns) {
		home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (home < 0) {
			guise_err("%s: own network namespace: %s", op,
				  strerror(errno));
			return CLI_EXIT_NETNS;
		}
	}
	ret = cli_connect(ctx, &nl);
	if (!ret)
		ret = local_lease_talk(nl, op, cmd, l, absent_ok);
	if (home >= 0) {
		if (setns(home, CLONE_NEWNET)) {
			guise_err("%s: back to the own network namespace: %s",
				  op, strerror(errno));
			ret = ret ? ret : CLI_EXIT_NETNS;
		}
		close(home);
	}
	return ret;
}

static int remote_opts(int argc, char **argv, const char *op,
		       struct hc_target *t, const char **peer,
		       const char **virt, uint32_t *lifetime)
{
	static const struct option longopts[] = {
		{ "peer", required_argument, NULL, 'p' },
		{ "virtual", required_argument, NULL, 'v' },
		{ "lifetime", required_argument, NULL, 'l' },
		HC_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0; /* glibc: a full re-initialisation */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		if (hc_option(c, optarg, t))
			continue;
		if (c == 'p' && peer)
			*peer = optarg;
		else if (c == 'v' && virt)
			*virt = optarg;
		else if (c == 'l' && lifetime) {
			if (guise_duration_parse(optarg, lifetime))
				return cli_usage_error(op, "bad --lifetime");
		} else
			return cli_usage_error(op, "unknown option \"%s\"",
					       argv[optind - 1]);
	}
	if (optind < argc)
		return cli_usage_error(op, "unexpected argument \"%s\"",
				       argv[optind]);
	if (!t->server)
		return cli_usage_error(op, "--server URL is required");
	if (hc_target_check(t, op))
		return CLI_EXIT_USAGE;
	return CLI_EXIT_OK;
}

/* Parse "virtual" (and "expires") of a lease answer into @l. */
static int answer_lease(const char *body, size_t len, struct guise_lease *l,
			long long *expires)
{
	json_t *doc = json_loadb(body, len, 0, NULL);
	const char *v = json_string_value(json_object_get(doc, "virtual"));
	int err = -EPROTO;

	if (v && inet_pton(AF_INET6, v, &l->virt) == 1) {
		*expires = json_integer_value(json_object_get(doc, "expires"));
		err = 0;
	}
	json_decref(doc);
	return err;
}

static int print_lease(const struct cli_ctx *ctx, const char *op,
		       const struct guise_lease *l, long long expires)
{
	char r[INET6_ADDRSTRLEN], p[INET6_ADDRSTRLEN], v[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, &l->real, r, sizeof(r));
	inet_ntop(AF_INET6, &l->peer, p, sizeof(p));
	inet_ntop(AF_INET6, &l->virt, v, sizeof(v));
	if (ctx->json)
		return cli_print_json(ctx, op,
				      json_pack("{s:s, s:s, s:s, s:I}", "real",
						r, "peer", p, "virtual", v,
						"expires",
						(json_int_t)expires));
	printf("acquired %s -> %s as %s (expires %lld)\n", r, p, v, expires);
	return cli_flush_output(op);
}

/* {"KEY": ADDR} with "lifetime" if not 0; NULL without memory. */
static json_t *lease_body(const char *key, const struct in6_addr *addr,
			  uint32_t lifetime)
{
	char a[INET6_ADDRSTRLEN];
	json_t *o;

	o = json_pack("{s:s}", key, inet_ntop(AF_INET6, addr, a, sizeof(a)));
	if (o && lifetime &&
	    json_object_set_new(o, "lifetime", json_integer(lifetime))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Give back the virtual address of @l, rented but not installed here. */
static void return_unused(const struct hc_target *t, const char *op,
			  const struct guise_lease *l)
{
	char v[INET6_ADDRSTRLEN], err[256];
	struct hc_resp r;

	inet_ntop(AF_INET6, &l->virt, v, sizeof(v));
	if (hc_post(t, op, "/v1/return", lease_body("virtual", &l->virt, 0),
		    &r)) {
		guise_warn("%s: %s is still rented: it could not be returned",
			   op, v);
		return;
	}
	if (r.code != 200)
		guise_warn("%s: %s is still rented: returning it failed: %s",
			   op, v, hc_error_text(&r, err, sizeof(err)));
	hc_resp_free(&r);
}

int lease_acquire(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const char op[] = "lease acquire";
	struct hc_target t = { 0 };
	const char *peer = NULL;
	uint32_t lifetime = 0;
	struct guise_lease l;
	long long expires = 0;
	struct hc_resp r;
	char err[256];
	int ret;

	ret = remote_opts(argc, argv, op, &t, &peer, NULL, &lifetime);
	if (ret)
		return ret;
	memset(&l, 0, sizeof(l));
	if (!peer || inet_pton(AF_INET6, peer, &l.peer) != 1)
		return cli_usage_error(op, "--peer IPv6-ADDRESS is required");
	if (cert_real_address(t.cert, &l.real, op))
		return CLI_EXIT_USAGE;
	if (hc_post(&t, op, "/v1/rent", lease_body("peer", &l.peer, lifetime),
		    &r))
		return CLI_EXIT_KERNEL;
	if (r.code == 409 && !answer_lease(r.body, r.len, &l, &expires)) {
		/* We hold it already (a rerun): renew and reinstall. */
		hc_resp_free(&r);
		if (hc_post(&t, op, "/v1/renew",
			    lease_body("virtual", &l.virt, lifetime), &r))
			return CLI_EXIT_KERNEL;
		if (r.code == 200)
			r.code = 201;
	}
	if (r.code != 201 || answer_lease(r.body, r.len, &l, &expires)) {
		guise_err("%s: %s", op, hc_error_text(&r, err, sizeof(err)));
		hc_resp_free(&r);
		return r.code == 403 ? CLI_EXIT_PERM : CLI_EXIT_KERNEL;
	}
	hc_resp_free(&r);
	l.flags = GUISE_LEASE_F_EGRESS;
	l.lifetime = lifetime ? lifetime : 0;
	guise_lease_mark(&l, GUISE_A_LEASE_REAL);
	guise_lease_mark(&l, GUISE_A_LEASE_PEER);
	guise_lease_mark(&l, GUISE_A_LEASE_VIRT);
	guise_lease_mark(&l, GUISE_A_LEASE_FLAGS);
	if (expires > 0) {
		long long left = expires - (long long)time(NULL);

		l.lifetime = left > 0 ? (uint32_t)left : 1;
		guise_lease_mark(&l, GUISE_A_LEASE_LIFETIME);
	}
	ret = local_lease(ctx, op, GUISE_CMD_LEASE_NEW, &l, false);
	if (ret) {
		/* Do not keep a rented address we cannot use. */
		return_unused(&t, op, &l);
		return ret;
	}
	return print_lease(ctx, op, &l, expires);
}

int lease_release(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const char op[] = "lease release";
	struct hc_target t = { 0 };
	const char *virt = NULL;
	char err[256], v[INET6_ADDRSTRLEN];
	struct guise_lease l;
	struct hc_resp r;
	int ret;

	ret = remote_opts(argc, argv, op, &t, NULL, &virt, NULL);
	if (ret)
		return ret;
	memset(&l, 0, sizeof(l));
	if (!virt || inet_pton(AF_INET6, virt, &l.virt) != 1)
		return cli_usage_error(op,
				       "--virtual IPv6-ADDRESS is required");
	/*
	 * Local first: no packet leaves with V once V is back in the pool.
	 * A lease already gone here is no obstacle; any other failure
	 * keeps V rented, as it may still be in use.
	 */
	guise_lease_mark(&l, GUISE_A_LEASE_VIRT);
	ret = local_lease(ctx, op, GUISE_CMD_LEASE_DEL, &l, true);
	if (ret)
		return ret;
	if (hc_post(&t, op, "/v1/return", lease_body("virtual", &l.virt, 0),
		    &r))
		return CLI_EXIT_KERNEL;
	if (r.code != 200) {
		guise_err("%s: %s", op, hc_error_text(&r, err, sizeof(err)));
		hc_resp_free(&r);
		return r.code == 403 ? CLI_EXIT_PERM : CLI_EXIT_KERNEL;
	}
	hc_resp_free(&r);
	inet_ntop(AF_INET6, &l.virt, v, sizeof(v));
	if (ctx->json)
		return cli_print_json(ctx, op,
				      json_pack("{s:s}", "virtual", v));
	printf("released %s\n", v);
	return cli_flush_output(op);
}
