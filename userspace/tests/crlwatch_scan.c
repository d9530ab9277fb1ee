// SPDX-License-Identifier: GPL-2.0
/*
 * guise-crlwatch's input side: which CRLs it notifies, and how it reads
 * --dir and --url. The notifications go to a plain-HTTP receiver in this
 * program (a thread), which opens each one (crlnote_open()) and keeps
 * its CRL number and serials. The CRLs come from `openssl ca -gencrl`
 * (test CAs made here, one of them a forger using a real CA's name).
 *
 *  - only CRLs signed by an --issuer certificate (of the subject the CRL
 *    names, keyUsage cRLSign if it has one) are notified; a forged CRL
 *    with a huge number neither is notified nor holds back the real
 *    issuer's next CRL; --issuer is required;
 *  - symbolic links are not followed, FIFOs not opened blocking (also
 *    while one is swapped in for a CRL file in a loop);
 *  - a file not changed since the last scan is not opened again; with
 *    --serials the previous CRL still gives the diff;
 *  - --once exits 1, saying why, when the directory or URL cannot be
 *    read, when nothing in it is a CRL, or when a CRL was refused (also
 *    for a location longer than receivers take);
 *  - a file's location is a URL that names it whatever its name (a
 *    space, '#', '?', '%', a byte that is not UTF-8: percent-encoded),
 *    as libcurl fetching it (certd's fetch) shows;
 *  - what is skipped is logged once per version of the file; PEM after
 *    more than 4 KiB of text, and every CRL of a PEM bundle;
 *  - the inotify watch survives the directory's removal and creation;
 *    a CRL number above LONG_MAX is logged as such;
 *  - a read that fails for want of a file descriptor (the daemon at its
 *    limit when the CA writes a CRL) is tried again (backing off, each
 *    try logged), also with an hour's --interval: the CRL is notified
 *    once it can be; a CRL refused for good (its location too long) is
 *    logged once, not tried again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "crlnote.h"
#include "tap.h"

#ifndef DAEMON_BIN
#define DAEMON_BIN "../build/asan/guise-crlwatch"
#endif

static char dir[] = "/tmp/guise-crlwatch-scan.XXXXXX";

/* --- the receiver ----------------------------------------------------- */

#define MAX_NOTES 64

struct note {
	char number[80];
	char serials[512]; /* "A,B," */
	char location[CRLNOTE_MAX_URL + 1];
};

static struct {
	pthread_mutex_t lock;
	int fd, port;
	volatile bool stop;
	struct note notes[MAX_NOTES];
	int n, bad;
} rx = { .lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1 };

static void rx_note(const unsigned char *der, size_t len)
{
	struct crlnote n = { 0 };
	struct note *out;
	X509 *signer = NULL;
	char err[256], *hex;
	int i;

	pthread_mutex_lock(&rx.lock);
	if (crlnote_open(der, len, &n, &signer, err, sizeof(err)) ||
	    rx.n >= MAX_NOTES) {
		rx.bad++;
		goto out;
	}
	out = &rx.notes[rx.n++];
	memset(out, 0, sizeof(*out));
	hex = crlnote_int_hex(n.number);
	snprintf(out->number, sizeof(out->number), "%s", hex ? hex : "?");
	free(hex);
	snprintf(out->location, sizeof(out->location), "%s",
		 n.location ? n.location : "");
	for (i = 0; i < sk_ASN1_INTEGER_num(n.revoked); i++) {
		hex = crlnote_int_hex(sk_ASN1_INTEGER_value(n.revoked, i));
		if (hex && strlen(out->serials) + strlen(hex) + 2 <
				   sizeof(out->serials)) {
			strcat(out->serials, hex);
			strcat(out->serials, ",");
		}
		free(hex);
	}
out:
	pthread_mutex_unlock(&rx.lock);
	X509_free(signer);
	crlnote_free(&n);
}

/* GET /file/NAME: the file NAME of the test directory, or 404. */
static void rx_file(int c, const char *name)
{
	char p[512], head[128], *data = NULL;
	size_t len = 0;
	FILE *fp;
	int n;

	n = snprintf(p, sizeof(p), "%s/", dir);
	sscanf(name, "%400[^ ]", p + n);
	fp = fopen(p, "rb");
	if (fp) {
		data = malloc(1 << 20);
		len = data ? fread(data, 1, 1 << 20, fp) : 0;
		fclose(fp);
	}
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %s\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n",
		     fp ? "200 OK" : "404 Not Found", len);
	if (write(c, head, (size_t)n) == n && len && write(c, data, len) < 0)
		n = 0;
	free(data);
}

