/* bt-checkpoint.c - the weights of a model folder as one sorted name table,
 * whatever files they come from: model.safetensors, pytorch_model.bin, or
 * shards of either listed by an *.index.json.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-checkpoint.h"
#include "bt-json.h"
#include "bt-safetensors.h"
#include "bt-torchbin.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  char *path;
  BtSafetensors *st;
  BtTorchBin *tb;
} WeightFile;

typedef struct {
  const char *name;             /* owned by the weight file */
  const BtTensor *raw;
  const WeightFile *file;
  BtTensor f32;
  gpointer f32_ready;           /* set atomically once f32 is filled in */
} Entry;

struct _BtCheckpoint {
  char *path;
  GPtrArray *files;             /* WeightFile* */
  Entry *entries;               /* sorted by name */
  guint n_entries;
  GMutex convert_lock;
  GPtrArray *converted;         /* float buffers we own */
};

static const char *const folder_candidates[] = {
  "model.safetensors",
  "model.safetensors.index.json",
  "pytorch_model.bin",
  "pytorch_model.bin.index.json",
};

static void
weight_file_free (gpointer p)
{
  WeightFile *f = p;
  bt_safetensors_free (f->st);
  bt_torchbin_free (f->tb);
  g_free (f->path);
  g_free (f);
}

static guint
weight_file_n_tensors (const WeightFile *f)
{
  return f->st ? bt_safetensors_n_tensors (f->st) : bt_torchbin_n_tensors (f->tb);
}

static const char *
weight_file_nth (const WeightFile *f, guint i, const BtTensor **tensor)
{
  if (f->st) {
    const char *name = bt_safetensors_nth_name (f->st, i);
    *tensor = bt_safetensors_lookup (f->st, name);
    return name;
  }
  return bt_torchbin_nth (f->tb, i, tensor);
}

static gboolean
is_torch_zip (const char *path)
{
  if (g_str_has_suffix (path, ".bin") || g_str_has_suffix (path, ".pt")
      || g_str_has_suffix (path, ".pth"))
    return TRUE;
  if (g_str_has_suffix (path, ".safetensors"))
    return FALSE;
  /* otherwise sniff: a zip starts with a local file header */
  char magic[4] = { 0 };
  FILE *f = fopen (path, "rb");
  if (!f)
    return FALSE;
  gboolean zip = fread (magic, 1, 4, f) == 4 && memcmp (magic, "PK\3\4", 4) == 0;
  fclose (f);
  return zip;
}

static WeightFile *
weight_file_open (const char *path, GError **error)
{
  WeightFile *f = g_new0 (WeightFile, 1);
  f->path = g_strdup (path);
  if (is_torch_zip (path))
    f->tb = bt_torchbin_open (path, error);
  else
    f->st = bt_safetensors_open (path, error);
  if (!f->st && !f->tb) {
    weight_file_free (f);
    return NULL;
  }
  return f;
}

/* Shard names come from a file we did not write: keep them inside the
 * folder. */
static gboolean
is_plain_file_name (const char *name)
{
  return name[0] != '\0' && strchr (name, '/') == NULL
         && strchr (name, '\\') == NULL && strcmp (name, ".") != 0
         && strcmp (name, "..") != 0;
}

static int
compare_entries (const void *a, const void *b)
{
  return strcmp (((const Entry *) a)->name, ((const Entry *) b)->name);
}

static gboolean
build_table (BtCheckpoint *ckpt, GError **error)
{
  guint total = 0;
  for (guint i = 0; i < ckpt->files->len; i++)
    total += weight_file_n_tensors (g_ptr_array_index (ckpt->files, i));
  ckpt->entries = g_new0 (Entry, MAX (total, 1));
  for (guint i = 0; i < ckpt->files->len; i++) {
    const WeightFile *f = g_ptr_array_index (ckpt->files, i);
    guint n = weight_file_n_tensors (f);
    for (guint j = 0; j < n; j++) {
      Entry *e = &ckpt->entries[ckpt->n_entries++];
      e->name = weight_file_nth (f, j, &e->raw);
      e->file = f;
    }
  }
  qsort (ckpt->entries, ckpt->n_entries, sizeof (Entry), compare_entries);
  for (guint i = 1; i < ckpt->n_entries; i++) {
    if (strcmp (ckpt->entries[i - 1].name, ckpt->entries[i].name) == 0) {
      g_set_error (error, BT_ERROR, BT_ERROR_FORMAT,
                   "%s: tensor \"%s\" is stored twice (%s and %s)", ckpt->path,
                   ckpt->entries[i].name, ckpt->entries[i - 1].file->path,
                   ckpt->entries[i].file->path);
      return FALSE;
    }
  }
  return TRUE;
}

