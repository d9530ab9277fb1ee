/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An SQLite VFS over the default one that gathers the appends to a WAL
 * file in memory and writes them with one pwrite() before the file is
 * synced, read, truncated or locked, and before the WAL write lock is
 * released (walbuf.c); what a failed write leaves is dropped, never
 * written later. SQLite
 * writes a WAL frame as two calls (its 24-byte header, then the page): a
 * group commit of a few writes made a dozen or more pwrite64() calls,
 * now one. Only for a store whose every commit syncs its WAL
 * (synchronous=FULL): the frames are in the file before the sync returns
 * and before the WAL index names them.
 */
#ifndef LEASED_WALBUF_H
#define LEASED_WALBUF_H

/* The name of the VFS to open a store with (over the default VFS as it is
 * now), or NULL if it could not be registered: then open with the
 * default VFS. */
const char *walbuf_vfs(void);

#endif