/* One request on @c: answered 200; a POST's body is a notification. */
static void rx_conn(int c)
{
	static char buf[1 << 20];
	size_t len = 0, need = 0;
	char *end = NULL, *cl;
	ssize_t r;

	while (len < sizeof(buf) - 1) {
		struct pollfd p = { .fd = c, .events = POLLIN };

		if (poll(&p, 1, 5000) <= 0)
			return;
		r = read(c, buf + len, sizeof(buf) - 1 - len);
		if (r <= 0)
			return;
		len += (size_t)r;
		buf[len] = '\0';
		if (!end) {
			end = strstr(buf, "\r\n\r\n");
			if (!end)
				continue;
			cl = strcasestr(buf, "\r\nContent-Length:");
			need = (size_t)(end + 4 - buf) +
			       (cl && cl < end ? strtoul(cl + 17, NULL, 10) :
						 0);
			if (strcasestr(buf, "\r\nExpect: 100-continue") &&
			    write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
				return;
		}
		if (len >= need)
			break;
	}
	if (!end || len < need)
		return;
	if (!strncmp(buf, "POST ", 5))
		rx_note((unsigned char *)end + 4,
			need - (size_t)(end + 4 - buf));
	if (!strncmp(buf, "GET /file/", 10)) {
		rx_file(c, buf + 10);
		return;
	}
	if (write(c,
		  "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
		  "Connection: close\r\n\r\n",
		  57) < 0)
		return;
}

static void *rx_main(void *arg)
{
	(void)arg;
	while (!rx.stop) {
		struct pollfd p = { .fd = rx.fd, .events = POLLIN };
		int c;

		if (poll(&p, 1, 100) <= 0)
			continue;
		c = accept(rx.fd, NULL, NULL);
		if (c < 0)
			continue;
		rx_conn(c);
		close(c);
	}
	return NULL;
}

static int rx_start(pthread_t *t)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rx.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (rx.fd < 0 || bind(rx.fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(rx.fd, 64) ||
	    getsockname(rx.fd, (struct sockaddr *)&sa, &sl))
		return -1;
	rx.port = ntohs(sa.sin_port);
	return pthread_create(t, NULL, rx_main, NULL);
}

static void rx_reset(void)
{
	pthread_mutex_lock(&rx.lock);
	rx.n = 0;
	rx.bad = 0;
	pthread_mutex_unlock(&rx.lock);
}

static int rx_count(void)
{
	int n;

	pthread_mutex_lock(&rx.lock);
	n = rx.n;
	pthread_mutex_unlock(&rx.lock);
	return n;
}

/* Notification @i (a copy), or an empty one. */
static struct note rx_get(int i)
{
	struct note n;

	memset(&n, 0, sizeof(n));
	pthread_mutex_lock(&rx.lock);
	if (i < rx.n)
		n = rx.notes[i];
	pthread_mutex_unlock(&rx.lock);
	return n;
}

/* Was a notification of CRL number @hex received? */
static bool rx_has(const char *hex)
{
	int i, n = rx_count();

	for (i = 0; i < n; i++)
		if (!strcmp(rx_get(i).number, hex))
			return true;
	return false;
}

/* --- helpers ---------------------------------------------------------- */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Run a shell command in the test directory; its exit status. */
static int sh(const char *fmt, ...)
{
	char cmd[8192];
	int n, status;
	va_list ap;

	n = snprintf(cmd, sizeof(cmd), "cd %s && ", dir);
	va_start(ap, fmt);
	vsnprintf(cmd + n, sizeof(cmd) - n, fmt, ap);
	va_end(ap);
	status = system(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };

	nanosleep(&ts, NULL);
}

/* How many lines of file @name (in the test directory) hold @text. */
static int count_lines(const char *name, const char *text)
{
	char p[512], line[8192];
	int n = 0;
	FILE *fp;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fp = fopen(p, "r");
	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp))
		n += strstr(line, text) != NULL;
	fclose(fp);
	return n;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	FILE *fp = arg;

	return fwrite(p, size, n, fp);
}

/* Does libcurl, as certd fetches a notification's location, get from
 * @url the bytes of the test directory's file @name? */
static bool fetches(const char *url, const char *name)
{
	char *got = NULL, *want = NULL, p[512];
	size_t got_len = 0, want_len = 0;
	FILE *g = open_memstream(&got, &got_len), *w;
	bool same = false;
	CURL *c = curl_easy_init();
	int ch;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	w = fopen(p, "rb");
	if (c && g && w) {
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, g);
		same = curl_easy_perform(c) == CURLE_OK;
	}
	if (g)
		fclose(g);
	if (w) {
		FILE *m = open_memstream(&want, &want_len);

		while (m && (ch = fgetc(w)) != EOF)
			fputc(ch, m);
		if (m)
			fclose(m);
		fclose(w);
	}
	same = same && want && got_len && got_len == want_len &&
	       !memcmp(got, want, got_len);
	free(got);
	free(want);
	curl_easy_cleanup(c);
	return same;
}

static bool wait_notes(int n, double timeout)
{
	double t0 = now_s();

	while (rx_count() < n && now_s() - t0 < timeout)
		sleep_s(0.05);
	return rx_count() >= n;
}

static bool wait_has(const char *hex, double timeout)
{
	double t0 = now_s();

	while (!rx_has(hex) && now_s() - t0 < timeout)
		sleep_s(0.05);
	return rx_has(hex);
}

