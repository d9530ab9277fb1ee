// SPDX-License-Identifier: GPL-2.0
/* A CONFIG_GET reply built in memory, decoded, rendered as text and JSON. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "msg.h"
#include "show.h"
#include "tap.h"

/* What a kernel with a full configuration would answer. */
static struct nlmsghdr *full_reply(struct test_buf *buf)
{
	struct nlmsghdr *nlh = msg_reply(buf, GUISE_CMD_CONFIG_GET);
	struct nlattr *cfg, *list;

	cfg = mnl_attr_nest_start(nlh, GUISE_A_CONFIG);
	mnl_attr_put_u8(nlh, GUISE_A_CONFIG_ENABLED, 0);
	list = mnl_attr_nest_start(nlh, GUISE_A_CONFIG_VPREFIXES);
	msg_prefix(nlh, 1, "2001:db8:ff::/48", -1);
	msg_prefix(nlh, 2, "fd00:ff::/64", -1);
	mnl_attr_nest_end(nlh, list);
	list = mnl_attr_nest_start(nlh, GUISE_A_CONFIG_MISS_RULES);
	msg_prefix(nlh, 1, "2001:db8:1::/64", GUISE_MISS_UPCALL);
	msg_prefix(nlh, 2, "2001:db8::/32", GUISE_MISS_DROP);
	mnl_attr_nest_end(nlh, list);
	mnl_attr_put_u32(nlh, GUISE_A_CONFIG_MAX_LEASES, 1048576);
	mnl_attr_put_u32(nlh, GUISE_A_CONFIG_UPCALL_QLEN, 8);
	mnl_attr_put_u32(nlh, GUISE_A_CONFIG_UPCALL_TIMEOUT_MS, 200);
	mnl_attr_put_u32(nlh, GUISE_A_CONFIG_LEASE_COUNT, 0);
	mnl_attr_put_u32(nlh, GUISE_A_CONFIG_KEY_COUNT, 3);
	mnl_attr_put_u8(nlh, GUISE_A_CONFIG_ROUTING_HEADER, GUISE_RTHDR_DROP);
	mnl_attr_nest_end(nlh, cfg);
	return nlh;
}

/* Render @cfg into a string (caller frees); *err gets the flush result. */
static char *render(const struct guise_config *cfg, bool json, bool pretty,
		    int *err)
{
	struct guise_out out;
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	if (!fp)
		abort();
	guise_out_init(&out, fp, json, pretty);
	show_config(&out, cfg);
	*err = guise_out_flush(&out);
	fclose(fp);
	return text;
}

static void check_render(const struct guise_config *cfg, bool json, bool pretty,
			 const char *want, const char *name)
{
	int err;
	char *got = render(cfg, json, pretty, &err);

	if (!tap_ok(!err && !strcmp(got, want), "%s", name))
		tap_diag("err %d, got:\n%s", err, got);
	free(got);
}

static const char full_text[] = "enabled off\n"
				"max-leases 1048576\n"
				"upcall-qlen 8\n"
				"upcall-timeout 200\n"
				"routing-header drop\n"
				"leases 0\n"
				"keys 3\n"
				"vprefix 2001:db8:ff::/48\n"
				"vprefix fd00:ff::/64\n"
				"miss 2001:db8:1::/64 upcall\n"
				"miss 2001:db8::/32 drop\n";

static const char full_json[] =
	"{\"enabled\": false, \"max_leases\": 1048576, \"upcall_qlen\": 8, "
	"\"upcall_timeout_ms\": 200, \"routing_header\": \"drop\", "
	"\"lease_count\": 0, \"key_count\": 3, "
	"\"vprefixes\": [\"2001:db8:ff::/48\", \"fd00:ff::/64\"], "
	"\"miss_rules\": [{\"prefix\": \"2001:db8:1::/64\", \"policy\": "
	"\"upcall\"}, {\"prefix\": \"2001:db8::/32\", \"policy\": \"drop\"}]}\n";

