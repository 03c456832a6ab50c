/* bt-vmath.c - vector exp and erf and the element-wise kernels on them,
 * one source (bt-vmath-body.h) built per ISA and picked at first use.
 *
 * Target attributes instead of target_clones: the kernels are written on
 * explicit vectors whose width follows the ISA (16 lanes on AVX-512, 8 on
 * AVX2), which a clone of one function cannot change.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-vmath.h"

#include <math.h>
#include <string.h>

/* e^x is a normal float32 for x in [LO, ln FLT_MAX]. */
#define BT_VM_EXP_LO -87.33654f
#define BT_VM_EXP_HI 88.72283f

/* erf's two pieces (bt-vmath-body.h), highest degree first: Q(t) of
 * erf(x) = x + x Q(x^2) for |x| < 1, and R(s) ~ erfc(x) e^(x^2) with
 * s = |x| - 2.46 on [1, 3.92] (docs/performance.md derives them) */
static const float erf_small[] = {
  7.875875063e-05f, -8.016864287e-04f, 5.189087423e-03f, -2.685421201e-02f,
  1.128359472e-01f, -3.761262667e-01f, 1.283791658e-01f,
};
static const float erf_big[] = {
  1.772887461e-06f, -6.957311535e-06f, 1.628165120e-05f, -5.900095629e-05f,
  2.294715185e-04f, -7.913078103e-04f, 2.618478753e-03f, -8.406360355e-03f,
  2.592239768e-02f, -7.638164407e-02f, 2.138206772e-01f,
};

#if defined(__x86_64__) || defined(__i386__)
#define VM(name) name##_avx512
#define VM_LANES 16
#define VM_TARGET __attribute__ ((target ("avx512f,fma")))
#include "bt-vmath-body.h"
#undef VM
#undef VM_LANES
#undef VM_TARGET

#define VM(name) name##_avx2
#define VM_LANES 8
#define VM_TARGET __attribute__ ((target ("avx2,fma")))
#include "bt-vmath-body.h"
#undef VM
#undef VM_LANES
#undef VM_TARGET
#endif

/* every 64-bit x86 has SSE2; elsewhere the compiler's 16-byte vectors */
#define VM(name) name##_sse2
#define VM_LANES 4
#define VM_TARGET
#include "bt-vmath-body.h"
#undef VM
#undef VM_LANES
#undef VM_TARGET

#define VARIANT(name, suffix) \
  { name, exp_##suffix, erf_##suffix, gelu_##suffix, quick_gelu_##suffix, \
    softmax_rows_##suffix }

static const BtVmath sse2 = VARIANT ("sse2", sse2);
#if defined(__x86_64__) || defined(__i386__)
static const BtVmath avx512 = VARIANT ("avx512", avx512);
static const BtVmath avx2 = VARIANT ("avx2", avx2);
#endif

static const BtVmath *supported[4];

static gpointer
detect (gpointer data)
{
  int n = 0;
  (void) data;
#if defined(__x86_64__) || defined(__i386__)
  /* gcc's and clang's checks include the OS's support for the registers */
  if (__builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("fma"))
    supported[n++] = &avx512;
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    supported[n++] = &avx2;
#endif
  supported[n] = &sse2;
  return NULL;
}

const BtVmath *const *
bt_vmath_variants (void)
{
  static GOnce once = G_ONCE_INIT;
  g_once (&once, detect, NULL);
  return supported;
}

const BtVmath *
bt_vmath (void)
{
  return bt_vmath_variants ()[0];
}