static bool wait_log(const char *log, const char *text, double timeout)
{
	double t0 = now_s();

	while (!count_lines(log, text) && now_s() - t0 < timeout)
		sleep_s(0.05);
	return count_lines(log, text) > 0;
}

/* Neither sanitizer reported anything into @log. */
static bool clean_log(const char *log)
{
	return !count_lines(log, "Sanitizer") &&
	       !count_lines(log, "runtime error");
}

/* The common options: the notifier, the receiver. */
#define COMMON                                                         \
	" -s %s/n.crt -k %s/n.key --to http://127.0.0.1:%d/v1/notify " \
	"--no-prewarm"
#define COMMON_ARGS dir, dir, rx.port

/* guise-crlwatch --once with @args (in the test directory); its exit
 * status, stderr appended to @log. */
static int once(const char *log, const char *args)
{
	return sh("timeout 60 " DAEMON_BIN " --once" COMMON " %s 2>>%s",
		  COMMON_ARGS, args, log);
}

/* guise-crlwatch as a daemon with @args, -v, stderr to @log; its pid once
 * its first scan is done (0: it did not get there in 20 s). */
static pid_t start(const char *log, const char *args)
{
	char cmd[8192];
	pid_t pid;

	snprintf(cmd, sizeof(cmd),
		 "cd %s && exec " DAEMON_BIN COMMON " -v %s 2>>%s", dir,
		 COMMON_ARGS, args, log);
	pid = fork();
	if (pid < 0)
		return 0;
	if (!pid) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (!wait_log(log, "watching ", 20)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return 0;
	}
	return pid;
}

/* SIGTERM to @pid: true if it exited 0 (no sanitizer report) in 20 s. */
static bool stop(pid_t pid)
{
	double t0 = now_s();
	int status;

	if (pid <= 0)
		return false;
	kill(pid, SIGTERM);
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_s() - t0 > 20) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return false;
		}
		sleep_s(0.05);
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/*
 * The PKI: CAs "ca" (keyUsage cRLSign), "ca2" (no keyUsage), "nosign"
 * (keyUsage without cRLSign), "evil" (ca's name, its own key), the
 * notifier "n". `sh crl.sh CA NUMBER [SERIAL...] >FILE`: a CRL of CA
 * numbered NUMBER (hex; "-": none) revoking the SERIALs (hex).
 */
static const char crl_sh[] =
	"set -e\n"
	"ca=$1 num=$2\n"
	"shift 2\n"
	": >$ca.d/idx\n"
	"for s in \"$@\"; do\n"
	"  printf 'R\\t301231235959Z\\t250101000000Z\\t%s\\tunknown\\t/CN=x\\n' "
	"$s >>$ca.d/idx\n"
	"done\n"
	"if [ \"$num\" = - ]; then cnf=nonum.cnf; else cnf=ca.cnf; "
	"echo $num >$ca.d/num; fi\n"
	"CADIR=$ca.d openssl ca -batch -config $cnf -gencrl -cert $ca.crt "
	"-keyfile $ca.key -out $ca.d/crl 2>/dev/null\n"
	"cat $ca.d/crl\n";

static int make_pki(void)
{
	FILE *fp;
	char p[512];

	snprintf(p, sizeof(p), "%s/crl.sh", dir);
	fp = fopen(p, "w");
	if (!fp || fputs(crl_sh, fp) < 0 || fclose(fp))
		return -1;
	return sh(
		"mkca() { openssl req -x509 -newkey ec -pkeyopt "
		"ec_paramgen_curve:P-256 -nodes -keyout $1.key -out $1.crt "
		"-days 2 -subj \"$2\" $3 2>/dev/null && mkdir $1.d; } && "
		"mkca ca '/CN=crlwatch test CA' "
		"'-addext keyUsage=critical,keyCertSign,cRLSign' && "
		"mkca ca2 '/CN=crlwatch test CA2' && "
		"mkca nosign '/CN=crlwatch nosign CA' "
		"'-addext keyUsage=critical,keyCertSign' && "
		"mkca evil '/CN=crlwatch test CA' && "
		"mkca n '/CN=crlwatch test notifier' && "
		"printf '[ca]\\ndefault_ca=c\\n[c]\\ndatabase=$ENV::CADIR/idx\\n"
		"crlnumber=$ENV::CADIR/num\\ndefault_md=sha256\\n"
		"default_crl_days=1\\n' >ca.cnf && "
		"printf '[ca]\\ndefault_ca=c\\n[c]\\ndatabase=$ENV::CADIR/idx\\n"
		"default_md=sha256\\ndefault_crl_days=1\\n' >nonum.cnf && "
		"cat ca.crt ca2.crt >issuers.pem");
}

/* A CRL into @file: see crl_sh. */
#define CRL(file, args) sh("sh crl.sh " args " >" file)

/* --- the tests ---------------------------------------------------------- */

