/* bt-search-store.c - `search --keep-features`: the image features of every
 * scored frame in an SQLite file, so that a later search of the same video
 * with other queries needs no decoding and no vision tower.
 *
 * Mode itc needs the ITC embedding of a frame only (contrastive_hidden_size
 * floats); itm and auto need the whole features the cross-modal encoder
 * reads (docs/search.md gives the sizes). Blobs are the floats in the
 * machine's byte order: a store is a cache for this machine.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-search.h"

#ifdef BT_HAVE_SQLITE

#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

/* bump when the layout of the blobs or the tables changes */
#define STORE_FORMAT "bridgetower-features-1"

struct _BtSearchStore {
  sqlite3 *db;
  char *path;
  gint64 video_id;             /* of the video being kept, or -1 */
  gboolean full;
  sqlite3_stmt *insert;
};

static const char *const schema =
  "PRAGMA journal_mode=WAL;"
  "CREATE TABLE IF NOT EXISTS store (key TEXT PRIMARY KEY, value TEXT);"
  "CREATE TABLE IF NOT EXISTS videos (id INTEGER PRIMARY KEY,"
  " path TEXT NOT NULL, sampling TEXT NOT NULL, size INTEGER, mtime INTEGER,"
  " full INTEGER, duration INTEGER, complete INTEGER DEFAULT 0,"
  " UNIQUE (path, sampling));"
  "CREATE TABLE IF NOT EXISTS frames (video INTEGER NOT NULL, time INTEGER"
  " NOT NULL, n_tokens INTEGER, itc BLOB, features BLOB,"
  " PRIMARY KEY (video, time));";

static gboolean
db_fail (BtSearchStore *s, GError **error)
{
  g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s: %s", s->path,
               sqlite3_errmsg (s->db));
  return FALSE;
}

static gboolean
exec (BtSearchStore *s, const char *sql, GError **error)
{
  return sqlite3_exec (s->db, sql, NULL, NULL, NULL) == SQLITE_OK
      || db_fail (s, error);
}

/* The store's value for `key`, set to `value` when it has none. */
static char *
store_value (BtSearchStore *s, const char *key, const char *value,
             GError **error)
{
  sqlite3_stmt *st = NULL;
  char *out = NULL;

  if (sqlite3_prepare_v2 (s->db, "INSERT OR IGNORE INTO store VALUES (?, ?);"
                          , -1, &st, NULL) != SQLITE_OK)
    goto fail;
  sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, value, -1, SQLITE_STATIC);
  if (sqlite3_step (st) != SQLITE_DONE)
    goto fail;
  sqlite3_finalize (st);
  if (sqlite3_prepare_v2 (s->db, "SELECT value FROM store WHERE key = ?;", -1,
                          &st, NULL) != SQLITE_OK)
    goto fail;
  sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
  if (sqlite3_step (st) != SQLITE_ROW)
    goto fail;
  out = g_strdup ((const char *) sqlite3_column_text (st, 0));
  sqlite3_finalize (st);
  return out;

fail:
  db_fail (s, error);
  sqlite3_finalize (st);
  return NULL;
}

BtSearchStore *
bt_search_store_open (const char *path, const char *model_dir,
                      const char *precision, GError **error)
{
  BtSearchStore *s = g_new0 (BtSearchStore, 1);
  g_autofree char *model = realpath (model_dir, NULL);
  g_autofree char *format = NULL;
  g_autofree char *stored_model = NULL;
  g_autofree char *stored_precision = NULL;

  s->path = g_strdup (path);
  s->video_id = -1;
  if (!model)
    model = g_strdup (model_dir);
  if (sqlite3_open (path, &s->db) != SQLITE_OK) {
    db_fail (s, error);
    goto fail;
  }
  sqlite3_busy_timeout (s->db, 5000);
  if (!exec (s, schema, error)
      || !(format = store_value (s, "format", STORE_FORMAT, error))
      || !(stored_model = store_value (s, "model", model, error))
      || !(stored_precision = store_value (s, "precision", precision, error)))
    goto fail;
  if (strcmp (format, STORE_FORMAT) != 0) {
    g_set_error (error, BT_ERROR, BT_ERROR_FORMAT,
                 "%s: not a feature store of this version (%s)", path, format);
    goto fail;
  }
  if (strcmp (stored_model, model) != 0
      || strcmp (stored_precision, precision) != 0) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                 "%s keeps the features of %s (%s), not of %s (%s): use "
                 "another store file", path, stored_model, stored_precision,
                 model, precision);
    goto fail;
  }
  return s;

