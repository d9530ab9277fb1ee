// SPDX-License-Identifier: GPL-2.0
/*
 * The guise commands, run in this process as main() would run them, with
 * their standard output and error captured. The kernel is played here:
 * the guise_nl_* calls of the commands are linked to the __wrap_ ones
 * below (CLI_FAKE_NL in the Makefile). The daemons are a small HTTP
 * server of this test, on a UNIX socket or as HTTPS on 127.0.0.1 with a
 * certificate made here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cli.h"
#include "keyfile.h"
#include "lease.h"
#include "msg.h"
#include "tap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static char dir[64]; /* the test directory */
static char sock[100], url[64], crt[128], key[128], pass[128];

/* DIR/@name into @buf. */
static char *path_in(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
	return buf;
}

static void write_file(const char *p, const char *text)
{
	FILE *fp = fopen(p, "w");

	if (!fp || fputs(text, fp) < 0 || fclose(fp))
		abort();
}

/* ---- The kernel ---- */

struct guise_nl {
	char extack[32];
};

static struct {
	unsigned int opens;
	int subscribe_err;
	int talk_err[4]; /* the kernel's answers to requests, in order */
	uint8_t cmds[4];
	unsigned int talks;
	const int *recv; /* per receive: 0 an event, or the error */
	unsigned int nrecv, received;
} knl;

int __wrap_guise_nl_open(struct guise_nl **nlp);
void __wrap_guise_nl_close(struct guise_nl *nl);
uint16_t __wrap_guise_nl_family(const struct guise_nl *nl);
const char *__wrap_guise_nl_extack(const struct guise_nl *nl);
int __wrap_guise_nl_talk(struct guise_nl *nl, struct nlmsghdr *req,
			 guise_nl_reply_cb cb, void *data);
int __wrap_guise_nl_subscribe(struct guise_nl *nl);
int __wrap_guise_nl_recv_events(struct guise_nl *nl, guise_nl_reply_cb cb,
				void *data);

int __wrap_guise_nl_open(struct guise_nl **nlp)
{
	knl.opens++;
	*nlp = calloc(1, sizeof(**nlp));
	if (!*nlp)
		abort();
	snprintf((*nlp)->extack, sizeof((*nlp)->extack), "fake extack");
	return 0;
}

void __wrap_guise_nl_close(struct guise_nl *nl)
{
	free(nl);
}

uint16_t __wrap_guise_nl_family(const struct guise_nl *nl)
{
	(void)nl;
	return TEST_FAMILY;
}

const char *__wrap_guise_nl_extack(const struct guise_nl *nl)
{
	return nl->extack;
}

int __wrap_guise_nl_talk(struct guise_nl *nl, struct nlmsghdr *req,
			 guise_nl_reply_cb cb, void *data)
{
	const struct genlmsghdr *genl = mnl_nlmsg_get_payload(req);

	(void)nl;
	(void)cb;
	(void)data;
	if (knl.talks == ARRAY_SIZE(knl.cmds))
		abort();
	knl.cmds[knl.talks] = genl->cmd;
	return knl.talk_err[knl.talks++];
}

int __wrap_guise_nl_subscribe(struct guise_nl *nl)
{
	(void)nl;
	return knl.subscribe_err;
}

/* The next scripted datagram: a lease_expired event or an error. */
int __wrap_guise_nl_recv_events(struct guise_nl *nl, guise_nl_reply_cb cb,
				void *data)
{
	struct guise_lease l = { 0 };
	struct nlmsghdr *nlh;
	struct test_buf buf;

	(void)nl;
	if (knl.received == knl.nrecv)
		return -EIO; /* the script is over */
	if (knl.recv[knl.received++])
		return knl.recv[knl.received - 1];
	nlh = msg_reply(&buf, GUISE_CMD_LEASE_EXPIRED);
	inet_pton(AF_INET6, "2001:db8:1::10", &l.real);
	inet_pton(AF_INET6, "2001:db8:3::20", &l.peer);
	inet_pton(AF_INET6, "2001:db8:ff::1", &l.virt);
	guise_lease_mark(&l, GUISE_A_LEASE_REAL);
	guise_lease_mark(&l, GUISE_A_LEASE_PEER);
	guise_lease_mark(&l, GUISE_A_LEASE_VIRT);
	if (guise_lease_put(nlh, sizeof(buf.b), &l))
		abort();
	return cb(nlh, data);
}

