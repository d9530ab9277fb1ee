// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "certio.h"
#include "log.h"
#include "validate.h"

const char *validation_status_name(enum validation_status s)
{
	static const char *const names[] = { "good", "revoked", "unknown",
					     "invalid" };

	return names[s];
}

int validate_init(struct certd *d)
{
	const struct certd_conf *c = d->conf;
	STACK_OF(X509) *anchors = sk_X509_new_null();
	size_t i;
	int j, ret = -1;

	d->anchors = X509_STORE_new();
	d->intermediates = sk_X509_new_null();
	d->notifiers = sk_X509_new_null();
	if (!anchors || !d->anchors || !d->intermediates || !d->notifiers)
		goto out;
	for (i = 0; i < c->anchors.n; i++)
		if (certio_load_certs(c->anchors.v[i], anchors))
			goto out;
	for (i = 0; i < c->intermediates.n; i++)
		if (certio_load_certs(c->intermediates.v[i], d->intermediates))
			goto out;
	for (i = 0; i < c->notifiers.n; i++)
		if (certio_load_certs(c->notifiers.v[i], d->notifiers))
			goto out;
	for (j = 0; j < sk_X509_num(anchors); j++) {
		X509 *x = sk_X509_value(anchors, j);

		if (!X509_STORE_add_cert(d->anchors, x) ||
		    crl_cache_add_ca(&d->crls, x))
			goto out;
	}
	/* Configured CA certificates may sign CRLs of their subject. */
	for (j = 0; j < sk_X509_num(d->intermediates); j++)
		if (X509_check_ca(sk_X509_value(d->intermediates, j)) &&
		    crl_cache_add_ca(&d->crls,
				     sk_X509_value(d->intermediates, j)))
			goto out;
	ret = 0;
out:
	if (ret)
		guise_err("trust anchors: cannot load");
	sk_X509_pop_free(anchors, X509_free);
	ERR_clear_error();
	return ret;
}

void validation_free(struct validation *v)
{
	sk_X509_pop_free(v->chain, X509_free);
	v->chain = NULL;
}

/* Revocation of every certificate of @chain, from the leaf up. */
static void check_revocation(struct certd *d, struct validation *v, time_t now)
{
	int i, n = sk_X509_num(v->chain);

	for (i = 0; i < n; i++) {
		X509 *x = sk_X509_value(v->chain, i);
		const struct crl_serial *hit = NULL;
		enum crl_status st;

		st = crl_cache_lookup(&d->crls, X509_get_issuer_name(x),
				      X509_get0_serialNumber(x), now, &hit,
				      NULL);
		if (st == CRL_GOOD)
			continue;
		v->depth = i;
		if (st == CRL_REVOKED) {
			v->status = VALID_REVOKED;
			v->revoked = hit;
			snprintf(v->reason, sizeof(v->reason),
				 "certificate revoked");
		} else {
			v->status = VALID_UNKNOWN;
			snprintf(v->reason, sizeof(v->reason),
				 "no current CRL for the issuer");
		}
		return;
	}
	v->status = VALID_GOOD;
	v->depth = 0;
	snprintf(v->reason, sizeof(v->reason), "ok");
}

