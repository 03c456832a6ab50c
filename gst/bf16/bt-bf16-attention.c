/* bt-bf16-attention.c - multi-head attention fused on AVX512-BF16.
 *
 * vdpbf16ps multiplies two pairs of bf16 and adds both products to a
 * float32 lane. The scores put 16 keys in the lanes: K is packed per block
 * of 16 keys as [channel pair][key] dwords, and each query row's channel
 * pair is broadcast. P V puts 16 channels in the lanes: V is packed as
 * [key pair][channel] dwords, and each probability row's key pair is
 * broadcast. A tile of 4 rows by up to 4 vectors keeps 16 accumulators in
 * registers. A block of query rows goes through its scores, the float32
 * exponentials (bt-vmath's exp) and P V while it is in cache; nothing of
 * the [heads, n_q, n_k] score tensor is ever written out whole. The
 * softmax's division is done on P V's output row (one multiply per output
 * instead of one per score).
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-bf16-attention.h"

#include "bt-compute.h"
#include "bt-vmath.h"

#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LANES 16
#define TILE_ROWS 4         /* rows per register tile */
#define TILE_VECS 4         /* 16-lane vectors per register tile */
#define QUERY_BLOCK 32      /* query rows whose scores stay in cache */
/* below this much work (n_q n_k d) waking a worker costs more than a head */
#define PARALLEL_MIN_WORK (1 << 15)

#define BF16_TARGET \
  __attribute__ ((target ("avx512f,avx512bw,avx512vl,avx512bf16")))
#define INLINE_TILE static inline __attribute__ ((always_inline)) BF16_TARGET

typedef struct {
  const float *q, *k, *v, *mask;
  int ldq, ldk, ldv, ldo, n_q, n_k, d;
  float scale;
  float *out;
} Job;

/* One head's work memory, in bf16 elements / dwords / floats. */
typedef struct {
  int key_blocks;            /* ceil (n_k / 16) */
  int pairs;                 /* ceil (d / 2): channel pairs of a Q or K row */
  int ld_row;                /* bf16 per converted Q or K row: d up to 16 */
  int key_pairs;             /* ceil (n_k / 2) */
  int ch_vecs;               /* ceil (d / 16) */
  int ld_scores;             /* floats (and bf16) per score row: blocks * 16 */
  guint16 *k_rows;           /* [key_blocks * 16][ld_row] bf16, the gather source */
  guint32 *kp;               /* [key_blocks][pairs][16] */
  guint32 *vp;               /* [key_pairs][ch_vecs][16] */
  guint16 *qp;               /* [QUERY_BLOCK][ld_row] */
  float *scores;             /* [QUERY_BLOCK][ld_scores] */
  guint16 *probs;            /* [QUERY_BLOCK][ld_scores]: exponentials */
  float *inv_sum;            /* [QUERY_BLOCK]: 1 / each row's sum */
} Work;

gboolean
bt_bf16_fused_attention_supported (void)
{
  static gsize once;
  static gboolean supported;
  if (g_once_init_enter (&once)) {
    __builtin_cpu_init ();
    supported = __builtin_cpu_supports ("avx512f")
      && __builtin_cpu_supports ("avx512bw")
      && __builtin_cpu_supports ("avx512vl")
      && __builtin_cpu_supports ("avx512bf16");
    g_once_init_leave (&once, 1);
  }
  return supported;
}

/* ---- each thread's work memory, kept for the next call ------------------ */

typedef struct {
  void *data;
  gsize size;
} Scratch;

static void
scratch_free (gpointer p)
{
  Scratch *s = p;
  free (s->data);
  g_free (s);
}

static GPrivate scratch_key = G_PRIVATE_INIT (scratch_free);

