/* gstbtmatcher.c - btmatcher: frames against text queries.
 *
 * Frames that carry btencoder's GstBtFeaturesMeta are scored against every
 * query; the others follow the last decision. Features seen again (the
 * same object: btpreprocess's gating found the frame unchanged) get the
 * scores computed for them last time, unless the queries, the model or
 * top-k changed since. The model comes from the
 * features (they hold a reference to the model that made them, in the
 * precision btencoder runs), so the element never loads a model of its
 * own. Each query goes through the text tower once and
 * stays cached for as long as the model does.
 *
 * Matches: a query enters a match on the frame where its score reaches its
 * threshold and leaves it on the first scored frame where the score falls
 * below threshold - hysteresis. A match is reported (message, JSON
 * segment) only once it has lasted `min-duration`.
 *
 * SPDX-License-Identifier: MIT
 */
#include "gstbtmatcher.h"
#include "gstbtmeta.h"
#include "gstbtquerylist.h"
#include "gstbttextcache.h"
#include "gstbtjson.h"
#include "gstbtqueryevent.h"

#include <math.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bt-json.h>
#include <bt-model.h>

GST_DEBUG_CATEGORY_STATIC (gst_bt_matcher_debug);
#define GST_CAT_DEFAULT gst_bt_matcher_debug

#define DEFAULT_MODE GST_BT_MATCHER_MODE_AUTO
#define DEFAULT_THRESHOLD 0.5
#define DEFAULT_TOP_K 3
#define DEFAULT_HYSTERESIS 0.05
#define DEFAULT_MIN_DURATION 0
#define DEFAULT_FILTER FALSE
/* Encoded queries kept for reuse (17 KB each on the tiny test model, far
 * more on real ones): an application that keeps changing queries would
 * otherwise grow without bound. */
#define TEXT_CACHE_SIZE 256
#define DEFAULT_RETIMESTAMP FALSE
#define DEFAULT_POST_MESSAGES TRUE
/* buffers without any features before btmatcher warns that no btencoder
 * seems to be upstream: frame 0 is always due for encoding, so only QoS
 * skips delay the first features, and never by this many */
#define NO_FEATURES_WARN_AFTER 100

enum
{
  PROP_0,
  PROP_QUERIES,
  PROP_QUERIES_FILE,
  PROP_MODE,
  PROP_THRESHOLD,
  PROP_TOP_K,
  PROP_HYSTERESIS,
  PROP_MIN_DURATION,
  PROP_FILTER,
  PROP_LOCATION,
  PROP_RETIMESTAMP,
  PROP_POST_MESSAGES,
};

/* What actually runs, once the model's heads are known. */
typedef enum {
  SCORING_ITM,
  SCORING_ITC,
  SCORING_ITC_THEN_ITM,
} Scoring;

typedef struct {
  gchar *text;
  gdouble threshold;           /* NaN: the element's threshold */
  BtTextFeatures *features;    /* NULL until a model is known */
  gboolean on;                 /* in a match (maybe not yet reported) */
  gboolean reported;           /* the start was reported */
  GstClockTime start;
  gdouble peak;
} QueryState;

struct _GstBtMatcher
{
  GstBaseTransform parent;

  /* properties (object lock) */
  gchar *queries;
  gchar *queries_file;
  GstBtMatcherMode mode;
  gdouble threshold;
  guint top_k;
  gdouble hysteresis;
  GstClockTime min_duration;
  gboolean filter;
  gchar *location;
  GPtrArray *remote_queries;   /* from a query event; NULL: the properties */
  gboolean queries_changed;
  gboolean retimestamp;
  gboolean post_messages;
  gboolean thresholds_dirty;   /* threshold or queries set since the check */

  /* streaming state, from start to stop */
  BtModel *model;
  BtContext *ctx;
  Scoring scoring;
  GstBtTextCache *text_cache;  /* text -> BtTextFeatures, LRU */
  GPtrArray *states;           /* QueryState, in query order */
  FILE *out;
  gboolean write_failed;       /* posted once; the stream then errors out */
  guint64 frame;
  gboolean last_match;
  GstClockTime last_end;
  guint64 passed;              /* buffers pushed on (filter) */
  gboolean features_seen;
  gboolean in_gap;             /* dropping a stretch (retimestamp) */
  GstClockTime retime_next;    /* next output PTS (retimestamp) */
  GstClockTime prev_pts;

  /* what `scores` were computed for (referenced, so never a new object
   * at the same address) and with which top-k */
  BtImageFeatures *scored;
  guint scored_top_k;

  /* per-frame work, reused */
  GPtrArray *batch;            /* BtTextFeatures* handed to the heads */
  GArray *logits;              /* float, 2 per text */
  GArray *order;               /* guint query indices */
  GArray *scores;              /* GstBtScore */
};

G_DEFINE_TYPE (GstBtMatcher, gst_bt_matcher, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (btmatcher, "btmatcher", GST_RANK_NONE,
    GST_TYPE_BT_MATCHER,
    GST_DEBUG_CATEGORY_INIT (gst_bt_matcher_debug, "btmatcher", 0,
        "BridgeTower query matcher"));

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw(ANY)"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw(ANY)"));

