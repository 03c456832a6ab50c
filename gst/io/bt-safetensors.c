/* bt-safetensors.c - the safetensors format: an 8-byte little-endian header
 * length, a JSON header naming every tensor's dtype, shape and byte range,
 * then the data area. Copied into memory and validated completely before
 * any tensor is handed out; written for the command's outputs.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-safetensors.h"
#include "bt-file-private.h"
#include "bt-json.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The reference implementation refuses headers above 100 MB; so do we, so
 * that a hostile length cannot make the JSON parser eat the machine. */
#define MAX_HEADER_SIZE (100 * 1024 * 1024)
/* A valid header nests three deep (header, tensor, shape). */
#define MAX_HEADER_DEPTH 16

typedef struct {
  char *name;
  BtTensor tensor;
  guint64 begin, end;           /* within the data area */
} Entry;

struct _BtSafetensors {
  char *name;
  GBytes *bytes;                /* NULL when opened from caller's data */
  const guint8 *data;
  gsize size;
  Entry *entries;               /* by data offset */
  guint n_entries;
  GHashTable *index;            /* name -> Entry* */
  GHashTable *metadata;         /* key -> value, both owned */
};

static gboolean
fail (GError **error, BtError code, const char *name, const char *fmt, ...)
  G_GNUC_PRINTF (4, 5);

static gboolean
fail (GError **error, BtError code, const char *name, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, BT_ERROR, code, "%s: %s", name, msg);
  return FALSE;
}

/* ---- duplicate member detection ------------------------------------------
 * JsonParser keeps the last of two equal member names without a word; a
 * header that names a tensor twice is ambiguous, so we watch the parser. */

typedef struct {
  GHashTable *seen;             /* JsonObject* -> GHashTable of names */
  char *duplicate;
} DupWatch;

static void
on_object_member (JsonParser *parser, JsonObject *object, const char *member,
                  gpointer user_data)
{
  DupWatch *w = user_data;
  (void) parser;
  if (w->duplicate)
    return;
  GHashTable *names = g_hash_table_lookup (w->seen, object);
  if (!names) {
    names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    g_hash_table_insert (w->seen, object, names);
  }
  if (!g_hash_table_add (names, g_strdup (member)))
    w->duplicate = g_strdup (member);
}

/* ---- parsing ------------------------------------------------------------- */

