// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "audit.h"
#include "log.h"

#define AUDIT_HASH_LEN 32
#define AUDIT_HEX_LEN (2 * AUDIT_HASH_LEN)

static const char audit_schema[] =
	"CREATE TABLE IF NOT EXISTS audit_log ("
	" seq INTEGER PRIMARY KEY,"
	" time INTEGER NOT NULL,"
	" actor TEXT NOT NULL,"
	" roles TEXT,"
	" action TEXT NOT NULL,"
	" object TEXT,"
	" outcome TEXT NOT NULL,"
	" detail TEXT,"
	" prev TEXT NOT NULL,"
	" hash TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS audit_head ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" seq INTEGER NOT NULL,"
	" hash TEXT NOT NULL);"
	"CREATE TRIGGER IF NOT EXISTS audit_log_no_update"
	" BEFORE UPDATE ON audit_log BEGIN"
	" SELECT RAISE(ABORT, 'audit_log is append-only'); END;"
	"CREATE TRIGGER IF NOT EXISTS audit_log_no_delete"
	" BEFORE DELETE ON audit_log BEGIN"
	" SELECT RAISE(ABORT, 'audit_log is append-only'); END;";

#define AUDIT_COLUMNS "seq, time, actor, roles, action, object, outcome, detail"

static int audit_fail(sqlite3 *db, const char *what)
{
	guise_err("audit: %s: %s", what, sqlite3_errmsg(db));
	return -EIO;
}

static int audit_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		guise_err("audit: %s", msg ? msg : "exec failed");
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

int audit_init(sqlite3 *db)
{
	return audit_exec(db, audit_schema);
}

static json_t *jstr_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* canonical(r): see audit.h. NULL if out of memory or not UTF-8. */
static char *audit_canonical(const struct audit_record *r)
{
	json_t *o = json_object();
	char *text = NULL;

	if (!o)
		return NULL;
	if (!json_object_set_new(o, "seq", json_integer(r->seq)) &&
	    !json_object_set_new(o, "time", json_integer(r->time)) &&
	    !json_object_set_new(o, "actor", jstr_or_null(r->actor)) &&
	    !json_object_set_new(o, "roles", jstr_or_null(r->roles)) &&
	    !json_object_set_new(o, "action", jstr_or_null(r->action)) &&
	    !json_object_set_new(o, "object", jstr_or_null(r->object)) &&
	    !json_object_set_new(o, "outcome", jstr_or_null(r->outcome)) &&
	    !json_object_set_new(o, "detail", jstr_or_null(r->detail)))
		text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS |
					     JSON_ENSURE_ASCII);
	json_decref(o);
	return text;
}

static void hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

/* prev (hex, "" for none) and the record → hash (hex). 0 or -EINVAL. */
static int audit_hash(const char *prev_hex, const struct audit_record *r,
		      char hash_hex[AUDIT_HEX_LEN + 1])
{
	unsigned char prev[AUDIT_HASH_LEN] = { 0 }, md[AUDIT_HASH_LEN];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	char *canon;
	long n;
	int ok, i;

	if (*prev_hex) {
		if (strlen(prev_hex) != AUDIT_HEX_LEN)
			return -EINVAL;
		for (i = 0; i < AUDIT_HASH_LEN; i++) {
			char byte[3] = { prev_hex[2 * i], prev_hex[2 * i + 1],
					 '\0' };
			char *end;

			n = strtol(byte, &end, 16);
			if (*end || !((byte[0] >= '0' && byte[0] <= '9') ||
				      (byte[0] >= 'a' && byte[0] <= 'f')))
				return -EINVAL;
			prev[i] = (unsigned char)n;
		}
	}
	canon = audit_canonical(r);
	if (!canon)
		return -EINVAL;
	ctx = EVP_MD_CTX_new();
	ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, prev, sizeof(prev)) == 1 &&
	     EVP_DigestUpdate(ctx, canon, strlen(canon)) == 1 &&
	     EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 &&
	     mdlen == AUDIT_HASH_LEN;
	EVP_MD_CTX_free(ctx);
	free(canon);
	if (!ok)
		return -EINVAL;
	hex_encode(md, AUDIT_HASH_LEN, hash_hex);
	return 0;
}

