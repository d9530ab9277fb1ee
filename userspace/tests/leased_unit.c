// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of guise-leased's lease code on a real store, for what a
 * test of the running daemon cannot reach:
 *   - a read failing with an I/O error while a group commit is open (a
 *     shim VFS fails reads of the database file): SQLite rolls the whole
 *     transaction back, and the writes queued in it must be answered as
 *     failed, not as durable, whether the next event is the commit or
 *     another write (batch.c);
 *   - an audit record failing half way inside a caller's transaction
 *     (its row written, the head not): nothing of it may stay, or every
 *     later append collides (daemon/audit.c);
 *   - the sweep after downtime ends a lease at its expiry, not at the
 *     sweep (leases.c);
 *   - the store's WAL appends gathered into one write (walbuf.c): a
 *     commit larger than one write, commits across checkpoints, a commit
 *     whose write fails (the shim VFS fails writes of the WAL; nothing of
 *     it is written later, over another writer's commit), a transaction
 *     that spilled frames and rolled back (the same), and a process
 *     killed right after its commits;
 *   - the reconcile with the kernel (a fake kernel below, in place of
 *     kernel.c) and the reads that answer (reveal, history) see only
 *     what is durable: they commit the open batch first; a rent the
 *     kernel refuses after its commit asks for a reconcile, and a renew
 *     it refuses is taken back in the store.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <event2/event.h>
#include <sqlite3.h>

#include "audit.h"
#include "confval.h"
#include "kernel.h"
#include "kresync.h"
#include "leased.h"
#include "ratelimit.h"
#include "tap.h"

/* --- A VFS over the default one: reads of the database file fail with
 * an I/O error while fail_reads is set, and the next fail_wal_writes
 * writes of a WAL fail as a full disk would. --- */

static bool fail_reads;
static unsigned int fail_wal_writes;
static unsigned int wal_writes; /* writes of a WAL that reached the file */
static sqlite3_vfs *real_vfs, shim_vfs;
static sqlite3_io_methods shim_io;

struct shim_file {
	sqlite3_file base;
	sqlite3_file *real; /* follows the struct (szOsFile) */
	bool main_db, wal;
};

#define REAL(f) (((struct shim_file *)(f))->real)
#define RM(f) (REAL(f)->pMethods)

static int s_close(sqlite3_file *f)
{
	return RM(f)->xClose(REAL(f));
}

static int s_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{
	if (fail_reads && ((struct shim_file *)f)->main_db)
		return SQLITE_IOERR_READ;
	return RM(f)->xRead(REAL(f), b, n, o);
}

static int s_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
	if (fail_wal_writes && ((struct shim_file *)f)->wal) {
		fail_wal_writes--;
		return SQLITE_FULL;
	}
	if (((struct shim_file *)f)->wal)
		wal_writes++;
	return RM(f)->xWrite(REAL(f), b, n, o);
}

static int s_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return RM(f)->xTruncate(REAL(f), size);
}

static int s_sync(sqlite3_file *f, int flags)
{
	return RM(f)->xSync(REAL(f), flags);
}

static int s_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return RM(f)->xFileSize(REAL(f), size);
}

static int s_lock(sqlite3_file *f, int l)
{
	return RM(f)->xLock(REAL(f), l);
}

static int s_unlock(sqlite3_file *f, int l)
{
	return RM(f)->xUnlock(REAL(f), l);
}

static int s_reserved(sqlite3_file *f, int *out)
{
	return RM(f)->xCheckReservedLock(REAL(f), out);
}

static int s_control(sqlite3_file *f, int op, void *arg)
{
	return RM(f)->xFileControl(REAL(f), op, arg);
}

static int s_sector(sqlite3_file *f)
{
	return RM(f)->xSectorSize(REAL(f));
}

static int s_devchar(sqlite3_file *f)
{
	return RM(f)->xDeviceCharacteristics(REAL(f));
}

static int s_shm_map(sqlite3_file *f, int i, int size, int extend,
		     void volatile **p)
{
	return RM(f)->xShmMap(REAL(f), i, size, extend, p);
}

static int s_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	return RM(f)->xShmLock(REAL(f), off, n, flags);
}

static void s_shm_barrier(sqlite3_file *f)
{
	RM(f)->xShmBarrier(REAL(f));
}

static int s_shm_unmap(sqlite3_file *f, int del)
{
	return RM(f)->xShmUnmap(REAL(f), del);
}

/* No memory map: every page goes through s_read(). */
static int s_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **p)
{
	(void)f;
	(void)o;
	(void)n;
	*p = NULL;
	return SQLITE_OK;
}

static int s_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p)
{
	(void)f;
	(void)o;
	(void)p;
	return SQLITE_OK;
}

static int shim_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f,
		     int flags, int *out)
{
	struct shim_file *sf = (struct shim_file *)f;
	int rc;

	(void)vfs;
	sf->real = (sqlite3_file *)(sf + 1);
	sf->main_db = flags & SQLITE_OPEN_MAIN_DB;
	sf->wal = flags & SQLITE_OPEN_WAL;
	rc = real_vfs->xOpen(real_vfs, name, sf->real, flags, out);
	f->pMethods = rc == SQLITE_OK ? &shim_io : NULL;
	return rc;
}

