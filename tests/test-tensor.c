/* test-tensor.c - dtypes, half-precision conversions and tensor sets. */
#include "bt-common.h"

#include <math.h>
#include <string.h>

static void
test_dtype_names (void)
{
  for (int i = 0; i < BT_N_DTYPES; i++) {
    BtDType d;
    g_assert_true (bt_dtype_from_name (bt_dtype_name ((BtDType) i), &d));
    g_assert_cmpint (d, ==, i);
  }
  BtDType d;
  g_assert_false (bt_dtype_from_name ("F128", &d));
  g_assert_cmpuint (bt_dtype_size (BT_DTYPE_BF16), ==, 2);
  g_assert_cmpuint (bt_dtype_size (BT_DTYPE_I64), ==, 8);
}

/* Every half value survives f16 -> f32 -> f16; bf16 likewise. */
static void
test_half_roundtrip (void)
{
  for (guint32 h = 0; h < 0x10000; h++) {
    float f = bt_f16_to_f32 ((guint16) h);
    if (isnan (f))
      continue;
    g_assert_cmphex (bt_f32_to_f16 (f), ==, h);
    float b = bt_bf16_to_f32 ((guint16) h);
    if (!isnan (b))
      g_assert_cmphex (bt_f32_to_bf16 (b), ==, h);
  }
  g_assert_cmpfloat (bt_f16_to_f32 (0x3c00), ==, 1.0f);
  g_assert_cmpfloat (bt_f16_to_f32 (0xc000), ==, -2.0f);
  g_assert_cmpfloat (bt_f16_to_f32 (0x0001), ==, ldexpf (1.0f, -24));
  g_assert_cmpfloat (bt_bf16_to_f32 (0x3f80), ==, 1.0f);
  /* ties go to even: 1 + 2^-8 sits halfway between two bf16 values */
  g_assert_cmphex (bt_f32_to_bf16 (1.0f + ldexpf (1.0f, -8)), ==, 0x3f80);
  g_assert_cmphex (bt_f32_to_bf16 (1.0f + 3 * ldexpf (1.0f, -8)), ==, 0x3f82);
  g_assert_cmphex (bt_f32_to_f16 (70000.0f), ==, 0x7c00);
}

static void
test_tensor_set (void)
{
  g_autoptr (BtTensorSet) set = bt_tensor_set_new ();
  gint64 shape[2] = { 2, 3 };
  BtTensor *t = bt_tensor_set_add (set, "a", BT_DTYPE_F32, 2, shape);
  g_assert_cmpint (bt_tensor_numel (t), ==, 6);
  g_assert_cmpuint (bt_tensor_nbytes (t), ==, 24);
  ((float *) t->data)[5] = 7.0f;

  gint64 scalar_shape[1] = { 0 };
  BtTensor *s = bt_tensor_set_add (set, "scalar", BT_DTYPE_F32, 0, scalar_shape);
  g_assert_cmpint (bt_tensor_numel (s), ==, 1);

  BtTensor *c = bt_tensor_set_add_copy (set, "b", t);
  g_assert_cmpfloat (((float *) c->data)[5], ==, 7.0f);
  g_assert_cmpuint (bt_tensor_set_size (set), ==, 3);

  const char *name;
  bt_tensor_set_nth (set, 2, &name);
  g_assert_cmpstr (name, ==, "b");
  g_assert_null (bt_tensor_set_lookup (set, "missing"));

  g_autofree char *str = bt_tensor_shape_string (bt_tensor_set_lookup (set, "a"));
  g_assert_cmpstr (str, ==, "[2, 3]");
  gint64 any[2] = { -1, 3 };
  g_assert_true (bt_tensor_has_shape (t, BT_DTYPE_F32, 2, any));
  g_assert_false (bt_tensor_has_shape (t, BT_DTYPE_F16, 2, any));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tensor/dtype-names", test_dtype_names);
  g_test_add_func ("/tensor/half-roundtrip", test_half_roundtrip);
  g_test_add_func ("/tensor/set", test_tensor_set);
  return g_test_run ();
}