static gboolean
get_u64 (JsonNode *node, guint64 *out)
{
  if (!node || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  gint64 v = json_node_get_int (node);
  if (v < 0)
    return FALSE;
  *out = (guint64) v;
  return TRUE;
}

static int
compare_entries_by_offset (const void *a, const void *b)
{
  const Entry *ea = a, *eb = b;
  if (ea->begin != eb->begin)
    return ea->begin < eb->begin ? -1 : 1;
  if (ea->end != eb->end)
    return ea->end < eb->end ? -1 : 1;
  return 0;
}

static gboolean
parse_entry (BtSafetensors *st, Entry *e, const char *tname, JsonNode *node,
             guint64 data_size, GError **error)
{
  const char *name = st->name;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail (error, BT_ERROR_FORMAT, name,
                 "header entry \"%s\" is not an object", tname);
  JsonObject *obj = json_node_get_object (node);

  JsonNode *dtype_node = json_object_get_member (obj, "dtype");
  if (!dtype_node || !JSON_NODE_HOLDS_VALUE (dtype_node)
      || json_node_get_value_type (dtype_node) != G_TYPE_STRING)
    return fail (error, BT_ERROR_FORMAT, name,
                 "tensor \"%s\" has no dtype string", tname);
  const char *dtype_name = json_node_get_string (dtype_node);
  if (!bt_dtype_from_name (dtype_name, &e->tensor.dtype))
    return fail (error, BT_ERROR_FORMAT, name,
                 "tensor \"%s\" has unknown dtype \"%s\"", tname, dtype_name);

  JsonNode *shape_node = json_object_get_member (obj, "shape");
  if (!shape_node || !JSON_NODE_HOLDS_ARRAY (shape_node))
    return fail (error, BT_ERROR_FORMAT, name,
                 "tensor \"%s\" has no shape array", tname);
  JsonArray *shape = json_node_get_array (shape_node);
  guint ndim = json_array_get_length (shape);
  if (ndim > BT_MAX_DIMS)
    return fail (error, BT_ERROR_UNSUPPORTED, name,
                 "tensor \"%s\" has %u dimensions (at most %d supported)",
                 tname, ndim, BT_MAX_DIMS);
  e->tensor.ndim = (int) ndim;

  /* the byte size, computed with overflow checks: a shape too big for the
   * file cannot match its byte range anyway */
  guint64 nbytes = bt_dtype_size (e->tensor.dtype);
  gboolean overflow = FALSE;
  for (guint i = 0; i < ndim; i++) {
    guint64 dim;
    if (!get_u64 (json_array_get_element (shape, i), &dim))
      return fail (error, BT_ERROR_FORMAT, name,
                   "tensor \"%s\" has a shape entry that is not a "
                   "non-negative integer", tname);
    e->tensor.shape[i] = (gint64) dim;
    if (dim != 0 && nbytes > G_MAXUINT64 / dim)
      overflow = TRUE;
    else
      nbytes *= dim;
  }
  if (overflow) {
    /* a zero dim later in the shape makes the product 0 after all */
    gboolean has_zero = FALSE;
    for (guint i = 0; i < ndim; i++)
      has_zero |= e->tensor.shape[i] == 0;
    if (!has_zero)
      return fail (error, BT_ERROR_FORMAT, name,
                   "tensor \"%s\" has a shape too large to address", tname);
    nbytes = 0;
  }

  JsonNode *offs_node = json_object_get_member (obj, "data_offsets");
  if (!offs_node || !JSON_NODE_HOLDS_ARRAY (offs_node)
      || json_array_get_length (json_node_get_array (offs_node)) != 2
      || !get_u64 (json_array_get_element (json_node_get_array (offs_node), 0),
                   &e->begin)
      || !get_u64 (json_array_get_element (json_node_get_array (offs_node), 1),
                   &e->end))
    return fail (error, BT_ERROR_FORMAT, name,
                 "tensor \"%s\" has no data_offsets [begin, end]", tname);
  if (e->begin > e->end)
    return fail (error, BT_ERROR_FORMAT, name,
                 "tensor \"%s\" data_offsets [%" G_GUINT64_FORMAT ", %"
                 G_GUINT64_FORMAT "] end before they begin", tname, e->begin,
                 e->end);
  if (e->end > data_size)
    return fail (error, BT_ERROR_TRUNCATED, name,
                 "tensor \"%s\" data_offsets [%" G_GUINT64_FORMAT ", %"
                 G_GUINT64_FORMAT "] lie outside the data area of %"
                 G_GUINT64_FORMAT " bytes", tname, e->begin, e->end, data_size);
  if (e->end - e->begin != nbytes) {
    g_autofree char *s = bt_tensor_shape_string (&e->tensor);
    return fail (error, BT_ERROR_FORMAT, name,
                 "tensor \"%s\" (%s %s) needs %" G_GUINT64_FORMAT
                 " bytes but its data_offsets span %" G_GUINT64_FORMAT, tname,
                 bt_dtype_name (e->tensor.dtype), s, nbytes, e->end - e->begin);
  }
  e->name = g_strdup (tname);
  return TRUE;
}

static gboolean
parse_metadata (BtSafetensors *st, JsonNode *node, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail (error, BT_ERROR_FORMAT, st->name,
                 "__metadata__ is not an object");
  JsonObject *obj = json_node_get_object (node);
  g_autoptr (GList) members = json_object_get_members (obj);
  for (GList *l = members; l; l = l->next) {
    JsonNode *v = json_object_get_member (obj, l->data);
    if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING)
      return fail (error, BT_ERROR_FORMAT, st->name,
                   "__metadata__ value \"%s\" is not a string",
                   (const char *) l->data);
    g_hash_table_insert (st->metadata, g_strdup (l->data),
                         g_strdup (json_node_get_string (v)));
  }
  return TRUE;
}

