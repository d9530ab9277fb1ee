// SPDX-License-Identifier: GPL-2.0
/*
 * The WAL's appends gathered into one write (walbuf.h).
 *
 * SQLite appends a commit's frames to the WAL (header, page, header,
 * page...) and then syncs it; with synchronous=FULL nothing of the commit
 * is announced (WAL index header) or answered before that sync returns.
 * Here the appends are copied into a buffer instead and written with one
 * pwrite() when the run is broken: before the sync, before a read of
 * buffered bytes, before a truncate, lock or file control of the WAL,
 * before a write that does not continue the run, when the buffer is
 * full, and at close. The file then holds the same bytes in the same
 * order as without the buffer at each of those points; only writes that
 * no sync has covered yet are later (and they are lost by a crash either
 * way). The size reported includes the buffered bytes.
 *
 * A failed write that SQLite is told of (the write, sync, truncate or
 * read it was flushed for fails) drops the buffer: SQLite fails the
 * commit and rolls it back, which frees those WAL offsets; the WAL write
 * lock is released, and another writer (the sqlite3 shell, a second
 * process) may commit its own frames there. Written later, the stale
 * bytes would destroy them, or (frames of a commit whose checksums
 * chain) make a rolled back commit come back at the next recovery.
 * Nothing is lost that a sync has covered: a commit is only durable once
 * its sync returned, and that sync wrote the buffer first. Only a failed
 * flush that SQLite is not told of (before a lock or file control of the
 * WAL) keeps the buffer, for the sync of the same transaction to write
 * or report. The close writes nothing: with synchronous=FULL every
 * commit has synced its frames, so what is left is of a transaction
 * that did not commit.
 *
 * A transaction larger than the page cache spills frames before its
 * commit; rolled back, it leaves them buffered, at offsets the next
 * writer reuses. So the end of every write transaction (the release of
 * the WAL write lock, in the shared memory of the database file) writes
 * what is buffered, as SQLite without the buffer would have: once
 * another connection may write, nothing of this one is left to write.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>

#include "walbuf.h"

/* The most the unix VFS writes in one call: its seekAndWriteFd() keeps
 * the low 17 bits of the length (a longer write is cut short and fails
 * as SQLITE_FULL). 31 frames of 4 KiB pages; a longer run (a group commit
 * of more than about eight writes) is written in pieces of this size. */
#define WALBUF_SIZE 0x1ffff

struct wb_file {
	sqlite3_file base;
	sqlite3_file *real; /* the base VFS's file, after this struct */
	bool wal;
	unsigned char *buf; /* WALBUF_SIZE, allocated at the first append */
	size_t len; /* bytes buffered, to be written at off */
	sqlite3_int64 off;
	/* A main database and its WAL, linked while both are open (under
	 * wb_link_mutex); a main database is on wb_mains by the name
	 * SQLite opened it with, whose pointer its WAL's name leads to. */
	const char *name;
	struct wb_file *peer;
	struct wb_file *next_main;
};

struct wb_vfs {
	sqlite3_vfs vfs; /* first: SQLite hands this back to xOpen */
	sqlite3_vfs *base;
	char name[80];
};

#define WB(f) ((struct wb_file *)(f))
#define REAL(f) (WB(f)->real)
#define RM(f) (REAL(f)->pMethods)

/* The WAL write lock is the first of the WAL's shared-memory locks
 * (WAL_WRITE_LOCK in SQLite's wal.c, part of its file format). */
#define WB_WAL_WRITE_LOCK 0

static struct wb_file *wb_mains;
static pthread_mutex_t wb_link_mutex = PTHREAD_MUTEX_INITIALIZER;

/* A main database goes on the list; a WAL is linked to its database. */
static void wb_link(struct wb_file *w, const char *name, int flags)
{
	const char *db;
	struct wb_file *m;

	if (!name || !(flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL)))
		return;
	pthread_mutex_lock(&wb_link_mutex);
	if (flags & SQLITE_OPEN_MAIN_DB) {
		w->name = name;
		w->next_main = wb_mains;
		wb_mains = w;
	} else {
		db = sqlite3_filename_database(name);
		for (m = wb_mains; m && m->name != db; m = m->next_main)
			;
		if (m && !m->peer) {
			m->peer = w;
			w->peer = m;
		}
	}
	pthread_mutex_unlock(&wb_link_mutex);
}

static void wb_unlink(struct wb_file *w)
{
	struct wb_file **pp;

	pthread_mutex_lock(&wb_link_mutex);
	if (w->peer)
		w->peer->peer = NULL;
	w->peer = NULL;
	for (pp = &wb_mains; *pp; pp = &(*pp)->next_main) {
		if (*pp == w) {
			*pp = w->next_main;
			break;
		}
	}
	pthread_mutex_unlock(&wb_link_mutex);
}