/* The shim becomes the default VFS: store_open() uses it. */
static bool shim_install(void)
{
	real_vfs = sqlite3_vfs_find(NULL);
	if (!real_vfs)
		return false;
	shim_vfs = *real_vfs;
	shim_vfs.zName = "guise-test-shim";
	shim_vfs.szOsFile = (int)sizeof(struct shim_file) + real_vfs->szOsFile;
	shim_vfs.xOpen = shim_open;
	shim_io = (sqlite3_io_methods){
		.iVersion = 3,
		.xClose = s_close,
		.xRead = s_read,
		.xWrite = s_write,
		.xTruncate = s_truncate,
		.xSync = s_sync,
		.xFileSize = s_size,
		.xLock = s_lock,
		.xUnlock = s_unlock,
		.xCheckReservedLock = s_reserved,
		.xFileControl = s_control,
		.xSectorSize = s_sector,
		.xDeviceCharacteristics = s_devchar,
		.xShmMap = s_shm_map,
		.xShmLock = s_shm_lock,
		.xShmBarrier = s_shm_barrier,
		.xShmUnmap = s_shm_unmap,
		.xFetch = s_fetch,
		.xUnfetch = s_unfetch,
	};
	return sqlite3_vfs_register(&shim_vfs, 1) == SQLITE_OK;
}

/* --- A fake kernel: these replace kernel.c (the archive's kernel.o is
 * not linked) and the reconcile request of daemon/kresync.c. --- */

#define FAKE_MAX 64
static struct guise_lease fake_leases[FAKE_MAX];
static size_t fake_n;
static int fake_install_err; /* the next install fails with it */
static unsigned int fake_resyncs; /* kresync_request() calls */
static char fake_kernel_obj, fake_kresync_obj;

static struct guise_lease *fake_find(const struct in6_addr *virt)
{
	size_t i;

	for (i = 0; i < fake_n; i++)
		if (!memcmp(&fake_leases[i].virt, virt, sizeof(*virt)))
			return &fake_leases[i];
	return NULL;
}

int kernel_install(struct kernel *k, const struct lease_rec *l,
		   uint32_t lifetime)
{
	struct guise_lease *g;
	int err = fake_install_err;

	(void)k;
	fake_install_err = 0;
	if (err)
		return err;
	g = fake_find(&l->virt);
	if (!g) {
		if (fake_n == FAKE_MAX)
			return -ENOSPC;
		g = &fake_leases[fake_n++];
	}
	memset(g, 0, sizeof(*g));
	g->real = l->real;
	g->peer = l->peer;
	g->virt = l->virt;
	g->lifetime = lifetime;
	return 0;
}

int kernel_remove(struct kernel *k, const struct in6_addr *virt)
{
	struct guise_lease *g = fake_find(virt);

	(void)k;
	if (!g)
		return -ENOENT;
	*g = fake_leases[--fake_n];
	return 0;
}

int kernel_dump(struct kernel *k, struct guise_lease **out, size_t *n)
{
	(void)k;
	*out = malloc(sizeof(**out) * (fake_n ? fake_n : 1));
	if (!*out)
		return -ENOMEM;
	memcpy(*out, fake_leases, sizeof(**out) * fake_n);
	*n = fake_n;
	return 0;
}

void kresync_request(struct kresync *r)
{
	(void)r;
	fake_resyncs++;
}

/* --- The daemon's state around a store, without a loop. --- */

static char dir[] = "/tmp/guise-leased-unit.XXXXXX";
static struct leased_conf conf;

static void db_path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s.db", dir, name);
}

/* A fresh store DIR/@name.db in @d; @leases leases in it, committed. */
static bool open_fresh(struct leased *d, const char *name, unsigned int leases)
{
	char db[256], a[64];
	unsigned int i;
	bool ok;

	db_path(db, sizeof(db), name);
	memset(d, 0, sizeof(*d));
	conf.max_per_client = 1000000;
	conf.default_lifetime = 3600;
	conf.max_lifetime = 86400;
	conf.batch_max = 64;
	conf.retention = 86400;
	if (guise_prefix_parse("2001:db8:ff::/48", &conf.prefix[0], NULL))
		return false;
	conf.npools = 1;
	d->conf = &conf;
	pools_init(&d->pools, conf.prefix, 1);
	if (store_open(db, &d->store) || store_begin(d->store))
		return false;
	ok = true;
	for (i = 0; ok && i < leases; i++) {
		struct lease_rec l = { .created = 1,
				       .expires = 4000000000LL,
				       .flags = LEASED_HOST_FLAGS };

		snprintf(a, sizeof(a), "2001:db8:ff::1:%x", i);
		ok = inet_pton(AF_INET6, a, &l.virt) == 1;
		snprintf(a, sizeof(a), "2001:db8:3::1:%x", i);
		ok = ok && inet_pton(AF_INET6, a, &l.peer) == 1 &&
		     inet_pton(AF_INET6, "2001:db8:1::10", &l.real) == 1 &&
		     !store_lease_insert(d->store, &l, NULL, NULL);
	}
	return !store_commit(d->store) && ok;
}

/* The verdict of each op. */
struct unit_op {
	struct lease_op op;
	bool done;
};

static void unit_done(struct leased *d, struct lease_op *op)
{
	(void)d;
	((struct unit_op *)op)->done = true;
}

static void rent_submit(struct leased *d, struct unit_op *u, const char *real,
			const char *peer)
{
	memset(u, 0, sizeof(*u));
	u->op.kind = LEASE_OP_RENT;
	inet_pton(AF_INET6, real, &u->op.real);
	inet_pton(AF_INET6, peer, &u->op.addr);
	u->op.lifetime = 3600;
	u->op.flags = LEASED_HOST_FLAGS;
	u->op.done = unit_done;
	leases_submit(d, &u->op);
}

