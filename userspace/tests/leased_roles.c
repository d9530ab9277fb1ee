// SPDX-License-Identifier: GPL-2.0
/*
 * guise-leased authorisation: every role against every endpoint (roles
 * from certificate OUs, from a roles file by address and by CN, and root
 * on the UNIX socket), SIGHUP reloading the roles without losing leases,
 * and --check-config.
 */
#include "leased_lib.h"

#define NOW_STR_MAX 160

enum {
	E_RENT,
	E_RETURN,
	E_RENEW,
	E_REVEAL,
	E_LIST,
	E_HISTORY,
	E_AUDIT,
	E_VERIFY,
	E_METRICS,
	E_HEALTH,
	E_COUNT
};

static const char *const endpoints[E_COUNT] = {
	"rent",	   "return", "renew",	     "reveal",	"list",
	"history", "audit",  "audit/verify", "metrics", "health",
};

struct caller {
	const char *who; /* certificate, or "unix:" for the socket */
	const char *roles; /* for the test names */
	unsigned int allowed; /* bit per endpoint */
};

#define A(e) (1U << (e))
#define SUBSCRIBER (A(E_RENT) | A(E_RETURN) | A(E_RENEW) | A(E_REVEAL))
#define OPERATOR (A(E_LIST) | A(E_METRICS))
#define AUDITOR (A(E_AUDIT) | A(E_VERIFY))
#define ADMIN \
	(A(E_RETURN) | A(E_LIST) | A(E_AUDIT) | A(E_VERIFY) | A(E_METRICS))

static char sock[600];

/* The roles file: @body, and when the test does not run as root, our uid
 * as admin (root is admin on the socket without it). */
static void roles_ini(const char *body)
{
	char text[1024];

	if (getuid() == 0)
		snprintf(text, sizeof(text), "%s", body);
	else
		snprintf(text, sizeof(text), "%s[uid:%u]\nroles = admin\n",
			 body, (unsigned int)getuid());
	write_file("roles.ini", "", text);
}

/* One call of endpoint @e as @who; the HTTP status. */
static long call(const struct daemon *d, const char *who, int e)
{
	char url[64], body[NOW_STR_MAX];
	struct resp r;
	long code;

	snprintf(url, sizeof(url), "/v1/%s", endpoints[e]);
	switch (e) {
	case E_RENT:
		snprintf(body, sizeof(body), "{\"peer\": \"%s\"}", PEER);
		break;
	case E_HISTORY:
		snprintf(body, sizeof(body),
			 "{\"virtual\": \"2001:db8:ff::1\", \"time\": %lld,"
			 " \"reason\": \"ticket 42\"}",
			 (long long)time(NULL));
		break;
	case E_RETURN:
	case E_RENEW:
	case E_REVEAL:
		snprintf(body, sizeof(body),
			 "{\"virtual\": \"2001:db8:ff::1\"}");
		break;
	default:
		body[0] = '\0';
	}
	request(d, who, url, body[0] ? body : NULL, &r);
	code = r.code;
	if (code == 403 && strncmp(jstr(&r, "error"), "forbidden", 9))
		code = -403; /* refused, but not by the matrix */
	resp_free(&r);
	return code;
}

static void test_matrix(struct daemon *d)
{
	char unix_who[620];
	const struct caller callers[] = {
		{ "host1", "subscriber (roles file, by address)", SUBSCRIBER },
		{ "operator", "operator (certificate OU)", OPERATOR },
		{ "auditor", "auditor (certificate OU)", AUDITOR },
		{ "abuse", "abuse-desk (certificate OU)", A(E_HISTORY) },
		{ "admin", "admin (certificate OU)", ADMIN },
		{ "alice", "operator+auditor (roles file, by CN)",
		  OPERATOR | AUDITOR },
		{ "host2", "no role", 0 },
		{ unix_who, "root (or uid:N) on the UNIX socket: admin",
		  ADMIN },
	};
	unsigned int i;
	int e;

	snprintf(unix_who, sizeof(unix_who), "unix:%s", sock);
	for (i = 0; i < sizeof(callers) / sizeof(callers[0]); i++) {
		for (e = 0; e < E_COUNT; e++) {
			/* Health is open to every role, not to no role. */
			bool allowed = (callers[i].allowed & A(e)) ||
				       (e == E_HEALTH && callers[i].allowed);
			long code = call(d, callers[i].who, e);

			tap_ok(allowed ?
				       code != 403 && code != -403 && code > 0 :
				       code == 403,
			       "matrix: %s %s %s (%ld)", callers[i].roles,
			       allowed ? "may call" : "may not call",
			       endpoints[e], code);
		}
	}
}

/* A refused reveal says the same whether or not V is leased. */
static void test_no_oracle(struct daemon *d)
{
	struct resp r, r2;
	char v[64];

	rent(d, "host1", "2001:db8:3::77", &r);
	snprintf(v, sizeof(v), "%s", jstr(&r, "virtual"));
	resp_free(&r);
	post(d, "host2", "/v1/reveal", json_pack("{s:s}", "virtual", v), &r);
	post(d, "host2", "/v1/reveal",
	     json_pack("{s:s}", "virtual", "2001:db8:ff::dead"), &r2);
	tap_ok(*v && r.code == 403 && r.code == r2.code &&
		       !strcmp(r.body, r2.body),
	       "no role: reveal of a leased and of a free address, one 403");
	resp_free(&r);
	resp_free(&r2);
	post(d, "abuse", "/v1/reveal", json_pack("{s:s}", "virtual", v), &r);
	tap_ok(r.code == 403,
	       "abuse desk cannot use reveal (only history, with a reason)");
	resp_free(&r);
}

