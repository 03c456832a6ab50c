/* test-inspect.c - `bridgetower inspect` (the command named by the
 * BRIDGETOWER environment variable) on golden folders and broken ones. */
#include "bt-safetensors.h"
#include "bt-test-util.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/wait.h>

typedef struct {
  int status;
  char *out;
  char *err;
} Run;

static void
run_clear (Run *r)
{
  g_free (r->out);
  g_free (r->err);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

/* Runs `bridgetower inspect ARGS...` and returns its exit status. */
static void
run_inspect (Run *r, ...)
{
  const char *cmd = g_getenv ("BRIDGETOWER");
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  int wait_status;
  va_list ap;

  g_assert_nonnull (cmd);
  g_ptr_array_add (argv, (gpointer) cmd);
  g_ptr_array_add (argv, (gpointer) "inspect");
  va_start (ap, r);
  for (const char *a = va_arg (ap, const char *); a != NULL;
       a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL,
      G_SPAWN_DEFAULT, NULL, NULL, &r->out, &r->err, &wait_status, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait_status));
  r->status = WEXITSTATUS (wait_status);
  g_test_message ("exit %d\n%s%s", r->status, r->out, r->err);
}

static void
test_golden (void)
{
  g_autofree char *dir = bt_test_model_dir ("itm_add_t3v3c2");
  g_auto (Run) r = { 0 };

  run_inspect (&r, dir, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "heads      itm (detected)"));
  g_assert_nonnull (strstr (r.out, "tensors    221,"));
  g_assert_nonnull (strstr (r.out, "verdict    OK"));
  g_assert_cmpstr (r.err, ==, "");
}

/* --json: parsed back, its counts agree with the manifest (HF's state
 * dict size). */
