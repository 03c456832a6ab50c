/* bt-pickle.c - a restricted pickle interpreter for torch state_dicts.
 *
 * Python's unpickler imports any module and calls any callable a pickle
 * names; this one knows a handful of opcodes and globals, and "calling" an
 * allowed global only builds plain data (an empty dict, a tensor
 * description). Everything else is refused before anything is built from
 * it, so a pickle can make this code produce a wrong answer at worst.
 *
 * Objects live in an arena freed at the end, so reference cycles a hostile
 * pickle builds through the memo cannot leak or loop.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-pickle.h"

#include <string.h>

typedef enum {
  OBJ_NONE,
  OBJ_BOOL,
  OBJ_INT,
  OBJ_FLOAT,
  OBJ_STR,
  OBJ_TUPLE,
  OBJ_LIST,
  OBJ_DICT,                     /* items: key, value, key, value, ... */
  OBJ_GLOBAL,
  OBJ_STORAGE,
  OBJ_TENSOR,
} ObjKind;

typedef enum {
  GLOBAL_ORDERED_DICT,
  GLOBAL_REBUILD_TENSOR,
  GLOBAL_STORAGE_TYPE,
} GlobalKind;

typedef struct {
  ObjKind kind;
  gint64 i;                     /* INT, BOOL */
  char *str;                    /* STR; GLOBAL: "module.name"; STORAGE: key */
  GPtrArray *items;             /* TUPLE, LIST, DICT */
  GlobalKind global;
  BtDType dtype;                /* GLOBAL storage type, STORAGE */
  gint64 numel;                 /* STORAGE: its element count */
  BtPickleTensor *tensor;       /* TENSOR (name unset) */
} Obj;

typedef struct {
  const char *name;
  const guint8 *data;
  gsize size;
  gsize pos;
  GPtrArray *arena;             /* Obj*, owns them */
  GPtrArray *stack;             /* Obj* */
  GArray *marks;                /* guint: stack lengths at MARK */
  GHashTable *memo;             /* guint index -> Obj* */
  gsize used;                   /* bytes of objects, references, strings */
  gsize budget;
  GError **error;
} Unpickler;

/* What the machine may hold, in proportion to the pickle: torch's
 * state_dict pickles need about 18 bytes of objects per pickle byte, while
 * a run of one-byte opcodes such as EMPTY_LIST costs ~130 each. */
#define BUDGET_PER_BYTE 48
#define BUDGET_BASE (1024 * 1024)
#define OBJ_COST (sizeof (Obj) + 64)
#define REF_COST sizeof (gpointer)
#define MEMO_COST 32

static const struct {
  guint8 op;
  const char *name;
} opcode_names[] = {
  { '(', "MARK" }, { '.', "STOP" }, { '0', "POP" }, { '1', "POP_MARK" },
  { '2', "DUP" }, { 'F', "FLOAT" }, { 'I', "INT" }, { 'J', "BININT" },
  { 'K', "BININT1" }, { 'L', "LONG" }, { 'M', "BININT2" }, { 'N', "NONE" },
  { 'P', "PERSID" }, { 'Q', "BINPERSID" }, { 'R', "REDUCE" },
  { 'S', "STRING" }, { 'T', "BINSTRING" }, { 'U', "SHORT_BINSTRING" },
  { 'V', "UNICODE" }, { 'X', "BINUNICODE" }, { 'a', "APPEND" },
  { 'b', "BUILD" }, { 'c', "GLOBAL" }, { 'd', "DICT" }, { '}', "EMPTY_DICT" },
  { 'e', "APPENDS" }, { 'g', "GET" }, { 'h', "BINGET" }, { 'i', "INST" },
  { 'j', "LONG_BINGET" }, { 'l', "LIST" }, { ']', "EMPTY_LIST" },
  { 'o', "OBJ" }, { 'p', "PUT" }, { 'q', "BINPUT" }, { 'r', "LONG_BINPUT" },
  { 's', "SETITEM" }, { 't', "TUPLE" }, { ')', "EMPTY_TUPLE" },
  { 'u', "SETITEMS" }, { 'G', "BINFLOAT" }, { 0x80, "PROTO" },
  { 0x81, "NEWOBJ" }, { 0x82, "EXT1" }, { 0x83, "EXT2" }, { 0x84, "EXT4" },
  { 0x85, "TUPLE1" }, { 0x86, "TUPLE2" }, { 0x87, "TUPLE3" },
  { 0x88, "NEWTRUE" }, { 0x89, "NEWFALSE" }, { 0x8a, "LONG1" },
  { 0x8b, "LONG4" }, { 'B', "BINBYTES" }, { 'C', "SHORT_BINBYTES" },
  { 0x8c, "SHORT_BINUNICODE" }, { 0x8d, "BINUNICODE8" },
  { 0x8e, "BINBYTES8" }, { 0x8f, "EMPTY_SET" }, { 0x90, "ADDITEMS" },
  { 0x91, "FROZENSET" }, { 0x92, "NEWOBJ_EX" }, { 0x93, "STACK_GLOBAL" },
  { 0x94, "MEMOIZE" }, { 0x95, "FRAME" }, { 0x96, "BYTEARRAY8" },
  { 0x97, "NEXT_BUFFER" }, { 0x98, "READONLY_BUFFER" },
};