static uint64_t held_by(struct leased *d, const char *real)
{
	struct in6_addr a;
	uint64_t n = UINT64_MAX;

	inet_pton(AF_INET6, real, &a);
	if (store_lease_count(d->store, &a, &n))
		return UINT64_MAX;
	return n;
}

/* A read on the connection (as /v1/list or the sweep run while a batch
 * is open) failing with an I/O error: SQLite ends the transaction. */
static bool failing_read(struct leased *d)
{
	struct lease_rec *v = NULL;
	size_t n;
	int err;

	/* Pages the batch did not change are read from the file again. */
	sqlite3_db_release_memory(store_db(d->store));
	fail_reads = true;
	err = store_lease_list(d->store, INT64_MAX, SIZE_MAX, &v, &n);
	fail_reads = false;
	free(v);
	return err && !store_in_tx(d->store);
}

/* Rent A; a read fails; then @next_write: rent B before the commit, else
 * the commit comes next. A must be answered as failed either way. */
static void test_batch_rolled_back(bool next_write)
{
	static const char real_a[] = "2001:db8:1::99",
			  real_b[] = "2001:db8:1::98";
	const char *how = next_write ? "a write next" : "the commit next";
	struct event_base *base = NULL;
	struct unit_op a, b;
	struct leased d;
	char db[256];

	db_path(db, sizeof(db), next_write ? "write" : "commit");
	if (!tap_ok(open_fresh(&d, next_write ? "write" : "commit", 2000),
		    "%s: a store of 2000 leases", how))
		goto out;
	/* Closed and opened again: a cold cache, the read reaches the file. */
	store_close(d.store);
	d.store = NULL;
	base = event_base_new();
	if (!tap_ok(base && !event_base_priority_init(base, BATCH_PRIORITIES) &&
			    !store_open(db, &d.store) && !batch_init(&d, base),
		    "%s: reopened, group commit on", how))
		goto out;
	rent_submit(&d, &a, real_a, "2001:db8:3::77");
	tap_ok(!a.done && d.batch.n == 1 && store_in_tx(d.store),
	       "%s: rent A waits in the open batch", how);
	tap_ok(failing_read(&d),
	       "%s: a read fails with EIO; SQLite rolled the batch back", how);
	if (next_write) {
		rent_submit(&d, &b, real_b, "2001:db8:3::78");
		tap_ok(a.done && a.op.err == -EIO,
		       "%s: A answered failed before B's transaction (err %d)",
		       how, a.op.err);
	}
	batch_flush(&d);
	tap_ok(a.done && a.op.err == -EIO, "%s: A answered failed (err %d)",
	       how, a.op.err);
	tap_ok(held_by(&d, real_a) == 0, "%s: A is not in the store", how);
	tap_ok(d.m.group_commit_failures == 1 &&
		       d.m.rents == (next_write ? 1 : 0),
	       "%s: one failed group commit counted; rents %llu", how,
	       (unsigned long long)d.m.rents);
	if (next_write)
		tap_ok(b.done && !b.op.err && held_by(&d, real_b) == 1,
		       "%s: B, in a transaction of its own, is durable", how);
out:
	batch_free(&d);
	store_close(d.store);
	if (base)
		event_base_free(base);
}

/* A store of @leases leases, reopened with group commit on @base (the
 * batch stays open until flushed), the fake kernel holding its leases. */
static bool open_batched(struct leased *d, const char *name,
			 unsigned int leases, struct event_base **base)
{
	struct lease_rec *v = NULL;
	char db[256];
	size_t n = 0, i;
	bool ok;

	*base = NULL;
	if (!open_fresh(d, name, leases))
		return false;
	db_path(db, sizeof(db), name);
	store_close(d->store);
	d->store = NULL;
	*base = event_base_new();
	ok = *base && !event_base_priority_init(*base, BATCH_PRIORITIES) &&
	     !store_open(db, &d->store) && !batch_init(d, *base) &&
	     !store_lease_list(d->store, INT64_MAX, SIZE_MAX, &v, &n);
	fake_n = 0;
	fake_install_err = 0;
	fake_resyncs = 0;
	for (i = 0; ok && i < n; i++)
		ok = !kernel_install(NULL, &v[i], 3600);
	free(v);
	d->kernel = (struct kernel *)&fake_kernel_obj;
	d->kresync = (struct kresync *)&fake_kresync_obj;
	return ok;
}

static void close_batched(struct leased *d, struct event_base *base)
{
	fail_wal_writes = 0;
	batch_free(d);
	store_close(d->store);
	d->store = NULL;
	if (base)
		event_base_free(base);
}

/* Is every kernel lease in the store as is, and every live store lease
 * in the kernel? */
static bool kernel_matches_store(struct leased *d)
{
	struct lease_rec *v = NULL, l;
	size_t n = 0, i;
	bool ok;

	ok = !store_lease_list(d->store, INT64_MAX, SIZE_MAX, &v, &n) &&
	     n == fake_n;
	for (i = 0; ok && i < n; i++)
		ok = fake_find(&v[i].virt) != NULL;
	for (i = 0; ok && i < fake_n; i++)
		ok = !store_lease_by_virt(d->store, &fake_leases[i].virt, &l) &&
		     !memcmp(&l.real, &fake_leases[i].real, sizeof(l.real));
	free(v);
	return ok;
}

/* A reconcile (the kresync timer runs before the commit event) while a
 * rent and a return wait in the open batch, whose commit then fails:
 * the kernel must get neither. */