/* ---- The daemons: one canned answer per request ---- */

struct request {
	char method[8], path[128], body[1024];
};

static struct {
	pthread_mutex_t lock;
	int code[4];
	const char *answer[4];
	unsigned int nanswers;
	struct request req[4];
	unsigned int nreq;
} srv = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct listener {
	int fd;
	SSL_CTX *tls; /* NULL: plain HTTP */
};

/* Forget the requests; the next ones get these answers (code, body). */
static void answers(unsigned int n, ...)
{
	va_list ap;
	unsigned int i;

	pthread_mutex_lock(&srv.lock);
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		srv.code[i] = va_arg(ap, int);
		srv.answer[i] = va_arg(ap, const char *);
	}
	va_end(ap);
	srv.nanswers = n;
	srv.nreq = 0;
	pthread_mutex_unlock(&srv.lock);
}

static unsigned int requests(void)
{
	unsigned int n;

	pthread_mutex_lock(&srv.lock);
	n = srv.nreq;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

static ssize_t conn_read(SSL *ssl, int fd, char *buf, size_t size)
{
	return ssl ? SSL_read(ssl, buf, (int)size) : read(fd, buf, size);
}

static void conn_write(SSL *ssl, int fd, const char *buf, size_t len)
{
	if (ssl)
		SSL_write(ssl, buf, (int)len);
	else if (write(fd, buf, len) != (ssize_t)len)
		perror("server write");
}

/* Read one request from @fd, record it, send the next answer. */
static void serve_one(const struct listener *ls, int fd)
{
	char buf[8192], out[4096];
	const char *body, *cl, *answer;
	struct request *rq;
	size_t n = 0, need;
	SSL *ssl = NULL;
	ssize_t got;
	int code;

	if (ls->tls) {
		ssl = SSL_new(ls->tls);
		if (!ssl || !SSL_set_fd(ssl, fd) || SSL_accept(ssl) != 1)
			goto out;
	}
	for (;;) {
		buf[n] = '\0';
		body = strstr(buf, "\r\n\r\n");
		if (body) {
			cl = strcasestr(buf, "\r\nContent-Length:");
			need = (size_t)(body + 4 - buf) +
			       (cl && cl < body ? strtoul(cl + 17, NULL, 10) :
						  0);
			if (n >= need)
				break;
		}
		if (n == sizeof(buf) - 1)
			goto out;
		got = conn_read(ssl, fd, buf + n, sizeof(buf) - 1 - n);
		if (got <= 0)
			goto out;
		n += (size_t)got;
	}
	pthread_mutex_lock(&srv.lock);
	if (srv.nreq < ARRAY_SIZE(srv.req)) {
		rq = &srv.req[srv.nreq];
		if (sscanf(buf, "%7s %127s", rq->method, rq->path) != 2)
			rq->method[0] = rq->path[0] = '\0';
		snprintf(rq->body, sizeof(rq->body), "%s", body + 4);
	}
	code = 500;
	answer = "{\"error\": \"no answer scripted\"}";
	if (srv.nreq < srv.nanswers) {
		code = srv.code[srv.nreq];
		answer = srv.answer[srv.nreq];
	}
	n = (size_t)snprintf(out, sizeof(out),
			     "HTTP/1.1 %d X\r\nContent-Type: application/json"
			     "\r\nContent-Length: %zu\r\nConnection: close"
			     "\r\n\r\n%s",
			     code, strlen(answer), answer);
	srv.nreq++;
	pthread_mutex_unlock(&srv.lock);
	conn_write(ssl, fd, out, n);
	if (ssl)
		SSL_shutdown(ssl);
out:
	SSL_free(ssl);
	close(fd);
}

static void *serve(void *arg)
{
	const struct listener *ls = arg;
	int fd;

	while ((fd = accept(ls->fd, NULL, NULL)) >= 0)
		serve_one(ls, fd);
	return NULL;
}

/* A self-signed certificate with IP:127.0.0.1 (the server's name) and
 * IP:2001:db8::1 (the real address of a host mode client). */
static bool make_cert(void)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_EXTENSION *ext;
	X509_NAME *name;
	X509V3_CTX v3;
	bool ok = false;
	FILE *fp;

	if (!pk || !x)
		goto out;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pk);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)"guise test", -1, -1,
				   0);
	X509_set_issuer_name(x, name);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
				  "IP:127.0.0.1,IP:2001:db8::1");
	if (!ext || !X509_add_ext(x, ext, -1))
		goto out;
	X509_EXTENSION_free(ext);
	if (!X509_sign(x, pk, EVP_sha256()))
		goto out;
	fp = fopen(crt, "w");
	ok = fp && PEM_write_X509(fp, x);
	if (fp)
		fclose(fp);
	fp = fopen(key, "w");
	ok = ok && fp &&
	     PEM_write_PrivateKey(fp, pk, NULL, NULL, 0, NULL, NULL);
	if (fp)
		fclose(fp);