static void test_unix_admin(struct daemon *d)
{
	char who[620], v[64], sql[200];
	struct resp r;
	json_t *leases;

	snprintf(who, sizeof(who), "unix:%s", sock);
	request(d, who, "/v1/health", NULL, &r);
	tap_ok(r.code == 200 && !strcmp(jstr(&r, "roles"), "admin"),
	       "UNIX socket: uid 0 is admin (%s)", jstr(&r, "roles"));
	resp_free(&r);
	request(d, who, "/v1/list", NULL, &r);
	leases = json_object_get(r.json, "leases");
	tap_ok(r.code == 200 && json_array_size(leases) >= 1,
	       "UNIX socket: list shows %zu leases", json_array_size(leases));
	snprintf(
		v, sizeof(v), "%s",
		json_string_value(json_object_get(json_array_get(leases, 0), "virtual")) ?:
			"");
	resp_free(&r);
	post(d, who, "/v1/return", json_pack("{s:s}", "virtual", v), &r);
	tap_ok(r.code == 200, "UNIX socket: admin ends host1's lease %s", v);
	resp_free(&r);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM audit_log WHERE action = 'end-lease'"
		 " AND actor = 'uid:%u' AND outcome = 'ok';",
		 (unsigned int)getuid());
	tap_ok(db_int("roles", sql) == 1,
	       "the admin action is in the audit log");
	tap_ok(db_int("roles", "SELECT count(*) FROM audit_log WHERE action = "
			       "'denied';") > 0,
	       "refused calls are in the audit log");
}

static void test_reload(struct daemon *d)
{
	char rolesf[600];
	struct resp r;
	long before;

	before = db_int("roles", "SELECT count(*) FROM leases;");
	rent(d, "host2", "2001:db8:3::99", &r);
	tap_ok(r.code == 403, "host2 has no role yet");
	resp_free(&r);
	path(rolesf, sizeof(rolesf), "roles", ".ini");
	roles_ini("[2001:db8:1::10]\nroles = subscriber\n"
		  "[2001:db8:1::11]\nroles = subscriber\n"
		  "[CN=alice]\nroles = operator, auditor\n");
	kill(d->pid, SIGHUP);
	usleep(500 * 1000);
	tap_ok(rent(d, "host2", "2001:db8:3::99", &r),
	       "after SIGHUP: host2 rents with its new role (%ld)", r.code);
	resp_free(&r);
	tap_ok(db_int("roles", "SELECT count(*) FROM leases;") == before + 1,
	       "SIGHUP kept every lease (%ld + 1)", before);
	/* A broken roles file is refused and the running one kept. */
	roles_ini("[2001:db8:1::11]\nroles = emperor\n");
	kill(d->pid, SIGHUP);
	usleep(500 * 1000);
	request(d, "host2", "/v1/health", NULL, &r);
	tap_ok(r.code == 200 && !strcmp(jstr(&r, "roles"), "subscriber"),
	       "a bad roles file on SIGHUP keeps the running roles");
	resp_free(&r);
}

static void test_check_config(void)
{
	char conf[512], out[1024];
	char *argv[] = { DAEMON_BIN, "--check-config", "--config", conf, NULL };

	path(conf, sizeof(conf), "roles", ".conf");
	roles_ini("[CN=alice]\nroles = auditor\n");
	tap_ok(run_capture(argv, out, sizeof(out), false) == 0 &&
		       strstr(out, "configuration ok"),
	       "--check-config: ok (%s)", strtok(out, "\n") ?: "");
	roles_ini("[CN=alice]\nroles = emperor\n");
	tap_ok(run_capture(argv, out, sizeof(out), false) != 0,
	       "--check-config: a bad roles file fails");
}

int main(void)
{
	struct daemon d = { .name = "roles" };
	char extra[1600], rolesf[600];

	if (!leased_test_setup())
		return leased_test_done();
	path(sock, sizeof(sock), "roles", ".sock");
	path(rolesf, sizeof(rolesf), "roles", ".ini");
	snprintf(extra, sizeof(extra),
		 "[server]\nsocket = %s\n[roles]\nfile = %s\ndefault = none\n",
		 sock, rolesf);
	roles_ini("[2001:db8:1::10]\nroles = subscriber\n"
		  "[CN=alice]\nroles = operator, auditor\n");
	if (tap_ok(write_config("roles", POOL, 8, extra) == 0 &&
			   daemon_start(&d),
		   "daemon with roles file and UNIX socket starts")) {
		test_matrix(&d);
		test_no_oracle(&d);
		test_unix_admin(&d);
		test_reload(&d);
		tap_ok(daemon_stop(&d, SIGTERM) == 0,
		       "SIGTERM: clean exit, no leaks");
		test_check_config();
	}
	return leased_test_done();
}