static void test_reconcile_open_batch(void)
{
	static const char real_a[] = "2001:db8:1::99";
	struct event_base *base;
	struct unit_op a, r;
	struct leased d;
	int err;

	if (!tap_ok(open_batched(&d, "reconcile", 3, &base) && fake_n == 3,
		    "reconcile: a store of 3 leases, all in the kernel"))
		goto out;
	rent_submit(&d, &a, real_a, "2001:db8:3::77");
	memset(&r, 0, sizeof(r));
	r.op.kind = LEASE_OP_RETURN;
	r.op.own = true;
	inet_pton(AF_INET6, "2001:db8:1::10", &r.op.real);
	inet_pton(AF_INET6, "2001:db8:ff::1:0", &r.op.addr);
	r.op.done = unit_done;
	leases_submit(&d, &r.op);
	tap_ok(!a.done && !r.done && d.batch.n == 2,
	       "reconcile: a rent and a return wait in the open batch");
	fail_wal_writes = 1000; /* the disk is full: no commit works */
	err = leases_reconcile(&d, time(NULL));
	batch_flush(&d);
	fail_wal_writes = 0;
	tap_ok(a.done && a.op.err == -EIO && r.done && r.op.err == -EIO,
	       "reconcile: the batch failed (rent %d, return %d)", a.op.err,
	       r.op.err);
	tap_ok(!fake_find(&a.op.l.virt),
	       "reconcile: the failed rent is not in the kernel (err %d)", err);
	tap_ok(fake_n == 3 && kernel_matches_store(&d),
	       "reconcile: the lease whose return failed is still in the "
	       "kernel; kernel = store (%zu leases)",
	       fake_n);
	/* Committed, then refused by the kernel (a stale lease holds its
	 * address): taken back, and a reconcile is asked for. */
	fake_install_err = -EEXIST;
	rent_submit(&d, &a, real_a, "2001:db8:3::77");
	batch_flush(&d);
	tap_ok(a.done && a.op.err == -EREMOTEIO && fake_resyncs == 1,
	       "a rent the kernel refuses after its commit asks for a "
	       "reconcile (err %d, %u requests)",
	       a.op.err, fake_resyncs);
	/* A renew the kernel refuses: answered 502, so the store keeps the
	 * old expiry (as the kernel does), and a reconcile is asked for. */
	memset(&r, 0, sizeof(r));
	r.op.kind = LEASE_OP_RENEW;
	r.op.own = true;
	r.op.lifetime = 7200;
	inet_pton(AF_INET6, "2001:db8:1::10", &r.op.real);
	inet_pton(AF_INET6, "2001:db8:ff::1:0", &r.op.addr);
	r.op.done = unit_done;
	{
		struct lease_rec before, after;
		bool found = !store_lease_by_virt(d.store, &r.op.addr, &before);

		fake_install_err = -ENODEV;
		leases_submit(&d, &r.op);
		batch_flush(&d);
		found = found &&
			!store_lease_by_virt(d.store, &r.op.addr, &after);
		tap_ok(r.done && r.op.err == -EREMOTEIO && fake_resyncs == 2 &&
			       found && after.expires == before.expires,
		       "a renew the kernel refuses: 502, the store keeps the "
		       "old expiry (%lld, was %lld), a reconcile is asked for "
		       "(%u requests)",
		       found ? (long long)after.expires : -1LL,
		       found ? (long long)before.expires : -1LL, fake_resyncs);
	}
out:
	d.kernel = NULL;
	close_batched(&d, base);
}

/* Reveal and history answer only from what is durable: a rent waiting
 * in the batch, whose commit then fails, is not answered as found. */
static void test_reads_durable(void)
{
	static const struct leased_actor who = { "unit", "admin" };
	static const char real_a[] = "2001:db8:1::99",
			  peer_a[] = "2001:db8:3::77";
	struct event_base *base;
	struct in6_addr peer, real;
	struct lease_rec l;
	struct unit_op a;
	struct leased d;
	int64_t end;
	bool live;
	int err;

	if (!tap_ok(open_batched(&d, "reads", 3, &base),
		    "reads: a store of 3 leases"))
		goto out;
	d.kernel = NULL;
	inet_pton(AF_INET6, peer_a, &peer);
	rent_submit(&d, &a, real_a, peer_a);
	/* Only the batch's commit fails, the audit record's works. */
	fail_wal_writes = 1;
	err = leases_reveal(&d, &peer, &a.op.l.virt, &who, &real);
	tap_ok(a.done && a.op.err == -EIO && err == -ENOENT,
	       "reveal: a rent rolled back is not revealed (%d)", err);
	rent_submit(&d, &a, real_a, peer_a);
	fail_wal_writes = 1;
	err = leases_history(&d, &a.op.l.virt, time(NULL), "unit", &who, &l,
			     &end, &live);
	tap_ok(a.done && a.op.err == -EIO && err == -ENOENT,
	       "history: a rent rolled back is not found (%d)", err);
	fail_wal_writes = 0;
out:
	close_batched(&d, base);
}

static int64_t db_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/*
 * Leases expired but not swept yet (the sweeper ends 1024 a second): a
 * rent of such a lease's pair gets a new lease (it was 409 "renew it",
 * while renew said 404), the old one ended at its expiry and out of the
 * kernel; a reconcile after downtime sweeps them all (1024 before). Two
 * renews of one lease in a batch, the kernel refusing the first: the
 * store keeps the second's expiry, which the kernel holds (it went back
 * to the one before both, and the next reconcile cut the kernel to it).
 */