/*
 * DIR/@file: a CRL of "ca" numbered @number, @mib MiB large (a
 * non-critical extension of its own holds the bulk; openssl ca would
 * need millions of entries). 0 or -1.
 */
static int big_crl(const char *file, long number, unsigned int mib)
{
	ASN1_OCTET_STRING *bulk = ASN1_OCTET_STRING_new();
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.32473.1", 1);
	ASN1_TIME *now = ASN1_TIME_set(NULL, time(NULL));
	X509_CRL *crl = X509_CRL_new();
	size_t len = (size_t)mib << 20;
	unsigned char *zeros = calloc(1, len);
	X509_EXTENSION *ext = NULL;
	EVP_PKEY *key = NULL;
	X509 *ca = NULL;
	char p[512];
	FILE *fp;
	int ret = -1;

	snprintf(p, sizeof(p), "%s/ca.crt", dir);
	fp = fopen(p, "r");
	if (fp) {
		ca = PEM_read_X509(fp, NULL, NULL, NULL);
		fclose(fp);
	}
	snprintf(p, sizeof(p), "%s/ca.key", dir);
	fp = fopen(p, "r");
	if (fp) {
		key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
		fclose(fp);
	}
	if (!ca || !key || !crl || !bulk || !num || !oid || !now || !zeros ||
	    !ASN1_OCTET_STRING_set(bulk, zeros, (int)len) ||
	    !ASN1_INTEGER_set(num, number) || !X509_CRL_set_version(crl, 1) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) ||
	    !X509_CRL_set1_lastUpdate(crl, now) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) ||
	    !(ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, bulk)) ||
	    !X509_CRL_add_ext(crl, ext, -1) ||
	    !X509_CRL_sign(crl, key, EVP_sha256()))
		goto out;
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	fp = fopen(p, "wb");
	if (fp) {
		ret = i2d_X509_CRL_fp(fp, crl) ? 0 : -1;
		if (fclose(fp))
			ret = -1;
	}
out:
	X509_EXTENSION_free(ext);
	X509_CRL_free(crl);
	ASN1_TIME_free(now);
	ASN1_OBJECT_free(oid);
	ASN1_INTEGER_free(num);
	ASN1_OCTET_STRING_free(bulk);
	EVP_PKEY_free(key);
	X509_free(ca);
	free(zeros);
	return ret;
}

/* --carry of a CRL whose notification would pass CRLNOTE_MAX_SIZE (base64
 * makes it a third larger), which no receiver takes: notified with its
 * location only (it was re-sent for ever). */
static void test_carry_too_large(void)
{
	struct note got;
	char args[256];
	long saved;
	bool ok;

	sh("mkdir -p c1 c1s");
	ok = !big_crl("c1/big.crl", 77, 50);
	rx_reset();
	snprintf(args, sizeof(args), "-d c1 -I ca.crt --carry --save c1s");
	ok = ok && once("c.log", args) == 0;
	got = rx_get(0);
	saved = sh("test $(cat c1s/*-full-*.cms | wc -c) -lt 65536") == 0;
	tap_ok(ok && rx_count() == 1 && !strcmp(got.number, "4D") &&
		       strstr(got.location, "/c1/big.crl") && saved &&
		       count_lines("c.log", "too large to carry"),
	       "--carry, a 50 MiB CRL: notified with its location only, "
	       "said (%d received)",
	       rx_count());
	sh("rm -rf c1 c1s");
}

static void test_issuer_required(void)
{
	tap_ok(sh(DAEMON_BIN " -d . -s n.crt -k n.key --once 2>/dev/null") == 2,
	       "no --issuer: usage, exit 2");
	tap_ok(sh(DAEMON_BIN " -d . -I missing.pem -s n.crt -k n.key --once "
			     "2>args.log") == 1 &&
		       count_lines("args.log", "missing.pem"),
	       "--issuer of a missing file: exit 1, named");
	tap_ok(sh(DAEMON_BIN " -d . -I n.key -s n.crt -k n.key --once "
			     "2>args.log") == 1 &&
		       count_lines("args.log", "no PEM certificate"),
	       "--issuer of a file without a certificate: exit 1");
}

/* Defect: a self-made CRL in ca's name was notified (--serials: its
 * serial too) and its number kept ca's real next CRL from being
 * notified. */