out:
	X509_free(x);
	EVP_PKEY_free(pk);
	return ok;
}

static bool start_listener(struct listener *ls)
{
	pthread_t th;

	if (listen(ls->fd, 8))
		return false;
	if (pthread_create(&th, NULL, serve, ls))
		return false;
	pthread_detach(th);
	return true;
}

/* The HTTPS server at url and the HTTP one at sock. */
static bool start_servers(void)
{
	static struct listener tls, plain;
	struct sockaddr_in in = { .sin_family = AF_INET };
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	socklen_t len = sizeof(in);

	if (!make_cert())
		return false;
	tls.tls = SSL_CTX_new(TLS_server_method());
	if (!tls.tls ||
	    SSL_CTX_use_certificate_file(tls.tls, crt, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(tls.tls, key, SSL_FILETYPE_PEM) != 1)
		return false;
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	tls.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (tls.fd < 0 || bind(tls.fd, (struct sockaddr *)&in, sizeof(in)) ||
	    getsockname(tls.fd, (struct sockaddr *)&in, &len))
		return false;
	snprintf(url, sizeof(url), "https://127.0.0.1:%u", ntohs(in.sin_port));
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", sock);
	plain.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (plain.fd < 0 || bind(plain.fd, (struct sockaddr *)&un, sizeof(un)))
		return false;
	return start_listener(&tls) && start_listener(&plain);
}

/* ---- Running a command ---- */

static struct {
	char out[16384], err[16384];
} got;

static void slurp(const char *name, char *buf, size_t size)
{
	char p[128];
	ssize_t n;
	int fd;

	fd = open(path_in(p, sizeof(p), name), O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
}

/*
 * `guise [-j] ARGS...` (NULL-terminated) as main() runs it: its exit
 * status, its output in got. With @full, standard output is /dev/full.
 * Output goes to files in DIR: after a crash, DIR/err holds the report.
 */
static int run_args(bool json, bool full, const char *const *args)
{
	struct cli_ctx ctx = { .json = json };
	const struct cli_object *obj = NULL;
	char *argv[32], p[128];
	int argc = 0, ret, out, err, saved_out, saved_err;
	unsigned int i;

	for (argc = 0; args[argc]; argc++) {
		argv[argc] = strdup(args[argc]);
		if (!argv[argc])
			abort();
	}
	argv[argc] = NULL;
	obj = cli_object_find(argv[0]);
	if (!obj)
		abort();
	out = open(full ? "/dev/full" : path_in(p, sizeof(p), "out"),
		   O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	err = open(path_in(p, sizeof(p), "err"),
		   O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(1);
	saved_err = dup(2);
	if (out < 0 || err < 0 || saved_out < 0 || saved_err < 0 ||
	    dup2(out, 1) < 0 || dup2(err, 2) < 0)
		abort();
	if (obj->cmds[0].name && !strcmp(obj->cmds[0].name, obj->name) &&
	    !obj->cmds[1].name)
		ret = obj->cmds[0].run(&ctx, argc, argv);
	else
		ret = cli_object_run(obj, &ctx, argc, argv);
	fflush(stdout);
	fflush(stderr);
	__fpurge(stdout); /* what /dev/full did not take */
	clearerr(stdout);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	close(out);
	close(err);
	if (full)
		got.out[0] = '\0';
	else
		slurp("out", got.out, sizeof(got.out));
	slurp("err", got.err, sizeof(got.err));
	for (i = 0; i < (unsigned int)argc; i++)
		free(argv[i]);
	return ret;
}

#define run(json, ...) \
	run_args(json, false, (const char *const[]){ __VA_ARGS__, NULL })
#define run_full(...) \
	run_args(false, true, (const char *const[]){ __VA_ARGS__, NULL })

static bool ok_diag(bool cond, int ret, const char *what)
{
	if (!tap_ok(cond, "%s", what))
		tap_diag("exit %d, stdout:\n%s\nstderr:\n%s", ret, got.out,
			 got.err);
	return cond;
}

/* The JSON value of key @k in the body of request @i, as a string. */
static const char *req_string(unsigned int i, const char *k, char *buf,
			      size_t size)
{
	json_t *doc = json_loads(srv.req[i].body, 0, NULL);
	const char *v = json_string_value(json_object_get(doc, k));

	snprintf(buf, size, "%s", v ? v : "(none)");
	json_decref(doc);
	return buf;
}

/* ---- guise monitor ---- */

static void test_monitor(void)
{
	static const int overrun[] = { 0, -ENOBUFS, 0, 0 };
	static const char *const bad[] = {
		"-1", " 5", "+5", "0", "", "5x", "99999999999999999999"
	};
	unsigned int i;
	int ret;

	memset(&knl, 0, sizeof(knl));
	knl.subscribe_err = -EPERM;
	ret = run(false, "monitor");
	ok_diag(ret == CLI_EXIT_PERM &&
			strstr(got.err, "Operation not permitted: fake extack"),
		ret,
		"monitor: a refused subscription is reported, then closed");

	memset(&knl, 0, sizeof(knl));
	knl.recv = overrun;
	knl.nrecv = ARRAY_SIZE(overrun);
	ret = run(false, "monitor", "lease", "count", "3");
	ok_diag(ret == CLI_EXIT_OK && strstr(got.err, "events lost") &&
			knl.received == 4,
		ret, "monitor: an overrun is a warning, the monitor goes on");

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		char what[64];

		memset(&knl, 0, sizeof(knl));
		ret = run(false, "monitor", "all", "count", bad[i]);
		snprintf(what, sizeof(what), "monitor: count \"%s\" refused",
			 bad[i]);
		ok_diag(ret == CLI_EXIT_USAGE && !knl.opens, ret, what);
	}
}

/* ---- guise lease acquire|release ---- */

static void test_lease_remote(void)
{
	char rent[128], v[64];
	int ret;

	snprintf(rent, sizeof(rent),
		 "{\"virtual\": \"2001:db8:ff::7\", \"expires\": %lld}",
		 (long long)time(NULL) + 600);

	memset(&knl, 0, sizeof(knl));
	knl.talk_err[0] = -EINVAL;
	answers(1, 200, "{}");
	ret = run(false, "lease", "release", "--server", url, "--virtual",
		  "2001:db8:ff::5", "--cert", crt, "--key", key, "--ca", crt);
	ok_diag(ret == CLI_EXIT_KERNEL && !requests(), ret,
		"release: the kernel refuses: V is not returned");

	memset(&knl, 0, sizeof(knl));
	knl.talk_err[0] = -ENOENT;
	answers(1, 200, "{}");
	ret = run(false, "lease", "release", "--server", url, "--virtual",
		  "2001:db8:ff::5", "--cert", crt, "--key", key, "--ca", crt);
	ok_diag(ret == CLI_EXIT_OK && requests() == 1 &&
			!strcmp(srv.req[0].path, "/v1/return") &&
			!strcmp(req_string(0, "virtual", v, sizeof(v)),
				"2001:db8:ff::5") &&
			!strcmp(got.out, "released 2001:db8:ff::5\n") &&
			strstr(got.err, "no such lease here"),
		ret, "release: no local lease: V is returned");

	memset(&knl, 0, sizeof(knl));
	answers(1, 200, "{}");
	ret = run(true, "lease", "release", "--server", url, "--virtual",
		  "2001:db8:ff::5", "--cert", crt, "--key", key, "--ca", crt);
	ok_diag(ret == CLI_EXIT_OK && knl.cmds[0] == GUISE_CMD_LEASE_DEL &&
			!strcmp(got.out, "{\"virtual\":\"2001:db8:ff::5\"}\n"),
		ret, "release -j: a JSON object");

	memset(&knl, 0, sizeof(knl));
	knl.talk_err[0] = -EINVAL;
	answers(2, 201, rent, 500, "{\"error\": \"boom\"}");
	ret = run(false, "lease", "acquire", "--server", url, "--peer",
		  "2001:db8:3::20", "--cert", crt, "--key", key, "--ca", crt);
	ok_diag(ret == CLI_EXIT_KERNEL && requests() == 2 &&
			!strcmp(srv.req[1].path, "/v1/return") &&
			strstr(got.err, "2001:db8:ff::7 is still rented") &&
			strstr(got.err, "boom"),
		ret, "acquire: a failed return of V is reported");

	memset(&knl, 0, sizeof(knl));
	answers(1, 201, rent);
	ret = run(true, "lease", "acquire", "--server", url, "--peer",
		  "2001:db8:3::20", "--cert", crt, "--key", key, "--ca", crt);
	ok_diag(ret == CLI_EXIT_OK && knl.cmds[0] == GUISE_CMD_LEASE_NEW &&
			strstr(got.out, "\"real\":\"2001:db8::1\"") &&
			!strcmp(req_string(0, "peer", v, sizeof(v)),
				"2001:db8:3::20"),
		ret, "acquire -j: rented and installed");
}

/* ---- guise enroll ---- */

static void test_enroll(void)
{
	static const char *const bad[] = { "1e6",	  "-5",	    " 20000",
					   "+20000",	  "9999",   "",
					   "10000000000", "0x10000" };
	static const char km_hex[] = "000102030405060708090a0b0c0d0e0f"
				     "101112131415161718191a1b1c1d1e1f";
	json_malloc_t m0, m1;
	json_free_t f0, f1;
	uint8_t file[GUISE_KEYFILE_LEN + 1], km[32];
	char out[128], answer[256], what[64];
	const char *client;
	json_t *doc;
	unsigned int i;
	ssize_t n;
	int ret, fd;

	snprintf(answer, sizeof(answer),
		 "{\"client\": \"h\\\"1\", \"km\": \"%s\"}", km_hex);
	path_in(out, sizeof(out), "a\"b.km");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		answers(1, 200, answer);
		ret = run(false, "enroll", "--server", url, "--cert", crt,
			  "--key", key, "--ca", crt, "--pass-file", pass,
			  "--out", out, "--iterations", bad[i]);
		snprintf(what, sizeof(what),
			 "enroll: --iterations \"%s\" refused", bad[i]);
		ok_diag(ret == CLI_EXIT_USAGE && !requests(), ret, what);
	}

	json_get_alloc_funcs(&m0, &f0);
	answers(1, 200, answer);
	ret = run(true, "enroll", "--server", url, "--cert", crt, "--key", key,
		  "--ca", crt, "--pass-file", pass, "--out", out,
		  "--iterations", "10000");
	json_get_alloc_funcs(&m1, &f1);
	doc = json_loads(got.out, 0, NULL);
	client = json_string_value(json_object_get(doc, "client"));
	ok_diag(ret == CLI_EXIT_OK && client && !strcmp(client, "h\"1") &&
			json_string_value(json_object_get(doc, "key_file")) &&
			!strcmp(json_string_value(
					json_object_get(doc, "key_file")),
				out),
		ret, "enroll -j: a JSON document, whatever the names hold");
	json_decref(doc);
	tap_ok(m0 == m1 && f0 == f1, "enroll: jansson's allocator is back");

	fd = open(out, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, file, sizeof(file));
	if (fd >= 0)
		close(fd);
	tap_ok(n == GUISE_KEYFILE_LEN &&
		       !guise_keyfile_open(file, (size_t)n, "pass phrase", 11,
					   km) &&
		       km[0] == 0 && km[31] == 0x1f,
	       "enroll: Km sealed with the passphrase");
}

/* ---- guise-keyd's verbs ---- */

static void test_keyd(void)
{
	int ret;

	answers(1, 200, "{}");
	ret = run(false, "client", "add", "h\xff", "2001:db8::1", "--socket",
		  sock);
	ok_diag(ret == CLI_EXIT_USAGE && !requests() &&
			strstr(got.err, "not valid UTF-8"),
		ret, "client add: an argument not in UTF-8 is refused");
	answers(1, 200, "{}");
	ret = run(false, "entitle", "h\xc3", "1", "--socket", sock);
	ok_diag(ret == CLI_EXIT_USAGE && !requests(), ret,
		"entitle: an argument not in UTF-8 is refused");
	answers(1, 200, "{}");
	ret = run(false, "client", "del", "h1", "--socket", sock);
	ok_diag(ret == CLI_EXIT_OK && requests() == 1 &&
			!strcmp(srv.req[0].method, "POST") &&
			!strcmp(srv.req[0].path, "/v1/clients/del"),
		ret, "client del: a POST");

	answers(1, 200, "[]");
	ret = run(false, "client", "show", "--cert", crt, "--socket", sock);
	ok_diag(ret == CLI_EXIT_USAGE && !requests() &&
			strstr(got.err, "--cert needs --server"),
		ret, "--cert without --server is refused");
	answers(1, 200, "[]");
	ret = run(false, "audit", "export", "--ca", crt);
	ok_diag(ret == CLI_EXIT_USAGE && !requests() &&
			strstr(got.err, "--ca needs --server"),
		ret, "--ca without --server is refused");

	answers(1, 200, "[{\"id\": \"c1\", \"channels\": [1, 2]}]");
	ret = run(false, "client", "show", "--socket", sock);
	ok_diag(ret == CLI_EXIT_OK && !strcmp(srv.req[0].method, "GET") &&
			!strcmp(got.out, "c1 ? channels 1,2\n"),
		ret, "client show: a missing address is \"?\"");
	answers(1, 200,
		"[{\"id\": 3, \"port\": 5000, \"epoch\": 1, \"kc_period\": 0, "
		"\"bandwidth_kbps\": 0}]");
	ret = run(false, "channel", "show", "--socket", sock);
	ok_diag(ret == CLI_EXIT_OK && strstr(got.out, "3 [?]:5000 epoch 1"),
		ret, "channel show: a missing group is \"?\"");
	answers(1, 200, "[{\"id\": 4, \"channel\": 3}]");
	ret = run(false, "content", "show", "--socket", sock);
	ok_diag(ret == CLI_EXIT_OK && strstr(got.out, "4 channel 3 ? key-id"),
		ret, "content show: a missing alg is \"?\"");
	answers(1, 200, "{\"keys\": [{\"port\": 5000}]}");
	ret = run(false, "status", "--socket", sock);
	ok_diag(ret == CLI_EXIT_OK && strstr(got.out, "key [?]:5000 id 0"), ret,
		"status: a missing group is \"?\"");

	answers(1, 200, "[{\"id\": \"c1\", \"address\": \"::1\"}]");
	ret = run_full("client", "show", "--socket", sock);
	ok_diag(ret == CLI_EXIT_KERNEL && strstr(got.err, "cannot write"), ret,
		"client show > /dev/full fails");
	answers(1, 200, "[{\"id\": 3, \"group\": \"ff3e::1\"}]");
	ret = run_full("channel", "show", "--socket", sock);
	ok_diag(ret == CLI_EXIT_KERNEL, ret, "channel show > /dev/full fails");
	answers(1, 200, "[{\"id\": 4, \"alg\": \"aes128-gcm\"}]");
	ret = run_full("content", "show", "--socket", sock);
	ok_diag(ret == CLI_EXIT_KERNEL, ret, "content show > /dev/full fails");
	answers(1, 200, "{\"demm_serial\": 5}");
	ret = run_full("status", "--socket", sock);
	ok_diag(ret == CLI_EXIT_KERNEL, ret, "status > /dev/full fails");
}

/* ---- guise audit ---- */

static void test_audit(void)
{
	static const char *const bad[] = { "", " 5", "+5", "-5", "5s" };
	unsigned int i;
	char what[64];
	int ret;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		answers(1, 200, "x");
		ret = run(false, "audit", "export", "--since", bad[i],
			  "--socket", sock);
		snprintf(what, sizeof(what),
			 "audit export: --since \"%s\" refused", bad[i]);
		ok_diag(ret == CLI_EXIT_USAGE && !requests(), ret, what);
	}
	answers(1, 200, "seq,time\n");
	ret = run(false, "audit", "export", "--since", "5", "--socket", sock);
	ok_diag(ret == CLI_EXIT_OK &&
			!strcmp(srv.req[0].path,
				"/v1/audit?format=csv&since=5") &&
			!strcmp(got.out, "seq,time\n"),
		ret, "audit export --since 5");
}

/* ---- --help ---- */

static void test_help(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	if (!fp)
		abort();
	cli_cmd_usage(&cli_object_enroll, &cli_object_enroll.cmds[0], fp);
	fclose(fp);
	if (!tap_ok(!strncmp(text, "Usage: guise enroll --server", 28) &&
			    strstr(text, "10000 to 10000000"),
		    "a verb's help: named once, with its details"))
		tap_diag("got:\n%s", text);
	free(text);
}

static int rm_entry(const char *p, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{ "monitor", test_monitor }, { "lease", test_lease_remote },
		{ "enroll", test_enroll },   { "keyd", test_keyd },
		{ "audit", test_audit },     { "help", test_help },
	};
	unsigned int i;

	tap_start();
	snprintf(dir, sizeof(dir), "/tmp/guise-cli.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	path_in(sock, sizeof(sock), "keyd.sock");
	path_in(crt, sizeof(crt), "c.crt");
	path_in(key, sizeof(key), "c.key");
	write_file(path_in(pass, sizeof(pass), "pass"), "pass phrase\n");
	tap_diag("the commands' output: %s/out, %s/err", dir, dir);
	if (!tap_ok(start_servers(), "test servers started"))
		return tap_done();
	/* A test's name as the argument runs that one only. */
	for (i = 0; i < ARRAY_SIZE(tests); i++)
		if (argc < 2 || !strcmp(argv[1], tests[i].name))
			tests[i].fn();
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