static void test_expired_unswept(void)
{
	static const char real[] = "2001:db8:1::10";
	const int64_t now = time(NULL);
	struct unit_op a, r1, r2;
	struct event_base *base;
	struct in6_addr old;
	struct lease_rec l;
	struct leased d;
	struct guise_lease *g;
	unsigned int i;
	char sql[160], p[64];
	bool ok;

	if (!tap_ok(open_batched(&d, "unswept", 3, &base) && fake_n == 3,
		    "unswept: a store of 3 leases, all in the kernel"))
		goto out;
	inet_pton(AF_INET6, "2001:db8:ff::1:0", &old);
	ok = !store_lease_set_expires(d.store, &old, now - 5);
	rent_submit(&d, &a, real, "2001:db8:3::1:0");
	batch_flush(&d);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM history WHERE reason = 'expired' AND "
		 "\"end\" = %lld;",
		 (long long)(now - 5));
	tap_ok(ok && a.done && !a.op.err &&
		       memcmp(&a.op.l.virt, &old, sizeof(old)) &&
		       !fake_find(&old) && fake_find(&a.op.l.virt) &&
		       db_int(store_db(d.store), sql) == 1,
	       "a rent of the pair of a lease expired 5 s ago, not swept: a new "
	       "lease (err %d), the old one ended at its expiry and out of "
	       "the kernel",
	       a.op.err);
	ok = !store_begin(d.store);
	for (i = 0; ok && i < 2000; i++) {
		memset(&l, 0, sizeof(l));
		l.created = 1;
		l.expires = now - 10;
		l.flags = LEASED_HOST_FLAGS;
		snprintf(p, sizeof(p), "2001:db8:ff::5:%x", i);
		ok = inet_pton(AF_INET6, p, &l.virt) == 1;
		snprintf(p, sizeof(p), "2001:db8:3::5:%x", i);
		ok = ok && inet_pton(AF_INET6, p, &l.peer) == 1 &&
		     inet_pton(AF_INET6, real, &l.real) == 1 &&
		     !store_lease_insert(d.store, &l, NULL, NULL);
	}
	ok = ok && !store_commit(d.store) && !leases_reconcile(&d, now);
	tap_ok(ok && db_int(store_db(d.store),
			    "SELECT count(*) FROM leases;") == 3,
	       "2000 leases expired while down: one reconcile sweeps them all "
	       "(%lld left)",
	       (long long)db_int(store_db(d.store),
				 "SELECT count(*) FROM leases;"));
	memset(&r1, 0, sizeof(r1));
	r1.op.kind = LEASE_OP_RENEW;
	r1.op.own = true;
	r1.op.lifetime = 60;
	inet_pton(AF_INET6, real, &r1.op.real);
	inet_pton(AF_INET6, "2001:db8:ff::1:1", &r1.op.addr);
	r1.op.done = unit_done;
	r2 = r1;
	r2.op.lifetime = 7200;
	fake_install_err = -ERANGE; /* the first install only */
	leases_submit(&d, &r1.op);
	leases_submit(&d, &r2.op);
	batch_flush(&d);
	ok = !store_lease_by_virt(d.store, &r1.op.addr, &l);
	g = fake_find(&r1.op.addr);
	tap_ok(r1.done && r1.op.err == -EREMOTEIO && r2.done && !r2.op.err &&
		       ok && l.expires == r2.op.l.expires && g &&
		       g->lifetime == 7200,
	       "two renews in a batch, the kernel refusing the first: the "
	       "store keeps the second's expiry (%+lld s), as the kernel "
	       "does (%u s)",
	       ok ? (long long)(l.expires - now) : 0LL, g ? g->lifetime : 0);
out:
	d.kernel = NULL;
	close_batched(&d, base);
}

/* The rent rate of gateway rents is per /64 of R (the host behind the
 * gateway picks R from its /64: each address had a bucket of its own);
 * host rents keep one per R. */
static void test_gateway_rate(void)
{
	struct event_base *base;
	struct unit_op u[5];
	struct leased d;
	unsigned int i, gw = 0, host = 0;
	char real[64], peer[64];

	if (!tap_ok(open_batched(&d, "gwrate", 0, &base),
		    "gateway rate: a store"))
		goto out;
	conf.rent_rate = 1;
	conf.rent_burst = 2;
	d.rl = ratelimit_new();
	for (i = 0; d.rl && i < 5; i++) {
		snprintf(real, sizeof(real), "2001:db8:1::a:%x", i + 1);
		snprintf(peer, sizeof(peer), "2001:db8:3::a:%x", i + 1);
		memset(&u[i], 0, sizeof(u[i]));
		u[i].op.kind = LEASE_OP_RENT;
		inet_pton(AF_INET6, real, &u[i].op.real);
		inet_pton(AF_INET6, peer, &u[i].op.addr);
		u[i].op.lifetime = 60;
		u[i].op.flags = LEASED_GATEWAY_FLAGS;
		u[i].op.done = unit_done;
		leases_submit(&d, &u[i].op);
		batch_flush(&d);
		gw += u[i].done && !u[i].op.err;
	}
	for (i = 0; d.rl && i < 5; i++) {
		snprintf(real, sizeof(real), "2001:db8:1::b:%x", i + 1);
		snprintf(peer, sizeof(peer), "2001:db8:3::b:%x", i + 1);
		rent_submit(&d, &u[i], real, peer);
		batch_flush(&d);
		host += u[i].done && !u[i].op.err;
	}
	tap_ok(gw == 2 && host == 5,
	       "rate 1/s, burst 2: gateway rents from 5 addresses of one /64 "
	       "get 2 (%u), host rents from 5 addresses 5 (%u)",
	       gw, host);
	ratelimit_free(d.rl);
	d.rl = NULL;
out:
	conf.rent_rate = 0;
	conf.rent_burst = 0;
	d.kernel = NULL;
	close_batched(&d, base);
}