static void
test_json (void)
{
  g_autofree char *dir = bt_test_model_dir ("mlm_scaled_add_t3v3c3");
  g_auto (Run) r = { 0 };
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  JsonObject *o;

  run_inspect (&r, "--json", dir, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (json_parser_load_from_data (parser, r.out, -1, &error));
  g_assert_no_error (error);
  o = json_node_get_object (json_parser_get_root (parser));
  g_assert_true (json_object_get_boolean_member (o, "ok"));
  g_assert_cmpstr (json_object_get_string_member (o, "heads"), ==, "mlm");
  g_assert_cmpint (json_object_get_int_member (o, "tensors"), ==, 291);
  g_assert_cmpint (json_object_get_int_member (o, "needed") +
      json_object_get_int_member (o, "ignored"), ==, 291);
  g_assert_cmpuint (json_array_get_length (
      json_object_get_array_member (o, "unknown")), ==, 0);
}

static void
test_rejected_config (void)
{
  g_autofree char *dir = bt_test_model_dir ("reject_shared_link_tower_2cross");
  g_auto (Run) r = { 0 };

  run_inspect (&r, dir, NULL);
  g_assert_cmpint (r.status, !=, 0);
  g_assert_nonnull (strstr (r.out, "verdict    FAILED"));
  g_assert_nonnull (strstr (r.err, "share_link_tower_layers"));
}

/* A copy of a golden model with one tensor left out and an unknown one
 * added; then with the tensor put back. */
static void
test_missing_tensor (void)
{
  static const char *dropped = "bridgetower.cross_modal_text_pooler.dense.bias";
  g_autofree char *src_dir = bt_test_model_dir ("itm_add_t3v3c2");
  g_autofree char *src = g_build_filename (src_dir, "model.safetensors", NULL);
  g_autofree char *config_src = g_build_filename (src_dir, "config.json",
      NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (BtSafetensors) st = bt_safetensors_open (src, &error);
  g_autoptr (BtTensorSet) set = bt_tensor_set_new ();
  g_autofree char *dir = g_dir_make_tmp ("bt-inspect-XXXXXX", &error);
  g_autofree char *dst = g_build_filename (dir, "model.safetensors", NULL);
  g_autofree char *dst_config = g_build_filename (dir, "config.json", NULL);
  g_autofree char *tok_src = g_build_filename (src_dir, "tokenizer.json",
      NULL);
  g_autofree char *dst_tok = g_build_filename (dir, "tokenizer.json", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *contents2 = NULL;
  gint64 one = 1;
  gsize length;
  g_auto (Run) r = { 0 };

  g_assert_no_error (error);
  for (guint i = 0; i < bt_safetensors_n_tensors (st); i++) {
    const char *n = bt_safetensors_nth_name (st, i);

    if (strcmp (n, dropped) != 0)
      bt_tensor_set_add_copy (set, n, bt_safetensors_lookup (st, n));
  }
  bt_tensor_set_add (set, "bridgetower.extra.weight", BT_DTYPE_F32, 1, &one);
  g_assert_true (bt_safetensors_write (dst, set, &error));
  g_assert_true (g_file_get_contents (config_src, &contents, &length, &error));
  g_assert_true (g_file_set_contents (dst_config, contents, length, &error));
  g_assert_true (g_file_get_contents (tok_src, &contents2, &length, &error));
  g_assert_true (g_file_set_contents (dst_tok, contents2, length, &error));

  run_inspect (&r, dir, NULL);
  g_assert_cmpint (r.status, !=, 0);
  g_assert_nonnull (strstr (r.err, "missing"));
  g_assert_nonnull (strstr (r.err, dropped));
  g_assert_nonnull (strstr (r.out, "verdict    FAILED"));

  /* with the tensor back, only the unknown name remains: a warning */
  bt_tensor_set_add_copy (set, dropped, bt_safetensors_lookup (st, dropped));
  g_assert_true (bt_safetensors_write (dst, set, &error));
  run_clear (&r);
  run_inspect (&r, dir, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.err, "warning"));
  g_assert_nonnull (strstr (r.err, "bridgetower.extra.weight"));
  g_assert_nonnull (strstr (r.out, "unknown    1 names"));
  g_assert_nonnull (strstr (r.out, "verdict    OK"));

  bt_test_remove_dir (dir);
}

/* The processor files: no tokenizer fails (the elements could not encode a
 * query), no preprocessor_config.json is a warning. */
static void
test_processor_files (void)
{
  static const char *const weights_only[] = { "config.json",
    "model.safetensors", NULL
  };
  static const char *const no_images[] = { "config.json",
    "model.safetensors", "tokenizer.json", NULL
  };
  g_autofree char *dir = bt_test_copy_model ("itm_add_t3v3c2", weights_only);
  g_autofree char *dir2 = bt_test_copy_model ("itm_add_t3v3c2", no_images);
  g_auto (Run) r = { 0 };
  g_auto (Run) r2 = { 0 };

  run_inspect (&r, dir, NULL);
  g_assert_cmpint (r.status, !=, 0);
  g_assert_nonnull (strstr (r.out, "verdict    FAILED"));
  g_assert_nonnull (strstr (r.err, "no tokenizer"));
  g_assert_nonnull (strstr (r.err, dir));

  run_inspect (&r2, dir2, NULL);
  g_assert_cmpint (r2.status, ==, 0);
  g_assert_nonnull (strstr (r2.out, "tokenizer  ok"));
  g_assert_nonnull (strstr (r2.out, "verdict    OK"));
  g_assert_nonnull (strstr (r2.err, "warning"));
  g_assert_nonnull (strstr (r2.err, "preprocessor_config.json"));
  bt_test_remove_dir (dir);
  bt_test_remove_dir (dir2);
}

/* The hub folders here carry no weights. */
static void
test_no_weights (void)
{
  g_autofree char *dir = g_build_filename (bt_test_data_dir (), "hub",
      "bridgetower-large-itm-mlm-itc", NULL);
  g_auto (Run) r = { 0 };

  run_inspect (&r, dir, NULL);
  g_assert_cmpint (r.status, !=, 0);
  g_assert_nonnull (strstr (r.out, "vision     24 layers"));
  g_assert_nonnull (strstr (r.err, dir));
}

static void
test_usage (void)
{
  g_auto (Run) help = { 0 };
  g_auto (Run) none = { 0 };
  g_auto (Run) bad_head = { 0 };

  run_inspect (&help, "--help", NULL);
  g_assert_cmpint (help.status, ==, 0);
  g_assert_nonnull (strstr (help.out, "MODEL_DIR"));
  run_inspect (&none, NULL);
  g_assert_cmpint (none.status, ==, 2);
  run_inspect (&bad_head, "--heads", "vqa", ".", NULL);
  g_assert_cmpint (bad_head.status, ==, 2);
  g_assert_nonnull (strstr (bad_head.err, "vqa"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/inspect/golden", test_golden);
  g_test_add_func ("/inspect/json", test_json);
  g_test_add_func ("/inspect/rejected-config", test_rejected_config);
  g_test_add_func ("/inspect/missing-tensor", test_missing_tensor);
  g_test_add_func ("/inspect/processor-files", test_processor_files);
  g_test_add_func ("/inspect/no-weights", test_no_weights);
  g_test_add_func ("/inspect/usage", test_usage);
  return g_test_run ();
}