static int bind_text(sqlite3_stmt *st, int idx, const char *s)
{
	return (s ? sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT) :
		    sqlite3_bind_null(st, idx)) == SQLITE_OK ?
		       0 :
		       -EIO;
}

/* The newest (seq, hash) from audit_head: (0, "") for an empty log. */
static int audit_head_get(sqlite3 *db, int64_t *seq,
			  char hash[AUDIT_HEX_LEN + 1])
{
	const unsigned char *h;
	sqlite3_stmt *st;
	int rc, err = 0;

	*seq = 0;
	hash[0] = '\0';
	if (sqlite3_prepare_v2(db,
			       "SELECT seq, hash FROM audit_head"
			       " WHERE id = 1;",
			       -1, &st, NULL) != SQLITE_OK)
		return audit_fail(db, "head");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		h = sqlite3_column_text(st, 1);
		if (h && strlen((const char *)h) == AUDIT_HEX_LEN)
			memcpy(hash, h, AUDIT_HEX_LEN + 1);
		else
			err = -EBADMSG;
	} else if (rc != SQLITE_DONE) {
		err = audit_fail(db, "head");
	}
	sqlite3_finalize(st);
	return err;
}

static int audit_insert(sqlite3 *db, const struct audit_record *in)
{
	char prev[AUDIT_HEX_LEN + 1], hash[AUDIT_HEX_LEN + 1];
	struct audit_record r = *in;
	sqlite3_stmt *st;
	int err;

	err = audit_head_get(db, &r.seq, prev);
	if (err)
		return err;
	r.seq++;
	if (!r.actor || !r.action || !r.outcome || audit_hash(prev, &r, hash)) {
		guise_err("audit: record not representable (%s)",
			  r.action ? r.action : "no action");
		return -EINVAL;
	}
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO audit_log (" AUDIT_COLUMNS
			       ", prev, hash) VALUES"
			       " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10);",
			       -1, &st, NULL) != SQLITE_OK)
		return audit_fail(db, "prepare");
	err = sqlite3_bind_int64(st, 1, r.seq) != SQLITE_OK ||
	      sqlite3_bind_int64(st, 2, r.time) != SQLITE_OK ||
	      bind_text(st, 3, r.actor) || bind_text(st, 4, r.roles) ||
	      bind_text(st, 5, r.action) || bind_text(st, 6, r.object) ||
	      bind_text(st, 7, r.outcome) || bind_text(st, 8, r.detail) ||
	      bind_text(st, 9, prev) || bind_text(st, 10, hash) ||
	      sqlite3_step(st) != SQLITE_DONE;
	sqlite3_finalize(st);
	if (err)
		return audit_fail(db, "insert");
	if (sqlite3_prepare_v2(
		    db,
		    "INSERT OR REPLACE INTO audit_head (id, seq, hash)"
		    " VALUES (1, ?1, ?2);",
		    -1, &st, NULL) != SQLITE_OK)
		return audit_fail(db, "prepare");
	err = sqlite3_bind_int64(st, 1, r.seq) != SQLITE_OK ||
	      bind_text(st, 2, hash) || sqlite3_step(st) != SQLITE_DONE;
	sqlite3_finalize(st);
	return err ? audit_fail(db, "head") : 0;
}

/*
 * Inside the caller's transaction: under a savepoint, so that a record
 * failing half way (its row written, the head not, SQLite keeping the
 * transaction) leaves nothing behind. Else the caller's COMMIT would
 * store row N with the head still at N - 1, and every later append
 * would collide on seq N for good.
 */
static int audit_insert_nested(sqlite3 *db, const struct audit_record *r)
{
	int err = audit_exec(db, "SAVEPOINT audit_append;");

	if (err)
		return err;
	err = audit_insert(db, r);
	/* SQLite may have rolled the whole transaction back: no savepoint
	 * left to undo or release then. */
	if (err && !sqlite3_get_autocommit(db))
		audit_exec(db, "ROLLBACK TO audit_append;");
	if (!sqlite3_get_autocommit(db) &&
	    audit_exec(db, "RELEASE audit_append;"))
		err = err ? err : -EIO;
	return err;
}

