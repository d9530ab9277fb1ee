// SPDX-License-Identifier: GPL-2.0
/*
 * --state DIR/subscriptions.json: the subscriptions validation servers
 * made over --listen, and who holds each, so that a restart goes on
 * pushing to them and not only to the --to destinations:
 *
 *   {"version": 1,
 *    "subscriptions": [{"url": U, "holders": ["sha256:...", ...]}, ...]}
 *
 * Written whole (temporary file, fsync, rename) after each change an
 * API request made; read at start, after the --to destinations. Each
 * entry goes through watch_subscribe() as a request would: the
 * --subscribe-limit per holder and the list's size hold, a URL also
 * given with --to stays configured. A URL is checked again as a
 * subscribe checks it, against the --subscribe-allow prefixes as they
 * are now; without them the check was against the subscriber's
 * certificate (its subjectAltName), which is not kept: an https:// URL
 * is then taken as it was accepted.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "crlwatch.h"
#include "holders.h"
#include "log.h"
#include "urlpolicy.h"

#define SUBS_FILE "subscriptions.json"
#define SUBS_VERSION 1

char *watch_subs_dump(const struct crlwatch *cw)
{
	json_t *root, *list, *entry, *holders;
	char *text = NULL;
	size_t i, j;
	int err;

	root = json_pack("{s:i, s:[]}", "version", SUBS_VERSION,
			 "subscriptions");
	list = json_object_get(root, "subscriptions");
	err = !list;
	for (i = 0; !err && i < cw->n_subs; i++) {
		const struct sub *s = &cw->subs[i];

		if (s->holders.configured || !s->holders.n)
			continue;
		/* (each _new() takes its value, also when it fails) */
		holders = json_array();
		for (j = 0; holders && j < s->holders.n; j++)
			err |= json_array_append_new(
				holders, json_string(s->holders.v[j]));
		entry = json_object();
		err |= json_object_set_new(entry, "url", json_string(s->url));
		err |= json_object_set_new(entry, "holders", holders);
		err |= json_array_append_new(list, entry);
	}
	if (!err)
		text = json_dumps(root, JSON_INDENT(1));
	json_decref(root);
	return text;
}

void watch_subs_save(struct crlwatch *cw)
{
	char *text;

	if (!cw->o->state)
		return;
	text = watch_subs_dump(cw);
	if (!text)
		guise_warn("%s/" SUBS_FILE ": cannot write the subscriptions: "
			   "out of memory; they stand until a restart",
			   cw->o->state);
	else if (watch_write_atomic(cw->o->state, SUBS_FILE, text, strlen(text),
				    true))
		guise_warn("%s/" SUBS_FILE ": cannot write the subscriptions: "
			   "%s; they stand until a restart",
			   cw->o->state, strerror(errno));
	free(text);
}

/* A holder as holders_id() makes it: "sha256:" and 64 lower-case hex. */
static bool holder_ok(const char *who)
{
	size_t i;

	if (strlen(who) != 7 + 64 || strncmp(who, "sha256:", 7))
		return false;
	for (i = 7; who[i]; i++)
		if (!strchr("0123456789abcdef", who[i]))
			return false;
	return true;
}

/* One entry: its holders subscribe @url again. The number restored. */
static size_t load_one(struct crlwatch *cw, const char *path, json_t *e)
{
	const char *url, *who, *why;
	json_t *holders, *h;
	enum urlpolicy_verdict v;
	char *norm = NULL;
	size_t i, n = 0;
	int err;

	if (json_unpack(e, "{s:s, s:o}", "url", &url, "holders", &holders) ||
	    !json_is_array(holders) || strlen(url) > 1024 ||
	    (strncmp(url, "https://", 8) && strncmp(url, "http://", 7)) ||
	    !(norm = urlpolicy_normalize(url)) || strcmp(norm, url)) {
		guise_warn("%s: an entry that is not {\"url\": URL, "
			   "\"holders\": [...]}: skipped",
			   path);
		goto out;
	}
	/* As a subscribe checks it, less the subscriber's certificate
	 * (the SAN rule without --subscribe-allow), which is not kept. */
	v = urlpolicy_subscribe(&cw->o->allow, url, NULL, NULL);
	if (v != URLPOLICY_OK &&
	    (v != URLPOLICY_NOT_NAMED || strncmp(url, "https://", 8))) {
		if (!watch_url_allowed(cw->o, url, NULL, &why))
			why = "?";
		guise_warn("%s: %s: no longer subscribed: %s", path, url, why);
		goto out;
	}
	json_array_foreach(holders, i, h) {
		who = json_string_value(h);
		if (!who || !holder_ok(who)) {
			guise_warn("%s: %s: a holder that is not sha256:HEX: "
				   "skipped",
				   path, url);
			continue;
		}
		err = watch_subscribe(cw, url, who, true);
		if (err)
			guise_warn("%s: %s for %s: not restored: %s", path, url,
				   who,
				   err == -EDQUOT ?
					   "past its --subscribe-limit" :
					   strerror(-err));
		else
			n++;
	}
out:
	free(norm);
	return n;
}

/* The entries of @root (read from @what) subscribed again; the holds
 * restored. */
static size_t subs_apply(struct crlwatch *cw, json_t *root, const char *what)
{
	json_t *list, *e;
	size_t i, n = 0;
	int version = 0;

	if (json_unpack(root, "{s:i, s:o}", "version", &version,
			"subscriptions", &list) ||
	    version != SUBS_VERSION || !json_is_array(list)) {
		guise_warn("%s: not a version %d subscriptions file; the "
			   "subscriptions in it are not restored",
			   what, SUBS_VERSION);
		return 0;
	}
	json_array_foreach(list, i, e)
		n += load_one(cw, what, e);
	return n;
}

size_t watch_subs_restore(struct crlwatch *cw, const char *text, size_t len,
			  const char *what)
{
	json_error_t jerr;
	json_t *root;
	size_t n;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		guise_warn("%s: cannot read: %s (line %d); the subscriptions "
			   "in it are not restored",
			   what, jerr.text, jerr.line);
		return 0;
	}
	n = subs_apply(cw, root, what);
	json_decref(root);
	return n;
}

void watch_subs_load(struct crlwatch *cw)
{
	char path[4096];
	json_error_t jerr;
	json_t *root;
	size_t n;

	if (!cw->o->state)
		return;
	snprintf(path, sizeof(path), "%s/" SUBS_FILE, cw->o->state);
	if (access(path, F_OK) && errno == ENOENT)
		return; /* none made yet */
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		guise_warn("%s: cannot read: %s (line %d); the subscriptions "
			   "in it are not restored",
			   path, jerr.text, jerr.line);
		return;
	}
	n = subs_apply(cw, root, path);
	guise_info("%s: %zu subscription hold(s) restored", path, n);
	json_decref(root);
}