GType
gst_bt_matcher_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_BT_MATCHER_MODE_AUTO, "ITC for every query then ITM on the top-k "
          "when the model has both heads, else the head it has", "auto"},
    {GST_BT_MATCHER_MODE_ITM, "ITM: softmax(logits)[1]", "itm"},
    {GST_BT_MATCHER_MODE_ITC, "ITC: cosine of the image and text embeddings",
        "itc"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstBtMatcherMode", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

static void
query_state_free (gpointer data)
{
  QueryState *state = data;

  g_free (state->text);
  g_clear_pointer (&state->features, bt_text_features_unref);
  g_free (state);
}

/* ---- model and queries -------------------------------------------------- */

static gboolean
gst_bt_matcher_resolve_scoring (GstBtMatcher *self, BtModel *model,
    GError **error)
{
  BtHeads heads = bt_model_get_heads (model);
  gboolean itm = (heads & BT_HEAD_ITM) != 0;
  gboolean itc = (heads & BT_HEAD_ITC) != 0;
  const gchar *path = bt_model_get_path (model);
  GstBtMatcherMode mode;

  GST_OBJECT_LOCK (self);
  mode = self->mode;
  GST_OBJECT_UNLOCK (self);

  path = path ? path : "(in-memory model)";
  switch (mode) {
    case GST_BT_MATCHER_MODE_ITM:
      if (!itm)
        goto no_itm;
      self->scoring = SCORING_ITM;
      return TRUE;
    case GST_BT_MATCHER_MODE_ITC:
      if (!itc)
        goto no_itc;
      self->scoring = SCORING_ITC;
      return TRUE;
    case GST_BT_MATCHER_MODE_AUTO:
      if (itm && itc)
        self->scoring = SCORING_ITC_THEN_ITM;
      else if (itm)
        self->scoring = SCORING_ITM;
      else if (itc)
        self->scoring = SCORING_ITC;
      else {
        g_set_error (error, BT_ERROR, BT_ERROR_NO_HEAD,
            "%s has neither an ITM head (itm_score.*, "
            "BridgeTowerForImageAndTextRetrieval) nor an ITC head (itc_*, "
            "BridgeTowerForContrastiveLearning): nothing to score with", path);
        return FALSE;
      }
      return TRUE;
  }
  g_assert_not_reached ();

no_itm:
  g_set_error (error, BT_ERROR, BT_ERROR_NO_HEAD,
      "mode=itm needs the ITM head (itm_score.*, "
      "BridgeTowerForImageAndTextRetrieval) and %s has none", path);
  return FALSE;
no_itc:
  g_set_error (error, BT_ERROR, BT_ERROR_NO_HEAD,
      "mode=itc needs the ITC head (itc_*, BridgeTowerForContrastiveLearning) "
      "and %s has none", path);
  return FALSE;
}

/* Switches to `model`: new context, empty text cache, scoring resolved
 * from its heads. The query states keep their match state. */
static gboolean
gst_bt_matcher_set_model (GstBtMatcher *self, BtModel *model, GError **error)
{
  if (!gst_bt_matcher_resolve_scoring (self, model, error))
    return FALSE;
  g_clear_pointer (&self->scored, bt_image_features_unref);
  g_clear_pointer (&self->ctx, bt_context_free);
  g_clear_pointer (&self->model, bt_model_unref);
  gst_bt_text_cache_clear (self->text_cache);
  for (guint i = 0; i < self->states->len; i++) {
    QueryState *state = g_ptr_array_index (self->states, i);

    g_clear_pointer (&state->features, bt_text_features_unref);
  }
  self->model = bt_model_ref (model);
  self->ctx = bt_context_new (model, NULL);
  GST_OBJECT_LOCK (self);
  self->thresholds_dirty = TRUE;
  GST_OBJECT_UNLOCK (self);
  GST_INFO_OBJECT (self, "scoring with model %s (scoring %d)",
      bt_model_get_path (model), self->scoring);
  return TRUE;
}

/* ITM probabilities lie in 0..1, ITC cosines in -1..1: a threshold outside
 * the range of the scoring's scores would match every frame or none. */
static gboolean
gst_bt_matcher_check_threshold (GstBtMatcher *self, const gchar *what,
    gdouble threshold, GError **error)
{
  if (self->scoring == SCORING_ITC || (threshold >= 0.0 && threshold <= 1.0))
    return TRUE;
  g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
      "%s %g is outside 0..1, the range of the ITM probabilities this model "
      "scores with (mode=itm, or auto with an ITM head); only ITC cosines "
      "(mode=itc) go down to -1", what, threshold);
  return FALSE;
}

/* Checks the element's and every query's threshold against the scoring,
 * once after each change of either or of the model. */
static gboolean
gst_bt_matcher_check_thresholds (GstBtMatcher *self, GError **error)
{
  gdouble threshold;
  gboolean dirty;

  GST_OBJECT_LOCK (self);
  threshold = self->threshold;
  dirty = self->thresholds_dirty;
  self->thresholds_dirty = FALSE;
  GST_OBJECT_UNLOCK (self);

  if (!dirty)
    return TRUE;
  if (!gst_bt_matcher_check_threshold (self, "threshold", threshold, error))
    goto invalid;
  for (guint i = 0; i < self->states->len; i++) {
    QueryState *state = g_ptr_array_index (self->states, i);
    g_autofree gchar *what = NULL;

    if (isnan (state->threshold))
      continue;
    what = g_strdup_printf ("the threshold of query \"%s\"", state->text);
    if (!gst_bt_matcher_check_threshold (self, what, state->threshold, error))
      goto invalid;
  }
  return TRUE;

invalid:
  GST_OBJECT_LOCK (self);
  self->thresholds_dirty = TRUE;
  GST_OBJECT_UNLOCK (self);
  return FALSE;
}

/* Gives every query its text features, from the cache or the text tower. */
static gboolean
gst_bt_matcher_encode_queries (GstBtMatcher *self, GError **error)
{
  for (guint i = 0; i < self->states->len; i++) {
    QueryState *state = g_ptr_array_index (self->states, i);
    BtTextFeatures *features;

    if (state->features)
      continue;
    features = gst_bt_text_cache_lookup (self->text_cache, state->text);
    if (!features) {
      g_autoptr (GError) local = NULL;

      features = bt_context_encode_query (self->ctx, state->text, &local);
      if (!features) {
        g_set_error (error, BT_ERROR, local->code,
            "cannot encode query \"%s\": %s", state->text, local->message);
        return FALSE;
      }
      gst_bt_text_cache_insert (self->text_cache, state->text, features);
      GST_DEBUG_OBJECT (self, "encoded query \"%s\" (%d tokens)", state->text,
          bt_text_features_get_n_tokens (features));
    }
    state->features = bt_text_features_ref (features);
  }
  return TRUE;
}