static void test_forged(void)
{
	struct note n;
	pid_t pid;

	sh("mkdir -p f1 f2");
	CRL("f1/real.crl", "ca 01 0A");
	CRL("f1/forged.crl", "evil 7FFFFFFFFFFFFFFFFF DEADBEEF");
	rx_reset();
	tap_ok(once("f1.log", "-d f1 -I ca.crt --serials") == 1,
	       "--once, a forged CRL beside the real one: exit 1");
	n = rx_get(0);
	tap_ok(rx_count() == 1 && !strcmp(n.number, "01") &&
		       !strcmp(n.serials, "0A,"),
	       "only the real CRL was notified (%d: %s [%s])", rx_count(),
	       n.number, n.serials);
	tap_ok(count_lines("f1.log", "forged.crl: a CRL of /CN=crlwatch test "
				     "CA refused: its signature does not "
				     "verify") == 1,
	       "the forged one is logged as refused");
	tap_ok(count_lines("f1.log", "1 CRL(s) not signed by an --issuer") == 1,
	       "--once says why it failed");

	/* The daemon: the forged CRL first, then ca's next one. */
	CRL("f2/forged.crl", "evil 7FFFFFFFFFFFFFFFFF DEADBEEF");
	rx_reset();
	pid = start("f2.log", "-d f2 -I ca.crt -i 0.05");
	tap_ok(pid > 0, "daemon started over a forged CRL");
	CRL("f2.tmp", "ca 02 0B");
	sh("mv f2.tmp f2/ca.crl");
	tap_ok(wait_notes(1, 10) && !strcmp(rx_get(0).number, "02"),
	       "the real CRL 02 after the forged 7FFF...: notified");
	sleep_s(0.5);
	tap_ok(count_lines("f2.log", "refused") == 1,
	       "the forged CRL logged once over 10+ scans");
	tap_ok(stop(pid) && clean_log("f2.log"), "daemon exits 0, clean");
}

static void test_issuers(void)
{
	sh("mkdir -p k1 k2 k3");
	CRL("k1/n.crl", "nosign 01");
	rx_reset();
	tap_ok(once("k1.log", "-d k1 -I nosign.crt") == 1 && !rx_count(),
	       "an issuer whose keyUsage lacks cRLSign: its CRL refused");
	tap_ok(count_lines("k1.log", "lacks cRLSign") >= 1 &&
		       count_lines("k1.log", "lacks the keyUsage cRLSign") == 1,
	       "... warned at start and for the CRL");
	CRL("k2/a.crl", "ca 05");
	sh("sh crl.sh ca2 06 >b.pem && "
	   "openssl crl -in b.pem -outform DER -out k2/b.der");
	rx_reset();
	tap_ok(once("k2.log", "-d k2 -I issuers.pem") == 0 && rx_count() == 2 &&
		       rx_has("05") && rx_has("06"),
	       "--issuer with two certificates: a PEM and a DER CRL notified");
	CRL("k3/a.crl", "ca2 07");
	rx_reset();
	tap_ok(once("k3.log", "-d k3 -I ca.crt") == 1 && !rx_count() &&
		       count_lines("k3.log", "not among the --issuer"),
	       "a CRL of an issuer not given: refused");
	rx_reset();
	tap_ok(once("k3.log", "-d k3 -I ca.crt -I ca2.crt") == 0 &&
		       rx_count() == 1,
	       "--issuer repeated");
}

/* SIGHUP reads the --issuer files again, and every CRL file with them. */
static void test_hup(void)
{
	pid_t pid;

	sh("mkdir -p h1 && cp ca2.crt hup.pem && sh crl.sh ca 51 >h1/ca.crl");
	rx_reset();
	pid = start("h1.log", "-d h1 -I hup.pem -i 0.05");
	tap_ok(pid > 0 && count_lines("h1.log", "refused") == 1,
	       "a CRL of an issuer not trusted yet: refused");
	sh("cp ca.crt hup.pem");
	kill(pid, SIGHUP);
	tap_ok(wait_has("51", 10) && rx_count() == 1,
	       "SIGHUP, its issuer now in the --issuer file: notified");
	tap_ok(stop(pid) && clean_log("h1.log"), "daemon exits 0, clean");
}

/* FIFOs and symbolic links. */
static volatile bool swap_stop;

static void *swapper(void *arg)
{
	char fifo[512], reg[512], target[512], real[512];
	int i = 0;

	(void)arg;
	snprintf(fifo, sizeof(fifo), "%s/s1/.f", dir);
	snprintf(reg, sizeof(reg), "%s/s1/.r", dir);
	snprintf(target, sizeof(target), "%s/s1/x.crl", dir);
	snprintf(real, sizeof(real), "%s/real.crl", dir);
	while (!swap_stop) {
		if (i++ & 1) {
			if (!mkfifo(fifo, 0600))
				rename(fifo, target);
		} else if (!link(real, reg)) {
			rename(reg, target);
		}
	}
	return NULL;
}