int audit_append(sqlite3 *db, const struct audit_record *r)
{
	int err;

	if (!sqlite3_get_autocommit(db))
		return audit_insert_nested(db, r);
	err = audit_exec(db, "BEGIN IMMEDIATE;");
	if (err)
		return err;
	err = audit_insert(db, r);
	if (!err)
		err = audit_exec(db, "COMMIT;");
	if (err && !sqlite3_get_autocommit(db))
		audit_exec(db, "ROLLBACK;");
	return err;
}

static const char *col_text(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

static void column_record(sqlite3_stmt *st, struct audit_record *r)
{
	r->seq = sqlite3_column_int64(st, 0);
	r->time = sqlite3_column_int64(st, 1);
	r->actor = col_text(st, 2);
	r->roles = col_text(st, 3);
	r->action = col_text(st, 4);
	r->object = col_text(st, 5);
	r->outcome = col_text(st, 6);
	r->detail = col_text(st, 7);
}

static int verify_broken(struct audit_verify_result *res, int64_t seq,
			 const char *problem)
{
	res->bad_seq = seq;
	res->problem = problem;
	return -EBADMSG;
}

int audit_verify(sqlite3 *db, struct audit_verify_result *res)
{
	char running[AUDIT_HEX_LEN + 1] = "", hash[AUDIT_HEX_LEN + 1];
	char head[AUDIT_HEX_LEN + 1];
	struct audit_record r;
	const char *prev, *stored;
	int64_t expect = 1, head_seq;
	sqlite3_stmt *st;
	int rc, err = 0;

	memset(res, 0, sizeof(*res));
	if (sqlite3_prepare_v2(db,
			       "SELECT " AUDIT_COLUMNS
			       ", prev, hash FROM audit_log ORDER BY seq;",
			       -1, &st, NULL) != SQLITE_OK)
		return audit_fail(db, "verify");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		column_record(st, &r);
		prev = col_text(st, 8);
		stored = col_text(st, 9);
		if (r.seq != expect) {
			err = verify_broken(res, expect,
					    r.seq > expect ?
						    "record missing (seq gap)" :
						    "record out of sequence");
			break;
		}
		if (!prev || strcmp(prev, running)) {
			err = verify_broken(res, r.seq,
					    "prev does not link to the record "
					    "before (inserted or removed)");
			break;
		}
		if (!stored || audit_hash(running, &r, hash) ||
		    strcmp(hash, stored)) {
			err = verify_broken(res, r.seq,
					    "hash mismatch (record edited)");
			break;
		}
		memcpy(running, hash, sizeof(running));
		res->records++;
		expect++;
	}
	if (!err && rc != SQLITE_DONE)
		err = audit_fail(db, "verify");
	sqlite3_finalize(st);
	if (err)
		return err;
	err = audit_head_get(db, &head_seq, head);
	if (err == -EBADMSG)
		return verify_broken(res, 0, "audit_head is malformed");
	if (err)
		return err;
	if (head_seq != expect - 1 || strcmp(head, running))
		return verify_broken(res, head_seq,
				     "the newest records were removed (chain "
				     "ends before audit_head)");
	memcpy(res->head, running, sizeof(res->head));
	return 0;
}

int audit_format_parse(const char *name, enum audit_format *fmt)
{
	if (!strcmp(name, "csv"))
		*fmt = AUDIT_CSV;
	else if (!strcmp(name, "json"))
		*fmt = AUDIT_JSON;
	else if (!strcmp(name, "xml"))
		*fmt = AUDIT_XML;
	else
		return -EINVAL;
	return 0;
}

const char *audit_format_mime(enum audit_format fmt)
{
	switch (fmt) {
	case AUDIT_CSV:
		return "text/csv";
	case AUDIT_XML:
		return "application/xml";
	default:
		return "application/json";
	}
}

/* RFC 4180: quote every field that needs it, double the quotes. */
static void csv_field(FILE *out, const char *s, bool last)
{
	if (s && strpbrk(s, ",\"\r\n")) {
		fputc('"', out);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', out);
			fputc(*s, out);
		}
		fputc('"', out);
	} else if (s) {
		fputs(s, out);
	}
	fputs(last ? "\r\n" : ",", out);
}

