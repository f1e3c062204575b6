/* store.c - the durable catalog, <data>/.mmapd/catalog.db (SQLite).
 *
 * One table, one row per file-backed mapping:
 *
 *   mappings(name TEXT PRIMARY KEY, record TEXT) WITHOUT ROWID
 *
 * keyed by name, so the B-tree keeps names in byte order (BINARY collation
 * is memcmp) and a create, resize or remove touches O(log n) pages instead
 * of rewriting the whole catalog as the JSON file of version 1 did (n
 * creates cost O(n^2) there). The record is the JSON object of one mapping
 *
 *   {"file", "size", "protection", "allocation", "writethrough",
 *    "created_at_ms", "modified_at_ms", "content_type", ...}
 *
 * ("content_type" is optional: a record without it, from a catalog.json of
 * an older release among them, loads with application/octet-stream; a
 * snapshot's record adds "source" and "source_etag", both or neither, and
 * a record without them, as every record of older releases, is a mapping
 * that is not a snapshot)
 *
 * so a field can be added without a schema change; members this code does
 * not know are carried through unchanged when a record is updated.
 *
 * Why SQLite: Debian's libsqlite3 is among the best tested libraries there
 * is, its WAL mode makes a commit one append and one fsync of the log, and
 * it reports a full disk as an error (SQLITE_FULL) rather than a signal.
 * The connection runs with locking_mode=EXCLUSIVE: the WAL index then lives
 * in heap memory instead of a mmap'ed -shm file (a shared-memory page that
 * cannot be allocated on a full tmpfs would be SIGBUS), and a second mmapd
 * on the same data directory is refused instead of sharing it.
 * synchronous=FULL: every commit is on stable storage when it returns, so
 * an answer sent after it survives kill -9 and power loss.
 *
 * Loading is strict, as it was for catalog.json: a record that cannot be
 * read makes the whole store MC_ECORRUPT and the caller refuses to start,
 * because serving a partial catalog would hide mappings.
 *
 * Upgrade from version 1 (<data>/.mmapd/catalog.json, written by releases
 * up to 331bc87; migrate.c reads it): while that file exists its contents
 * are the truth. mc__store_open replaces every row with its entries in one
 * transaction, commits, and only then renames the file to
 * catalog.json.migrated (and fsyncs the directory). A crash before the
 * rename leaves the file in place and the next start migrates again from
 * scratch; nothing is served before the rename, so the two never disagree.
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define STORE_MIGRATED MC_CATALOG_V1_FILE ".migrated"

/* Tests make every write fail with MC_EIO (mc__store_fail_writes). */
static atomic_bool fail_writes;

void mc__store_fail_writes(bool on)
{
    atomic_store(&fail_writes, on);
}

struct mc__store {
    pthread_mutex_t lock; /* the connection is used by one thread at a time */
    int datafd;           /* borrowed */
    char *path;           /* <data>/.mmapd/catalog.db */
    sqlite3 *db;          /* NULL until the first put (nothing on disk yet) */
    sqlite3_stmt *put, *get, *del, *page;
};

/* ---- errors ------------------------------------------------------------- */

static enum mc_err sql_err(sqlite3 *db, int rc)
{
    int sys = db ? sqlite3_system_errno(db) : 0;

    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return MC_OK;
    case SQLITE_FULL:
        mc__set_last_errno(sys ? sys : 28 /* ENOSPC */);
        return MC_ENOSPC;
    case SQLITE_NOMEM:
        return MC_ENOMEM;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT:
        return MC_ECORRUPT;
    default:
        if (sys)
            return mc__sys_err(sys);
        return MC_EIO;
    }
}

/* ---- one record --------------------------------------------------------- */

static bool parse_protection(const char *s, enum mc_protection *out)
{
    static const enum mc_protection all[] = {
        MC_PROT_READONLY, MC_PROT_READWRITE, MC_PROT_WRITECOPY};

    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(s, mc_protection_name(all[i])) == 0) {
            *out = all[i];
            return true;
        }
    }
    return false;
}