static void test_special(void)
{
	pthread_t t;
	pid_t pid;
	double t0;
	int rc;

	sh("mkdir -p l1 out && sh crl.sh ca 11 >out/ca.crl && "
	   "ln -s ../out/ca.crl l1/link.crl && ln -s /dev/zero l1/zero.crl");
	rx_reset();
	tap_ok(once("l1.log", "-d l1 -I ca.crt") == 1 && !rx_count(),
	       "a symbolic link to a CRL outside the directory: not followed");
	tap_ok(count_lines("l1.log", "link.crl: a symbolic link") == 1 &&
		       count_lines("l1.log", "zero.crl: a symbolic link") == 1,
	       "... logged");
	sh("mkdir -p p1 && mkfifo p1/fifo.crl && sh crl.sh ca 12 >p1/ca.crl");
	rx_reset();
	t0 = now_s();
	rc = once("p1.log", "-d p1 -I ca.crt");
	tap_ok(rc == 0 && rx_count() == 1 && now_s() - t0 < 30,
	       "a FIFO in the directory: skipped (rc %d)", rc);
	tap_ok(count_lines("p1.log", "fifo.crl: not a regular file") == 1,
	       "... logged");

	/* A FIFO swapped in for a CRL file, again and again, while the
	 * daemon scans every 10 ms. */
	sh("mkdir -p s1 && sh crl.sh ca 13 >real.crl");
	rx_reset();
	pid = start("s1.log", "-d s1 -I ca.crt -i 0.01");
	swap_stop = false;
	if (pthread_create(&t, NULL, swapper, NULL) == 0) {
		sleep_s(3);
		swap_stop = true;
		pthread_join(t, NULL);
	}
	sh("rm -f s1/x.crl s1/.f s1/.r && sh crl.sh ca 14 >s1.tmp && "
	   "mv s1.tmp s1/ca.crl");
	tap_ok(wait_has("14", 10),
	       "after 3 s of FIFO / CRL swaps the daemon still notifies");
	tap_ok(stop(pid) && clean_log("s1.log"), "daemon exits 0, clean");
}