/* Write what is buffered. On failure drop it (SQLite is told, and rolls
 * the transaction back), unless @keep: the failure is not reported, the
 * next flush tries again. */
static int wb_flush_keep(sqlite3_file *f, bool keep)
{
	struct wb_file *w = WB(f);
	int rc;

	if (!w->len)
		return SQLITE_OK;
	rc = RM(f)->xWrite(REAL(f), w->buf, (int)w->len, w->off);
	if (rc == SQLITE_OK || !keep)
		w->len = 0;
	return rc;
}

static int wb_flush(sqlite3_file *f)
{
	return wb_flush_keep(f, false);
}

/* What is left is of a transaction that never committed: not written. */
static int wb_close(sqlite3_file *f)
{
	struct wb_file *w = WB(f);

	wb_unlink(w);
	sqlite3_free(w->buf);
	w->buf = NULL;
	w->len = 0;
	return RM(f)->xClose(REAL(f));
}

/* Only a read of buffered bytes needs them written first. SQLite reads
 * committed frames (written, synced) and, in a transaction larger than
 * its cache, its own, which are then still buffered; a failed write
 * left nothing behind, so reads keep working while the disk is full, as
 * without the buffer. */
static int wb_read(sqlite3_file *f, void *p, int n, sqlite3_int64 o)
{
	struct wb_file *w = WB(f);
	int rc;

	if (w->len && o < w->off + (sqlite3_int64)w->len && o + n > w->off) {
		rc = wb_flush(f);
		if (rc != SQLITE_OK)
			return rc;
	}
	return RM(f)->xRead(REAL(f), p, n, o);
}

static int wb_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 o)
{
	struct wb_file *w = WB(f);
	int rc;

	if (!w->wal || n <= 0 || n > WALBUF_SIZE)
		goto direct;
	/* Only a run of appends is gathered: anything else (a frame
	 * rewritten in place, the header of a restarted WAL) first writes
	 * the run, so the writes reach the file in SQLite's order. */
	if (w->len && (o != w->off + (sqlite3_int64)w->len ||
		       w->len + (size_t)n > WALBUF_SIZE)) {
		rc = wb_flush(f);
		if (rc != SQLITE_OK)
			return rc;
	}
	if (!w->buf) {
		w->buf = sqlite3_malloc(WALBUF_SIZE);
		if (!w->buf)
			goto direct;
	}
	if (!w->len)
		w->off = o;
	memcpy(w->buf + w->len, p, (size_t)n);
	w->len += (size_t)n;
	return SQLITE_OK;
direct:
	rc = wb_flush(f);
	return rc != SQLITE_OK ? rc : RM(f)->xWrite(REAL(f), p, n, o);
}

static int wb_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct wb_file *w = WB(f);
	int rc;

	/* What the truncation cuts off need not be written. */
	if (w->len && size < w->off + (sqlite3_int64)w->len)
		w->len = size > w->off ? (size_t)(size - w->off) : 0;
	rc = wb_flush(f);
	return rc != SQLITE_OK ? rc : RM(f)->xTruncate(REAL(f), size);
}

static int wb_sync(sqlite3_file *f, int flags)
{
	int rc = wb_flush(f);

	return rc != SQLITE_OK ? rc : RM(f)->xSync(REAL(f), flags);
}

/* The size with the buffered bytes, as if they were written. */
static int wb_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct wb_file *w = WB(f);
	int rc = RM(f)->xFileSize(REAL(f), size);

	if (rc == SQLITE_OK && w->len && *size < w->off + (sqlite3_int64)w->len)
		*size = w->off + (sqlite3_int64)w->len;
	return rc;
}

/* The WAL is not locked through these (its locks are in the shared
 * memory of the database file), but flush anyway: nothing is ordered
 * after a buffered write. A failed flush keeps the buffer for the sync
 * to report. */
static int wb_lock(sqlite3_file *f, int l)
{
	wb_flush_keep(f, true);
	return RM(f)->xLock(REAL(f), l);
}

static int wb_unlock(sqlite3_file *f, int l)
{
	wb_flush_keep(f, true);
	return RM(f)->xUnlock(REAL(f), l);
}

static int wb_reserved(sqlite3_file *f, int *out)
{
	return RM(f)->xCheckReservedLock(REAL(f), out);
}

static int wb_control(sqlite3_file *f, int op, void *arg)
{
	wb_flush_keep(f, true);
	return RM(f)->xFileControl(REAL(f), op, arg);
}

static int wb_sector(sqlite3_file *f)
{
	return RM(f)->xSectorSize(REAL(f));
}

static int wb_devchar(sqlite3_file *f)
{
	return RM(f)->xDeviceCharacteristics(REAL(f));
}

static int wb_shm_map(sqlite3_file *f, int i, int size, int extend,
		      void volatile **p)
{
	return RM(f)->xShmMap(REAL(f), i, size, extend, p);
}