static Entry *
find (const BtCheckpoint *ckpt, const char *name)
{
  Entry key = { .name = name };
  return bsearch (&key, ckpt->entries, ckpt->n_entries, sizeof (Entry),
                  compare_entries);
}

static gboolean
open_index (BtCheckpoint *ckpt, const char *index_path, GError **error)
{
  g_autoptr (JsonNode) root = bt_json_load_object (index_path, error);
  if (!root)
    return FALSE;
  JsonNode *map_node = json_object_get_member (json_node_get_object (root),
                                               "weight_map");
  if (!map_node || !JSON_NODE_HOLDS_OBJECT (map_node)) {
    g_set_error (error, BT_ERROR, BT_ERROR_FORMAT,
                 "%s: no \"weight_map\" object", index_path);
    return FALSE;
  }
  JsonObject *map = json_node_get_object (map_node);
  g_autofree char *dir = g_path_get_dirname (index_path);
  g_autoptr (GHashTable) shards = g_hash_table_new (g_str_hash, g_str_equal);

  g_autoptr (GList) names = json_object_get_members (map);
  for (GList *l = names; l; l = l->next) {
    JsonNode *v = json_object_get_member (map, l->data);
    const char *shard = JSON_NODE_HOLDS_VALUE (v)
        && json_node_get_value_type (v) == G_TYPE_STRING
        ? json_node_get_string (v) : NULL;
    if (!shard || !is_plain_file_name (shard)) {
      g_set_error (error, BT_ERROR, BT_ERROR_FORMAT,
                   "%s: weight_map entry \"%s\" does not name a file in the "
                   "folder", index_path, (const char *) l->data);
      return FALSE;
    }
    WeightFile *f = g_hash_table_lookup (shards, shard);
    if (!f) {
      g_autofree char *shard_path = g_build_filename (dir, shard, NULL);
      if (!g_file_test (shard_path, G_FILE_TEST_IS_REGULAR)) {
        g_set_error (error, BT_ERROR, BT_ERROR_IO,
                     "%s: shard %s listed by %s is missing", shard_path, shard,
                     index_path);
        return FALSE;
      }
      f = weight_file_open (shard_path, error);
      if (!f)
        return FALSE;
      g_ptr_array_add (ckpt->files, f);
      g_hash_table_insert (shards, (gpointer) shard, f);
    }
  }
  if (ckpt->files->len == 0) {
    g_set_error (error, BT_ERROR, BT_ERROR_FORMAT,
                 "%s: the weight_map is empty", index_path);
    return FALSE;
  }
  if (!build_table (ckpt, error))
    return FALSE;

  /* every tensor the index lists is where it says */
  for (GList *l = names; l; l = l->next) {
    const char *shard = json_object_get_string_member (map, l->data);
    const WeightFile *f = g_hash_table_lookup (shards, shard);
    Entry *e = find (ckpt, l->data);
    if (!e || e->file != f) {
      g_set_error (error, BT_ERROR, BT_ERROR_MISSING_TENSOR,
                   "%s: tensor \"%s\" is not in shard %s as %s claims",
                   f->path, (const char *) l->data, shard, index_path);
      return FALSE;
    }
  }
  return TRUE;
}

BtCheckpoint *
bt_checkpoint_open (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);

  g_autofree char *file = NULL;
  if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
    for (guint i = 0; i < G_N_ELEMENTS (folder_candidates) && !file; i++) {
      char *candidate = g_build_filename (path, folder_candidates[i], NULL);
      if (g_file_test (candidate, G_FILE_TEST_IS_REGULAR))
        file = candidate;
      else
        g_free (candidate);
    }
    if (!file) {
      g_set_error (error, BT_ERROR, BT_ERROR_IO,
                   "%s: no model.safetensors, pytorch_model.bin or sharded "
                   "index of either in this folder", path);
      return NULL;
    }
  } else if (g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    file = g_strdup (path);
  } else {
    g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s: no such file or folder",
                 path);
    return NULL;
  }

  BtCheckpoint *ckpt = g_new0 (BtCheckpoint, 1);
  ckpt->path = g_steal_pointer (&file);
  ckpt->files = g_ptr_array_new_with_free_func (weight_file_free);
  ckpt->converted = g_ptr_array_new_with_free_func (g_free);
  g_mutex_init (&ckpt->convert_lock);

  gboolean ok;
  if (g_str_has_suffix (ckpt->path, ".index.json")) {
    ok = open_index (ckpt, ckpt->path, error);
  } else {
    WeightFile *f = weight_file_open (ckpt->path, error);
    if (f)
      g_ptr_array_add (ckpt->files, f);
    ok = f != NULL && build_table (ckpt, error);
  }
  if (!ok) {
    bt_checkpoint_free (ckpt);
    return NULL;
  }
  return ckpt;
}