static guint8 *
scratch_reserve (gsize size)
{
  Scratch *s = g_private_get (&scratch_key);
  if (!s) {
    s = g_new0 (Scratch, 1);
    g_private_set (&scratch_key, s);
  }
  if (s->size < size) {
    free (s->data);
    if (posix_memalign (&s->data, 64, size) != 0)
      g_error ("bf16 attention: out of memory for %" G_GSIZE_FORMAT " bytes",
               size);
    s->size = size;
  }
  return s->data;
}

static gsize
up64 (gsize bytes)
{
  return (bytes + 63) & ~(gsize) 63;
}

static void
work_init (Work *w, const Job *j)
{
  w->key_blocks = (j->n_k + LANES - 1) / LANES;
  w->pairs = (j->d + 1) / 2;
  w->ld_row = (j->d + LANES - 1) / LANES * LANES;
  w->key_pairs = (j->n_k + 1) / 2;
  w->ch_vecs = w->ld_row / LANES;
  w->ld_scores = w->key_blocks * LANES;

  const gsize sizes[] = {
    up64 ((gsize) w->key_blocks * LANES * w->ld_row * 2),
    up64 ((gsize) w->key_blocks * w->pairs * LANES * 4),
    up64 ((gsize) w->key_pairs * w->ch_vecs * LANES * 4),
    up64 ((gsize) QUERY_BLOCK * w->ld_row * 2),
    up64 ((gsize) QUERY_BLOCK * w->ld_scores * 4),
    up64 ((gsize) QUERY_BLOCK * w->ld_scores * 2),
    up64 ((gsize) QUERY_BLOCK * 4),
  };
  gsize total = 0;
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    total += sizes[i];
  guint8 *m = scratch_reserve (total);
  w->k_rows = (guint16 *) m;
  w->kp = (guint32 *) (m += sizes[0]);
  w->vp = (guint32 *) (m += sizes[1]);
  w->qp = (guint16 *) (m += sizes[2]);
  w->scores = (float *) (m += sizes[3]);
  w->probs = (guint16 *) (m += sizes[4]);
  w->inv_sum = (float *) (m += sizes[5]);
}

/* ---- packing ------------------------------------------------------------ */

/* The first `n` (may be <= 0) of 16 floats at `src` rounded to bf16
 * (nearest even), the rest zero. Masked-off lanes are not read. */
INLINE_TILE __m256i
bf16_16 (const float *src, int n)
{
  __mmask16 m = n >= LANES ? 0xffff : n <= 0 ? 0 : (__mmask16) ((1u << n) - 1);
  return (__m256i) _mm512_cvtneps_pbh (_mm512_maskz_loadu_ps (m, src));
}

/* `rows` rows of d floats to bf16 rows of ld_row (zero after d); rows from
 * `valid` on are all zero. */
BF16_TARGET static void
convert_rows (const float *src, int ld, int rows, int valid, int d,
              guint16 *dst, int ld_row)
{
  for (int i = 0; i < rows; i++) {
    const float *row = src + (gsize) MIN (i, valid - 1) * ld;
    for (int c = 0; c < ld_row; c += LANES)
      _mm256_storeu_si256 ((__m256i *) (dst + (gsize) i * ld_row + c),
                           bf16_16 (row + c, i < valid ? d - c : 0));
  }
}

/* K of one head to [key block][channel pair][key] dwords. */
BF16_TARGET static void
pack_k (const Job *j, const float *k, Work *w)
{
  convert_rows (k, j->ldk, w->key_blocks * LANES, j->n_k, j->d, w->k_rows,
                w->ld_row);
  const __m512i lane = _mm512_mullo_epi32 (
      _mm512_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
      _mm512_set1_epi32 (w->ld_row / 2));
  for (int b = 0; b < w->key_blocks; b++) {
    const int *base = (const int *) (w->k_rows + (gsize) b * LANES * w->ld_row);
    guint32 *dst = w->kp + (gsize) b * w->pairs * LANES;
    for (int p = 0; p < w->pairs; p++)
      _mm512_storeu_si512 (dst + (gsize) p * LANES,
                           _mm512_i32gather_epi32 (
                               _mm512_add_epi32 (lane, _mm512_set1_epi32 (p)),
                               base, 4));
  }
}