/* A write transaction ends: its WAL's buffer is written before another
 * connection may append at those offsets. Its peer is only used by this
 * connection, on this thread. A failed write drops the bytes: they are
 * of no commit (a commit has synced them), and SQLite ignores the
 * result of an unlock. */
static int wb_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	struct wb_file *wal = WB(f)->peer;

	if (wal && off == WB_WAL_WRITE_LOCK &&
	    flags == (SQLITE_SHM_UNLOCK | SQLITE_SHM_EXCLUSIVE))
		wb_flush(&wal->base);
	return RM(f)->xShmLock(REAL(f), off, n, flags);
}

static void wb_shm_barrier(sqlite3_file *f)
{
	RM(f)->xShmBarrier(REAL(f));
}

static int wb_shm_unmap(sqlite3_file *f, int del)
{
	return RM(f)->xShmUnmap(REAL(f), del);
}

static int wb_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **p)
{
	int rc = wb_flush(f);

	return rc != SQLITE_OK ? rc : RM(f)->xFetch(REAL(f), o, n, p);
}

static int wb_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p)
{
	return RM(f)->xUnfetch(REAL(f), o, p);
}

#define WB_IO(version)                                                       \
	{                                                                    \
		.iVersion = (version), .xClose = wb_close, .xRead = wb_read, \
		.xWrite = wb_write, .xTruncate = wb_truncate,                \
		.xSync = wb_sync, .xFileSize = wb_size, .xLock = wb_lock,    \
		.xUnlock = wb_unlock, .xCheckReservedLock = wb_reserved,     \
		.xFileControl = wb_control, .xSectorSize = wb_sector,        \
		.xDeviceCharacteristics = wb_devchar, .xShmMap = wb_shm_map, \
		.xShmLock = wb_shm_lock, .xShmBarrier = wb_shm_barrier,      \
		.xShmUnmap = wb_shm_unmap, .xFetch = wb_fetch,               \
		.xUnfetch = wb_unfetch,                                      \
	}

/* Never more than the base file offers: SQLite looks at iVersion to know
 * whether shared memory (WAL) and memory maps are there. */
static const sqlite3_io_methods wb_io[3] = { WB_IO(1), WB_IO(2), WB_IO(3) };

static int wb_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f,
		   int flags, int *out)
{
	struct wb_vfs *v = (struct wb_vfs *)vfs;
	struct wb_file *w = WB(f);
	int rc, version;

	memset(w, 0, sizeof(*w));
	w->real = (sqlite3_file *)(w + 1);
	w->wal = flags & SQLITE_OPEN_WAL;
	rc = v->base->xOpen(v->base, name, w->real, flags, out);
	if (rc != SQLITE_OK) {
		/* A file the base leaves with methods is to be closed. */
		if (w->real->pMethods)
			w->real->pMethods->xClose(w->real);
		f->pMethods = NULL;
		return rc;
	}
	if (!w->real->pMethods) {
		f->pMethods = NULL;
		return SQLITE_CANTOPEN;
	}
	version = w->real->pMethods->iVersion;
	version = version < 1 ? 1 : version > 3 ? 3 : version;
	f->pMethods = &wb_io[version - 1];
	wb_link(w, name, flags);
	return SQLITE_OK;
}

/* One VFS per base VFS it has been made over (the default can change:
 * the unit tests put a VFS of their own under the store). */
#define WB_VFS_MAX 4

static struct wb_vfs wb_vfs[WB_VFS_MAX];
static pthread_mutex_t wb_vfs_mutex = PTHREAD_MUTEX_INITIALIZER;

const char *walbuf_vfs(void)
{
	sqlite3_vfs *base;
	const char *name = NULL;
	struct wb_vfs *v;
	size_t i;

	pthread_mutex_lock(&wb_vfs_mutex);
	base = sqlite3_vfs_find(NULL);
	if (!base)
		goto out;
	for (i = 0; i < WB_VFS_MAX && wb_vfs[i].base; i++) {
		if (wb_vfs[i].base == base) {
			name = wb_vfs[i].name;
			goto out;
		}
	}
	if (i == WB_VFS_MAX)
		goto out;
	v = &wb_vfs[i];
	v->vfs = *base; /* its other methods, pAppData and limits */
	snprintf(v->name, sizeof(v->name), "guise-walbuf-%s", base->zName);
	v->vfs.zName = v->name;
	v->vfs.pNext = NULL;
	v->vfs.szOsFile = (int)sizeof(struct wb_file) + base->szOsFile;
	v->vfs.xOpen = wb_open;
	if (sqlite3_vfs_register(&v->vfs, 0) != SQLITE_OK)
		goto out;
	v->base = base;
	name = v->name;
out:
	pthread_mutex_unlock(&wb_vfs_mutex);
	return name;
}