static gboolean
parse (BtSafetensors *st, GError **error)
{
  const char *name = st->name;

  if (st->size < 8)
    return fail (error, BT_ERROR_TRUNCATED, name,
                 "file of %" G_GSIZE_FORMAT " bytes is too short for a "
                 "safetensors header", st->size);
  guint64 header_len = 0;
  for (int i = 7; i >= 0; i--)
    header_len = (header_len << 8) | st->data[i];
  if (header_len > st->size - 8)
    return fail (error, BT_ERROR_TRUNCATED, name,
                 "header length %" G_GUINT64_FORMAT " runs past the end of "
                 "the file (%" G_GSIZE_FORMAT " bytes)", header_len, st->size);
  if (header_len > MAX_HEADER_SIZE)
    return fail (error, BT_ERROR_FORMAT, name,
                 "header length %" G_GUINT64_FORMAT " exceeds %d bytes",
                 header_len, MAX_HEADER_SIZE);
  if (header_len < 2 || st->data[8] != '{')
    return fail (error, BT_ERROR_FORMAT, name,
                 "header is not a JSON object");

  const char *header = (const char *) st->data + 8;
  if (memchr (header, '\0', header_len))
    return fail (error, BT_ERROR_FORMAT, name, "header contains a NUL byte");
  if (!bt_json_depth_within (header, header_len, MAX_HEADER_DEPTH))
    return fail (error, BT_ERROR_FORMAT, name,
                 "header nests deeper than %d levels", MAX_HEADER_DEPTH);

  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  DupWatch watch = {
    .seen = g_hash_table_new_full (NULL, NULL, NULL,
                                   (GDestroyNotify) g_hash_table_unref),
  };
  g_signal_connect (parser, "object-member", G_CALLBACK (on_object_member),
                    &watch);
  g_autoptr (GError) json_error = NULL;
  gboolean parsed = json_parser_load_from_data (parser, header,
                                                (gssize) header_len,
                                                &json_error);
  g_hash_table_destroy (watch.seen);
  g_autofree char *duplicate = watch.duplicate;
  if (!parsed)
    return fail (error, BT_ERROR_FORMAT, name, "header is not valid JSON: %s",
                 json_error->message);
  if (duplicate)
    return fail (error, BT_ERROR_FORMAT, name,
                 "header names \"%s\" more than once", duplicate);
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root))
    return fail (error, BT_ERROR_FORMAT, name, "header is not a JSON object");

  JsonObject *obj = json_node_get_object (root);
  guint64 data_size = st->size - 8 - header_len;
  g_autoptr (GList) members = json_object_get_members (obj);
  guint n_members = g_list_length (members);
  st->entries = g_new0 (Entry, MAX (n_members, 1));
  for (GList *l = members; l; l = l->next) {
    const char *tname = l->data;
    JsonNode *node = json_object_get_member (obj, tname);
    if (strcmp (tname, "__metadata__") == 0) {
      if (!parse_metadata (st, node, error))
        return FALSE;
      continue;
    }
    Entry *e = &st->entries[st->n_entries];
    if (!parse_entry (st, e, tname, node, data_size, error))
      return FALSE;
    st->n_entries++;
  }

  /* every byte of the data area belongs to exactly one tensor, as the format
   * demands: no overlaps, and no holes to hide other content in */
  qsort (st->entries, st->n_entries, sizeof (Entry), compare_entries_by_offset);
  guint64 pos = 0;
  for (guint i = 0; i < st->n_entries; i++) {
    Entry *e = &st->entries[i];
    if (e->begin < pos)
      return fail (error, BT_ERROR_FORMAT, name,
                   "tensor \"%s\" [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                   "] overlaps \"%s\"", e->name, e->begin, e->end,
                   st->entries[i - 1].name);
    if (e->begin > pos)
      return fail (error, BT_ERROR_FORMAT, name,
                   "bytes [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                   ") of the data area belong to no tensor", pos, e->begin);
    pos = e->end;
  }
  if (pos != data_size)
    return fail (error, BT_ERROR_FORMAT, name,
                 "the data area has %" G_GUINT64_FORMAT " bytes but the "
                 "tensors cover %" G_GUINT64_FORMAT, data_size, pos);

  const guint8 *base = st->data + 8 + header_len;
  for (guint i = 0; i < st->n_entries; i++) {
    Entry *e = &st->entries[i];
    e->tensor.data = (void *) (base + e->begin);
    g_hash_table_insert (st->index, e->name, e);
  }
  return TRUE;
}

static BtSafetensors *
new_reader (const char *name)
{
  BtSafetensors *st = g_new0 (BtSafetensors, 1);
  st->name = g_strdup (name);
  st->index = g_hash_table_new (g_str_hash, g_str_equal);
  st->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return st;
}

BtSafetensors *
bt_safetensors_open_from_data (const guint8 *data, gsize size,
                               const char *name, GError **error)
{
  g_return_val_if_fail (data != NULL || size == 0, NULL);
  BtSafetensors *st = new_reader (name ? name : "(memory)");
  st->data = data;
  st->size = size;
  if (!parse (st, error)) {
    bt_safetensors_free (st);
    return NULL;
  }
  return st;
}

BtSafetensors *
bt_safetensors_open (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  GBytes *bytes = bt_file_read_private (path, error);
  if (!bytes)
    return NULL;
  BtSafetensors *st = new_reader (path);
  st->bytes = bytes;
  st->data = g_bytes_get_data (bytes, &st->size);
  if (!parse (st, error)) {
    bt_safetensors_free (st);
    return NULL;
  }
  return st;
}

void
bt_safetensors_free (BtSafetensors *st)
{
  if (!st)
    return;
  for (guint i = 0; i < st->n_entries; i++)
    g_free (st->entries[i].name);
  g_free (st->entries);
  g_hash_table_destroy (st->index);
  g_hash_table_destroy (st->metadata);
  if (st->bytes)
    g_bytes_unref (st->bytes);
  g_free (st->name);
  g_free (st);
}