static bool parse_allocation(const char *s, enum mc_allocation *out)
{
    if (strcmp(s, mc_allocation_name(MC_ALLOC_COMMIT)) == 0)
        *out = MC_ALLOC_COMMIT;
    else if (strcmp(s, mc_allocation_name(MC_ALLOC_SPARSE)) == 0)
        *out = MC_ALLOC_SPARSE;
    else
        return false;
    return true;
}

/* The members of one record, as read by either reader below. */
struct fields {
    const char *file, *prot, *alloc, *ctype, *src, *etag; /* src, etag: NULL */
    size_t file_len, prot_len, alloc_len, ctype_len, src_len, etag_len;
    json_int_t size, created, modified;
    int writethrough;
};

/* Check f and set out's persisted fields but the name from it. */
static bool set_fields(const struct fields *f, struct mc_info *out)
{
    char prot[16], alloc[16];

    /* A hand-edited record must not inject header text either. */
    if (!mc_path_valid(f->file, f->file_len) || f->size <= 0 ||
        f->ctype_len > MC_CONTENT_TYPE_MAX || f->prot_len >= sizeof prot ||
        f->alloc_len >= sizeof alloc)
        return false;
    /* A snapshot names both its source and its ETag, or it is no
     * snapshot. */
    if ((f->src == NULL) != (f->etag == NULL) ||
        (f->src != NULL && (!mc_name_valid(f->src, f->src_len) ||
                            !mc_etag_valid(f->etag, f->etag_len))))
        return false;
    if (f->src != NULL) {
        memcpy(out->source, f->src, f->src_len);
        out->source[f->src_len] = '\0';
        memcpy(out->source_etag, f->etag, f->etag_len);
        out->source_etag[f->etag_len] = '\0';
    }
    memcpy(out->content_type, f->ctype, f->ctype_len);
    out->content_type[f->ctype_len] = '\0';
    memcpy(prot, f->prot, f->prot_len);
    prot[f->prot_len] = '\0';
    memcpy(alloc, f->alloc, f->alloc_len);
    alloc[f->alloc_len] = '\0';
    if (!mc_content_type_valid(out->content_type) ||
        !parse_protection(prot, &out->protection) ||
        !parse_allocation(alloc, &out->allocation))
        return false;
    memcpy(out->file, f->file, f->file_len);
    out->file[f->file_len] = '\0';
    out->backing = MC_BACKING_FILE;
    out->size = (uint64_t)f->size;
    out->writethrough = f->writethrough != 0;
    out->created_at_ms = (int64_t)f->created;
    out->modified_at_ms = (int64_t)f->modified;
    return true;
}

bool mc__store_parse_fields(json_t *e, bool strict, struct mc_info *out)
{
    struct fields f = {.ctype = MC_CONTENT_TYPE_DEFAULT};
    json_error_t err;

    if (json_unpack_ex(e, &err, strict ? JSON_STRICT : 0,
                       "{s:s%, s:I, s:s, s:s, s:b, s:I, s:I, s?:s, s?:s%, "
                       "s?:s%}",
                       "file", &f.file, &f.file_len, "size", &f.size,
                       "protection", &f.prot, "allocation", &f.alloc,
                       "writethrough", &f.writethrough, "created_at_ms",
                       &f.created, "modified_at_ms", &f.modified,
                       "content_type", &f.ctype, "source", &f.src, &f.src_len,
                       "source_etag", &f.etag, &f.etag_len) != 0)
        return false;
    f.prot_len = strlen(f.prot);
    f.alloc_len = strlen(f.alloc);
    f.ctype_len = strlen(f.ctype);
    /* A NUL inside (\u0000) would end the copies early: refuse it. */
    if (strlen(f.file) != f.file_len ||
        (f.src != NULL && strlen(f.src) != f.src_len) ||
        (f.etag != NULL && strlen(f.etag) != f.etag_len))
        return false;
    return set_fields(&f, out);
}

/* ---- the fast reader of records as this code writes them ---------------- */