/* Count the opens of *.crl files in @sub for @secs. */
static int count_opens(const char *sub, double secs)
{
	char p[512], buf[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	int fd = inotify_init1(IN_NONBLOCK), n = 0;
	double t0 = now_s();
	ssize_t len, off;

	snprintf(p, sizeof(p), "%s/%s", dir, sub);
	if (fd < 0 || inotify_add_watch(fd, p, IN_OPEN) < 0)
		return -1;
	while (now_s() - t0 < secs) {
		sleep_s(0.05);
		while ((len = read(fd, buf, sizeof(buf))) > 0)
			for (off = 0; off < len;
			     off += (ssize_t)sizeof(*ev) + ev->len) {
				ev = (const struct inotify_event *)(buf + off);
				n += ev->len && strstr(ev->name, ".crl");
			}
	}
	close(fd);
	return n;
}

static void test_unchanged(void)
{
	pid_t pid;
	int opens;

	sh("mkdir -p u1 && sh crl.sh ca 21 0A >u1/ca.crl && "
	   "sh crl.sh ca2 01 >u1/ca2.crl");
	rx_reset();
	pid = start("u1.log", "-d u1 -I issuers.pem -i 0.02 --serials");
	opens = count_opens("u1", 1.5);
	tap_ok(pid > 0 && opens == 0,
	       "unchanged files are not opened again (%d opens in 1.5 s at "
	       "-i 0.02)",
	       opens);
	sh("sh crl.sh ca 22 0A 0B 0C >u1.tmp && mv u1.tmp u1/ca.crl");
	tap_ok(wait_notes(1, 10) && !strcmp(rx_get(0).number, "22") &&
		       !strcmp(rx_get(0).serials, "0B,0C,"),
	       "a changed file is read: --serials lists what is new since "
	       "the last CRL (%s)",
	       rx_get(0).serials);
	sh("touch u1/ca.crl");
	sleep_s(0.5);
	tap_ok(rx_count() == 1, "touched, not changed: no new notification");
	tap_ok(stop(pid) && clean_log("u1.log"), "daemon exits 0, clean");
}

static void test_once_status(void)
{
	char args[4096], name[64] = "o3/\377 #?%x.crl", loc[2200];
	struct note got;
	bool ok;

	rx_reset();
	tap_ok(once("o.log", "-d missing -I ca.crt") == 1 &&
		       count_lines("o.log", "missing could not be read"),
	       "--once, a missing directory: exit 1, said");

	sh("mkdir -p o1 o2 o3 o6 && echo garbage >o2/junk.crl && "
	   "cp ca.crt o2/cert.pem && sh crl.sh ca 31 >\"o3/$(printf "
	   "'\\377 #?%%%%')x.crl\" && sh crl.sh ca 33 >o6/ca.crl");
	tap_ok(once("o.log", "-d o1 -I ca.crt") == 1 &&
		       count_lines("o.log", "no CRL to notify in o1"),
	       "--once, an empty directory: exit 1, said");
	tap_ok(once("o.log", "-d o2 -I ca.crt") == 1 &&
		       count_lines("o.log", "no CRL to notify in o2 (2 file"),
	       "--once, nothing but garbage: exit 1, said");
	tap_ok(once("o.log", "-u http://127.0.0.1:1/x.crl -I ca.crt") == 1 &&
		       count_lines("o.log", "127.0.0.1:1/x.crl could not be "
					    "read"),
	       "--once, an unreachable --url: exit 1, said");
	ok = once("o.log", "-d o3 -I ca.crt") == 0 && rx_count() == 1;
	got = rx_get(0);
	tap_ok(ok && strstr(got.location, "/o3/%ff%20%23%3f%25x.crl") &&
		       fetches(got.location, name),
	       "a name with a byte that is not UTF-8, a space, #, ? and %%: "
	       "notified, its location (%s) fetches that file",
	       got.location);
	snprintf(loc, sizeof(loc),
		 "-d o6 -I ca.crt -b https://crl.example/%0*d", 2040, 0);
	rx_reset();
	tap_ok(once("o.log", loc) == 1 && !rx_count() &&
		       count_lines("o.log", "refused: its location is longer "
					    "than the 2048 bytes receivers "
					    "take"),
	       "--once, a location longer than receivers take: refused, "
	       "exit 1, said");
	snprintf(loc, sizeof(loc), "-u http://127.0.0.1:1/%0*d -I ca.crt", 2040,
		 0);
	tap_ok(once("o.log", loc) != 0 &&
		       count_lines("o.log",
				   "--url: longer than the 2048 bytes"),
	       "an --url longer than receivers take: refused at start");
	snprintf(args, sizeof(args),
		 "-u http://127.0.0.1:%d/file/o4.crl -I ca.crt", rx.port);
	CRL("o4.crl", "ca 32");
	rx_reset();
	tap_ok(once("o.log", args) == 0 && rx_has("32"),
	       "--once over a --url: exit 0");
	/* A body of two CRLs (two issuers here; a full CRL and its delta
	 * alike): both notified (the first only, before). */
	sh("sh crl.sh ca 34 >o5.crl && sh crl.sh ca2 35 >>o5.crl");
	snprintf(args, sizeof(args),
		 "-u http://127.0.0.1:%d/file/o5.crl -I ca.crt -I ca2.crt",
		 rx.port);
	rx_reset();
	tap_ok(once("o.log", args) == 0 && rx_count() == 2 && rx_has("34") &&
		       rx_has("35"),
	       "--url: every CRL of a PEM bundle notified");
	tap_ok(clean_log("o.log"), "no sanitizer report");
}

static void test_logs(void)
{
	double t0;
	pid_t pid;

	sh("mkdir -p g1 && echo garbage >g1/junk.crl && "
	   "sh crl.sh ca - >g1/nonum.crl && truncate -s 65M g1/big.crl && "
	   "mkdir g1/dir.crl");
	rx_reset();
	pid = start("g1.log", "-d g1 -I ca.crt -i 0.02");
	sleep_s(1);
	tap_ok(pid > 0 && count_lines("g1.log", "junk.crl: not a CRL") == 1,
	       "a file that is no CRL: logged once over 50 scans");
	tap_ok(count_lines("g1.log", "without a CRL number") == 1,
	       "a CRL without a number: warned once");
	tap_ok(count_lines("g1.log", "big.crl: too large") == 1,
	       "a file above the size cap: logged once");
	tap_ok(count_lines("g1.log", "dir.crl: not a regular file") == 1,
	       "a directory: logged once");
	sh("echo more garbage >g1/junk.crl");
	t0 = now_s();
	while (count_lines("g1.log", "junk.crl: not a CRL") < 2 &&
	       now_s() - t0 < 10)
		sleep_s(0.05);
	tap_ok(count_lines("g1.log", "junk.crl: not a CRL") == 2,
	       "... and again once it changed");
	tap_ok(stop(pid) && clean_log("g1.log"), "daemon exits 0, clean");

	sh("mkdir -p g2 && awk 'BEGIN { for (i = 0; i < 100; i++) "
	   "print \"# a comment line of some length, well over 4 KiB of "
	   "them in all\" }' >g2/lead.pem && sh crl.sh ca 41 >>g2/lead.pem");
	rx_reset();
	tap_ok(once("g2.log", "-d g2 -I ca.crt") == 0 && rx_has("41"),
	       "PEM after 5 KiB of text: found");
	sh("mkdir -p g3 && sh crl.sh ca 42 >g3/all.pem && "
	   "echo between >>g3/all.pem && sh crl.sh ca2 43 >>g3/all.pem");
	rx_reset();
	tap_ok(once("g3.log", "-d g3 -I issuers.pem") == 0 && rx_count() == 2 &&
		       rx_has("42") && rx_has("43"),
	       "a PEM bundle: each of its CRLs notified");
}

static void test_dirwatch(void)
{
	pid_t pid;

	sh("mkdir -p w1");
	rx_reset();
	/* An hour's poll: only inotify can notice a CRL in time. */
	pid = start("w1.log", "-d w1 -I ca.crt -i 3600");
	sh("rm -rf w1 && mkdir w1");
	sleep_s(1.5);
	sh("sh crl.sh ca 0123456789ABCDEF0123 >w1.tmp && mv w1.tmp w1/ca.crl");
	tap_ok(pid > 0 && wait_has("0123456789ABCDEF0123", 10),
	       "the directory removed and made again: inotify still sees it");
	tap_ok(wait_log("w1.log",
			"CRL number 5373003642731685151011 "
			"notified",
			10),
	       "a CRL number above LONG_MAX is logged whole");
	sh("mv w1 w1.old && mkdir w1");
	sleep_s(1.5);
	sh("sh crl.sh ca 0123456789ABCDEF0124 >w1.tmp && mv w1.tmp w1/ca.crl");
	tap_ok(wait_has("0123456789ABCDEF0124", 10),
	       "the directory moved away and made again: likewise");
	tap_ok(stop(pid) && clean_log("w1.log"), "daemon exits 0, clean");
}

/* The lowest file descriptor number @pid has free, or -1. */
static int lowest_free_fd(pid_t pid)
{
	char p[64], seen[4096] = { 0 };
	struct dirent *de;
	DIR *d;
	long fd;
	int i;

	snprintf(p, sizeof(p), "/proc/%d/fd", (int)pid);
	d = opendir(p);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		fd = strtol(de->d_name, NULL, 10);
		if (de->d_name[0] != '.' && fd >= 0 && fd < (long)sizeof(seen))
			seen[fd] = 1;
	}
	closedir(d);
	for (i = 0; i < (int)sizeof(seen); i++)
		if (!seen[i])
			return i;
	return -1;
}