void
bt_checkpoint_free (BtCheckpoint *ckpt)
{
  if (!ckpt)
    return;
  g_free (ckpt->entries);
  g_ptr_array_free (ckpt->converted, TRUE);
  g_ptr_array_free (ckpt->files, TRUE);
  g_mutex_clear (&ckpt->convert_lock);
  g_free (ckpt->path);
  g_free (ckpt);
}

const char *
bt_checkpoint_get_path (const BtCheckpoint *ckpt)
{
  return ckpt->path;
}

guint
bt_checkpoint_n_tensors (const BtCheckpoint *ckpt)
{
  return ckpt->n_entries;
}

const char *
bt_checkpoint_nth_name (const BtCheckpoint *ckpt, guint i)
{
  g_return_val_if_fail (i < ckpt->n_entries, NULL);
  return ckpt->entries[i].name;
}

const BtTensor *
bt_checkpoint_lookup_raw (const BtCheckpoint *ckpt, const char *name)
{
  Entry *e = find (ckpt, name);
  return e ? e->raw : NULL;
}

/* float8 e4m3fn: bias 7, no infinities, S.1111.111 is NaN */
static float
f8_e4m3_to_f32 (guint8 v)
{
  int sign = v >> 7, exp = (v >> 3) & 0xf, man = v & 7;
  float r;
  if (exp == 0xf && man == 7)
    r = NAN;
  else if (exp == 0)
    r = ldexpf ((float) man, -9);
  else
    r = ldexpf (1.0f + man / 8.0f, exp - 7);
  return sign ? -r : r;
}

static void
convert_to_f32 (const BtTensor *src, float *dst)
{
  gint64 n = bt_tensor_numel (src);
  const guint8 *p = src->data;
  for (gint64 i = 0; i < n; i++) {
    switch (src->dtype) {
      case BT_DTYPE_F32:
        memcpy (&dst[i], p + 4 * i, 4);
        break;
      case BT_DTYPE_F64: {
        double d;
        memcpy (&d, p + 8 * i, 8);
        dst[i] = (float) d;
        break;
      }
      case BT_DTYPE_F16:
      case BT_DTYPE_BF16: {
        guint16 h;
        memcpy (&h, p + 2 * i, 2);
        dst[i] = src->dtype == BT_DTYPE_F16 ? bt_f16_to_f32 (h) : bt_bf16_to_f32 (h);
        break;
      }
      case BT_DTYPE_F8_E5M2:   /* the top byte of an IEEE half */
        dst[i] = bt_f16_to_f32 ((guint16) (p[i] << 8));
        break;
      case BT_DTYPE_F8_E4M3:
        dst[i] = f8_e4m3_to_f32 (p[i]);
        break;
      default:
        g_assert_not_reached ();
    }
  }
}

static gboolean
is_float_dtype (BtDType d)
{
  return d == BT_DTYPE_F32 || d == BT_DTYPE_F64 || d == BT_DTYPE_F16
         || d == BT_DTYPE_BF16 || d == BT_DTYPE_F8_E4M3 || d == BT_DTYPE_F8_E5M2;
}

const BtTensor *
bt_checkpoint_lookup_f32 (BtCheckpoint *ckpt, const char *name, GError **error)
{
  Entry *e = find (ckpt, name);
  if (!e)
    return NULL;
  if (g_atomic_pointer_get (&e->f32_ready))
    return &e->f32;
  if (e->raw->dtype == BT_DTYPE_F32 && ((guintptr) e->raw->data & 3) == 0)
    return e->raw;
  if (!is_float_dtype (e->raw->dtype)) {
    g_set_error (error, BT_ERROR, BT_ERROR_DTYPE,
                 "%s: tensor \"%s\" is %s, not a floating-point tensor",
                 e->file->path, name, bt_dtype_name (e->raw->dtype));
    return NULL;
  }

  g_mutex_lock (&ckpt->convert_lock);
  if (!g_atomic_pointer_get (&e->f32_ready)) {
    float *buf = g_new (float, MAX (bt_tensor_numel (e->raw), 1));
    convert_to_f32 (e->raw, buf);
    g_ptr_array_add (ckpt->converted, buf);
    e->f32 = *e->raw;
    e->f32.dtype = BT_DTYPE_F32;
    e->f32.data = buf;
    g_atomic_pointer_set (&e->f32_ready, buf);
  }
  g_mutex_unlock (&ckpt->convert_lock);
  return &e->f32;
}
