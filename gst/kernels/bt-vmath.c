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