static void test_full(void)
{
	struct test_buf buf;
	struct guise_config cfg;
	json_t *want, *got;
	char *pretty;
	int err;

	tap_ok(guise_config_parse(full_reply(&buf), &cfg) == 0,
	       "decode a full reply");
	check_render(&cfg, false, false, full_text, "text output");
	check_render(&cfg, true, false, full_json, "JSON output");

	pretty = render(&cfg, true, true, &err);
	want = json_loads(full_json, 0, NULL);
	got = json_loads(pretty, 0, NULL);
	tap_ok(!err && strchr(pretty, '\n') < pretty + strlen(pretty) - 1 &&
		       json_equal(want, got),
	       "pretty JSON: several lines, same document");
	json_decref(want);
	json_decref(got);
	free(pretty);
}

static void test_absent(void)
{
	struct test_buf buf;
	struct nlmsghdr *nlh = msg_reply(&buf, GUISE_CMD_CONFIG_GET);
	struct guise_config cfg;
	struct nlattr *nest;

	nest = mnl_attr_nest_start(nlh, GUISE_A_CONFIG);
	mnl_attr_put_u8(nlh, GUISE_A_CONFIG_ENABLED, 1);
	mnl_attr_put_u32(nlh, 200, 7); /* from a newer kernel */
	mnl_attr_nest_end(nlh, nest);
	tap_ok(guise_config_parse(nlh, &cfg) == 0 &&
		       cfg.present == 1U << GUISE_A_CONFIG_ENABLED,
	       "decode a sparse reply, skipping an unknown attribute");
	check_render(&cfg, false, false, "enabled on\n",
		     "text: absent attributes print nothing");
	check_render(
		&cfg, true, false,
		"{\"enabled\": true, \"vprefixes\": [], \"miss_rules\": []}\n",
		"JSON: absent keys omitted, lists empty");

	nlh = msg_reply(&buf, GUISE_CMD_CONFIG_GET);
	tap_ok(guise_config_parse(nlh, &cfg) == 0 && cfg.present == 0,
	       "decode a reply without GUISE_A_CONFIG");
	check_render(&cfg, false, false, "", "text: empty configuration");
}

static void test_unknown_policy(void)
{
	struct test_buf buf;
	struct nlmsghdr *nlh = msg_reply(&buf, GUISE_CMD_CONFIG_GET);
	struct guise_config cfg;
	struct nlattr *nest, *list;

	nest = mnl_attr_nest_start(nlh, GUISE_A_CONFIG);
	list = mnl_attr_nest_start(nlh, GUISE_A_CONFIG_MISS_RULES);
	msg_prefix(nlh, 1, "2001:db8::/32", 9);
	mnl_attr_nest_end(nlh, list);
	mnl_attr_put_u8(nlh, GUISE_A_CONFIG_ROUTING_HEADER, 7);
	mnl_attr_nest_end(nlh, nest);
	tap_ok(guise_config_parse(nlh, &cfg) == 0 && cfg.n_miss_rules == 1 &&
		       cfg.rthdr_policy == 7,
	       "decode policies newer than this build");
	check_render(&cfg, false, false,
		     "routing-header 7\nmiss 2001:db8::/32 9\n",
		     "text: unknown policies as their number");
	check_render(&cfg, true, false,
		     "{\"routing_header\": 7, \"vprefixes\": [], "
		     "\"miss_rules\": [{\"prefix\": "
		     "\"2001:db8::/32\", \"policy\": 9}]}\n",
		     "JSON: unknown policies as their number");
}

static void test_out_misuse(void)
{
	struct guise_out out;
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	if (!fp)
		abort();
	guise_out_init(&out, fp, true, false);
	guise_out_open_object(&out, NULL);
	guise_out_uint(&out, "big", NULL, UINT64_MAX);
	tap_ok(guise_out_flush(&out) == -EINVAL && len == 0,
	       "unbalanced open: an error, nothing printed");

	guise_out_init(&out, fp, true, false);
	guise_out_close_array(&out);
	tap_ok(guise_out_flush(&out) == -EINVAL, "close without open");

	guise_out_init(&out, fp, true, false);
	guise_out_open_object(&out, NULL);
	guise_out_close_object(&out);
	guise_out_open_object(&out, NULL);
	guise_out_close_object(&out);
	tap_ok(guise_out_flush(&out) == -EINVAL, "two documents");

	guise_out_init(&out, fp, true, false);
	guise_out_open_object(&out, NULL);
	guise_out_uint(&out, "big", NULL, UINT64_MAX);
	guise_out_close_object(&out);
	guise_out_exit(&out);
	tap_ok(len == 0, "exit discards the document");
	fclose(fp);
	free(text);
}