/* XML 1.0 text: escape the markup characters; control characters XML
 * cannot carry at all become U+FFFD. */
static void xml_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '<')
			fputs("&lt;", out);
		else if (c == '>')
			fputs("&gt;", out);
		else if (c == '&')
			fputs("&amp;", out);
		else if (c == '"')
			fputs("&quot;", out);
		else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
			fputs("\xef\xbf\xbd", out);
		else
			fputc(c, out);
	}
}

static void xml_element(FILE *out, const char *name, const char *value)
{
	if (!value)
		return;
	fprintf(out, "<%s>", name);
	xml_text(out, value);
	fprintf(out, "</%s>", name);
}

static const char *const audit_fields[] = { "seq",     "time",	 "actor",
					    "roles",   "action", "object",
					    "outcome", "detail", "prev",
					    "hash" };
#define NFIELDS (sizeof(audit_fields) / sizeof(audit_fields[0]))

static int export_row(sqlite3_stmt *st, enum audit_format fmt, FILE *out,
		      json_t *array)
{
	char num[2][24];
	const char *v[NFIELDS];
	json_t *o;
	size_t i;

	snprintf(num[0], sizeof(num[0]), "%" PRId64,
		 (int64_t)sqlite3_column_int64(st, 0));
	snprintf(num[1], sizeof(num[1]), "%" PRId64,
		 (int64_t)sqlite3_column_int64(st, 1));
	v[0] = num[0];
	v[1] = num[1];
	for (i = 2; i < NFIELDS; i++)
		v[i] = col_text(st, (int)i);
	switch (fmt) {
	case AUDIT_CSV:
		for (i = 0; i < NFIELDS; i++)
			csv_field(out, v[i], i == NFIELDS - 1);
		return 0;
	case AUDIT_XML:
		fprintf(out, "<record seq=\"%s\">", v[0]);
		for (i = 1; i < NFIELDS; i++)
			xml_element(out, audit_fields[i], v[i]);
		fputs("</record>\n", out);
		return 0;
	default:
		o = json_pack("{s:I, s:I}", "seq",
			      (json_int_t)sqlite3_column_int64(st, 0), "time",
			      (json_int_t)sqlite3_column_int64(st, 1));
		if (!o)
			return -ENOMEM;
		for (i = 2; i < NFIELDS; i++)
			json_object_set_new(o, audit_fields[i],
					    jstr_or_null(v[i]));
		return json_array_append_new(array, o) ? -ENOMEM : 0;
	}
}

int audit_export(sqlite3 *db, enum audit_format fmt, int64_t since, FILE *out)
{
	json_t *array = NULL;
	sqlite3_stmt *st;
	size_t i;
	int rc, err = 0;

	if (sqlite3_prepare_v2(db,
			       "SELECT " AUDIT_COLUMNS ", prev, hash"
			       " FROM audit_log WHERE time >= ?1 ORDER BY seq;",
			       -1, &st, NULL) != SQLITE_OK)
		return audit_fail(db, "export");
	sqlite3_bind_int64(st, 1, since);
	if (fmt == AUDIT_JSON) {
		array = json_array();
		if (!array)
			err = -ENOMEM;
	} else if (fmt == AUDIT_CSV) {
		for (i = 0; i < NFIELDS; i++)
			csv_field(out, audit_fields[i], i == NFIELDS - 1);
	} else {
		fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<audit>\n",
		      out);
	}
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW)
		err = export_row(st, fmt, out, array);
	if (!err && rc != SQLITE_DONE)
		err = audit_fail(db, "export");
	sqlite3_finalize(st);
	if (!err && fmt == AUDIT_JSON) {
		json_t *doc = json_pack("{s:O}", "records", array);

		if (!doc || json_dumpf(doc, out, JSON_INDENT(1)) ||
		    fputc('\n', out) == EOF)
			err = -ENOSPC;
		json_decref(doc);
	}
	if (!err && fmt == AUDIT_XML)
		fputs("</audit>\n", out);
	json_decref(array);
	if (!err && (fflush(out) || ferror(out)))
		err = -ENOSPC;
	return err;
}