/* A store lease the kernel refuses (EINVAL: its V outside the kernel's
 * prefixes, which are configured again only after a module reload) does
 * not keep the others out: they are installed, nothing is ended, and the
 * reconcile fails, to be tried again (it stopped at that lease, leaving
 * the later ones out). */
static void test_reconcile_refused(void)
{
	struct event_base *base;
	struct leased d;
	int err;

	if (!tap_ok(open_batched(&d, "refused", 3, &base) && fake_n == 3,
		    "reconcile refused: a store of 3 leases"))
		goto out;
	fake_n = 0; /* the module came back empty */
	fake_install_err = -EINVAL;
	err = leases_reconcile(&d, time(NULL));
	tap_ok(err == -EINVAL && fake_n == 2 &&
		       db_int(store_db(d.store),
			      "SELECT count(*) FROM leases;") == 3,
	       "the kernel refusing one lease: the other 2 installed, none "
	       "ended, the reconcile to be tried again (err %d)",
	       err);
	err = leases_reconcile(&d, time(NULL));
	tap_ok(!err && fake_n == 3,
	       "... and the next one installs it (err %d, %zu leases)", err,
	       fake_n);
out:
	d.kernel = NULL;
	close_batched(&d, base);
}

/* Inside a caller's transaction, the head's write fails (a trigger aborts
 * the statement, SQLite keeps the transaction): the record's row must go
 * too, or the next append collides on its seq for good. */
static void test_audit_half_written(void)
{
	struct audit_record r = { .time = 1,
				  .actor = "uid:0",
				  .action = "end-lease",
				  .object = "2001:db8:ff::1",
				  .outcome = "ok" };
	struct audit_verify_result res;
	char path[256];
	sqlite3 *db = NULL;
	int err;

	db_path(path, sizeof(path), "audit");
	if (!tap_ok(sqlite3_open(path, &db) == SQLITE_OK && !audit_init(db) &&
			    !audit_append(db, &r),
		    "audit log with one record"))
		goto out;
	sqlite3_exec(db,
		     "CREATE TEMP TRIGGER head_fails BEFORE INSERT ON"
		     " main.audit_head BEGIN"
		     " SELECT RAISE(ABORT, 'test: the head write fails'); END;"
		     "BEGIN IMMEDIATE;",
		     NULL, NULL, NULL);
	err = audit_append(db, &r);
	tap_ok(err == -EIO && !sqlite3_get_autocommit(db),
	       "the head write fails inside the caller's transaction (%d)",
	       err);
	tap_ok(sqlite3_exec(db, "DROP TRIGGER head_fails; COMMIT;", NULL, NULL,
			    NULL) == SQLITE_OK,
	       "the caller commits the rest of its transaction");
	tap_ok(db_int(db, "SELECT count(*) FROM audit_log;") == 1,
	       "nothing of the failed record is stored");
	err = audit_append(db, &r);
	tap_ok(!err, "the next record appends (%d)", err);
	err = audit_verify(db, &res);
	tap_ok(!err && res.records == 2,
	       "the chain is intact: %llu records%s%s",
	       (unsigned long long)res.records, res.problem ? ": " : "",
	       res.problem ? res.problem : "");
out:
	sqlite3_close(db);
}

/* The daemon was down while a lease expired: the sweep at the restart
 * records it as ended at its expiry, not at the sweep. */
static void test_sweep_end(void)
{
	static const char expired[] = "2001:db8:ff::1:0";
	struct lease_rec l;
	struct in6_addr v;
	int64_t end = 0;
	bool live = true;
	struct leased d;
	int err;

	if (!tap_ok(open_fresh(&d, "sweep", 1), "a store with one lease"))
		goto out;
	inet_pton(AF_INET6, expired, &v);
	store_lease_set_expires(d.store, &v, 1000);
	leases_sweep(&d, 5000);
	tap_ok(d.m.expired == 1, "the sweep at 5000 ends it");
	err = store_lease_at(d.store, &v, 999, &l, &end, &live);
	tap_ok(!err && !live && end == 1000,
	       "history: held until its expiry 1000, not the sweep (end %lld)",
	       (long long)end);
	tap_ok(store_lease_at(d.store, &v, 1000, &l, &end, &live) == -ENOENT,
	       "history: nobody held it from its expiry on");
out:
	store_close(d.store);
}

/* A lease ended twice in one transaction (a revocation listing a rent
 * the kernel refused meanwhile): the second end changes nothing, no
 * second history record, and the transaction goes on. */
static void test_end_twice(void)
{
	struct lease_rec l;
	struct in6_addr v;
	struct leased d;
	int err;

	if (!tap_ok(open_fresh(&d, "twice", 2), "a store with two leases"))
		goto out;
	inet_pton(AF_INET6, "2001:db8:ff::1:0", &v);
	if (!tap_ok(!store_lease_by_virt(d.store, &v, &l), "found the lease"))
		goto out;
	err = store_begin(d.store);
	err = err ? err : store_lease_end(d.store, &l, 10, "returned");
	tap_ok(!err, "ended once");
	tap_ok(store_lease_end(d.store, &l, 11, "revoked") == -ENOENT,
	       "ended again: -ENOENT");
	tap_ok(!store_commit(d.store), "the transaction commits");
	tap_ok(db_int(store_db(d.store),
		      "SELECT count(*) FROM history WHERE reason = 'revoked';") ==
			       0 &&
		       db_int(store_db(d.store),
			      "SELECT count(*) FROM history;") == 1,
	       "one history record, none for the second end");
out:
	store_close(d.store);
}

