/* bt-arena.c - grow-once scratch slots of a forward pass.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-arena.h"

void
bt_arena_clear (BtArena *a)
{
  for (int i = 0; i < BT_WS_N; i++)
    g_aligned_free (a->buf[i]);
  for (int i = 0; i < BT_SEGS_N; i++)
    g_free (a->segs[i]);
  for (int i = 0; i < BT_PTRS_N; i++)
    g_free (a->ptrs[i]);
  *a = (BtArena) { 0 };
}

float *
bt_arena_floats (BtArena *a, BtWsSlot slot, gsize n)
{
  if (n > a->cap[slot]) {
    g_aligned_free (a->buf[slot]);
    a->buf[slot] = g_aligned_alloc (n, sizeof (float), 64);
    a->cap[slot] = n;
    a->n_grows++;
  }
  return a->buf[slot];
}

BtSeg *
bt_arena_segments (BtArena *a, BtSegSlot slot, gsize n)
{
  if (n > a->seg_cap[slot]) {
    g_free (a->segs[slot]);
    a->segs[slot] = g_new (BtSeg, n);
    a->seg_cap[slot] = n;
    a->n_grows++;
  }
  return a->segs[slot];
}

gpointer *
bt_arena_pointers (BtArena *a, BtPtrSlot slot, gsize n)
{
  if (n > a->ptr_cap[slot]) {
    g_free (a->ptrs[slot]);
    a->ptrs[slot] = g_new (gpointer, n);
    a->ptr_cap[slot] = n;
    a->n_grows++;
  }
  return a->ptrs[slot];
}