/* The queries of the properties, parsed and checked; or the remote list,
 * when one came after the last property change. */
static GPtrArray *
gst_bt_matcher_read_queries (GstBtMatcher *self, GError **error)
{
  g_autoptr (GPtrArray) list = gst_bt_query_list_new ();
  g_autofree gchar *spec = NULL;
  g_autofree gchar *file = NULL;
  gboolean remote;

  GST_OBJECT_LOCK (self);
  spec = g_strdup (self->queries);
  file = g_strdup (self->queries_file);
  remote = self->remote_queries != NULL;
  for (guint i = 0; remote && i < self->remote_queries->len; i++) {
    GstBtQueryEntry *entry = g_ptr_array_index (self->remote_queries, i);

    gst_bt_query_list_append (list, entry->text, entry->threshold, NULL,
        NULL);
  }
  self->queries_changed = FALSE;
  GST_OBJECT_UNLOCK (self);

  if (!remote) {
    if (!gst_bt_query_list_parse_string (list, spec, error))
      return NULL;
    if (file && file[0] && !gst_bt_query_list_load_file (list, file, error))
      return NULL;
  }
  gst_bt_query_list_dedup (list);
  return g_steal_pointer (&list);
}

static void gst_bt_matcher_close_match (GstBtMatcher *self,
    QueryState *state, GstClockTime stop);

/* Replaces the query states by `entries`: a query kept keeps its match
 * state, a query dropped closes its open match at `now`. */
static void
gst_bt_matcher_apply_queries (GstBtMatcher *self, GPtrArray *entries,
    GstClockTime now)
{
  GPtrArray *states = g_ptr_array_new_with_free_func (query_state_free);

  for (guint i = 0; i < entries->len; i++) {
    GstBtQueryEntry *entry = g_ptr_array_index (entries, i);
    QueryState *state = NULL;

    for (guint j = 0; j < self->states->len; j++) {
      QueryState *old = g_ptr_array_index (self->states, j);

      if (g_str_equal (old->text, entry->text)) {
        state = g_ptr_array_steal_index (self->states, j);
        break;
      }
    }
    if (!state) {
      state = g_new0 (QueryState, 1);
      state->text = g_strdup (entry->text);
      state->start = GST_CLOCK_TIME_NONE;
    }
    state->threshold = entry->threshold;
    g_ptr_array_add (states, state);
  }
  for (guint j = 0; j < self->states->len; j++)
    gst_bt_matcher_close_match (self, g_ptr_array_index (self->states, j),
        now);
  g_ptr_array_unref (self->states);
  self->states = states;
  g_clear_pointer (&self->scored, bt_image_features_unref);
  GST_OBJECT_LOCK (self);
  self->thresholds_dirty = TRUE;
  GST_OBJECT_UNLOCK (self);
  GST_INFO_OBJECT (self, "%u queries", states->len);
}

/* ---- results: messages, JSON lines -------------------------------------- */

/* Writes `line` with one write() per attempt, bypassing stdio; a line cut
 * short (disk full) is truncated away, so the file ends in whole lines. */
static gboolean
write_whole_line (FILE *out, const gchar *line, gsize len)
{
  int fd = fileno (out);
  off_t start = lseek (fd, 0, SEEK_CUR);
  gsize done = 0;

  while (done < len) {
    gssize n = write (fd, line + done, len - done);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int saved = n < 0 ? errno : ENOSPC;

      if (done > 0 && start >= 0 && ftruncate (fd, start) == 0)
        lseek (fd, start, SEEK_SET);
      errno = saved;
      return FALSE;
    }
    done += n;
  }
  return TRUE;
}

/* A failed write is one element error (the stream stops at the next
 * frame); the file keeps every line written before it. */
static void
gst_bt_matcher_write_line (GstBtMatcher *self, JsonObject *object)
{
  g_autofree gchar *json = gst_bt_json_to_line (object, NULL);
  g_autofree gchar *line = g_strconcat (json, "\n", NULL);
  g_autofree gchar *location = NULL;
  int err;

  json_object_unref (object);
  if (self->write_failed || write_whole_line (self->out, line, strlen (line)))
    return;
  err = errno;
  self->write_failed = TRUE;
  GST_OBJECT_LOCK (self);
  location = g_strdup (self->location);
  GST_OBJECT_UNLOCK (self);
  GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
      ("Cannot write to \"%s\".", location),
      ("%s; the file ends with the last whole line", g_strerror (err)));
}

static void
gst_bt_matcher_post_match (GstBtMatcher *self, const QueryState *state,
    const gchar *event, GstClockTime stop)
{
  GstStructure *s = gst_structure_new ("bridgetower-match",
      "query", G_TYPE_STRING, state->text,
      "event", G_TYPE_STRING, event,
      "start", G_TYPE_UINT64, (guint64) state->start,
      "stop", G_TYPE_UINT64, (guint64) stop,
      "peak", G_TYPE_DOUBLE, state->peak, NULL);

  /* the same news in stream order, for btpublish and other downstream
   * readers (serialized: it arrives before the frame that caused it) */
  gst_pad_push_event (GST_BASE_TRANSFORM_SRC_PAD (self),
      gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM,
          gst_structure_copy (s)));
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

/* Ends `state`'s match (if any) at `stop`, reporting it if it was. */
static void
gst_bt_matcher_close_match (GstBtMatcher *self, QueryState *state,
    GstClockTime stop)
{
  if (!state->on)
    return;
  if (state->reported) {
    gst_bt_matcher_post_match (self, state, "stop", stop);
    if (self->out)
      gst_bt_matcher_write_line (self, gst_bt_json_segment_new (state->text,
              state->start, stop, state->peak));
  }
  state->on = FALSE;
  state->reported = FALSE;
  state->start = GST_CLOCK_TIME_NONE;
}