fail:
  bt_search_store_close (s);
  return NULL;
}

void
bt_search_store_close (BtSearchStore *s)
{
  if (!s)
    return;
  sqlite3_finalize (s->insert);
  sqlite3_close (s->db);
  g_free (s->path);
  g_free (s);
}

/* Size and mtime of the video file: a changed file is not served from the
 * store (URIs that are not files: 0, 0). */
static void
file_stamp (const char *video, gint64 *size, gint64 *mtime)
{
  struct stat st;

  *size = *mtime = 0;
  if (stat (video, &st) == 0) {
    *size = st.st_size;
    *mtime = st.st_mtime;
  }
}

gboolean
bt_search_store_begin (BtSearchStore *s, const char *video,
                       const char *sampling, gboolean full, GError **error)
{
  sqlite3_stmt *st = NULL;
  gint64 size, mtime;

  file_stamp (video, &size, &mtime);
  if (!exec (s, "BEGIN;", error))
    return FALSE;
  if (sqlite3_prepare_v2 (s->db,
                          "DELETE FROM frames WHERE video IN (SELECT id FROM"
                          " videos WHERE path = ?1 AND sampling = ?2);"
                          , -1, &st, NULL) != SQLITE_OK)
    goto fail;
  sqlite3_bind_text (st, 1, video, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, sampling, -1, SQLITE_STATIC);
  if (sqlite3_step (st) != SQLITE_DONE)
    goto fail;
  sqlite3_finalize (st);
  if (sqlite3_prepare_v2 (s->db,
                          "INSERT OR REPLACE INTO videos (path, sampling, size,"
                          " mtime, full, complete) VALUES (?, ?, ?, ?, ?, 0);"
                          , -1, &st, NULL) != SQLITE_OK)
    goto fail;
  sqlite3_bind_text (st, 1, video, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, sampling, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 3, size);
  sqlite3_bind_int64 (st, 4, mtime);
  sqlite3_bind_int (st, 5, full);
  if (sqlite3_step (st) != SQLITE_DONE)
    goto fail;
  sqlite3_finalize (st);
  s->video_id = sqlite3_last_insert_rowid (s->db);
  s->full = full;
  if (!s->insert && sqlite3_prepare_v2 (s->db,
                                        "INSERT OR REPLACE INTO frames VALUES"
                                        " (?, ?, ?, ?, ?);", -1, &s->insert,
                                        NULL) != SQLITE_OK)
    return db_fail (s, error);
  return TRUE;

fail:
  db_fail (s, error);
  sqlite3_finalize (st);
  exec (s, "ROLLBACK;", NULL);
  return FALSE;
}

gboolean
bt_search_store_add (BtSearchStore *s, gint64 time,
                     const BtImageFeatures *features, GError **error)
{
  BtModel *model = bt_image_features_get_model (features);
  const float *itc = bt_image_features_get_itc (features);
  int dim = bt_model_get_config (model)->contrastive_hidden_size;
  int n_tokens = 0;
  gsize n_floats = 0;
  const float *data = bt_image_features_get_data (features, &n_tokens,
                                                  &n_floats);

  sqlite3_reset (s->insert);
  sqlite3_bind_int64 (s->insert, 1, s->video_id);
  sqlite3_bind_int64 (s->insert, 2, time);
  sqlite3_bind_int (s->insert, 3, n_tokens);
  if (itc)
    sqlite3_bind_blob (s->insert, 4, itc, dim * (int) sizeof (float),
                       SQLITE_STATIC);
  else
    sqlite3_bind_null (s->insert, 4);
  if (s->full)
    sqlite3_bind_blob64 (s->insert, 5, data, n_floats * sizeof (float),
                         SQLITE_STATIC);
  else
    sqlite3_bind_null (s->insert, 5);
  return sqlite3_step (s->insert) == SQLITE_DONE || db_fail (s, error);
}

gboolean
bt_search_store_end (BtSearchStore *s, gboolean complete, gint64 duration,
                     GError **error)
{
  g_autofree char *sql = g_strdup_printf ("UPDATE videos SET complete = 1,"
                                          " duration = %" G_GINT64_FORMAT
                                          " WHERE id = %" G_GINT64_FORMAT ";"
                                          " COMMIT;", duration, s->video_id);

  s->video_id = -1;
  if (!complete)
    return exec (s, "ROLLBACK;", error);
  if (!exec (s, sql, error)) {
    exec (s, "ROLLBACK;", NULL);
    return FALSE;
  }
  return TRUE;
}