/* Leases @first.. @first + @n - 1 (as open_fresh() names them) in one
 * transaction of @st. */
static bool insert_leases(struct store *st, unsigned int first, unsigned int n)
{
	char a[64];
	unsigned int i;
	bool ok = !store_begin(st);

	for (i = first; ok && i < first + n; i++) {
		struct lease_rec l = { .created = 1,
				       .expires = 4000000000LL,
				       .flags = LEASED_HOST_FLAGS };

		snprintf(a, sizeof(a), "2001:db8:ff::1:%x", i);
		ok = inet_pton(AF_INET6, a, &l.virt) == 1;
		snprintf(a, sizeof(a), "2001:db8:3::1:%x", i);
		ok = ok && inet_pton(AF_INET6, a, &l.peer) == 1 &&
		     inet_pton(AF_INET6, "2001:db8:1::10", &l.real) == 1 &&
		     !store_lease_insert(st, &l, NULL, NULL);
	}
	if (!ok) {
		store_rollback(st);
		return false;
	}
	return !store_commit(st);
}

/* What another connection (another process would see the same: the WAL
 * index is shared memory) finds in DIR/@name.db: its leases, -1 if it
 * fails its integrity check. */
static int64_t other_count(const char *name)
{
	char path[256];
	sqlite3 *db = NULL;
	int64_t n = -1;
	sqlite3_stmt *st;

	db_path(path, sizeof(path), name);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
		    SQLITE_OK ||
	    sqlite3_prepare_v2(db, "PRAGMA integrity_check;", -1, &st, NULL) !=
		    SQLITE_OK)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW &&
	    !strcmp((const char *)sqlite3_column_text(st, 0), "ok"))
		n = db_int(db, "SELECT count(*) FROM leases;");
	sqlite3_finalize(st);
out:
	sqlite3_close(db);
	return n;
}

/* The WAL's appends are written together (walbuf.c), in pieces of at most
 * 128 KiB: a commit of thousands of frames, then commits across the
 * WAL's checkpoints and restarts, each seen at once by another
 * connection. */
static void test_walbuf_commits(void)
{
	unsigned int i, n = 3000;
	struct leased d;
	bool ok = true;

	tap_ok(open_fresh(&d, "walbuf", n) && other_count("walbuf") == n,
	       "a commit of %u leases (MiBs of WAL) is whole and readable", n);
	for (i = 0; ok && i < 600; i++) {
		ok = insert_leases(d.store, n, 1) &&
		     other_count("walbuf") == ++n;
	}
	tap_ok(ok,
	       "600 commits of a lease each (past checkpoints): each "
	       "visible once committed (%u leases)",
	       n);
	store_close(d.store);
	tap_ok(other_count("walbuf") == n, "all %u there after the close", n);
}

/* The write of a commit's frames fails (a full disk): the commit fails,
 * nothing of it is stored, and the next commit is whole. */
static void test_walbuf_write_fails(void)
{
	struct leased d;
	int64_t n;

	if (!tap_ok(open_fresh(&d, "walfail", 10), "a store with 10 leases"))
		goto out;
	fail_wal_writes = 1000;
	tap_ok(!insert_leases(d.store, 10, 5),
	       "the WAL's write fails: the commit fails");
	tap_ok(!store_in_tx(d.store) && other_count("walfail") == 10,
	       "rolled back: 10 leases");
	/* The disk stays full: reads on the connection still work (from
	 * the file: the cache is dropped), the next commit fails too. */
	sqlite3_db_release_memory(store_db(d.store));
	n = db_int(store_db(d.store), "SELECT count(*) FROM leases;");
	tap_ok(n == 10, "reads still work while writes fail (%lld)",
	       (long long)n);
	tap_ok(!insert_leases(d.store, 30, 1), "the next commit fails too");
	fail_wal_writes = 0;
	tap_ok(insert_leases(d.store, 20, 3), "the next commit succeeds");
	n = other_count("walfail");
	tap_ok(n == 13, "its 3 leases are there, the failed 5 not (%lld)",
	       (long long)n);
	store_close(d.store);
	n = other_count("walfail");
	tap_ok(n == 13, "and after the close (%lld)", (long long)n);
out:
	fail_wal_writes = 0;
}

/* A commit whose write fails, then another writer commits (the sqlite3
 * shell; the lock is free once SQLite rolled back): nothing of the
 * failed commit may be written later, by a read or the close, over the
 * other writer's frames. */
