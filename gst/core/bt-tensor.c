/* bt-tensor.c - dtypes, half-precision conversion, tensor views and sets.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-common.h"

#include <string.h>

G_DEFINE_QUARK (bt-error-quark, bt_error)

static const struct {
  const char *name;
  gsize size;
} dtype_info[BT_N_DTYPES] = {
  [BT_DTYPE_F64] = { "F64", 8 },  [BT_DTYPE_F32] = { "F32", 4 },
  [BT_DTYPE_F16] = { "F16", 2 },  [BT_DTYPE_BF16] = { "BF16", 2 },
  [BT_DTYPE_I64] = { "I64", 8 },  [BT_DTYPE_I32] = { "I32", 4 },
  [BT_DTYPE_I16] = { "I16", 2 },  [BT_DTYPE_I8] = { "I8", 1 },
  [BT_DTYPE_U64] = { "U64", 8 },  [BT_DTYPE_U32] = { "U32", 4 },
  [BT_DTYPE_U16] = { "U16", 2 },  [BT_DTYPE_U8] = { "U8", 1 },
  [BT_DTYPE_BOOL] = { "BOOL", 1 }, [BT_DTYPE_F8_E4M3] = { "F8_E4M3", 1 },
  [BT_DTYPE_F8_E5M2] = { "F8_E5M2", 1 },
};

gsize
bt_dtype_size (BtDType dtype)
{
  g_return_val_if_fail ((guint) dtype < BT_N_DTYPES, 0);
  return dtype_info[dtype].size;
}

const char *
bt_dtype_name (BtDType dtype)
{
  g_return_val_if_fail ((guint) dtype < BT_N_DTYPES, "?");
  return dtype_info[dtype].name;
}

gboolean
bt_dtype_from_name (const char *name, BtDType *dtype)
{
  for (guint i = 0; i < BT_N_DTYPES; i++) {
    if (g_strcmp0 (name, dtype_info[i].name) == 0) {
      *dtype = (BtDType) i;
      return TRUE;
    }
  }
  return FALSE;
}

static float
bits_to_f32 (guint32 u)
{
  float f;
  memcpy (&f, &u, 4);
  return f;
}

static guint32
f32_to_bits (float f)
{
  guint32 u;
  memcpy (&u, &f, 4);
  return u;
}

float
bt_bf16_to_f32 (guint16 b)
{
  return bits_to_f32 ((guint32) b << 16);
}

guint16
bt_f32_to_bf16 (float f)
{
  guint32 u = f32_to_bits (f);
  if ((u & 0x7fffffffu) > 0x7f800000u)  /* NaN: keep it quiet, keep the sign */
    return (guint16) ((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (guint16) (u >> 16);
}

float
bt_f16_to_f32 (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000u) << 16;
  guint32 exp = (h >> 10) & 0x1fu;
  guint32 man = h & 0x3ffu;

  if (exp == 0x1f)              /* inf / NaN */
    return bits_to_f32 (sign | 0x7f800000u | (man << 13));
  if (exp == 0) {
    if (man == 0)
      return bits_to_f32 (sign);
    /* subnormal: value = man * 2^-24 */
    float v = (float) man * (1.0f / 16777216.0f);
    return sign ? -v : v;
  }
  return bits_to_f32 (sign | ((exp + 112u) << 23) | (man << 13));
}

guint16
bt_f32_to_f16 (float f)
{
  guint32 u = f32_to_bits (f);
  guint16 sign = (guint16) ((u >> 16) & 0x8000u);
  guint32 absu = u & 0x7fffffffu;

  if (absu > 0x7f800000u)
    return sign | 0x7e00u;
  if (absu >= 0x477ff000u)      /* rounds to >= 65520: overflow to inf */
    return sign | 0x7c00u;
  if (absu < 0x38800000u) {     /* below the smallest normal half */
    /* scale so that one half subnormal ulp (2^-24) becomes 1.0 and let the
     * FPU round to nearest even */
    float a = bits_to_f32 (absu) * 16777216.0f;
    return sign | (guint16) (guint32) __builtin_nearbyintf (a);
  }
  guint32 r = absu + 0xfffu + ((absu >> 13) & 1u);
  return sign | (guint16) ((r - 0x38000000u) >> 13);
}

