/* bt-common.h - error domain, element types and the tensor view shared by
 * every part of libbridgetower.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

/* The library is built with hidden symbols: BT_API marks the functions it
 * exports (the ones declared in the installed headers). */
#define BT_API __attribute__ ((visibility ("default")))

/* ---- errors ------------------------------------------------------------ */

#define BT_ERROR (bt_error_quark ())
BT_API
GQuark bt_error_quark (void);

typedef enum {
  BT_ERROR_IO,             /* a file could not be opened, read or mapped */
  BT_ERROR_TRUNCATED,      /* a file is shorter than its own contents claim */
  BT_ERROR_FORMAT,         /* malformed content: bad JSON, header, offsets, zip, pickle */
  BT_ERROR_UNSAFE,         /* a pickle asks for an opcode or global a state_dict never needs */
  BT_ERROR_CONFIG,         /* a config value that is invalid or that HF itself cannot run */
  BT_ERROR_UNSUPPORTED,    /* valid upstream, not supported by this implementation */
  BT_ERROR_MISSING_TENSOR, /* a tensor the forward pass needs is absent */
  BT_ERROR_SHAPE,          /* a tensor or an input has the wrong shape */
  BT_ERROR_DTYPE,          /* a tensor or an input has the wrong element type */
  BT_ERROR_INPUT,          /* bad caller input: invalid UTF-8, empty list, bad size */
  BT_ERROR_NO_HEAD,        /* the checkpoint lacks the head the call needs */
} BtError;

/* ---- element types ----------------------------------------------------- */

/* Every dtype the safetensors format defines. */
typedef enum {
  BT_DTYPE_F64,
  BT_DTYPE_F32,
  BT_DTYPE_F16,
  BT_DTYPE_BF16,
  BT_DTYPE_I64,
  BT_DTYPE_I32,
  BT_DTYPE_I16,
  BT_DTYPE_I8,
  BT_DTYPE_U64,
  BT_DTYPE_U32,
  BT_DTYPE_U16,
  BT_DTYPE_U8,
  BT_DTYPE_BOOL,
  BT_DTYPE_F8_E4M3,
  BT_DTYPE_F8_E5M2,
  BT_N_DTYPES
} BtDType;

BT_API
gsize bt_dtype_size (BtDType dtype);
/* The safetensors spelling ("F32", "BF16", ...). */
BT_API
const char *bt_dtype_name (BtDType dtype);
/* Parses the safetensors spelling; FALSE when unknown. */
BT_API
gboolean bt_dtype_from_name (const char *name, BtDType *dtype);

/* Half-precision conversions used by the loaders (and the bf16 path). */
BT_API
float bt_f16_to_f32 (guint16 h);
BT_API
float bt_bf16_to_f32 (guint16 b);
BT_API
guint16 bt_f32_to_bf16 (float f);   /* round to nearest even */
BT_API
guint16 bt_f32_to_f16 (float f);    /* round to nearest even */

/* ---- tensors ----------------------------------------------------------- */

#define BT_MAX_DIMS 8

/* A view: contiguous, row-major, little-endian. It never owns `data`;
 * whoever hands one out says how long it stays valid. ndim 0 is a scalar. */
typedef struct {
  BtDType dtype;
  int ndim;
  gint64 shape[BT_MAX_DIMS];
  void *data;
} BtTensor;

BT_API
gint64 bt_tensor_numel (const BtTensor *t);
BT_API
gsize bt_tensor_nbytes (const BtTensor *t);
/* "[2, 3, 4]" - for error messages; free with g_free. */
BT_API
char *bt_tensor_shape_string (const BtTensor *t);
/* TRUE when dtype, ndim and every dim match (a dim of -1 matches anything). */
BT_API
gboolean bt_tensor_has_shape (const BtTensor *t, BtDType dtype, int ndim,
                              const gint64 *shape);

/* An ordered set of named tensors that owns their data: forward outputs,
 * what the safetensors writer takes, what tests compare. */
typedef struct _BtTensorSet BtTensorSet;

BT_API
BtTensorSet *bt_tensor_set_new (void);
BT_API
void bt_tensor_set_free (BtTensorSet *set);
/* Adds a zero-filled tensor and returns its view (data owned by the set).
 * An existing tensor of the same name is replaced. */
BT_API
BtTensor *bt_tensor_set_add (BtTensorSet *set, const char *name, BtDType dtype,
                             int ndim, const gint64 *shape);
/* Adds a copy of `src`. */
BT_API
BtTensor *bt_tensor_set_add_copy (BtTensorSet *set, const char *name,
                                  const BtTensor *src);
BT_API
const BtTensor *bt_tensor_set_lookup (const BtTensorSet *set, const char *name);
BT_API
guint bt_tensor_set_size (const BtTensorSet *set);
/* Insertion order. */
BT_API
const BtTensor *bt_tensor_set_nth (const BtTensorSet *set, guint i,
                                   const char **name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BtTensorSet, bt_tensor_set_free)

G_END_DECLS
