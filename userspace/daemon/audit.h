/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The append-only, hash-chained audit log every daemon keeps in its own
 * SQLite database (seed 003: "an event log that can be exported").
 * Daemon-agnostic: a record names an actor, an action, an object and an
 * outcome as strings.
 *
 * Tables (created by audit_init):
 *   audit_log(seq, time, actor, roles, action, object, outcome, detail,
 *             prev, hash)
 *   audit_head(id = 1, seq, hash)   the newest record, kept in the same
 *                                   transaction as every append
 * Triggers refuse UPDATE and DELETE on audit_log, so the daemon itself
 * cannot rewrite history; someone who edits the file by hand can drop
 * them, which is what the chain is for:
 *
 *   canonical(r) = the record as compact JSON with sorted keys
 *                  {"action","actor","detail","object","outcome","roles",
 *                   "seq","time"} (absent strings are null)
 *   hash(r)      = SHA-256(prev ‖ canonical(r)), prev = hash of record
 *                  seq - 1 (32 zero bytes for seq 1), stored as hex
 *
 * audit_verify() walks the log from seq 1: an edited record fails its
 * hash, an inserted or removed one breaks the seq numbering or the prev
 * link, and a removed tail no longer matches audit_head. Whoever can
 * rewrite the whole file can rebuild a consistent chain: compare the head
 * audit_verify() reports with one recorded elsewhere (the daemons log it
 * at start) to catch that too.
 *
 * Every function takes the daemon's open connection; an append joins the
 * caller's transaction if one is open (so it commits or rolls back with
 * the action it records; a failed append leaves nothing of itself in it,
 * under a savepoint), otherwise it runs in its own. Functions return
 * 0 or a negative errno: -EIO (SQLite failed, logged), -EBADMSG (verify:
 * the chain is broken), -EINVAL (bad argument).
 */
#ifndef GUISE_DAEMON_AUDIT_H
#define GUISE_DAEMON_AUDIT_H

#include <stdint.h>
#include <stdio.h>
#include <sqlite3.h>

struct audit_record {
	int64_t seq; /* set by audit_append / read back by export */
	int64_t time; /* seconds since the epoch */
	const char *actor; /* who: an address, "CN=name", "uid:0", "kernel" */
	const char *roles; /* the roles the actor held, "admin,operator" */
	const char *action; /* "reveal", "history", "return", "denied", ... */
	const char *object; /* what it acted on (an address, a key id), or NULL */
	const char *outcome; /* "ok", "allowed", "refused", "not-found", ... */
	const char *detail; /* free text (a reason), or NULL */
};

/* Create the tables and triggers if they do not exist. */
int audit_init(sqlite3 *db);

/* Append @r (its seq is ignored and assigned). */
int audit_append(sqlite3 *db, const struct audit_record *r);

struct audit_verify_result {
	uint64_t records; /* records checked */
	int64_t bad_seq; /* the first broken record (0: none / the head) */
	const char *problem; /* static text, NULL when intact */
	char head[65]; /* the newest hash, hex ("" for an empty log) */
};

/* Check the whole chain. 0 (intact), -EBADMSG (res->problem says what and
 * res->bad_seq where) or -EIO. */
int audit_verify(sqlite3 *db, struct audit_verify_result *res);

enum audit_format { AUDIT_CSV, AUDIT_JSON, AUDIT_XML };

/* "csv", "json", "xml". 0 or -EINVAL. */
int audit_format_parse(const char *name, enum audit_format *fmt);
/* The MIME type of an export. */
const char *audit_format_mime(enum audit_format fmt);

/*
 * Write the records with time >= @since (0: all) to @out, oldest first,
 * with their prev and hash, as
 *   csv:  a header line then RFC 4180 rows
 *   json: {"records": [{...}, ...]}
 *   xml:  <audit><record seq=".."><time>..</time>...</record></audit>
 * 0, -EIO (SQLite) or -ENOSPC (@out failed).
 */
int audit_export(sqlite3 *db, enum audit_format fmt, int64_t since, FILE *out);

#endif