static void
gst_bt_matcher_close_all (GstBtMatcher *self, GstClockTime stop)
{
  for (guint i = 0; self->states && i < self->states->len; i++)
    gst_bt_matcher_close_match (self, g_ptr_array_index (self->states, i),
        stop);
}

static void
gst_bt_matcher_post_scores (GstBtMatcher *self, guint64 frame,
    GstClockTime pts, GstClockTime running_time)
{
  GValue queries = G_VALUE_INIT, scores = G_VALUE_INIT, v = G_VALUE_INIT;
  GstStructure *s;

  gst_value_array_init (&queries, self->scores->len);
  gst_value_array_init (&scores, self->scores->len);
  for (guint i = 0; i < self->scores->len; i++) {
    GstBtScore *score = &g_array_index (self->scores, GstBtScore, i);

    g_value_init (&v, G_TYPE_STRING);
    g_value_set_string (&v, score->query);
    gst_value_array_append_and_take_value (&queries, &v);
    memset (&v, 0, sizeof (v));
    g_value_init (&v, G_TYPE_DOUBLE);
    g_value_set_double (&v, score->score);
    gst_value_array_append_and_take_value (&scores, &v);
    memset (&v, 0, sizeof (v));
  }
  s = gst_structure_new ("bridgetower-scores",
      "frame", G_TYPE_UINT64, frame,
      "pts", G_TYPE_UINT64, (guint64) pts,
      "running-time", G_TYPE_UINT64, (guint64) running_time, NULL);
  gst_structure_take_value (s, "queries", &queries);
  gst_structure_take_value (s, "scores", &scores);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

static void
gst_bt_matcher_write_frame (GstBtMatcher *self, guint64 frame,
    GstClockTime pts)
{
  gst_bt_matcher_write_line (self, gst_bt_json_frame_new (frame, pts,
          (const GstBtScore *) self->scores->data, self->scores->len));
}

/* ---- scoring ------------------------------------------------------------ */

static gdouble
itc_cosine (const float *a, const float *b, int n)
{
  gdouble dot = 0, na = 0, nb = 0;

  for (int i = 0; i < n; i++) {
    dot += (gdouble) a[i] * b[i];
    na += (gdouble) a[i] * a[i];
    nb += (gdouble) b[i] * b[i];
  }
  if (na <= 0 || nb <= 0)
    return 0;
  return dot / (sqrt (na) * sqrt (nb));
}

static gint
compare_by_itc_desc (gconstpointer a, gconstpointer b, gpointer user_data)
{
  GArray *scores = user_data;
  gdouble sa = g_array_index (scores, GstBtScore, *(const guint *) a).itc;
  gdouble sb = g_array_index (scores, GstBtScore, *(const guint *) b).itc;

  return sa > sb ? -1 : sa < sb ? 1 : 0;
}

/* Runs ITM on the queries listed in `order` (the first `n`). */
static gboolean
gst_bt_matcher_run_itm (GstBtMatcher *self, const BtImageFeatures *image,
    guint n, GError **error)
{
  g_ptr_array_set_size (self->batch, 0);
  for (guint i = 0; i < n; i++) {
    guint q = g_array_index (self->order, guint, i);
    QueryState *state = g_ptr_array_index (self->states, q);

    g_ptr_array_add (self->batch, state->features);
  }
  g_array_set_size (self->logits, 2 * n);
  if (!bt_context_match (self->ctx, image,
          (BtTextFeatures * const *) self->batch->pdata, (int) n,
          (float *) self->logits->data, error))
    return FALSE;
  for (guint i = 0; i < n; i++) {
    guint q = g_array_index (self->order, guint, i);
    const float *l = &g_array_index (self->logits, float, 2 * i);
    GstBtScore *score = &g_array_index (self->scores, GstBtScore, q);

    /* softmax(logits)[1] */
    score->itm = 1.0 / (1.0 + exp ((gdouble) l[0] - (gdouble) l[1]));
    score->score = score->itm;
  }
  return TRUE;
}

static gboolean
gst_bt_matcher_compute_scores (GstBtMatcher *self,
    const BtImageFeatures *image, guint top_k, GError **error)
{
  guint n = self->states->len;

  g_array_set_size (self->scores, n);
  g_array_set_size (self->order, n);
  for (guint i = 0; i < n; i++) {
    QueryState *state = g_ptr_array_index (self->states, i);
    GstBtScore *score = &g_array_index (self->scores, GstBtScore, i);

    score->query = state->text;
    score->score = NAN;
    score->itc = NAN;
    score->itm = NAN;
    g_array_index (self->order, guint, i) = i;
  }

  if (self->scoring != SCORING_ITM) {
    const float *image_itc = bt_image_features_get_itc (image);
    int dim = bt_model_get_config (self->model)->contrastive_hidden_size;

    if (!image_itc) {
      g_set_error (error, BT_ERROR, BT_ERROR_NO_HEAD,
          "the image features carry no ITC embedding");
      return FALSE;
    }
    for (guint i = 0; i < n; i++) {
      QueryState *state = g_ptr_array_index (self->states, i);
      GstBtScore *score = &g_array_index (self->scores, GstBtScore, i);

      score->itc = itc_cosine (image_itc,
          bt_text_features_get_itc (state->features), dim);
      if (self->scoring == SCORING_ITC)
        score->score = score->itc;
    }
  }

  switch (self->scoring) {
    case SCORING_ITM:
      return gst_bt_matcher_run_itm (self, image, n, error);
    case SCORING_ITC:
      return TRUE;
    case SCORING_ITC_THEN_ITM:
      g_array_sort_with_data (self->order, compare_by_itc_desc, self->scores);
      return gst_bt_matcher_run_itm (self, image, MIN (top_k, n), error);
  }
  return FALSE;
}

/* Fills `scores` for `image`, or keeps them when they were computed for
 * these very features with the same queries and top-k. */
static gboolean
gst_bt_matcher_score (GstBtMatcher *self, BtImageFeatures *image,
    GError **error)
{
  guint top_k;

  GST_OBJECT_LOCK (self);
  top_k = self->top_k;
  GST_OBJECT_UNLOCK (self);

  if (image == self->scored && top_k == self->scored_top_k)
    return TRUE;
  g_clear_pointer (&self->scored, bt_image_features_unref);
  if (!gst_bt_matcher_compute_scores (self, image, top_k, error))
    return FALSE;
  self->scored = bt_image_features_ref (image);
  self->scored_top_k = top_k;
  return TRUE;
}

/* Moves every query's match state on with this frame's scores; TRUE when
 * some query is in a match. */
static gboolean
gst_bt_matcher_update_matches (GstBtMatcher *self, GstClockTime pts)
{
  gdouble threshold, hysteresis;
  GstClockTime min_duration;
  gboolean any = FALSE;

  GST_OBJECT_LOCK (self);
  threshold = self->threshold;
  hysteresis = self->hysteresis;
  min_duration = self->min_duration;
  GST_OBJECT_UNLOCK (self);

  for (guint i = 0; i < self->states->len; i++) {
    QueryState *state = g_ptr_array_index (self->states, i);
    GstBtScore *score = &g_array_index (self->scores, GstBtScore, i);
    gdouble thr = isnan (state->threshold) ? threshold : state->threshold;

    score->threshold = thr;
    if (isnan (score->score)) {
      /* outside the ITM shortlist: no score, so no match on this frame */
      gst_bt_matcher_close_match (self, state, pts);
    } else if (!state->on) {
      if (score->score >= thr) {
        state->on = TRUE;
        state->reported = FALSE;
        state->start = pts;
        state->peak = score->score;
      }
    } else if (score->score < thr - hysteresis) {
      gst_bt_matcher_close_match (self, state, pts);
    } else {
      state->peak = MAX (state->peak, score->score);
    }
    if (state->on && !state->reported && (min_duration == 0
            || (GST_CLOCK_TIME_IS_VALID (pts)
                && GST_CLOCK_TIME_IS_VALID (state->start)
                && pts - state->start >= min_duration))) {
      state->reported = TRUE;
      gst_bt_matcher_post_match (self, state, "start", GST_CLOCK_TIME_NONE);
    }
    score->matched = state->on;
    any |= state->on;
  }
  return any;
}

/* ---- filter ------------------------------------------------------------- */

/* Where the retimestamped output starts: the segment start (0 for a
 * file), else the first buffer's PTS. */
static void
gst_bt_matcher_retime_origin (GstBtMatcher *self, GstClockTime pts)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);

  if (GST_CLOCK_TIME_IS_VALID (self->retime_next))
    return;
  if (trans->segment.format == GST_FORMAT_TIME)
    self->retime_next = trans->segment.start;
  else
    self->retime_next = GST_CLOCK_TIME_IS_VALID (pts) ? pts : 0;
}

