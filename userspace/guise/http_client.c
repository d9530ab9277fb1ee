// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <jansson.h>

#include "http_client.h"
#include "log.h"

/* Replies are small JSON documents or an audit export. */
#define HC_MAX_BODY (64U << 20)
#define HC_TIMEOUT_S 30L

bool hc_option(int c, const char *arg, struct hc_target *t)
{
	switch (c) {
	case HC_OPT_SERVER:
		t->server = arg;
		return true;
	case HC_OPT_SOCKET:
		t->socket = arg;
		return true;
	case HC_OPT_CERT:
		t->cert = arg;
		return true;
	case HC_OPT_KEY:
		t->key = arg;
		return true;
	case HC_OPT_CA:
		t->ca = arg;
		return true;
	default:
		return false;
	}
}

int hc_target_check(struct hc_target *t, const char *op)
{
	if (t->server && t->socket) {
		guise_err("%s: --server and --socket exclude each other", op);
		return -1;
	}
	if (!t->server) {
		const char *tls = t->cert ? "--cert" :
				  t->key  ? "--key" :
				  t->ca	  ? "--ca" :
					    NULL;

		if (tls) {
			guise_err("%s: %s needs --server", op, tls);
			return -1;
		}
	}
	if (t->server) {
		if (strncmp(t->server, "https://", 8)) {
			guise_err("%s: --server must be an https:// URL", op);
			return -1;
		}
		if (!t->cert) {
			guise_err("%s: --server needs --cert (mutual TLS)", op);
			return -1;
		}
		if (!t->key)
			t->key = t->cert;
	} else if (!t->socket) {
		t->socket = HC_DEFAULT_SOCKET;
	}
	return 0;
}

/*
 * The body grows by copies, the old one wiped, never by realloc(): a
 * block it moved would be freed as it is, and a body may hold a key
 * (enroll's Km).
 */
static size_t hc_on_body(char *data, size_t size, size_t n, void *arg)
{
	struct hc_resp *r = arg;
	size_t len = size * n, cap = r->cap ? r->cap : 4096;
	char *nb;

	if (len > HC_MAX_BODY - r->len)
		return 0;
	if (r->len + len + 1 > r->cap) {
		while (cap < r->len + len + 1)
			cap *= 2;
		nb = malloc(cap);
		if (!nb)
			return 0;
		if (r->body) {
			memcpy(nb, r->body, r->len);
			explicit_bzero(r->body, r->len);
			free(r->body);
		}
		r->body = nb;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

/* GET @path (@json NULL) or POST @json to it. */
static int hc_request(const struct hc_target *t, const char *op,
		      const char *path, const char *json, struct hc_resp *r)
{
	char url[1024], errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdr = NULL;
	CURLcode rc;
	CURL *c;

	memset(r, 0, sizeof(*r));
	c = curl_easy_init();
	if (!c) {
		guise_err("%s: libcurl: out of memory", op);
		return -1;
	}
	if (t->server) {
		snprintf(url, sizeof(url), "%s%s", t->server, path);
		curl_easy_setopt(c, CURLOPT_SSLCERT, t->cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, t->key);
		if (t->ca)
			curl_easy_setopt(c, CURLOPT_CAINFO, t->ca);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	} else {
		snprintf(url, sizeof(url), "http://localhost%s", path);
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, t->socket);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, HC_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, hc_on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	if (json) {
		hdr = curl_slist_append(NULL, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	}
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->code);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		guise_err("%s: %s: %s", op, t->server ? t->server : t->socket,
			  errbuf[0] ? errbuf : curl_easy_strerror(rc));
		hc_resp_free(r);
		return -1;
	}
	if (!r->body) {
		r->body = strdup("");
		if (!r->body) {
			guise_err("%s: out of memory", op);
			return -1;
		}
	}
	return 0;
}

int hc_get(const struct hc_target *t, const char *op, const char *path,
	   struct hc_resp *r)
{
	return hc_request(t, op, path, NULL, r);
}

int hc_post(const struct hc_target *t, const char *op, const char *path,
	    json_t *body, struct hc_resp *r)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_free_t text_free; /* jansson's: enroll sets its own */
	int ret;

	json_decref(body);
	if (!text) {
		memset(r, 0, sizeof(*r));
		guise_err("%s: cannot encode the request", op);
		return -1;
	}
	ret = hc_request(t, op, path, text, r);
	json_get_alloc_funcs(NULL, &text_free);
	text_free(text);
	return ret;
}

void hc_resp_free(struct hc_resp *r)
{
	if (r->body)
		explicit_bzero(r->body, r->len);
	free(r->body);
	r->body = NULL;
	r->len = r->cap = 0;
}

const char *hc_error_text(const struct hc_resp *r, char *buf, size_t size)
{
	json_t *doc = json_loadb(r->body, r->len, 0, NULL);
	const char *e = json_string_value(json_object_get(doc, "error"));

	if (e)
		snprintf(buf, size, "%s (HTTP %ld)", e, r->code);
	else
		snprintf(buf, size, "HTTP %ld", r->code);
	json_decref(doc);
	return buf;
}