gint64
bt_tensor_numel (const BtTensor *t)
{
  gint64 n = 1;
  for (int i = 0; i < t->ndim; i++)
    n *= t->shape[i];
  return n;
}

gsize
bt_tensor_nbytes (const BtTensor *t)
{
  return (gsize) bt_tensor_numel (t) * bt_dtype_size (t->dtype);
}

char *
bt_tensor_shape_string (const BtTensor *t)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < t->ndim; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", t->shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

gboolean
bt_tensor_has_shape (const BtTensor *t, BtDType dtype, int ndim,
                     const gint64 *shape)
{
  if (t->dtype != dtype || t->ndim != ndim)
    return FALSE;
  for (int i = 0; i < ndim; i++)
    if (shape[i] >= 0 && shape[i] != t->shape[i])
      return FALSE;
  return TRUE;
}

/* ---- tensor sets ------------------------------------------------------- */

typedef struct {
  char *name;
  BtTensor tensor;
} Entry;

struct _BtTensorSet {
  GPtrArray *entries;           /* Entry*, insertion order */
  GHashTable *index;            /* name -> Entry* */
};

static void
entry_free (gpointer p)
{
  Entry *e = p;
  g_free (e->name);
  g_free (e->tensor.data);
  g_free (e);
}

BtTensorSet *
bt_tensor_set_new (void)
{
  BtTensorSet *set = g_new0 (BtTensorSet, 1);
  set->entries = g_ptr_array_new_with_free_func (entry_free);
  set->index = g_hash_table_new (g_str_hash, g_str_equal);
  return set;
}

void
bt_tensor_set_free (BtTensorSet *set)
{
  if (!set)
    return;
  g_hash_table_destroy (set->index);
  g_ptr_array_free (set->entries, TRUE);
  g_free (set);
}

BtTensor *
bt_tensor_set_add (BtTensorSet *set, const char *name, BtDType dtype,
                   int ndim, const gint64 *shape)
{
  g_return_val_if_fail (ndim >= 0 && ndim <= BT_MAX_DIMS, NULL);

  Entry *e = g_hash_table_lookup (set->index, name);
  if (e) {
    g_free (e->tensor.data);
  } else {
    e = g_new0 (Entry, 1);
    e->name = g_strdup (name);
    g_ptr_array_add (set->entries, e);
    g_hash_table_insert (set->index, e->name, e);
  }
  e->tensor.dtype = dtype;
  e->tensor.ndim = ndim;
  for (int i = 0; i < ndim; i++)
    e->tensor.shape[i] = shape[i];
  /* never a zero-size allocation, so data is non-NULL even for empty tensors */
  e->tensor.data = g_malloc0 (MAX (bt_tensor_nbytes (&e->tensor), 1));
  return &e->tensor;
}

BtTensor *
bt_tensor_set_add_copy (BtTensorSet *set, const char *name, const BtTensor *src)
{
  BtTensor *t = bt_tensor_set_add (set, name, src->dtype, src->ndim, src->shape);
  memcpy (t->data, src->data, bt_tensor_nbytes (src));
  return t;
}

const BtTensor *
bt_tensor_set_lookup (const BtTensorSet *set, const char *name)
{
  Entry *e = g_hash_table_lookup (set->index, name);
  return e ? &e->tensor : NULL;
}

guint
bt_tensor_set_size (const BtTensorSet *set)
{
  return set->entries->len;
}

const BtTensor *
bt_tensor_set_nth (const BtTensorSet *set, guint i, const char **name)
{
  g_return_val_if_fail (i < set->entries->len, NULL);
  Entry *e = g_ptr_array_index (set->entries, i);
  if (name)
    *name = e->name;
  return &e->tensor;
}