static void test_transient(void)
{
	struct rlimit old, low;
	char args[2200];
	int lim, lines;
	pid_t pid;

	/* crlwatch at its descriptor limit when the CA writes a CRL: one
	 * descriptor left (the directory's), none for the file. Polled
	 * hourly: only inotify, then the retry, read the file. */
	sh("mkdir -p e1 && sh crl.sh ca 61 >e1/ca.crl");
	rx_reset();
	pid = start("e1.log", "-d e1 -I ca.crt -i 3600");
	lim = pid > 0 ? lowest_free_fd(pid) + 1 : 0;
	tap_ok(lim > 0 && !prlimit(pid, RLIMIT_NOFILE, NULL, &old),
	       "daemon started, its lowest free descriptor %d", lim - 1);
	low = old;
	low.rlim_cur = (rlim_t)lim;
	prlimit(pid, RLIMIT_NOFILE, &low, NULL);
	sh("sh crl.sh ca 62 >e1.tmp && mv e1.tmp e1/ca.crl");
	tap_ok(wait_log("e1.log", "ca.crl: Too many open files", 10),
	       "a CRL written while the daemon has no descriptor: logged");
	sleep_s(1.5);
	tap_ok(!rx_count(), "... and not notified meanwhile");
	prlimit(pid, RLIMIT_NOFILE, &old, NULL);
	tap_ok(wait_has("62", 10),
	       "descriptors free again: read again and notified");
	lines = count_lines("e1.log", "Too many open files");
	tap_ok(lines >= 1 && lines <= 4 &&
		       count_lines("e1.log", "ca.crl: Too many open files: "
					     "read again in 1 s"),
	       "each try logged, backing off (%d lines)", lines);
	tap_ok(stop(pid) && clean_log("e1.log"), "daemon exits 0, clean");

	/* A CRL refused for good (its location is longer than receivers
	 * take): logged once, not read again, whatever the --interval. */
	sh("mkdir -p m1");
	rx_reset();
	snprintf(args, sizeof(args),
		 "-d m1 -I ca.crt -i 0.02 -b https://crl.example/%0*d", 2040,
		 0);
	pid = start("m1.log", args);
	sh("sh crl.sh ca 63 >m1.tmp && mv m1.tmp m1/ca.crl");
	sleep_s(1.5);
	lines = count_lines("m1.log", "its location is longer");
	tap_ok(pid > 0 && lines == 1 && !rx_count(),
	       "a CRL whose location is too long: refused once, not read "
	       "again (%d lines in 1.5 s at -i 0.02)",
	       lines);
	tap_ok(stop(pid) && clean_log("m1.log"), "daemon exits 0, clean");
}

static int rm_entry(const char *p, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

int main(void)
{
	pthread_t t;

	tap_start();
	/* Sanitizer reports of the daemon: not mistaken for its exit 1. */
	setenv("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:exitcode=99",
	       1);
	setenv("UBSAN_OPTIONS", "print_stacktrace=1:exitcode=98", 1);
	if (!mkdtemp(dir) || make_pki()) {
		printf("Bail out! cannot make the test PKI\n");
		return 1;
	}
	if (rx_start(&t)) {
		printf("Bail out! no receiver\n");
		return 1;
	}
	test_issuer_required();
	test_forged();
	test_issuers();
	test_hup();
	test_special();
	test_unchanged();
	test_once_status();
	test_carry_too_large();
	test_logs();
	test_dirwatch();
	test_transient();
	rx.stop = true;
	pthread_join(t, NULL);
	close(rx.fd);
	if (!getenv("GUISE_KEEP_TEST_DIR"))
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	else
		printf("# kept %s\n", dir);
	return tap_done();
}