/* A dropped buffer leaves a GAP downstream, so that sinks preroll and keep
 * time through a long stretch without a match. With retimestamp the output
 * timeline has no holes: one empty GAP at the start of the stretch is
 * enough for the preroll. */
static void
gst_bt_matcher_drop (GstBtMatcher *self, GstBuffer *buf, gboolean retimestamp)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  GstClockTime pts = GST_BUFFER_PTS (buf);
  GstEvent *gap = NULL;

  if (retimestamp) {
    gst_bt_matcher_retime_origin (self, pts);
    if (!self->in_gap)
      gap = gst_event_new_gap (self->retime_next, 0);
  } else if (GST_CLOCK_TIME_IS_VALID (pts)) {
    gap = gst_event_new_gap (pts, GST_BUFFER_DURATION (buf));
  }
  self->in_gap = TRUE;
  if (gap)
    gst_pad_push_event (GST_BASE_TRANSFORM_SRC_PAD (trans), gap);
}

/* Kept buffers back to back from the segment start: a clip of the
 * matches. Each keeps its duration (or the PTS step before it). */
static void
gst_bt_matcher_retimestamp (GstBtMatcher *self, GstBuffer *buf)
{
  GstClockTime pts = GST_BUFFER_PTS (buf);
  GstClockTime duration = GST_BUFFER_DURATION (buf);

  gst_bt_matcher_retime_origin (self, pts);
  if (!GST_CLOCK_TIME_IS_VALID (duration))
    duration = GST_CLOCK_TIME_IS_VALID (pts)
        && GST_CLOCK_TIME_IS_VALID (self->prev_pts) && pts > self->prev_pts
        ? pts - self->prev_pts : 0;
  GST_BUFFER_PTS (buf) = self->retime_next;
  if (GST_BUFFER_DTS_IS_VALID (buf))
    GST_BUFFER_DTS (buf) = self->retime_next;
  GST_BUFFER_DURATION (buf) = duration;
  self->retime_next += duration;
}

/* Says once (and at EOS) when no buffer carried features: btmatcher then
 * scores nothing, which is almost surely a pipeline without btencoder. */
static void
gst_bt_matcher_check_features (GstBtMatcher *self, gboolean eos)
{
  if (self->features_seen || self->frame == 0)
    return;
  if (eos || self->frame == NO_FEATURES_WARN_AFTER)
    GST_ELEMENT_WARNING (self, STREAM, FAILED,
        ("No buffer carried BridgeTower features: nothing was scored. Is "
            "btencoder upstream of btmatcher?"),
        ("%" G_GUINT64_FORMAT " buffers without a GstBtFeaturesMeta (no "
            "btencoder upstream, or it skipped every frame as late)",
            self->frame));
}