gboolean
bt_search_store_replay (BtSearchStore *s, BtModel *model, const char *video,
                        const char *sampling, gboolean need_full,
                        gint64 *duration, BtSearchStoreFrameFunc frame,
                        gpointer user_data, GError **error)
{
  sqlite3_stmt *st = NULL;
  gint64 size, mtime, id;
  gboolean ok = TRUE;
  int rc;

  file_stamp (video, &size, &mtime);
  if (sqlite3_prepare_v2 (s->db,
                          "SELECT id, duration, full FROM videos WHERE path = ?"
                          " AND sampling = ? AND size = ? AND mtime = ? AND"
                          " complete = 1;", -1, &st, NULL) != SQLITE_OK)
    return db_fail (s, error);
  sqlite3_bind_text (st, 1, video, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, sampling, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 3, size);
  sqlite3_bind_int64 (st, 4, mtime);
  rc = sqlite3_step (st);
  if (rc != SQLITE_ROW || (need_full && !sqlite3_column_int (st, 2))) {
    sqlite3_finalize (st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? FALSE : db_fail (s, error);
  }
  id = sqlite3_column_int64 (st, 0);
  *duration = sqlite3_column_int64 (st, 1);
  sqlite3_finalize (st);

  if (sqlite3_prepare_v2 (s->db,
                          "SELECT time, n_tokens, itc, features FROM frames"
                          " WHERE video = ? ORDER BY time;", -1, &st, NULL)
      != SQLITE_OK)
    return db_fail (s, error);
  sqlite3_bind_int64 (st, 1, id);
  while (ok && (rc = sqlite3_step (st)) == SQLITE_ROW) {
    g_autoptr (BtImageFeatures) f = NULL;

    /* whole features when kept, whatever the mode needs */
    if (sqlite3_column_type (st, 3) == SQLITE_BLOB)
      f = bt_image_features_new_from_data (model, sqlite3_column_int (st, 1),
                                           sqlite3_column_blob (st, 3),
                                           sqlite3_column_bytes (st, 3)
                                           / sizeof (float), error);
    else
      f = bt_image_features_new_itc_only (model, sqlite3_column_blob (st, 2),
                                          sqlite3_column_bytes (st, 2)
                                          / sizeof (float), error);
    ok = f && frame (sqlite3_column_int64 (st, 0), f, user_data, error);
  }
  if (ok && rc != SQLITE_DONE)
    ok = db_fail (s, error);
  sqlite3_finalize (st);
  return ok;
}

#else /* !BT_HAVE_SQLITE */

BtSearchStore *
bt_search_store_open (const char *path, const char *model_dir,
                      const char *precision, GError **error)
{
  (void) model_dir;
  (void) precision;
  g_set_error (error, BT_ERROR, BT_ERROR_UNSUPPORTED,
               "%s: this build has no feature store (SQLite was not found at "
               "build time)", path);
  return NULL;
}

void
bt_search_store_close (BtSearchStore *store)
{
  (void) store;
}

gboolean
bt_search_store_begin (BtSearchStore *store, const char *video,
                       const char *sampling, gboolean full, GError **error)
{
  (void) store, (void) video, (void) sampling, (void) full, (void) error;
  return FALSE;
}

gboolean
bt_search_store_add (BtSearchStore *store, gint64 time,
                     const BtImageFeatures *features, GError **error)
{
  (void) store, (void) time, (void) features, (void) error;
  return FALSE;
}

gboolean
bt_search_store_end (BtSearchStore *store, gboolean complete, gint64 duration,
                     GError **error)
{
  (void) store, (void) complete, (void) duration, (void) error;
  return FALSE;
}

gboolean
bt_search_store_replay (BtSearchStore *store, BtModel *model,
                        const char *video, const char *sampling,
                        gboolean need_full, gint64 *duration,
                        BtSearchStoreFrameFunc frame, gpointer user_data,
                        GError **error)
{
  (void) store, (void) model, (void) video, (void) sampling;
  (void) need_full, (void) duration, (void) frame, (void) user_data;
  (void) error;
  return FALSE;
}

#endif
