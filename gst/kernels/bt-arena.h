/* bt-arena.h - the scratch memory of a forward pass (private).
 *
 * Named slots of float buffers, segment tables and pointer arrays, each
 * grown on first use and then reused: after warm-up a pass allocates
 * nothing. The towers take an arena; what owns it (a BtContext) is above
 * them.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  BT_WS_STREAM,                     /* residual stream of a tower */
  BT_WS_NORM,
  BT_WS_QKV,
  BT_WS_CTX,
  BT_WS_HIDDEN,                     /* MLP / FFN intermediate */
  BT_WS_SCORES,
  BT_WS_PATCHES,
  BT_WS_POS,
  BT_WS_TEXT_IN,                    /* cross-modal: stacked inputs/outputs */
  BT_WS_IMAGE_IN,
  BT_WS_TEXT_OUT,
  BT_WS_IMAGE_OUT,
  BT_WS_TEXT_MASK,
  BT_WS_LAYER_A,                    /* cross-modal layer scratch */
  BT_WS_LAYER_B,
  BT_WS_LAYER_K,
  BT_WS_LAYER_V,
  BT_WS_CLS,
  BT_WS_HEAD,
  BT_WS_LAST_TEXT,                  /* last cross-modal layer outputs */
  BT_WS_LAST_IMAGE,
  BT_WS_POOLED,
  BT_WS_N
} BtWsSlot;

/* One sequence among stacked rows. */
typedef struct {
  int off, len;
} BtSeg;

typedef enum {
  BT_SEGS_TEXT,
  BT_SEGS_IMAGE,
  BT_SEGS_N
} BtSegSlot;

typedef enum {
  BT_PTRS_FEATURES,                 /* the pairs of a call */
  BT_PTRS_SHORTCUT,                 /* layer-0 shortcut rows */
  BT_PTRS_N
} BtPtrSlot;

typedef struct {
  float *buf[BT_WS_N];
  gsize cap[BT_WS_N];
  BtSeg *segs[BT_SEGS_N];
  gsize seg_cap[BT_SEGS_N];
  gpointer *ptrs[BT_PTRS_N];
  gsize ptr_cap[BT_PTRS_N];
  guint n_grows;                    /* (re)allocations, ever */
} BtArena;

void bt_arena_clear (BtArena *a);

/* A buffer of at least `n` floats, 64-byte aligned (contents undefined). */
float *bt_arena_floats (BtArena *a, BtWsSlot slot, gsize n);
BtSeg *bt_arena_segments (BtArena *a, BtSegSlot slot, gsize n);
gpointer *bt_arena_pointers (BtArena *a, BtPtrSlot slot, gsize n);

G_END_DECLS