/*
 * A listing held until the flush, as guise key/lease show do it, into a
 * stream that has output already. @json, or text. Returns the stream's text.
 */
static char *render_held(bool json, bool reset, int *err)
{
	struct guise_out out;
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	if (!fp)
		abort();
	fputs("before\n", fp);
	guise_out_init(&out, fp, json, false);
	*err = guise_out_hold(&out);
	guise_out_open_array(&out, NULL);
	/* A first dump, interrupted after three entries, longer than the
	 * second: a reset must also drop its tail. */
	guise_out_string(&out, NULL, "one %s\n", "long-entry-1");
	guise_out_string(&out, NULL, "one %s\n", "long-entry-2");
	guise_out_string(&out, NULL, "one %s\n", "long-entry-3");
	fflush(fp);
	if (!tap_ok(len == strlen("before\n"),
		    "%s: nothing out before the flush", json ? "JSON" : "text"))
		tap_diag("got %zu bytes", len);
	if (reset)
		show_list_restart(&out);
	guise_out_string(&out, NULL, "two %s\n", "a");
	guise_out_string(&out, NULL, "two %s\n", "b");
	guise_out_close_array(&out);
	if (!*err)
		*err = guise_out_flush(&out);
	fclose(fp);
	return text;
}

static void test_out_hold(void)
{
	static const struct {
		bool json, reset;
		const char *want;
	} cases[] = {
		{ false, true, "before\ntwo a\ntwo b\n" },
		{ true, true, "before\n[\"a\", \"b\"]\n" },
		{ false, false,
		  "before\none long-entry-1\none long-entry-2\n"
		  "one long-entry-3\ntwo a\ntwo b\n" },
		{ true, false,
		  "before\n[\"long-entry-1\", \"long-entry-2\", "
		  "\"long-entry-3\", \"a\", \"b\"]\n" },
	};
	unsigned int i;
	char *got;
	int err;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = render_held(cases[i].json, cases[i].reset, &err);
		if (!tap_ok(!err && !strcmp(got, cases[i].want),
			    "held %s%s: printed at the flush",
			    cases[i].json ? "JSON" : "text",
			    cases[i].reset ? ", reset" : ""))
			tap_diag("err %d, got:\n%s", err, got);
		free(got);
	}
}

/* An error exit drops held text: nothing of a failed listing is printed. */
static void test_out_hold_exit(void)
{
	struct guise_out out;
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	if (!fp)
		abort();
	guise_out_init(&out, fp, false, false);
	tap_ok(guise_out_hold(&out) == 0, "hold");
	guise_out_string(&out, NULL, "%s\n", "partial");
	guise_out_exit(&out);
	fflush(fp);
	tap_ok(len == 0, "exit discards held text");
	fclose(fp);
	free(text);
}

/* JSON numbers are signed 64-bit in jansson: larger ones are null. */
static void test_out_u64(void)
{
	struct guise_out out;
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	int err;

	if (!fp)
		abort();
	guise_out_init(&out, fp, true, false);
	guise_out_open_object(&out, NULL);
	guise_out_uint(&out, "max", NULL, INT64_MAX);
	guise_out_uint(&out, "over", NULL, (uint64_t)INT64_MAX + 1);
	guise_out_uint(&out, "never", NULL, UINT64_MAX);
	guise_out_close_object(&out);
	err = guise_out_flush(&out);
	fclose(fp);
	if (!tap_ok(!err && !strcmp(text, "{\"max\": 9223372036854775807, "
					  "\"over\": null, \"never\": null}\n"),
		    "JSON: a u64 above INT64_MAX is null, not a rounded float"))
		tap_diag("err %d, got %s", err, text);
	free(text);
}

int main(void)
{
	tap_start();
	test_full();
	test_absent();
	test_unknown_policy();
	test_out_misuse();
	test_out_hold();
	test_out_hold_exit();
	test_out_u64();
	return tap_done();
}