static void test_walbuf_failed_dropped(void)
{
	struct store *other = NULL;
	struct leased d;
	char db[256];
	int64_t n;

	if (!tap_ok(open_fresh(&d, "walstale", 10), "a store with 10 leases"))
		goto out;
	fail_wal_writes = 1;
	tap_ok(!insert_leases(d.store, 10, 5) && fail_wal_writes == 0,
	       "the WAL's write fails once: the commit fails");
	db_path(db, sizeof(db), "walstale");
	tap_ok(!store_open(db, &other) && insert_leases(other, 100, 1),
	       "another connection commits a lease");
	store_close(other);
	wal_writes = 0;
	sqlite3_db_release_memory(store_db(d.store));
	n = db_int(store_db(d.store), "SELECT count(*) FROM leases;");
	store_close(d.store);
	tap_ok(wal_writes == 0,
	       "the read and the close write nothing to the WAL (%u writes)",
	       wal_writes);
	tap_ok(n == 11, "the read sees the other's lease (%lld)", (long long)n);
	n = other_count("walstale");
	tap_ok(n == 11, "after the close: 11 leases, store intact (%lld)",
	       (long long)n);
out:
	fail_wal_writes = 0;
}

/* A transaction larger than the page cache spills frames to the WAL
 * before it commits; rolled back, they belong to no commit, and once the
 * write lock is free another writer (the sqlite3 shell, a second
 * process) commits over the same offsets. Nothing of the rolled-back
 * transaction may be written later, by the next write, read or close,
 * over the other writer's frames. */
static void test_walbuf_spill_rolled_back(void)
{
	struct store *other = NULL;
	struct leased d;
	unsigned int i;
	char db[256];
	bool ok;
	int64_t n;

	if (!tap_ok(open_fresh(&d, "walspill", 10), "a store with 10 leases"))
		goto out;
	ok = sqlite3_exec(store_db(d.store), "PRAGMA cache_size = 8;", NULL,
			  NULL, NULL) == SQLITE_OK &&
	     !store_begin(d.store);
	for (i = 0; ok && i < 2000; i++) {
		struct lease_rec l = { .created = 1,
				       .expires = 4000000000LL,
				       .flags = LEASED_HOST_FLAGS };
		char a[64];

		snprintf(a, sizeof(a), "2001:db8:ff::2:%x", i);
		ok = inet_pton(AF_INET6, a, &l.virt) == 1;
		snprintf(a, sizeof(a), "2001:db8:3::2:%x", i);
		ok = ok && inet_pton(AF_INET6, a, &l.peer) == 1 &&
		     inet_pton(AF_INET6, "2001:db8:1::10", &l.real) == 1 &&
		     !store_lease_insert(d.store, &l, NULL, NULL);
	}
	store_rollback(d.store);
	tap_ok(ok && !store_in_tx(d.store) && other_count("walspill") == 10,
	       "2000 leases past an 8-page cache, rolled back: 10 leases");
	db_path(db, sizeof(db), "walspill");
	tap_ok(!store_open(db, &other) && insert_leases(other, 100, 3000),
	       "another connection commits 3000 leases, over those offsets");
	store_close(other);
	tap_ok(insert_leases(d.store, 5000, 1),
	       "the first connection commits a lease");
	n = other_count("walspill");
	tap_ok(n == 3011, "both commits are there, store intact (%lld)",
	       (long long)n);
	store_close(d.store);
	n = other_count("walspill");
	tap_ok(n == 3011, "and after the close (%lld)", (long long)n);
out:
	return;
}

/* A process killed right after its commits (no close): every commit that
 * returned is in the file. */
static void test_walbuf_killed(void)
{
	struct leased d;
	int status = 0;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		if (open_fresh(&d, "walkill", 100) &&
		    insert_leases(d.store, 100, 40) &&
		    insert_leases(d.store, 140, 1))
			kill(getpid(), SIGKILL);
		_exit(1);
	}
	if (pid > 0 && waitpid(pid, &status, 0) != pid)
		status = -1;
	tap_ok(pid > 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	       "a child commits 3 times and is killed (status %d)", status);
	tap_ok(other_count("walkill") == 141, "its 141 leases are there");
}

static int rm_entry(const char *p, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* Durations in configuration files: zero only where the setting allows
 * it, in any spelling; never where it does not (a 0 s timeout, refresh or
 * lifetime). */
static void test_conf_duration(void)
{
	static const struct {
		const char *in;
		bool zero_ok;
		int ret;
		uint32_t secs;
	} cases[] = {
		{ "0", true, 0, 0 },	     { "0s", true, 0, 0 },
		{ "00m", true, 0, 0 },	     { "0", false, -EINVAL, 0 },
		{ "0s", false, -EINVAL, 0 }, { "0d", false, -EINVAL, 0 },
		{ "0x", true, -EINVAL, 0 },  { "0ss", true, -EINVAL, 0 },
		{ "015m", true, 0, 900 },    { "2h", false, 0, 7200 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t v = 12345;
		int ret =
			conf_parse_duration(cases[i].in, cases[i].zero_ok, &v);

		tap_ok(ret == cases[i].ret && (ret || v == cases[i].secs),
		       "duration \"%s\" (zero %s) -> %d %u", cases[i].in,
		       cases[i].zero_ok ? "allowed" : "refused", cases[i].ret,
		       cases[i].secs);
	}
}

int main(void)
{
	tap_start();
	if (!tap_ok(mkdtemp(dir) && shim_install(), "scratch dir, shim VFS"))
		return tap_done();
	test_batch_rolled_back(false);
	test_batch_rolled_back(true);
	test_audit_half_written();
	test_sweep_end();
	test_end_twice();
	test_conf_duration();
	test_walbuf_commits();
	test_walbuf_write_fails();
	test_walbuf_failed_dropped();
	test_walbuf_spill_rolled_back();
	test_walbuf_killed();
	test_reconcile_open_batch();
	test_expired_unswept();
	test_gateway_rate();
	test_reconcile_refused();
	test_reads_durable();
	sqlite3_vfs_unregister(&shim_vfs);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