/* A start reads every record, and jansson spends most of that building
 * objects only to read eight members out of them (5-10 us a record, so
 * seconds at a million). Records as fill_record writes them (compact, the
 * known members once each, plain ASCII strings without escapes, integers
 * without fraction or exponent) are read directly here; anything else (an
 * unknown member, an escape, white space, a duplicate) makes fast_row say
 * "not mine", and jansson reads it as before, with every rule it applies.
 * A snapshot's record goes to jansson too: its source_etag's quotes are
 * escapes (snapshots are few; the fast reader is for the million others). */

/* A string at *p (after its opening quote): ASCII, no escape, no control
 * character. */
static bool fast_string(const char **p, const char *end, const char **s,
                        size_t *len)
{
    const char *q = *p;

    while (q < end && *q != '"') {
        unsigned char c = (unsigned char)*q;
        if (c < 0x20 || c >= 0x80 || c == '\\')
            return false;
        q++;
    }
    if (q == end)
        return false;
    *s = *p;
    *len = (size_t)(q - *p);
    *p = q + 1;
    return true;
}

/* A non-negative or negative integer of at most 18 digits (no overflow). */
static bool fast_int(const char **p, const char *end, json_int_t *v)
{
    const char *q = *p;
    bool neg = q < end && *q == '-';
    json_int_t x = 0;
    int digits = 0;

    if (neg)
        q++;
    /* 18 digits never overflow a json_int_t; a 19th is refused before it
     * is multiplied in (the fast reader then declines to jansson). */
    while (q < end && *q >= '0' && *q <= '9' && digits < 18) {
        x = x * 10 + (*q - '0');
        q++;
        digits++;
    }
    if (q < end && *q >= '0' && *q <= '9')
        return false;
    if (digits == 0 || (digits > 1 && (*p)[neg] == '0'))
        return false;
    *v = neg ? -x : x;
    *p = q;
    return true;
}

static bool fast_word(const char **p, const char *end, const char *w)
{
    size_t n = strlen(w);

    if ((size_t)(end - *p) < n || memcmp(*p, w, n) != 0)
        return false;
    *p += n;
    return true;
}

int mc__store_fast_record(const char *t, size_t len, struct mc_info *out,
                          bool *ok)
{
    static const char *const keys[] = {
        "file",          "size",           "protection",  "allocation",
        "writethrough",  "created_at_ms",  "modified_at_ms", "content_type",
        "source",        "source_etag"};
    enum { NKEYS = sizeof keys / sizeof keys[0] };
    struct fields f = {.ctype = MC_CONTENT_TYPE_DEFAULT};
    const char *p = t, *end = t + len;
    unsigned seen = 0;

    if (len < 2 || *p++ != '{')
        return 0;
    while (p < end && *p != '}') {
        const char *k;
        size_t klen, i;

        if (seen != 0 && *p++ != ',')
            return 0;
        if (p >= end || *p++ != '"' || !fast_string(&p, end, &k, &klen) ||
            p >= end || *p++ != ':')
            return 0;
        for (i = 0; i < NKEYS; i++)
            if (strlen(keys[i]) == klen && memcmp(keys[i], k, klen) == 0)
                break;
        if (i == NKEYS || (seen & (1u << i)))
            return 0; /* unknown or repeated: jansson's call */
        seen |= 1u << i;
        bool good;
        if (i == 1 || i == 5 || i == 6) {
            json_int_t *v = i == 1 ? &f.size : i == 5 ? &f.created : &f.modified;
            good = fast_int(&p, end, v);
        } else if (i == 4) {
            good = fast_word(&p, end, "true") ? (f.writethrough = 1)
                                              : fast_word(&p, end, "false");
        } else {
            const char **s = i == 0 ? &f.file : i == 2 ? &f.prot
                           : i == 3 ? &f.alloc : i == 7 ? &f.ctype
                           : i == 8 ? &f.src : &f.etag;
            size_t *l = i == 0 ? &f.file_len : i == 2 ? &f.prot_len
                      : i == 3 ? &f.alloc_len : i == 7 ? &f.ctype_len
                      : i == 8 ? &f.src_len : &f.etag_len;
            good = p < end && *p++ == '"' && fast_string(&p, end, s, l);
        }
        if (!good)
            return 0;
    }
    if (p + 1 != end || *p != '}' || (seen & 0x7f) != 0x7f)
        return 0; /* trailing bytes, or a required member missing */
    if (!(seen & 0x80))
        f.ctype_len = strlen(f.ctype);
    *ok = set_fields(&f, out);
    return 1;
}