/* Build and verify a path with OpenSSL; 0 with v->chain set. */
static int build_path(struct certd *d, const struct validation_req *r,
		      struct validation *v)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_dup(d->intermediates);
	X509_VERIFY_PARAM *param;
	int i, ret = -1, err;

	if (!ctx || !untrusted)
		goto oom;
	for (i = 0; r->untrusted && i < sk_X509_num(r->untrusted); i++)
		if (!sk_X509_push(untrusted, sk_X509_value(r->untrusted, i)))
			goto oom;
	if (!X509_STORE_CTX_init(ctx, d->anchors, r->leaf, untrusted))
		goto oom;
	param = X509_STORE_CTX_get0_param(ctx);
	if (r->purpose && !X509_STORE_CTX_set_purpose(ctx, r->purpose))
		goto oom;
	if (r->at)
		X509_VERIFY_PARAM_set_time(param, r->at);
	for (i = 0; r->policies && i < sk_ASN1_OBJECT_num(r->policies); i++) {
		ASN1_OBJECT *o = OBJ_dup(sk_ASN1_OBJECT_value(r->policies, i));

		if (!o || !X509_VERIFY_PARAM_add0_policy(param, o)) {
			ASN1_OBJECT_free(o);
			goto oom;
		}
	}
	if (r->policies)
		X509_VERIFY_PARAM_set_flags(
			param,
			X509_V_FLAG_POLICY_CHECK | X509_V_FLAG_EXPLICIT_POLICY);
	if (X509_verify_cert(ctx) == 1) {
		v->chain = X509_STORE_CTX_get1_chain(ctx);
		ret = v->chain ? 0 : -1;
		if (ret)
			goto oom;
	} else {
		err = X509_STORE_CTX_get_error(ctx);
		v->status = VALID_INVALID;
		v->depth = X509_STORE_CTX_get_error_depth(ctx);
		snprintf(v->reason, sizeof(v->reason), "%s",
			 X509_verify_cert_error_string(err));
		v->chain = X509_STORE_CTX_get1_chain(ctx);
	}
	goto out;
oom:
	v->status = VALID_INVALID;
	snprintf(v->reason, sizeof(v->reason), "out of memory");
out:
	sk_X509_free(untrusted);
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return ret;
}

int certd_validate(struct certd *d, const struct validation_req *r,
		   struct validation *v)
{
	time_t now = r->at ? r->at : time(NULL);
	bool cacheable = !r->at && !r->policies;
	STACK_OF(X509) *chain = NULL;
	int i;

	memset(v, 0, sizeof(*v));
	d->m.validations++;
	if (cacheable)
		chain = path_cache_get(&d->paths, r->leaf, r->purpose,
				       d->crls.generation, now);
	if (chain) {
		v->chain = X509_chain_up_ref(chain);
		v->cached = v->chain != NULL;
		d->m.validations_cached++;
	}
	if (!v->chain && build_path(d, r, v))
		goto done;
	check_revocation(d, v, now);
	if (v->status == VALID_GOOD && !v->cached && cacheable) {
		if (!path_cache_put(&d->paths, v->chain, r->purpose,
				    d->crls.generation))
			v->new_path = true;
		/* A proven chain's CA certificates may sign CRLs. */
		for (i = 1; i < sk_X509_num(v->chain); i++)
			crl_cache_add_ca(&d->crls, sk_X509_value(v->chain, i));
	}
done:
	d->m.results[v->status]++;
	return 0;
}

static json_t *cert_json(X509 *x)
{
	char subject[256], issuer[256], serial[2 * CRL_SERIAL_MAX + 2];
	struct crl_serial key;

	X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
	X509_NAME_oneline(X509_get_issuer_name(x), issuer, sizeof(issuer));
	if (crl_serial_key(X509_get0_serialNumber(x), &key))
		snprintf(serial, sizeof(serial), "?");
	else
		crl_serial_hex(&key, serial);
	return json_pack("{s:s, s:s, s:s}", "subject", subject, "issuer",
			 issuer, "serial", serial);
}

json_t *validation_json(const struct validation *v)
{
	json_t *o, *chain = json_array();
	int i;

	for (i = 0; chain && v->chain && i < sk_X509_num(v->chain); i++)
		json_array_append_new(chain,
				      cert_json(sk_X509_value(v->chain, i)));
	o = json_pack("{s:s, s:s, s:i, s:b, s:o*}", "status",
		      validation_status_name(v->status), "reason", v->reason,
		      "depth", v->depth, "cached", v->cached, "chain", chain);
	if (o && v->status == VALID_REVOKED && v->revoked) {
		char serial[2 * CRL_SERIAL_MAX + 2];

		crl_serial_hex(v->revoked, serial);
		json_object_set_new(
			o, "revocation",
			json_pack("{s:s, s:I, s:i}", "serial", serial, "date",
				  (json_int_t)v->revoked->date, "reason",
				  v->revoked->reason == 0xff ?
					  -1 :
					  (int)v->revoked->reason));
	}
	return o;
}