static const struct {
  const char *name;
  BtDType dtype;
} storage_types[] = {
  { "FloatStorage", BT_DTYPE_F32 }, { "HalfStorage", BT_DTYPE_F16 },
  { "BFloat16Storage", BT_DTYPE_BF16 }, { "DoubleStorage", BT_DTYPE_F64 },
  { "LongStorage", BT_DTYPE_I64 }, { "IntStorage", BT_DTYPE_I32 },
  { "ShortStorage", BT_DTYPE_I16 }, { "CharStorage", BT_DTYPE_I8 },
  { "ByteStorage", BT_DTYPE_U8 }, { "BoolStorage", BT_DTYPE_BOOL },
};

static gboolean
fail (Unpickler *u, BtError code, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static gboolean
fail (Unpickler *u, BtError code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (u->error, BT_ERROR, code, "%s: pickle offset %" G_GSIZE_FORMAT
               ": %s", u->name, u->pos, msg);
  return FALSE;
}

static void
obj_free (gpointer p)
{
  Obj *o = p;
  g_free (o->str);
  if (o->items)
    g_ptr_array_unref (o->items);
  if (o->tensor)
    g_free (o->tensor->storage_key);
  g_free (o->tensor);
  g_free (o);
}

static Obj *
obj_new (Unpickler *u, ObjKind kind)
{
  Obj *o = g_new0 (Obj, 1);
  u->used += OBJ_COST;
  o->kind = kind;
  if (kind == OBJ_TUPLE || kind == OBJ_LIST || kind == OBJ_DICT)
    o->items = g_ptr_array_new ();
  g_ptr_array_add (u->arena, o);
  return o;
}

/* ---- reading the byte stream -------------------------------------------- */

static gboolean
need (Unpickler *u, gsize n)
{
  if (n > u->size - u->pos)
    return fail (u, BT_ERROR_TRUNCATED, "needs %" G_GSIZE_FORMAT
                 " more bytes than the pickle holds", n);
  return TRUE;
}

static guint64
read_le (Unpickler *u, guint n)
{
  guint64 v = 0;
  for (guint i = 0; i < n; i++)
    v |= (guint64) u->data[u->pos + i] << (8 * i);
  u->pos += n;
  return v;
}

/* ---- the stack ----------------------------------------------------------- */

static gboolean
push (Unpickler *u, Obj *o)
{
  u->used += REF_COST;
  g_ptr_array_add (u->stack, o);
  return TRUE;
}

static Obj *
pop (Unpickler *u)
{
  guint floor = u->marks->len ? g_array_index (u->marks, guint, u->marks->len - 1) : 0;
  if (u->stack->len <= floor) {
    fail (u, BT_ERROR_FORMAT, "stack underflow");
    return NULL;
  }
  return g_ptr_array_steal_index (u->stack, u->stack->len - 1);
}

static Obj *
top (Unpickler *u)
{
  guint floor = u->marks->len ? g_array_index (u->marks, guint, u->marks->len - 1) : 0;
  if (u->stack->len <= floor) {
    fail (u, BT_ERROR_FORMAT, "stack underflow");
    return NULL;
  }
  return g_ptr_array_index (u->stack, u->stack->len - 1);
}

/* Moves everything above the last MARK into `into` (may be NULL: dropped)
 * and removes the mark. */
static gboolean
pop_mark (Unpickler *u, GPtrArray *into)
{
  if (u->marks->len == 0)
    return fail (u, BT_ERROR_FORMAT, "no MARK on the stack");
  guint mark = g_array_index (u->marks, guint, u->marks->len - 1);
  g_array_set_size (u->marks, u->marks->len - 1);
  if (into)
    u->used += (gsize) (u->stack->len - mark) * REF_COST;
  for (guint i = mark; into && i < u->stack->len; i++)
    g_ptr_array_add (into, g_ptr_array_index (u->stack, i));
  g_ptr_array_set_size (u->stack, mark);
  return TRUE;
}

/* ---- opcodes ------------------------------------------------------------- */

static gboolean
op_string (Unpickler *u, guint len_bytes)
{
  if (!need (u, len_bytes))
    return FALSE;
  guint64 len = read_le (u, len_bytes);
  if (!need (u, len))
    return FALSE;
  const char *s = (const char *) u->data + u->pos;
  if (!g_utf8_validate_len (s, len, NULL) || memchr (s, '\0', len))
    return fail (u, BT_ERROR_FORMAT, "string is not NUL-free UTF-8");
  Obj *o = obj_new (u, OBJ_STR);
  u->used += len;
  o->str = g_strndup (s, len);
  u->pos += len;
  return push (u, o);
}

static gboolean
op_int (Unpickler *u, guint n, gboolean is_signed)
{
  if (!need (u, n))
    return FALSE;
  guint64 v = read_le (u, n);
  if (is_signed && n < 8 && n > 0 && (v >> (8 * n - 1)) & 1)
    v |= ~(guint64) 0 << (8 * n);
  Obj *o = obj_new (u, OBJ_INT);
  o->i = (gint64) v;
  return push (u, o);
}

static gboolean
op_long1 (Unpickler *u)
{
  if (!need (u, 1))
    return FALSE;
  guint n = u->data[u->pos++];
  if (n > 8)
    return fail (u, BT_ERROR_UNSUPPORTED, "integer of %u bytes", n);
  return op_int (u, n, TRUE);
}

static gboolean
op_binfloat (Unpickler *u)
{
  /* no state_dict field needs a float's value, only its place */
  if (!need (u, 8))
    return FALSE;
  u->pos += 8;
  return push (u, obj_new (u, OBJ_FLOAT));
}

static gboolean
op_global (Unpickler *u)
{
  const char *start = (const char *) u->data + u->pos;
  gsize left = u->size - u->pos;
  const char *nl1 = memchr (start, '\n', left);
  const char *nl2 = nl1 ? memchr (nl1 + 1, '\n', left - (gsize) (nl1 + 1 - start)) : NULL;
  if (!nl2)
    return fail (u, BT_ERROR_TRUNCATED, "GLOBAL without its two lines");
  g_autofree char *module = g_strndup (start, (gsize) (nl1 - start));
  g_autofree char *name = g_strndup (nl1 + 1, (gsize) (nl2 - nl1 - 1));
  u->pos += (gsize) (nl2 + 1 - start);

  Obj *o = obj_new (u, OBJ_GLOBAL);
  if (strcmp (module, "collections") == 0 && strcmp (name, "OrderedDict") == 0) {
    o->global = GLOBAL_ORDERED_DICT;
  } else if (strcmp (module, "torch._utils") == 0
             && strcmp (name, "_rebuild_tensor_v2") == 0) {
    o->global = GLOBAL_REBUILD_TENSOR;
  } else {
    gboolean found = FALSE;
    for (guint i = 0; strcmp (module, "torch") == 0
         && i < G_N_ELEMENTS (storage_types) && !found; i++) {
      if (strcmp (name, storage_types[i].name) == 0) {
        o->global = GLOBAL_STORAGE_TYPE;
        o->dtype = storage_types[i].dtype;
        found = TRUE;
      }
    }
    if (!found)
      return fail (u, BT_ERROR_UNSAFE, "global %s.%s is not allowed in a "
                   "state_dict (nothing was executed)",
                   g_str_is_ascii (module) ? module : "?",
                   g_str_is_ascii (name) ? name : "?");
  }
  o->str = g_strdup_printf ("%s.%s", module, name);
  return push (u, o);
}

static gboolean
op_tuple_n (Unpickler *u, guint n)
{
  Obj *t = obj_new (u, OBJ_TUPLE);
  g_ptr_array_set_size (t->items, n);
  for (guint i = n; i-- > 0;) {
    Obj *o = pop (u);
    if (!o)
      return FALSE;
    t->items->pdata[i] = o;
  }
  return push (u, t);
}

static gboolean
op_setitems (Unpickler *u, gboolean many)
{
  g_autoptr (GPtrArray) kv = g_ptr_array_new ();
  if (many) {
    if (!pop_mark (u, kv))
      return FALSE;
  } else {
    Obj *v = pop (u), *k = v ? pop (u) : NULL;
    if (!k)
      return FALSE;
    g_ptr_array_add (kv, k);
    g_ptr_array_add (kv, v);
  }
  if (kv->len % 2)
    return fail (u, BT_ERROR_FORMAT, "SETITEMS with an odd number of items");
  Obj *d = top (u);
  if (!d)
    return FALSE;
  if (d->kind != OBJ_DICT)
    return fail (u, BT_ERROR_FORMAT, "SETITEM on something not a dict");
  for (guint i = 0; i < kv->len; i++)
    g_ptr_array_add (d->items, g_ptr_array_index (kv, i));
  return TRUE;
}

static gboolean
op_appends (Unpickler *u, gboolean many)
{
  g_autoptr (GPtrArray) items = g_ptr_array_new ();
  if (many) {
    if (!pop_mark (u, items))
      return FALSE;
  } else {
    Obj *v = pop (u);
    if (!v)
      return FALSE;
    g_ptr_array_add (items, v);
  }
  Obj *l = top (u);
  if (!l)
    return FALSE;
  if (l->kind != OBJ_LIST)
    return fail (u, BT_ERROR_FORMAT, "APPEND to something not a list");
  for (guint i = 0; i < items->len; i++)
    g_ptr_array_add (l->items, g_ptr_array_index (items, i));
  return TRUE;
}

static gboolean
op_put (Unpickler *u, guint idx_bytes)
{
  guint64 idx;
  if (idx_bytes) {
    if (!need (u, idx_bytes))
      return FALSE;
    idx = read_le (u, idx_bytes);
  } else {
    idx = g_hash_table_size (u->memo);  /* MEMOIZE */
  }
  Obj *o = top (u);
  if (!o)
    return FALSE;
  u->used += MEMO_COST;
  g_hash_table_insert (u->memo, GUINT_TO_POINTER ((guint) idx), o);
  return TRUE;
}

static gboolean
op_get (Unpickler *u, guint idx_bytes)
{
  if (!need (u, idx_bytes))
    return FALSE;
  guint idx = (guint) read_le (u, idx_bytes);
  Obj *o = g_hash_table_lookup (u->memo, GUINT_TO_POINTER (idx));
  if (!o)
    return fail (u, BT_ERROR_FORMAT, "memo entry %u is unset", idx);
  return push (u, o);
}

/* ('storage', torch.XStorage, key, location, numel) -> a storage */
static gboolean
op_binpersid (Unpickler *u)
{
  Obj *pid = pop (u);
  if (!pid)
    return FALSE;
  if (pid->kind != OBJ_TUPLE || pid->items->len != 5)
    return fail (u, BT_ERROR_FORMAT, "persistent id is not a 5-tuple");
  Obj **f = (Obj **) pid->items->pdata;
  if (f[0]->kind != OBJ_STR || strcmp (f[0]->str, "storage") != 0
      || f[1]->kind != OBJ_GLOBAL || f[1]->global != GLOBAL_STORAGE_TYPE
      || f[2]->kind != OBJ_STR || f[3]->kind != OBJ_STR
      || f[4]->kind != OBJ_INT)
    return fail (u, BT_ERROR_FORMAT, "persistent id is not ('storage', "
                 "type, key, location, numel)");
  if (f[2]->str[0] == '\0' || strchr (f[2]->str, '/'))
    return fail (u, BT_ERROR_FORMAT, "storage key \"%s\" is not a plain name",
                 f[2]->str);
  if (f[4]->i < 0 || f[4]->i > G_MAXINT64 / 8)
    return fail (u, BT_ERROR_FORMAT, "storage of %" G_GINT64_FORMAT
                 " elements", f[4]->i);
  Obj *s = obj_new (u, OBJ_STORAGE);
  s->dtype = f[1]->dtype;
  s->str = g_strdup (f[2]->str);
  s->numel = f[4]->i;
  return push (u, s);
}

static gboolean
rebuild_tensor (Unpickler *u, Obj *args)
{
  if (args->items->len != 6 && args->items->len != 7)
    return fail (u, BT_ERROR_FORMAT, "_rebuild_tensor_v2 takes 6 or 7 "
                 "arguments, not %u", args->items->len);
  Obj **a = (Obj **) args->items->pdata;
  Obj *storage = a[0], *offset = a[1], *size = a[2], *stride = a[3];
  if (storage->kind != OBJ_STORAGE || offset->kind != OBJ_INT
      || size->kind != OBJ_TUPLE || stride->kind != OBJ_TUPLE
      || a[4]->kind != OBJ_BOOL || a[5]->kind != OBJ_DICT)
    return fail (u, BT_ERROR_FORMAT, "_rebuild_tensor_v2 arguments are not "
                 "(storage, offset, size, stride, requires_grad, hooks)");
  if (a[5]->items->len != 0)
    return fail (u, BT_ERROR_UNSAFE, "tensor with backward hooks");
  guint ndim = size->items->len;
  if (ndim != stride->items->len)
    return fail (u, BT_ERROR_FORMAT, "size and stride differ in length");
  if (ndim > BT_MAX_DIMS)
    return fail (u, BT_ERROR_UNSUPPORTED, "tensor of %u dimensions (at most "
                 "%d supported)", ndim, BT_MAX_DIMS);

  Obj *t = obj_new (u, OBJ_TENSOR);
  BtPickleTensor *pt = t->tensor = g_new0 (BtPickleTensor, 1);
  u->used += sizeof (BtPickleTensor);
  pt->dtype = storage->dtype;
  pt->storage_key = g_strdup (storage->str);
  pt->storage_numel = storage->numel;
  pt->storage_offset = offset->i;
  pt->ndim = (int) ndim;

  /* numel and the last element reached, with overflow checks: a view must
   * stay inside the elements its storage declares */
  gint64 numel = 1, last = offset->i;
  gboolean bad = offset->i < 0;
  for (guint d = 0; d < ndim; d++) {
    Obj *sz = g_ptr_array_index (size->items, d);
    Obj *st = g_ptr_array_index (stride->items, d);
    if (sz->kind != OBJ_INT || st->kind != OBJ_INT || sz->i < 0 || st->i < 0)
      return fail (u, BT_ERROR_FORMAT, "size or stride is not a "
                   "non-negative integer");
    pt->shape[d] = sz->i;
    pt->stride[d] = st->i;
    if (sz->i == 0)
      numel = 0;
    else if (numel != 0 && numel > G_MAXINT64 / 8 / sz->i)
      bad = TRUE;
    else
      numel *= sz->i;
  }
  for (guint d = 0; d < ndim && numel > 0 && !bad; d++) {
    if (pt->stride[d] != 0 && pt->shape[d] - 1 > G_MAXINT64 / pt->stride[d]) {
      bad = TRUE;
      break;
    }
    gint64 reach = (pt->shape[d] - 1) * pt->stride[d];
    if (last > G_MAXINT64 - reach)
      bad = TRUE;
    else
      last += reach;
  }
  if (bad || (numel > 0 && last >= pt->storage_numel)
      || (numel == 0 && offset->i > pt->storage_numel))
    return fail (u, BT_ERROR_FORMAT, "tensor view reaches past its storage "
                 "\"%s\" of %" G_GINT64_FORMAT " elements", pt->storage_key,
                 pt->storage_numel);
  return push (u, t);
}

static gboolean
op_reduce (Unpickler *u)
{
  Obj *args = pop (u), *callable = args ? pop (u) : NULL;
  if (!callable)
    return FALSE;
  if (callable->kind != OBJ_GLOBAL)
    return fail (u, BT_ERROR_UNSAFE, "REDUCE on something not an allowed "
                 "global");
  if (args->kind != OBJ_TUPLE)
    return fail (u, BT_ERROR_FORMAT, "REDUCE arguments are not a tuple");
  switch (callable->global) {
    case GLOBAL_ORDERED_DICT:
      if (args->items->len != 0)
        return fail (u, BT_ERROR_FORMAT, "OrderedDict() with arguments");
      return push (u, obj_new (u, OBJ_DICT));
    case GLOBAL_REBUILD_TENSOR:
      return rebuild_tensor (u, args);
    case GLOBAL_STORAGE_TYPE:
    default:
      return fail (u, BT_ERROR_UNSAFE, "calling %s is not allowed",
                   callable->str);
  }
}

/* BUILD sets an object's state; a state_dict's OrderedDict gets its
 * `_metadata` this way. We check the shape of it and drop it. */
static gboolean
op_build (Unpickler *u)
{
  Obj *state = pop (u), *obj = state ? top (u) : NULL;
  if (!obj)
    return FALSE;
  if (obj->kind != OBJ_DICT)
    return fail (u, BT_ERROR_UNSAFE, "BUILD on something not an OrderedDict");
  if (state->kind != OBJ_DICT && state->kind != OBJ_NONE
      && state->kind != OBJ_TUPLE)
    return fail (u, BT_ERROR_FORMAT, "BUILD state is not a dict");
  return TRUE;
}

static const char *
opcode_name (guint8 op)
{
  for (guint i = 0; i < G_N_ELEMENTS (opcode_names); i++)
    if (opcode_names[i].op == op)
      return opcode_names[i].name;
  return NULL;
}

static gboolean
step (Unpickler *u, gboolean *stop)
{
  /* one step adds little beyond what the stack already holds, so checking
   * between steps keeps the total near the budget */
  if (u->used > u->budget)
    return fail (u, BT_ERROR_FORMAT, "the pickle builds more than %"
                 G_GSIZE_FORMAT " bytes of objects from %" G_GSIZE_FORMAT
                 " bytes: not a state_dict", u->budget, u->size);
  if (!need (u, 1))
    return FALSE;
  guint8 op = u->data[u->pos++];
  switch (op) {
    case 0x80:                  /* PROTO */
      if (!need (u, 1))
        return FALSE;
      if (u->data[u->pos] < 2 || u->data[u->pos] > 5)
        return fail (u, BT_ERROR_UNSUPPORTED, "pickle protocol %u",
                     u->data[u->pos]);
      u->pos++;
      return TRUE;
    case 0x95:                  /* FRAME: a length hint */
      if (!need (u, 8))
        return FALSE;
      u->pos += 8;
      return TRUE;
    case '.':
      *stop = TRUE;
      return TRUE;
    case '}':
      return push (u, obj_new (u, OBJ_DICT));
    case ']':
      return push (u, obj_new (u, OBJ_LIST));
    case ')':
      return push (u, obj_new (u, OBJ_TUPLE));
    case '(':
      g_array_append_val (u->marks, u->stack->len);
      return TRUE;
    case 't': {
      Obj *t = obj_new (u, OBJ_TUPLE);
      return pop_mark (u, t->items) && push (u, t);
    }
    case 0x85:
    case 0x86:
    case 0x87:
      return op_tuple_n (u, op - 0x84u);
    case 's':
      return op_setitems (u, FALSE);
    case 'u':
      return op_setitems (u, TRUE);
    case 'a':
      return op_appends (u, FALSE);
    case 'e':
      return op_appends (u, TRUE);
    case 'J':
      return op_int (u, 4, TRUE);
    case 'K':
      return op_int (u, 1, FALSE);
    case 'M':
      return op_int (u, 2, FALSE);
    case 0x8a:
      return op_long1 (u);
    case 'G':
      return op_binfloat (u);
    case 'X':
      return op_string (u, 4);
    case 0x8c:
      return op_string (u, 1);
    case 'q':
      return op_put (u, 1);
    case 'r':
      return op_put (u, 4);
    case 0x94:
      return op_put (u, 0);
    case 'h':
      return op_get (u, 1);
    case 'j':
      return op_get (u, 4);
    case 0x88:
    case 0x89: {
      Obj *o = obj_new (u, OBJ_BOOL);
      o->i = op == 0x88;
      return push (u, o);
    }
    case 'N':
      return push (u, obj_new (u, OBJ_NONE));
    case 'c':
      return op_global (u);
    case 'R':
      return op_reduce (u);
    case 'Q':
      return op_binpersid (u);
    case 'b':
      return op_build (u);
    default: {
      const char *name = opcode_name (op);
      u->pos--;
      if (name)
        return fail (u, BT_ERROR_UNSAFE, "opcode %s is not allowed in a "
                     "state_dict (nothing was executed)", name);
      return fail (u, BT_ERROR_FORMAT, "unknown opcode 0x%02x", op);
    }
  }
}

static void
pickle_tensor_clear (gpointer p)
{
  BtPickleTensor *t = p;
  g_free (t->name);
  g_free (t->storage_key);
}

/* The result must be a dict of name -> tensor. */
static GArray *
collect (Unpickler *u, Obj *root)
{
  if (root->kind != OBJ_DICT) {
    fail (u, BT_ERROR_FORMAT, "the pickle is not a state_dict (a dict of "
          "tensors)");
    return NULL;
  }
  GArray *out = g_array_sized_new (FALSE, TRUE, sizeof (BtPickleTensor),
                                   root->items->len / 2);
  g_array_set_clear_func (out, pickle_tensor_clear);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i + 1 < root->items->len; i += 2) {
    Obj *k = g_ptr_array_index (root->items, i);
    Obj *v = g_ptr_array_index (root->items, i + 1);
    if (k->kind != OBJ_STR || v->kind != OBJ_TENSOR) {
      fail (u, BT_ERROR_FORMAT, "the state_dict holds an entry that is not "
            "a named tensor");
      g_array_unref (out);
      return NULL;
    }
    if (!g_hash_table_add (seen, k->str)) {
      fail (u, BT_ERROR_FORMAT, "tensor \"%s\" appears twice", k->str);
      g_array_unref (out);
      return NULL;
    }
    BtPickleTensor t = *v->tensor;
    t.name = g_strdup (k->str);
    t.storage_key = g_strdup (v->tensor->storage_key);
    g_array_append_val (out, t);
  }
  return out;
}

GArray *
bt_pickle_load_state_dict (const guint8 *data, gsize size, const char *name,
                           GError **error)
{
  Unpickler u = {
    .name = name,
    .data = data,
    .size = size,
    .arena = g_ptr_array_new_with_free_func (obj_free),
    .stack = g_ptr_array_new (),
    .marks = g_array_new (FALSE, FALSE, sizeof (guint)),
    .memo = g_hash_table_new (g_direct_hash, g_direct_equal),
    .budget = BUDGET_BASE + size * BUDGET_PER_BYTE,
    .error = error,
  };
  GArray *out = NULL;
  gboolean stop = FALSE;
  while (!stop && step (&u, &stop))
    ;
  if (stop) {
    Obj *root = pop (&u);
    if (root)
      out = collect (&u, root);
  }
  g_hash_table_destroy (u.memo);
  g_array_unref (u.marks);
  g_ptr_array_unref (u.stack);
  g_ptr_array_unref (u.arena);
  return out;
}