/* V of one head to [key pair][channel] dwords (low half: the even key). */
BF16_TARGET static void
pack_v (const Job *j, const float *v, Work *w)
{
  for (int p = 0; p < w->key_pairs; p++) {
    const int j0 = 2 * p, j1 = 2 * p + 1;
    const float *r0 = v + (gsize) j0 * j->ldv;
    const float *r1 = j1 < j->n_k ? v + (gsize) j1 * j->ldv : r0;
    for (int c = 0; c < w->ch_vecs; c++) {
      const int ch = c * LANES;
      __m512i lo = _mm512_cvtepu16_epi32 (bf16_16 (r0 + ch, j->d - ch));
      __m512i hi = _mm512_cvtepu16_epi32 (
          bf16_16 (r1 + ch, j1 < j->n_k ? j->d - ch : 0));
      _mm512_storeu_si512 (w->vp + ((gsize) p * w->ch_vecs + c) * LANES,
                           _mm512_or_si512 (lo, _mm512_slli_epi32 (hi, 16)));
    }
  }
}

/* ---- register tiles ----------------------------------------------------- */

/* acc[r][c] = sum over i < n of a_r's dword i (a bf16 pair, broadcast)
 * times vector c's dword i of B (16 pairs): 4 rows of `a` (ld_a dwords
 * apart), `vecs` vectors of B, the vector c of step i at
 * b + (c * vec_step + i * step) * 16. Both products are this one loop with
 * K or V in B's layout. */
INLINE_TILE void
dot_tile (const int vecs, const guint32 *a, int ld_a, const guint32 *b,
          gsize vec_step, gsize step, int n,
          __m512 acc[TILE_ROWS][TILE_VECS])
{
#pragma GCC unroll 4
  for (int r = 0; r < TILE_ROWS; r++)
#pragma GCC unroll 4
    for (int c = 0; c < vecs; c++)
      acc[r][c] = _mm512_setzero_ps ();
  for (int i = 0; i < n; i++) {
    __m512i bv[TILE_VECS];
#pragma GCC unroll 4
    for (int c = 0; c < vecs; c++)
      bv[c] = _mm512_loadu_si512 (b + (c * vec_step + i * step) * LANES);
#pragma GCC unroll 4
    for (int r = 0; r < TILE_ROWS; r++) {
      __m512i ar = _mm512_set1_epi32 ((int) a[(gsize) r * ld_a + i]);
#pragma GCC unroll 4
      for (int c = 0; c < vecs; c++)
        acc[r][c] = _mm512_dpbf16_ps (acc[r][c], (__m512bh) ar,
                                      (__m512bh) bv[c]);
    }
  }
}

/* scores[r][0 .. 16 vecs) = scale * q_r . k for 4 rows of packed Q and
 * `vecs` key blocks of packed K ([block][pair][key]). */
INLINE_TILE void
scores_tile (const int vecs, const guint32 *q, int ld_q, const guint32 *kp,
             int pairs, float *s, int ld_s, float scale)
{
  __m512 acc[TILE_ROWS][TILE_VECS];
  dot_tile (vecs, q, ld_q, kp, pairs, 1, pairs, acc);
  const __m512 sc = _mm512_set1_ps (scale);
#pragma GCC unroll 4
  for (int r = 0; r < TILE_ROWS; r++)
#pragma GCC unroll 4
    for (int c = 0; c < vecs; c++)
      _mm512_storeu_ps (s + (gsize) r * ld_s + c * LANES,
                        _mm512_mul_ps (acc[r][c], sc));
}

/* out[r][0 .. channels) = inv[r] (e_r . V) for 4 rows of exponentials
 * (the first `rows` stored) and `vecs` channel vectors of packed V
 * ([key pair][channel vector]). */