guint
bt_safetensors_n_tensors (const BtSafetensors *st)
{
  return st->n_entries;
}

const char *
bt_safetensors_nth_name (const BtSafetensors *st, guint i)
{
  g_return_val_if_fail (i < st->n_entries, NULL);
  return st->entries[i].name;
}

const BtTensor *
bt_safetensors_lookup (const BtSafetensors *st, const char *name)
{
  Entry *e = g_hash_table_lookup (st->index, name);
  return e ? &e->tensor : NULL;
}

const char *
bt_safetensors_metadata (const BtSafetensors *st, const char *key)
{
  return g_hash_table_lookup (st->metadata, key);
}

/* ---- writing ------------------------------------------------------------- */

typedef struct {
  const char *name;
  const BtTensor *tensor;
  guint order;
} WriteItem;

static int
compare_write_items (const void *a, const void *b)
{
  const WriteItem *wa = a, *wb = b;
  gsize sa = bt_dtype_size (wa->tensor->dtype);
  gsize sb = bt_dtype_size (wb->tensor->dtype);
  if (sa != sb)
    return sa > sb ? -1 : 1;
  return wa->order < wb->order ? -1 : wa->order > wb->order;
}

gboolean
bt_safetensors_write (const char *path, const BtTensorSet *set, GError **error)
{
  g_return_val_if_fail (path != NULL && set != NULL, FALSE);

  guint n = bt_tensor_set_size (set);
  g_autofree WriteItem *items = g_new0 (WriteItem, MAX (n, 1));
  for (guint i = 0; i < n; i++) {
    items[i].tensor = bt_tensor_set_nth (set, i, &items[i].name);
    items[i].order = i;
  }
  /* larger elements first keeps every tensor aligned to its element size,
   * given that the data area starts 8-aligned */
  qsort (items, n, sizeof (WriteItem), compare_write_items);

  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  guint64 offset = 0;
  for (guint i = 0; i < n; i++) {
    const BtTensor *t = items[i].tensor;
    json_builder_set_member_name (b, items[i].name);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "dtype");
    json_builder_add_string_value (b, bt_dtype_name (t->dtype));
    json_builder_set_member_name (b, "shape");
    json_builder_begin_array (b);
    for (int d = 0; d < t->ndim; d++)
      json_builder_add_int_value (b, t->shape[d]);
    json_builder_end_array (b);
    json_builder_set_member_name (b, "data_offsets");
    json_builder_begin_array (b);
    json_builder_add_int_value (b, (gint64) offset);
    offset += bt_tensor_nbytes (t);
    json_builder_add_int_value (b, (gint64) offset);
    json_builder_end_array (b);
    json_builder_end_object (b);
  }
  json_builder_end_object (b);

  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree char *json = bt_json_to_string (root, FALSE);
  gsize json_len = strlen (json);

  /* pad with spaces (allowed trailing JSON whitespace) so that the data area
   * starts 8-byte aligned */
  gsize header_len = (json_len + 7) & ~(gsize) 7;
  guint8 prefix[8];
  for (int i = 0; i < 8; i++)
    prefix[i] = (guint8) ((guint64) header_len >> (8 * i));

  g_autofree char *tmp_path = g_strdup_printf ("%s.tmp-XXXXXX", path);
  /* 0666 less the umask, as any new file: g_mkstemp's 0600 would leave
   * outputs unreadable to the group */
  int fd = g_mkstemp_full (tmp_path, O_RDWR, 0666);
  if (fd < 0) {
    int saved = errno;
    g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s: cannot create: %s", path,
                 g_strerror (saved));
    return FALSE;
  }
  FILE *f = fdopen (fd, "wb");
  gboolean ok = f != NULL;
  ok = ok && fwrite (prefix, 1, 8, f) == 8;
  ok = ok && fwrite (json, 1, json_len, f) == json_len;
  for (gsize i = json_len; ok && i < header_len; i++)
    ok = fputc (' ', f) != EOF;
  for (guint i = 0; ok && i < n; i++) {
    gsize nb = bt_tensor_nbytes (items[i].tensor);
    ok = nb == 0 || fwrite (items[i].tensor->data, 1, nb, f) == nb;
  }
  int saved = errno;
  if (f) {
    if (fclose (f) != 0 && ok) {
      ok = FALSE;
      saved = errno;
    }
  } else {
    close (fd);
  }
  if (ok && g_rename (tmp_path, path) != 0) {
    ok = FALSE;
    saved = errno;
  }
  if (!ok) {
    g_unlink (tmp_path);
    g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s: cannot write: %s", path,
                 g_strerror (saved));
  }
  return ok;
}