/* At EOS with filter=true: how many buffers the filter let through. */
static void
gst_bt_matcher_report_filter (GstBtMatcher *self)
{
  gboolean filter;

  GST_OBJECT_LOCK (self);
  filter = self->filter;
  GST_OBJECT_UNLOCK (self);
  if (!filter || self->frame == 0)
    return;
  if (self->passed == 0)
    GST_ELEMENT_WARNING (self, STREAM, FAILED,
        ("No buffer matched: filter=true passed none of %" G_GUINT64_FORMAT
            " buffers.", self->frame),
        ("no query reached its threshold on a scored frame"));
  else   /* gst-launch prints the debug text of INFO messages only */
    GST_ELEMENT_INFO (self, STREAM, FAILED,
        ("filter=true passed %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
            " buffers.", self->passed, self->frame),
        ("filter=true passed %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
            " buffers", self->passed, self->frame));
}

static GstFlowReturn
gst_bt_matcher_transform_ip (GstBaseTransform *trans, GstBuffer *buf)
{
  GstBtMatcher *self = GST_BT_MATCHER (trans);
  g_autoptr (GError) error = NULL;
  GstBtFeaturesMeta *fmeta = gst_buffer_get_bt_features_meta (buf);
  GstClockTime pts = GST_BUFFER_PTS (buf);
  GstClockTime running_time = GST_CLOCK_TIME_NONE;
  guint64 frame = self->frame++;
  gboolean changed, filter, retimestamp, post_messages;
  BtModel *model;

  if (GST_CLOCK_TIME_IS_VALID (pts)) {
    self->last_end = pts;
    if (GST_BUFFER_DURATION_IS_VALID (buf))
      self->last_end += GST_BUFFER_DURATION (buf);
    if (trans->segment.format == GST_FORMAT_TIME)
      running_time = gst_segment_to_running_time (&trans->segment,
          GST_FORMAT_TIME, pts);
  }

  GST_OBJECT_LOCK (self);
  changed = self->queries_changed;
  filter = self->filter;
  retimestamp = self->retimestamp;
  post_messages = self->post_messages;
  GST_OBJECT_UNLOCK (self);

  if (changed) {
    g_autoptr (GPtrArray) entries = gst_bt_matcher_read_queries (self, &error);

    if (!entries) {
      GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
          ("New queries rejected, keeping the previous ones."),
          ("%s", error->message));
      g_clear_error (&error);
    } else {
      if (entries->len == 0)
        GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
            ("The query list is empty: frames are not scored."),
            ("set \"queries\" or \"queries-file\""));
      gst_bt_matcher_apply_queries (self, entries, pts);
    }
  }

  if (!fmeta) {
    gst_bt_matcher_check_features (self, FALSE);
    goto decide;
  }
  self->features_seen = TRUE;

  model = bt_image_features_get_model (fmeta->features);
  if (model != self->model && !gst_bt_matcher_set_model (self, model, &error)) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("The model cannot serve the requested mode."),
        ("%s", error->message));
    return GST_FLOW_ERROR;
  }
  if (self->states->len == 0) {
    self->last_match = FALSE;
    goto decide;
  }
  if (!gst_bt_matcher_check_thresholds (self, &error)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Threshold outside the range of the scores."),
        ("%s", error->message));
    return GST_FLOW_ERROR;
  }
  if (!gst_bt_matcher_encode_queries (self, &error)
      || !gst_bt_matcher_score (self, fmeta->features, &error)) {
    GST_ELEMENT_ERROR (self, LIBRARY, FAILED,
        ("Scoring frame %" G_GUINT64_FORMAT " failed.", frame),
        ("%s", error->message));
    return GST_FLOW_ERROR;
  }
  self->last_match = gst_bt_matcher_update_matches (self, pts);

  gst_buffer_add_bt_scores_meta (buf, frame,
      (const GstBtScore *) self->scores->data, self->scores->len);
  if (post_messages)
    gst_bt_matcher_post_scores (self, frame, pts, running_time);
  if (self->out)
    gst_bt_matcher_write_frame (self, frame, pts);
  if (self->write_failed)
    return GST_FLOW_ERROR;

decide:
  if (filter && !self->last_match) {
    gst_bt_matcher_drop (self, buf, retimestamp);
    self->prev_pts = pts;
    return GST_BASE_TRANSFORM_FLOW_DROPPED;
  }
  self->in_gap = FALSE;
  self->passed++;
  if (filter && retimestamp)
    gst_bt_matcher_retimestamp (self, buf);
  self->prev_pts = pts;
  return GST_FLOW_OK;
}

/* ---- state -------------------------------------------------------------- */

static gboolean
gst_bt_matcher_start (GstBaseTransform *trans)
{
  GstBtMatcher *self = GST_BT_MATCHER (trans);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) entries = NULL;
  g_autofree gchar *location = NULL;

  self->frame = 0;
  self->write_failed = FALSE;
  self->last_match = FALSE;
  self->last_end = GST_CLOCK_TIME_NONE;
  self->passed = 0;
  self->features_seen = FALSE;
  self->in_gap = FALSE;
  self->retime_next = GST_CLOCK_TIME_NONE;
  self->prev_pts = GST_CLOCK_TIME_NONE;

  entries = gst_bt_matcher_read_queries (self, &error);
  if (!entries) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("Invalid queries."),
        ("%s", error->message));
    return FALSE;
  }
  if (entries->len == 0) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("No queries: set \"queries\" or \"queries-file\"."),
        ("the query list is empty"));
    return FALSE;
  }
  gst_bt_matcher_apply_queries (self, entries, GST_CLOCK_TIME_NONE);

  GST_OBJECT_LOCK (self);
  location = g_strdup (self->location);
  GST_OBJECT_UNLOCK (self);

  if (location && location[0]) {
    self->out = fopen (location, "w");
    if (!self->out) {
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
          ("Cannot open \"%s\" for writing.", location),
          ("%s", g_strerror (errno)));
      return FALSE;
    }
  }

  return TRUE;
}