INLINE_TILE void
pv_tile (const int vecs, const guint32 *p, int ld_p, const guint32 *vp,
         int ch_vecs, int key_pairs, const float *inv, float *out, int ldo,
         int rows, int channels)
{
  __m512 acc[TILE_ROWS][TILE_VECS];
  dot_tile (vecs, p, ld_p, vp, 1, ch_vecs, key_pairs, acc);
  for (int r = 0; r < rows; r++)
#pragma GCC unroll 4
    for (int c = 0; c < vecs; c++) {
      const int left = channels - c * LANES;
      __mmask16 m = left >= LANES ? 0xffff : (__mmask16) ((1u << left) - 1);
      _mm512_mask_storeu_ps (out + (gsize) r * ldo + c * LANES, m,
                             _mm512_mul_ps (acc[r][c], _mm512_set1_ps (inv[r])));
    }
}

/* One function per tile width, so each keeps its accumulators in registers. */
#define TILE_WIDTHS(X) X (1) X (2) X (3) X (4)
#define SCORES_TILE(n) \
  BF16_TARGET static void scores_tile_##n (const guint32 *q, int ld_q, \
      const guint32 *kp, int pairs, float *s, int ld_s, float scale) \
  { scores_tile (n, q, ld_q, kp, pairs, s, ld_s, scale); }
#define PV_TILE(n) \
  BF16_TARGET static void pv_tile_##n (const guint32 *p, int ld_p, \
      const guint32 *vp, int ch_vecs, int key_pairs, const float *inv, \
      float *out, int ldo, int rows, int channels) \
  { pv_tile (n, p, ld_p, vp, ch_vecs, key_pairs, inv, out, ldo, rows, \
             channels); }
TILE_WIDTHS (SCORES_TILE)
TILE_WIDTHS (PV_TILE)

typedef void (*ScoresTile) (const guint32 *, int, const guint32 *, int,
                            float *, int, float);
typedef void (*PvTile) (const guint32 *, int, const guint32 *, int, int,
                        const float *, float *, int, int, int);
static const ScoresTile scores_tiles[] = {
  NULL, scores_tile_1, scores_tile_2, scores_tile_3, scores_tile_4 };
static const PvTile pv_tiles[] = {
  NULL, pv_tile_1, pv_tile_2, pv_tile_3, pv_tile_4 };

/* ---- the softmax ------------------------------------------------------- */

/* The softmax of the block's score rows (plus the mask), its normalisation
 * left to P V: the exponentials e = exp (s - max) go to bf16 for P V, and
 * inv_sum[r] = 1 / sum (e) (of the float32 e) scales the row's output.
 * One vmath exp call for the whole block: the rows are short for the
 * image-attends-text case. Key lanes past n_k get -inf (exp 0); padding
 * rows get zero exponentials. */
BF16_TARGET static void
exponentials (const Job *j, const Work *w, int rows, int rows4)
{
  const int ld = w->ld_scores;
  for (int r = 0; r < rows; r++) {
    float *s = w->scores + (gsize) r * ld;
    __m512 vmax = _mm512_set1_ps (-INFINITY);
    for (int c = 0; c < ld; c += LANES) {
      const int left = j->n_k - c;
      __mmask16 m = left >= LANES ? 0xffff : left <= 0 ? 0
          : (__mmask16) ((1u << left) - 1);
      __m512 v = _mm512_mask_loadu_ps (_mm512_set1_ps (-INFINITY), m, s + c);
      if (j->mask)
        v = _mm512_add_ps (v, _mm512_maskz_loadu_ps (m, j->mask + c));
      _mm512_storeu_ps (s + c, v);
      vmax = _mm512_max_ps (vmax, v);
    }
    const __m512 max = _mm512_set1_ps (_mm512_reduce_max_ps (vmax));
    for (int c = 0; c < ld; c += LANES)
      _mm512_storeu_ps (s + c, _mm512_sub_ps (_mm512_loadu_ps (s + c), max));
  }
  bt_vmath ()->exp (w->scores, w->scores, (gsize) rows * ld);
  for (int r = 0; r < rows4; r++) {
    const float *s = w->scores + (gsize) r * ld;
    guint16 *e = w->probs + (gsize) r * ld;
    __m512 vsum = _mm512_setzero_ps ();
    for (int c = 0; c < ld; c += LANES) {
      __m512 v = r < rows ? _mm512_loadu_ps (s + c) : _mm512_setzero_ps ();
      vsum = _mm512_add_ps (vsum, v);
      _mm256_storeu_si256 ((__m256i *) (e + c),
                           (__m256i) _mm512_cvtneps_pbh (v));
    }
    w->inv_sum[r] = r < rows ? 1.0f / _mm512_reduce_add_ps (vsum) : 0.0f;
  }
}