bool mc__store_json_record(const char *text, size_t len, struct mc_info *out)
{
    json_error_t err;
    json_t *rec = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    bool ok = rec && json_is_object(rec) &&
              mc__store_parse_fields(rec, false, out);

    json_decref(rec);
    return ok;
}

static bool parse_row(const unsigned char *name, int name_len,
                      const unsigned char *text, int text_len,
                      struct mc_info *out)
{
    bool ok = false;

    memset(out, 0, sizeof *out);
    if (!name || name_len < 0 || !mc_name_valid((const char *)name,
                                                (size_t)name_len))
        return false;
    memcpy(out->name, name, (size_t)name_len);
    if (!text || text_len < 0)
        return false;
    if (mc__store_fast_record((const char *)text, (size_t)text_len, out,
                              &ok) == 1)
        return ok;
    return mc__store_json_record((const char *)text, (size_t)text_len, out);
}

/* Set the known members of rec from in, leaving any others as they are. */
static bool fill_record(json_t *rec, const struct mc_info *in)
{
    json_t *known = json_pack(
        "{s:s, s:I, s:s, s:s, s:b, s:I, s:I, s:s}", "file", in->file, "size",
        (json_int_t)in->size, "protection", mc_protection_name(in->protection),
        "allocation", mc_allocation_name(in->allocation), "writethrough",
        in->writethrough, "created_at_ms", (json_int_t)in->created_at_ms,
        "modified_at_ms", (json_int_t)in->modified_at_ms, "content_type",
        in->content_type);
    bool ok = known && json_object_update(rec, known) == 0;

    json_decref(known);
    /* Only a snapshot's record has these: the others stay as small as
     * they were. */
    if (ok && in->source[0] != '\0')
        ok = json_object_set_new(rec, "source", json_string(in->source)) ==
                 0 &&
             json_object_set_new(rec, "source_etag",
                                 json_string(in->source_etag)) == 0;
    return ok;
}

/* ---- the connection ----------------------------------------------------- */

static enum mc_err exec(sqlite3 *db, const char *sql)
{
    return sql_err(db, sqlite3_exec(db, sql, NULL, NULL, NULL));
}

static void close_db(struct mc__store *s)
{
    sqlite3_finalize(s->put);
    sqlite3_finalize(s->get);
    sqlite3_finalize(s->del);
    sqlite3_finalize(s->page);
    s->put = s->get = s->del = s->page = NULL;
    if (s->db)
        sqlite3_close(s->db);
    s->db = NULL;
}

/* Open (create with create) catalog.db; MC_ENOFILE when missing and not
 * create. Creating also makes .mmapd (fsyncing the data directory for it)
 * and fsyncs .mmapd once the file exists, so the new names survive a
 * crash; SQLite syncs the directory for the WAL it creates itself. */
static enum mc_err open_db(struct mc__store *s, bool create)
{
    int metafd = -1;
    bool created = false;
    enum mc_err rc;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