static gboolean
gst_bt_matcher_stop (GstBaseTransform *trans)
{
  GstBtMatcher *self = GST_BT_MATCHER (trans);

  gst_bt_matcher_close_all (self, self->last_end);
  g_clear_pointer (&self->scored, bt_image_features_unref);
  g_ptr_array_set_size (self->states, 0);
  gst_bt_text_cache_clear (self->text_cache);
  g_clear_pointer (&self->ctx, bt_context_free);
  g_clear_pointer (&self->model, bt_model_unref);
  if (self->out) {
    fclose (self->out);
    self->out = NULL;
  }
  return TRUE;
}

static gboolean
gst_bt_matcher_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstBtMatcher *self = GST_BT_MATCHER (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP)
    self->retime_next = GST_CLOCK_TIME_NONE;   /* a seek starts a new clip */
  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    gst_bt_matcher_close_all (self, self->last_end);
    gst_bt_matcher_check_features (self, TRUE);
    gst_bt_matcher_report_filter (self);
  }
  return GST_BASE_TRANSFORM_CLASS (gst_bt_matcher_parent_class)->sink_event
      (trans, event);
}

/* A query list from downstream (btpublish's remote queries) replaces the
 * properties' queries from the next frame, until they are set again. */
static gboolean
gst_bt_matcher_src_event (GstBaseTransform *trans, GstEvent *event)
{
  GstBtMatcher *self = GST_BT_MATCHER (trans);
  GPtrArray *remote;

  if (!gst_bt_query_event_parse (event, &remote))
    return GST_BASE_TRANSFORM_CLASS (gst_bt_matcher_parent_class)->src_event
        (trans, event);
  GST_INFO_OBJECT (self, "remote query list: %d queries",
      remote ? (gint) remote->len : -1);
  GST_OBJECT_LOCK (self);
  g_clear_pointer (&self->remote_queries, g_ptr_array_unref);
  self->remote_queries = remote;
  self->queries_changed = TRUE;
  GST_OBJECT_UNLOCK (self);
  gst_event_unref (event);
  return TRUE;
}

/* ---- properties --------------------------------------------------------- */