/* ---- one head ----------------------------------------------------------- */

BF16_TARGET static void
query_block (const Job *j, const Work *w, int h, int q0, int rows)
{
  const int rows4 = (rows + TILE_ROWS - 1) / TILE_ROWS * TILE_ROWS;
  const gsize off = (gsize) h * j->d;
  const int ld_q = w->ld_row / 2, ld_p = w->ld_scores / 2;

  convert_rows (j->q + (gsize) q0 * j->ldq + off, j->ldq, rows4, rows, j->d,
                w->qp, w->ld_row);
  for (int r = 0; r < rows4; r += TILE_ROWS)
    for (int b = 0; b < w->key_blocks; b += TILE_VECS) {
      int vecs = MIN (TILE_VECS, w->key_blocks - b);
      scores_tiles[vecs] ((const guint32 *) w->qp + (gsize) r * ld_q, ld_q,
                          w->kp + (gsize) b * w->pairs * LANES, w->pairs,
                          w->scores + (gsize) r * w->ld_scores + b * LANES,
                          w->ld_scores, j->scale);
    }

  exponentials (j, w, rows, rows4);
  for (int r = 0; r < rows4; r += TILE_ROWS)
    for (int c = 0; c < w->ch_vecs; c += TILE_VECS) {
      int vecs = MIN (TILE_VECS, w->ch_vecs - c);
      pv_tiles[vecs] ((const guint32 *) w->probs + (gsize) r * ld_p, ld_p,
                      w->vp + (gsize) c * LANES, w->ch_vecs, w->key_pairs,
                      w->inv_sum + r, j->out + (gsize) (q0 + r) * j->ldo + off + c * LANES,
                      j->ldo, MIN (TILE_ROWS, rows - r), j->d - c * LANES);
    }
}

static void
attention_head (gpointer data, int h)
{
  const Job *j = data;
  const gsize off = (gsize) h * j->d;
  Work w;

  work_init (&w, j);
  pack_k (j, j->k + off, &w);
  pack_v (j, j->v + off, &w);
  for (int q0 = 0; q0 < j->n_q; q0 += QUERY_BLOCK)
    query_block (j, &w, h, q0, MIN (QUERY_BLOCK, j->n_q - q0));
}

void
bt_bf16_fused_attention (const float *q, int ldq, const float *k, int ldk,
                         const float *v, int ldv, int n_q, int n_k, int heads,
                         int head_dim, const float *mask_bias, float *out,
                         int ldo)
{
  g_return_if_fail (bt_bf16_fused_attention_supported ());
  g_return_if_fail (q && k && v && out && n_q > 0 && n_k > 0 && heads > 0
                    && head_dim > 0);

  Job job = { q, k, v, mask_bias, ldq, ldk, ldv, ldo, n_q, n_k, head_dim,
              1.0f / sqrtf ((float) head_dim), out };
  if (heads > 1 && bt_compute_budget () > 1
      && (gsize) n_q * n_k * head_dim >= PARALLEL_MIN_WORK)
    bt_parallel_for (heads, attention_head, &job);
  else
    for (int h = 0; h < heads; h++)
      attention_head (&job, h);
}