    rc = mc__sys_open_subdir(s->datafd, MC_RESERVED_DIR, create, &metafd,
                             &created);
    if (rc != MC_OK)
        return rc;
    if (created)
        rc = mc__sys_fsync(s->datafd);
    if (rc == MC_OK && !create) {
        uint64_t size = 0;
        rc = mc__sys_size_at(metafd, MC_STORE_FILE, &size);
    }
    if (rc != MC_OK)
        goto cleanup;
    if (create)
        flags |= SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(s->path, &s->db, flags, NULL) != SQLITE_OK) {
        rc = s->db ? sql_err(s->db, sqlite3_errcode(s->db)) : MC_ENOMEM;
        goto cleanup;
    }
    sqlite3_extended_result_codes(s->db, 1);
    /* Order matters: EXCLUSIVE before the first access keeps WAL off the
     * shared-memory file (see the top of this file). */
    rc = exec(s->db, "PRAGMA locking_mode=EXCLUSIVE;"
                     "PRAGMA journal_mode=WAL;"
                     "PRAGMA synchronous=FULL;"
                     /* A short log: it stays small on disk (reserve.c) and
                      * a checkpoint costs one more fsync per ~100 commits. */
                     "PRAGMA wal_autocheckpoint=128;"
                     "PRAGMA journal_size_limit=1048576;"
                     "CREATE TABLE IF NOT EXISTS mappings("
                     " name TEXT PRIMARY KEY NOT NULL,"
                     " record TEXT NOT NULL) WITHOUT ROWID;");
    if (rc == MC_OK &&
        (sqlite3_prepare_v3(s->db,
                            "INSERT OR REPLACE INTO mappings VALUES(?1, ?2)",
                            -1, SQLITE_PREPARE_PERSISTENT, &s->put,
                            NULL) != SQLITE_OK ||
         sqlite3_prepare_v3(s->db,
                            "SELECT record FROM mappings WHERE name = ?1", -1,
                            SQLITE_PREPARE_PERSISTENT, &s->get,
                            NULL) != SQLITE_OK ||
         sqlite3_prepare_v3(s->db, "DELETE FROM mappings WHERE name = ?1", -1,
                            SQLITE_PREPARE_PERSISTENT, &s->del,
                            NULL) != SQLITE_OK ||
         sqlite3_prepare_v3(s->db,
                            "SELECT name, record FROM mappings"
                            " WHERE name > ?1 AND name >= ?2"
                            " AND (?3 IS NULL OR name < ?3)"
                            " ORDER BY name LIMIT ?4",
                            -1, SQLITE_PREPARE_PERSISTENT, &s->page,
                            NULL) != SQLITE_OK))
        rc = sql_err(s->db, sqlite3_errcode(s->db));
    if (rc == MC_OK && create)
        rc = mc__sys_fsync(metafd);
    if (rc != MC_OK)
        close_db(s);
cleanup:
    mc__sys_close(metafd);
    return rc;
}

/* Run a statement that returns no rows to the end, then reset it. */
static enum mc_err step_done(struct mc__store *s, sqlite3_stmt *st)
{
    int r = sqlite3_step(st);
    enum mc_err rc = r == SQLITE_DONE ? MC_OK : sql_err(s->db, r);

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

/* ---- writing (callers hold s->lock) -------------------------------------- */

/* The row's record text for e: the stored record with the known members
 * replaced, or a new one. */
static enum mc_err record_text(struct mc__store *s, const struct mc_info *e,
                               char **out)
{
    json_t *rec = NULL;
    json_error_t err;
    enum mc_err rc = MC_OK;

    sqlite3_bind_text(s->get, 1, e->name, -1, SQLITE_STATIC);
    int r = sqlite3_step(s->get);
    if (r == SQLITE_ROW) {
        rec = json_loadb((const char *)sqlite3_column_text(s->get, 0),
                         (size_t)sqlite3_column_bytes(s->get, 0), 0, &err);
        if (rec && !json_is_object(rec)) {
            json_decref(rec);
            rec = NULL;
        }
    } else if (r != SQLITE_DONE) {
        rc = sql_err(s->db, r);
    }
    sqlite3_reset(s->get);
    sqlite3_clear_bindings(s->get);
    if (rc != MC_OK)
        return rc;
    if (!rec)
        rec = json_object();
    if (!rec || !fill_record(rec, e)) {
        json_decref(rec);
        return MC_ENOMEM;
    }
    *out = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(rec);
    return *out ? MC_OK : MC_ENOMEM;
}

static enum mc_err put_locked(struct mc__store *s, const struct mc_info *e)
{
    char *text = NULL;
    enum mc_err rc = record_text(s, e, &text);