static void
gst_bt_matcher_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec)
{
  GstBtMatcher *self = GST_BT_MATCHER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_QUERIES:
      g_free (self->queries);
      self->queries = g_value_dup_string (value);
      g_clear_pointer (&self->remote_queries, g_ptr_array_unref);
      self->queries_changed = TRUE;
      break;
    case PROP_QUERIES_FILE:
      g_free (self->queries_file);
      self->queries_file = g_value_dup_string (value);
      g_clear_pointer (&self->remote_queries, g_ptr_array_unref);
      self->queries_changed = TRUE;
      break;
    case PROP_MODE:
      self->mode = g_value_get_enum (value);
      break;
    case PROP_THRESHOLD:
      self->threshold = g_value_get_double (value);
      self->thresholds_dirty = TRUE;
      break;
    case PROP_TOP_K:
      self->top_k = g_value_get_uint (value);
      break;
    case PROP_HYSTERESIS:
      self->hysteresis = g_value_get_double (value);
      break;
    case PROP_MIN_DURATION:
      self->min_duration = g_value_get_uint64 (value);
      break;
    case PROP_FILTER:
      self->filter = g_value_get_boolean (value);
      break;
    case PROP_LOCATION:
      g_free (self->location);
      self->location = g_value_dup_string (value);
      break;
    case PROP_RETIMESTAMP:
      self->retimestamp = g_value_get_boolean (value);
      break;
    case PROP_POST_MESSAGES:
      self->post_messages = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_bt_matcher_get_property (GObject *object, guint prop_id, GValue *value,
    GParamSpec *pspec)
{
  GstBtMatcher *self = GST_BT_MATCHER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_QUERIES:
      g_value_set_string (value, self->queries);
      break;
    case PROP_QUERIES_FILE:
      g_value_set_string (value, self->queries_file);
      break;
    case PROP_MODE:
      g_value_set_enum (value, self->mode);
      break;
    case PROP_THRESHOLD:
      g_value_set_double (value, self->threshold);
      break;
    case PROP_TOP_K:
      g_value_set_uint (value, self->top_k);
      break;
    case PROP_HYSTERESIS:
      g_value_set_double (value, self->hysteresis);
      break;
    case PROP_MIN_DURATION:
      g_value_set_uint64 (value, self->min_duration);
      break;
    case PROP_FILTER:
      g_value_set_boolean (value, self->filter);
      break;
    case PROP_LOCATION:
      g_value_set_string (value, self->location);
      break;
    case PROP_RETIMESTAMP:
      g_value_set_boolean (value, self->retimestamp);
      break;
    case PROP_POST_MESSAGES:
      g_value_set_boolean (value, self->post_messages);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_bt_matcher_finalize (GObject *object)
{
  GstBtMatcher *self = GST_BT_MATCHER (object);

  if (self->out)
    fclose (self->out);
  g_clear_pointer (&self->scored, bt_image_features_unref);
  g_clear_pointer (&self->ctx, bt_context_free);
  g_clear_pointer (&self->model, bt_model_unref);
  g_ptr_array_unref (self->states);
  gst_bt_text_cache_free (self->text_cache);
  g_ptr_array_unref (self->batch);
  g_array_unref (self->logits);
  g_array_unref (self->order);
  g_array_unref (self->scores);
  g_free (self->queries);
  g_free (self->queries_file);
  g_free (self->location);
  g_clear_pointer (&self->remote_queries, g_ptr_array_unref);
  G_OBJECT_CLASS (gst_bt_matcher_parent_class)->finalize (object);
}

static void
gst_bt_matcher_class_init (GstBtMatcherClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  const GParamFlags rw_playing = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_PLAYING;
  const GParamFlags rw_ready = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY;

  gobject_class->set_property = gst_bt_matcher_set_property;
  gobject_class->get_property = gst_bt_matcher_get_property;
  gobject_class->finalize = gst_bt_matcher_finalize;

  g_object_class_install_property (gobject_class, PROP_QUERIES,
      g_param_spec_string ("queries", "Queries",
          "Text queries separated by ';' (\"\\;\" for a literal semicolon, "
          "\"\\\\\" for a backslash; white space around each is trimmed). "
          "Used together with queries-file. May change while PLAYING: "
          "applies from the next frame.", NULL, rw_playing));
  g_object_class_install_property (gobject_class, PROP_QUERIES_FILE,
      g_param_spec_string ("queries-file", "Queries file",
          "JSON file with a list of strings or of objects {\"text\": ..., "
          "\"threshold\": ...} (threshold optional). Read at start and "
          "whenever the property is set, also while PLAYING.", NULL,
          rw_playing));
  g_object_class_install_property (gobject_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode",
          "Scoring head. auto: with ITM and ITC heads, ITC for every query "
          "then ITM on the top-k by ITC (score = ITM there; the others have "
          "no score, NaN, and never match); with one head, that head. A head "
          "the model lacks is an error.",
          GST_TYPE_BT_MATCHER_MODE, DEFAULT_MODE, rw_ready));
  g_object_class_install_property (gobject_class, PROP_THRESHOLD,
      g_param_spec_double ("threshold", "Threshold",
          "A query matches a frame when its score reaches this (queries-file "
          "entries may set their own). ITM probabilities: 0..1; ITC cosines: "
          "-1..1; outside its mode's range it is an error.", -1.0, 1.0,
          DEFAULT_THRESHOLD,
          rw_playing));
  g_object_class_install_property (gobject_class, PROP_TOP_K,
      g_param_spec_uint ("top-k", "Top k",
          "auto mode with both heads: how many queries, best by ITC, get "
          "the ITM score.", 1, G_MAXUINT, DEFAULT_TOP_K, rw_playing));
  g_object_class_install_property (gobject_class, PROP_HYSTERESIS,
      g_param_spec_double ("hysteresis", "Hysteresis",
          "A match ends when the score falls below threshold - hysteresis, "
          "so scores hovering at the threshold do not flicker.", 0.0, 2.0,
          DEFAULT_HYSTERESIS, rw_playing));
  g_object_class_install_property (gobject_class, PROP_MIN_DURATION,
      g_param_spec_uint64 ("min-duration", "Minimum duration",
          "A match is reported (bridgetower-match, JSON segment) only once it "
          "has lasted this long, in nanoseconds of PTS (0 = at once).", 0,
          G_MAXUINT64, DEFAULT_MIN_DURATION, rw_playing));
  g_object_class_install_property (gobject_class, PROP_FILTER,
      g_param_spec_boolean ("filter", "Filter",
          "Drop frames while no query is in a match; frames between scored "
          "frames follow the last scored frame's decision. A GAP event "
          "stands for each dropped frame, so sinks preroll and keep time.",
          DEFAULT_FILTER, rw_playing));
  g_object_class_install_property (gobject_class, PROP_RETIMESTAMP,
      g_param_spec_boolean ("retimestamp", "Retimestamp",
          "With filter=true: give the frames that pass back-to-back "
          "timestamps from the segment start, so the matches make one "
          "continuous clip (highlights). For files, not live sinks.",
          DEFAULT_RETIMESTAMP, rw_ready));
  g_object_class_install_property (gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean ("post-messages", "Post messages",
          "Post a bridgetower-scores element message for every scored frame "
          "(bridgetower-match messages are always posted).",
          DEFAULT_POST_MESSAGES, rw_playing));
  g_object_class_install_property (gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "Location",
          "Write every scored frame and every finished match as JSON lines "
          "to this file (flushed per line). Unset: no file.", NULL,
          rw_ready));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "BridgeTower query matcher", "Filter/Video/Analyzer",
      "Scores every frame btencoder encoded against text queries (ITM, ITC "
      "or ITC shortlist then ITM), attaches a GstBtScoresMeta, posts "
      "bridgetower-scores and bridgetower-match element messages, can write "
      "JSON lines and drop frames that match no query; the video passes "
      "through unchanged.",
      "gst-bridgetower <https://github.com/gst-bridgetower/gst-bridgetower>");

  gst_type_mark_as_plugin_api (GST_TYPE_BT_MATCHER_MODE, 0);

  trans_class->passthrough_on_same_caps = FALSE;
  trans_class->start = GST_DEBUG_FUNCPTR (gst_bt_matcher_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_bt_matcher_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_bt_matcher_sink_event);
  trans_class->src_event = GST_DEBUG_FUNCPTR (gst_bt_matcher_src_event);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_bt_matcher_transform_ip);
}

static void
gst_bt_matcher_init (GstBtMatcher *self)
{
  self->mode = DEFAULT_MODE;
  self->threshold = DEFAULT_THRESHOLD;
  self->top_k = DEFAULT_TOP_K;
  self->hysteresis = DEFAULT_HYSTERESIS;
  self->min_duration = DEFAULT_MIN_DURATION;
  self->filter = DEFAULT_FILTER;
  self->retimestamp = DEFAULT_RETIMESTAMP;
  self->post_messages = DEFAULT_POST_MESSAGES;
  self->states = g_ptr_array_new_with_free_func (query_state_free);
  self->text_cache = gst_bt_text_cache_new (TEXT_CACHE_SIZE);
  self->batch = g_ptr_array_new ();
  self->logits = g_array_new (FALSE, TRUE, sizeof (float));
  self->order = g_array_new (FALSE, TRUE, sizeof (guint));
  self->scores = g_array_new (FALSE, TRUE, sizeof (GstBtScore));
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
}