    if (rc != MC_OK)
        return rc;
    sqlite3_bind_text(s->put, 1, e->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->put, 2, text, -1, SQLITE_STATIC);
    rc = step_done(s, s->put);
    free(text);
    return rc;
}

enum mc_err mc__store_put(struct mc__store *s, const struct mc_info *e,
                          size_t count)
{
    enum mc_err rc = MC_OK;

    if (atomic_load(&fail_writes))
        return MC_EIO;
    pthread_mutex_lock(&s->lock);
    if (!s->db)
        rc = open_db(s, true);
    /* One transaction, so a batch costs one fsync and lands whole. */
    if (rc == MC_OK && count > 1)
        rc = exec(s->db, "BEGIN");
    for (size_t i = 0; rc == MC_OK && i < count; i++)
        rc = put_locked(s, &e[i]);
    if (count > 1 && s->db && sqlite3_get_autocommit(s->db) == 0) {
        if (rc == MC_OK)
            rc = exec(s->db, "COMMIT");
        if (rc != MC_OK)
            (void)exec(s->db, "ROLLBACK");
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

enum mc_err mc__store_del(struct mc__store *s, const char *name)
{
    enum mc_err rc = MC_OK;

    if (atomic_load(&fail_writes))
        return MC_EIO;
    pthread_mutex_lock(&s->lock);
    if (s->db) {
        sqlite3_bind_text(s->del, 1, name, -1, SQLITE_STATIC);
        rc = step_done(s, s->del);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* ---- reading ------------------------------------------------------------ */

/* The least string greater than every string starting with prefix, into
 * hi (as long as prefix); false when there is none (all bytes 0xff). */
static bool prefix_bound(const char *prefix, char *hi)
{
    size_t n = strlen(prefix);

    memcpy(hi, prefix, n + 1);
    while (n > 0) {
        unsigned char c = (unsigned char)hi[n - 1];
        if (c < 0xff) {
            hi[n - 1] = (char)(c + 1);
            hi[n] = '\0';
            return true;
        }
        n--;
    }
    return false;
}

enum mc_err mc__store_page(struct mc__store *s, const char *prefix,
                           const char *after, size_t limit,
                           struct mc_info **out, size_t *count)
{
    struct mc_info *items = NULL;
    size_t n = 0;
    enum mc_err rc = MC_OK;
    char *hi = NULL;
    int r = SQLITE_DONE;

    *out = NULL;
    *count = 0;
    if (!prefix)
        prefix = "";
    if (!after)
        after = "";
    if (limit == 0)
        return MC_OK;
    hi = malloc(strlen(prefix) + 1);
    items = calloc(limit < 4096 ? limit : 4096, sizeof *items);
    size_t cap = limit < 4096 ? limit : 4096;
    if (!hi || !items) {
        free(hi);
        free(items);
        return MC_ENOMEM;
    }
    pthread_mutex_lock(&s->lock);
    if (!s->db)
        goto done; /* nothing persisted yet */
    sqlite3_bind_text(s->page, 1, after, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->page, 2, prefix, -1, SQLITE_STATIC);
    if (prefix[0] && prefix_bound(prefix, hi))
        sqlite3_bind_text(s->page, 3, hi, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s->page, 3);
    sqlite3_bind_int64(s->page, 4, (sqlite3_int64)limit);
    while ((r = sqlite3_step(s->page)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap * 2 < limit ? cap * 2 : limit;
            struct mc_info *grown = realloc(items, ncap * sizeof *items);
            if (!grown) {
                rc = MC_ENOMEM;
                break;
            }
            items = grown;
            cap = ncap;
        }
        if (!parse_row(sqlite3_column_text(s->page, 0),
                       sqlite3_column_bytes(s->page, 0),
                       sqlite3_column_text(s->page, 1),
                       sqlite3_column_bytes(s->page, 1), &items[n])) {
            rc = MC_ECORRUPT;
            break;
        }
        n++;
    }
    if (rc == MC_OK && r != SQLITE_DONE && r != SQLITE_ROW)
        rc = sql_err(s->db, r);
    sqlite3_reset(s->page);
    sqlite3_clear_bindings(s->page);
done:
    pthread_mutex_unlock(&s->lock);
    free(hi);
    if (rc != MC_OK || n == 0) {
        free(items);
        return rc;
    }
    *out = items;
    *count = n;
    return MC_OK;
}

enum mc_err mc__store_get(struct mc__store *s, const char *name,
                          struct mc_info *out)
{
    enum mc_err rc = MC_ENOTFOUND;

    pthread_mutex_lock(&s->lock);
    if (s->db) {
        sqlite3_bind_text(s->get, 1, name, -1, SQLITE_STATIC);
        int r = sqlite3_step(s->get);
        if (r == SQLITE_ROW)
            rc = parse_row((const unsigned char *)name, (int)strlen(name),
                           sqlite3_column_text(s->get, 0),
                           sqlite3_column_bytes(s->get, 0), out)
                     ? MC_OK
                     : MC_ECORRUPT;
        else if (r != SQLITE_DONE)
            rc = sql_err(s->db, r);
        sqlite3_reset(s->get);
        sqlite3_clear_bindings(s->get);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* ---- open, migrate, close ----------------------------------------------- */

/* Replace every row with the version 1 entries, in one transaction. */
static enum mc_err import_v1(struct mc__store *s, const struct mc_info *e,
                             size_t n)
{
    enum mc_err rc = exec(s->db, "BEGIN");

    if (rc == MC_OK)
        rc = exec(s->db, "DELETE FROM mappings");
    for (size_t i = 0; rc == MC_OK && i < n; i++)
        rc = put_locked(s, &e[i]);
    if (rc == MC_OK)
        rc = exec(s->db, "COMMIT");
    else
        (void)exec(s->db, "ROLLBACK");
    return rc;
}

static enum mc_err migrate(struct mc__store *s)
{
    struct mc_info *entries = NULL;
    size_t n = 0;
    int metafd = -1;
    bool created = false;
    enum mc_err rc = mc__migrate_load_v1(s->datafd, &entries, &n);

    if (rc == MC_ENOFILE)
        return MC_OK; /* nothing to migrate */
    if (rc != MC_OK)
        return rc;
    rc = open_db(s, true);
    if (rc == MC_OK)
        rc = import_v1(s, entries, n);
    if (rc == MC_OK)
        rc = mc__sys_open_subdir(s->datafd, MC_RESERVED_DIR, false, &metafd,
                                 &created);
    if (rc == MC_OK)
        rc = mc__sys_rename_sync(metafd, MC_CATALOG_V1_FILE, STORE_MIGRATED);
    mc__sys_close(metafd);
    free(entries);
    return rc;
}

enum mc_err mc__store_open(int datafd, const char *data_dir,
                           struct mc__store **out)
{
    struct mc__store *s = calloc(1, sizeof *s);
    enum mc_err rc = MC_ENOMEM;
    size_t len = strlen(data_dir) + sizeof("/" MC_RESERVED_DIR "/" MC_STORE_FILE);

    if (!s)
        return MC_ENOMEM;
    pthread_mutex_init(&s->lock, NULL);
    s->datafd = datafd;
    s->path = malloc(len);
    if (!s->path)
        goto fail;
    snprintf(s->path, len, "%s/%s/%s", data_dir, MC_RESERVED_DIR,
             MC_STORE_FILE);
    rc = migrate(s);
    if (rc == MC_OK && !s->db) {
        rc = open_db(s, false);
        if (rc == MC_ENOFILE)
            rc = MC_OK; /* a fresh data directory: created at the first put */
    }
    if (rc != MC_OK)
        goto fail;
    *out = s;
    return MC_OK;
fail:
    mc__store_close(s);
    return rc;
}

void mc__store_close(struct mc__store *s)
{
    if (!s)
        return;
    close_db(s);
    pthread_mutex_destroy(&s->lock);
    free(s->path);
    free(s);
}
