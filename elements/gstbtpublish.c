/* gstbtpublish.c - btpublish: btmatcher's results to a file or MQTT.
 *
 * Sits anywhere downstream of btmatcher. Each buffer with a GstBtScoresMeta
 * becomes a "frame" message; btmatcher's serialized bridgetower-match
 * events become "match" (start) and "segment" (end) messages; each carries
 * `source` and the UTC `time` on top of btmatcher's JSON lines schema.
 *
 * MQTT (gstbtmqtt.c) never makes the streaming thread wait: what cannot be
 * queued is dropped and counted, and the next message that gets through is
 * preceded by a "gap" message naming what was lost. A retained message on
 * `queries-topic` is a query list in the queries-file format: it is checked
 * here and sent upstream to btmatcher at the next buffer (the streaming
 * thread is the one moment btmatcher is known to be running).
 *
 * SPDX-License-Identifier: MIT
 */
#include "gstbtpublish.h"
#include "gstbtmeta.h"
#include "gstbtjson.h"
#include "gstbtquerylist.h"
#include "gstbtqueryevent.h"
#ifdef BT_HAVE_MQTT
#include "gstbtmqtt.h"
#endif

#include <stdio.h>
#include <errno.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_bt_publish_debug);
#define GST_CAT_DEFAULT gst_bt_publish_debug

#define DEFAULT_METHOD GST_BT_PUBLISH_METHOD_FILE
#define DEFAULT_QOS 1
#define DEFAULT_MAX_QUEUE 1000
#define DEFAULT_RECONNECT_DELAY_MAX 30
#define DEFAULT_PUBLISH_FRAMES TRUE
/* how long EOS waits for the broker to take what is queued */
#define EOS_FLUSH_MS 10000
/* a query list is a few KB; refuse what is clearly not one */
#define MAX_QUERY_MESSAGE (256 * 1024)

enum
{
  PROP_0,
  PROP_METHOD,
  PROP_LOCATION,
  PROP_SOURCE,
  PROP_PUBLISH_FRAMES,
  PROP_QOS,
  PROP_CLIENT_ID,
  PROP_USERNAME,
  PROP_PASSWORD,
  PROP_CREDENTIALS_FILE,
  PROP_TLS_CA_FILE,
  PROP_TLS_CERT_FILE,
  PROP_TLS_KEY_FILE,
  PROP_QUERIES_TOPIC,
  PROP_MAX_QUEUE,
  PROP_RECONNECT_DELAY_MAX,
  PROP_PUBLISHED,
  PROP_DROPPED,
  PROP_CONNECTED,
};

struct _GstBtPublish
{
  GstBaseTransform parent;

  /* properties (object lock) */
  GstBtPublishMethod method;
  gchar *location;
  gchar *source;
  gboolean publish_frames;
  guint qos;
  gchar *client_id;
  gchar *username;
  gchar *password;
  gchar *credentials_file;
  gchar *tls_ca_file;
  gchar *tls_cert_file;
  gchar *tls_key_file;
  gchar *queries_topic;
  guint max_queue;
  guint reconnect_delay_max;

  /* remote queries from the MQTT thread, for the streaming thread (object
   * lock) */
  gboolean queries_pending;
  GPtrArray *pending_queries;  /* NULL with queries_pending: clear */
  gchar *last_query_message;

  /* counters (object lock) */
  guint64 published;
  guint64 dropped;
  gboolean connected;

  /* streaming state, from start to stop */
  gchar *source_now;
  FILE *out;
  gboolean out_is_stdout;
  gchar *topic;
#ifdef BT_HAVE_MQTT
  GstBtMqtt *mqtt;
#endif
  guint64 gap_dropped;         /* not delivered since the last gap report */
  guint64 gap_first;           /* frames among them, G_MAXUINT64: none */
  guint64 gap_last;
  gboolean warned_no_matcher;
};

G_DEFINE_TYPE (GstBtPublish, gst_bt_publish, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (btpublish, "btpublish", GST_RANK_NONE,
    GST_TYPE_BT_PUBLISH,
    GST_DEBUG_CATEGORY_INIT (gst_bt_publish_debug, "btpublish", 0,
        "BridgeTower result publisher"));

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

GType
gst_bt_publish_method_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_BT_PUBLISH_METHOD_FILE, "JSON lines to a file (stdout without "
          "location)", "file"},
    {GST_BT_PUBLISH_METHOD_MQTT, "MQTT messages to mqtt://host:port/topic",
        "mqtt"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstBtPublishMethod", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

/* ---- sending ------------------------------------------------------------ */

static void
gst_bt_publish_stamp (GstBtPublish *self, JsonObject *object)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree gchar *time = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S.%fZ");

  json_object_set_string_member (object, "source", self->source_now);
  json_object_set_string_member (object, "time", time);
}

static gboolean
gst_bt_publish_write (GstBtPublish *self, const gchar *line, gsize length)
{
  if (fwrite (line, 1, length, self->out) != length
      || fputc ('\n', self->out) == EOF || fflush (self->out) != 0) {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
        ("Cannot write to \"%s\".", self->out_is_stdout ? "stdout" :
            self->location), ("%s", g_strerror (errno)));
    return FALSE;
  }
  return TRUE;
}

#ifdef BT_HAVE_MQTT
static void
gst_bt_publish_gap_close (GstBtPublish *self)
{
  GstStructure *s = gst_structure_new ("bridgetower-publish-gap",
      "dropped", G_TYPE_UINT64, self->gap_dropped,
      "first-frame", G_TYPE_UINT64, self->gap_first,
      "last-frame", G_TYPE_UINT64, self->gap_last, NULL);

  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
  self->gap_dropped = 0;
  self->gap_first = self->gap_last = G_MAXUINT64;
}

/* Sends the pending gap report first; FALSE when it could not go. */
static gboolean
gst_bt_publish_mqtt_gap (GstBtPublish *self)
{
  JsonObject *gap;
  g_autofree gchar *line = NULL;
  gsize length;

  self->gap_dropped += gst_bt_mqtt_take_lost (self->mqtt);
  if (self->gap_dropped == 0)
    return TRUE;
  gap = json_object_new ();
  json_object_set_string_member (gap, "type", "gap");
  json_object_set_int_member (gap, "dropped", (gint64) self->gap_dropped);
  if (self->gap_first != G_MAXUINT64) {
    json_object_set_int_member (gap, "first_frame", (gint64) self->gap_first);
    json_object_set_int_member (gap, "last_frame", (gint64) self->gap_last);
  } else {
    json_object_set_null_member (gap, "first_frame");
    json_object_set_null_member (gap, "last_frame");
  }
  gst_bt_publish_stamp (self, gap);
  line = gst_bt_json_to_line (gap, &length);
  json_object_unref (gap);
  if (!gst_bt_mqtt_publish (self->mqtt, self->topic, line, length))
    return FALSE;
  GST_INFO_OBJECT (self, "reported a gap of %" G_GUINT64_FORMAT " messages",
      self->gap_dropped);
  GST_OBJECT_LOCK (self);
  self->published++;
  GST_OBJECT_UNLOCK (self);
  gst_bt_publish_gap_close (self);
  return TRUE;
}
#endif

/* Sends one result (taking `object`); `frame` is G_MAXUINT64 for match
 * messages. FALSE only on a file write error. */
static gboolean
gst_bt_publish_send (GstBtPublish *self, JsonObject *object, guint64 frame)
{
  g_autofree gchar *line = NULL;
  gsize length;
  gboolean sent = TRUE;

  gst_bt_publish_stamp (self, object);
  line = gst_bt_json_to_line (object, &length);
  json_object_unref (object);

  if (self->out) {
    if (!gst_bt_publish_write (self, line, length))
      return FALSE;
  }
#ifdef BT_HAVE_MQTT
  else if (self->mqtt) {
    sent = gst_bt_publish_mqtt_gap (self)
        && gst_bt_mqtt_publish (self->mqtt, self->topic, line, length);
  }
#endif
  if (sent) {
    GST_OBJECT_LOCK (self);
    self->published++;
    GST_OBJECT_UNLOCK (self);
    return TRUE;
  }
  GST_OBJECT_LOCK (self);
  self->dropped++;
  GST_OBJECT_UNLOCK (self);
  self->gap_dropped++;
  if (frame != G_MAXUINT64) {
    if (self->gap_first == G_MAXUINT64)
      self->gap_first = frame;
    self->gap_last = frame;
  }
  return TRUE;
}

/* ---- the stream --------------------------------------------------------- */

/* Hands a remote query list that arrived since the last buffer to
 * btmatcher upstream. */
static void
gst_bt_publish_forward_queries (GstBtPublish *self)
{
  GPtrArray *list;
  gboolean pending;

  GST_OBJECT_LOCK (self);
  pending = self->queries_pending;
  list = g_steal_pointer (&self->pending_queries);
  self->queries_pending = FALSE;
  GST_OBJECT_UNLOCK (self);
  if (!pending)
    return;
  if (!gst_pad_push_event (GST_BASE_TRANSFORM_SINK_PAD (self),
          gst_bt_query_event_new (list)) && !self->warned_no_matcher) {
    self->warned_no_matcher = TRUE;
    GST_ELEMENT_WARNING (self, STREAM, FAILED,
        ("No btmatcher upstream took the remote query list."),
        ("btpublish must be downstream of btmatcher for queries-topic"));
  }
  g_clear_pointer (&list, g_ptr_array_unref);
}

static GstFlowReturn
gst_bt_publish_transform_ip (GstBaseTransform *trans, GstBuffer *buf)
{
  GstBtPublish *self = GST_BT_PUBLISH (trans);
  GstBtScoresMeta *meta = gst_buffer_get_bt_scores_meta (buf);
  gboolean frames;

  gst_bt_publish_forward_queries (self);
  GST_OBJECT_LOCK (self);
  frames = self->publish_frames;
  GST_OBJECT_UNLOCK (self);
  if (!meta || !frames)
    return GST_FLOW_OK;
  if (!gst_bt_publish_send (self, gst_bt_json_frame_new (meta->frame,
              GST_BUFFER_PTS (buf), meta->scores, meta->n_scores),
          meta->frame))
    return GST_FLOW_ERROR;
  return GST_FLOW_OK;
}

/* btmatcher's bridgetower-match event: start -> "match", stop ->
 * "segment" (the JSON lines' segment). */
static void
gst_bt_publish_match (GstBtPublish *self, const GstStructure *s)
{
  const gchar *query = gst_structure_get_string (s, "query");
  const gchar *event = gst_structure_get_string (s, "event");
  guint64 start = GST_CLOCK_TIME_NONE, stop = GST_CLOCK_TIME_NONE;
  gdouble peak = 0;
  JsonObject *object;

  if (!query || !event)
    return;
  gst_structure_get_uint64 (s, "start", &start);
  gst_structure_get_uint64 (s, "stop", &stop);
  gst_structure_get_double (s, "peak", &peak);
  object = g_str_equal (event, "stop") ?
      gst_bt_json_segment_new (query, start, stop, peak) :
      gst_bt_json_match_new (query, start, peak);
  gst_bt_publish_send (self, object, G_MAXUINT64);
}

static gboolean
gst_bt_publish_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstBtPublish *self = GST_BT_PUBLISH (trans);
  const GstStructure *s = gst_event_get_structure (event);

  if (GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_DOWNSTREAM && s
      && gst_structure_has_name (s, "bridgetower-match"))
    gst_bt_publish_match (self, s);
#ifdef BT_HAVE_MQTT
  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS && self->mqtt) {
    /* EOS on the bus then means: delivered, or reported as not. The queue
     * drains first, so that a last gap report finds room. */
    gboolean drained = gst_bt_mqtt_flush (self->mqtt, EOS_FLUSH_MS)
        && gst_bt_publish_mqtt_gap (self)
        && gst_bt_mqtt_flush (self->mqtt, EOS_FLUSH_MS);

    if (!drained)
      GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
          ("The MQTT broker did not take every message before EOS."),
          ("waited up to %d ms", 2 * EOS_FLUSH_MS));
    if (self->gap_dropped > 0)
      gst_bt_publish_gap_close (self);
  }
#endif
  return GST_BASE_TRANSFORM_CLASS (gst_bt_publish_parent_class)->sink_event
      (trans, event);
}

/* ---- MQTT callbacks, on the client's thread ----------------------------- */

#ifdef BT_HAVE_MQTT
static void
gst_bt_publish_on_connection (gboolean connected, const gchar *reason,
    gpointer user_data)
{
  GstBtPublish *self = user_data;

  GST_INFO_OBJECT (self, "%s (%s)", connected ? "connected" : "disconnected",
      GST_STR_NULL (reason));
  GST_OBJECT_LOCK (self);
  self->connected = connected;
  GST_OBJECT_UNLOCK (self);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self),
          gst_structure_new ("bridgetower-publish-connection",
              "connected", G_TYPE_BOOLEAN, connected,
              "reason", G_TYPE_STRING, reason ? reason : "", NULL)));
}

static void
gst_bt_publish_on_queries (const gchar *payload, gsize length,
    gpointer user_data)
{
  GstBtPublish *self = user_data;
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = g_strndup (payload, length);
  GValue texts = G_VALUE_INIT;

  GST_OBJECT_LOCK (self);
  if (g_strcmp0 (self->last_query_message, text) == 0) {
    /* the retained list again, after a reconnection */
    GST_OBJECT_UNLOCK (self);
    return;
  }
  GST_OBJECT_UNLOCK (self);

  /* an empty message clears a retained one: back to btmatcher's own
   * queries */
  if (length > 0) {
    list = gst_bt_query_list_new ();
    if (length > MAX_QUERY_MESSAGE) {
      g_set_error (&error, BT_ERROR, BT_ERROR_INPUT, "%" G_GSIZE_FORMAT
          " bytes, more than the %d a query list may have", length,
          MAX_QUERY_MESSAGE);
    } else if (gst_bt_query_list_load_data (list, text, length,
            "queries-topic", &error)) {
      gst_bt_query_list_dedup (list);
    }
    if (error) {
      GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
          ("Remote query list rejected, keeping the previous queries."),
          ("%s", error->message));
      return;
    }
  }

  gst_value_array_init (&texts, list ? list->len : 0);
  for (guint i = 0; list && i < list->len; i++) {
    GValue v = G_VALUE_INIT;

    g_value_init (&v, G_TYPE_STRING);
    g_value_set_string (&v, ((GstBtQueryEntry *)
            g_ptr_array_index (list, i))->text);
    gst_value_array_append_and_take_value (&texts, &v);
  }

  GST_OBJECT_LOCK (self);
  g_free (self->last_query_message);
  self->last_query_message = g_steal_pointer (&text);
  g_clear_pointer (&self->pending_queries, g_ptr_array_unref);
  self->pending_queries = list ? g_ptr_array_ref (list) : NULL;
  self->queries_pending = TRUE;
  GST_OBJECT_UNLOCK (self);

  {
    GstStructure *s = gst_structure_new ("bridgetower-remote-queries",
        "cleared", G_TYPE_BOOLEAN, list == NULL, NULL);

    gst_structure_take_value (s, "queries", &texts);
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self), s));
  }
}

/* Fills what the properties and the URL left unset from the credentials
 * file ([mqtt] username, password, tls-ca-file, tls-cert-file,
 * tls-key-file). */
static gboolean
gst_bt_publish_read_credentials (const gchar *path, gchar **username,
    gchar **password, gchar **ca_file, gchar **cert_file, gchar **key_file,
    GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  const gchar *keys[] = { "username", "password", "tls-ca-file",
    "tls-cert-file", "tls-key-file"
  };
  gchar **targets[] = { username, password, ca_file, cert_file, key_file };

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, error))
    return FALSE;
  if (!g_key_file_has_group (kf, "mqtt")) {
    g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND,
        "no [mqtt] group");
    return FALSE;
  }
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++) {
    if (!*targets[i])
      *targets[i] = g_key_file_get_string (kf, "mqtt", keys[i], NULL);
  }
  return TRUE;
}

#endif

static gboolean
gst_bt_publish_start_mqtt (GstBtPublish *self)
{
#ifdef BT_HAVE_MQTT
  static const GstBtMqttCallbacks callbacks = {
    gst_bt_publish_on_connection, gst_bt_publish_on_queries
  };
  g_autoptr (GError) error = NULL;
  GstBtMqttUrl url;
  GstBtMqttSettings settings = { 0 };
  g_autofree gchar *location = NULL, *username = NULL, *password = NULL;
  g_autofree gchar *ca = NULL, *cert = NULL, *key = NULL, *client_id = NULL;
  g_autofree gchar *credentials = NULL, *queries_topic = NULL;

  GST_OBJECT_LOCK (self);
  location = g_strdup (self->location);
  username = g_strdup (self->username);
  password = g_strdup (self->password);
  ca = g_strdup (self->tls_ca_file);
  cert = g_strdup (self->tls_cert_file);
  key = g_strdup (self->tls_key_file);
  client_id = g_strdup (self->client_id);
  credentials = g_strdup (self->credentials_file);
  queries_topic = g_strdup (self->queries_topic);
  settings.qos = (gint) self->qos;
  settings.max_queue = self->max_queue;
  settings.reconnect_delay_max = self->reconnect_delay_max;
  GST_OBJECT_UNLOCK (self);

  if (!location || !location[0]) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("method=mqtt needs location=mqtt://host[:port]/topic."), (NULL));
    return FALSE;
  }
  if (!gst_bt_mqtt_url_parse (location, &url, &error)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid MQTT location."), ("%s", error->message));
    return FALSE;
  }
  if (!username) {
    username = g_steal_pointer (&url.username);
    g_free (password);
    password = g_steal_pointer (&url.password);
  }
  if (credentials && credentials[0]
      && !gst_bt_publish_read_credentials (credentials, &username, &password,
          &ca, &cert, &key, &error)) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Cannot read the credentials file \"%s\".", credentials),
        ("%s", error->message));
    gst_bt_mqtt_url_clear (&url);
    return FALSE;
  }
  settings.host = url.host;
  settings.port = url.port;
  settings.tls = url.tls || ca || cert;
  settings.ca_file = ca;
  settings.cert_file = cert;
  settings.key_file = key;
  settings.client_id = client_id && client_id[0] ? client_id : NULL;
  settings.username = username;
  settings.password = password;
  settings.subscribe = queries_topic && queries_topic[0] ? queries_topic
      : NULL;
  self->topic = g_strdup (url.topic);
  self->mqtt = gst_bt_mqtt_new (&settings, &callbacks, self, &error);
  gst_bt_mqtt_url_clear (&url);
  if (!self->mqtt) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Cannot set up the MQTT client for \"%s\".", location),
        ("%s", error->message));
    return FALSE;
  }
  return TRUE;
#else
  GST_ELEMENT_ERROR (self, CORE, NOT_IMPLEMENTED,
      ("method=mqtt is not available: this bridgetower plugin was built "
          "without libmosquitto."),
      ("install libmosquitto-dev and rebuild (meson option mqtt)"));
  return FALSE;
#endif
}

static gboolean
gst_bt_publish_start (GstBaseTransform *trans)
{
  GstBtPublish *self = GST_BT_PUBLISH (trans);
  GstBtPublishMethod method;
  g_autofree gchar *location = NULL;
  gboolean remote;

  GST_OBJECT_LOCK (self);
  method = self->method;
  location = g_strdup (self->location);
  remote = self->queries_topic && self->queries_topic[0];
  g_free (self->source_now);
  self->source_now = g_strdup (self->source && self->source[0] ?
      self->source : g_get_host_name ());
  g_clear_pointer (&self->last_query_message, g_free);
  self->published = self->dropped = 0;
  GST_OBJECT_UNLOCK (self);
  self->gap_dropped = 0;
  self->gap_first = self->gap_last = G_MAXUINT64;
  self->warned_no_matcher = FALSE;

  if (method == GST_BT_PUBLISH_METHOD_MQTT)
    return gst_bt_publish_start_mqtt (self);

  if (remote) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("queries-topic needs method=mqtt."), (NULL));
    return FALSE;
  }
  self->out_is_stdout = !location || !location[0];
  self->out = self->out_is_stdout ? stdout : fopen (location, "w");
  if (!self->out) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
        ("Cannot open \"%s\" for writing.", location),
        ("%s", g_strerror (errno)));
    return FALSE;
  }
  return TRUE;
}

static gboolean
gst_bt_publish_stop (GstBaseTransform *trans)
{
  GstBtPublish *self = GST_BT_PUBLISH (trans);

  if (self->out && !self->out_is_stdout)
    fclose (self->out);
  self->out = NULL;
#ifdef BT_HAVE_MQTT
  g_clear_pointer (&self->mqtt, gst_bt_mqtt_free);
#endif
  g_clear_pointer (&self->topic, g_free);
  GST_OBJECT_LOCK (self);
  self->connected = FALSE;
  g_clear_pointer (&self->pending_queries, g_ptr_array_unref);
  self->queries_pending = FALSE;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

/* ---- properties --------------------------------------------------------- */

static void
replace_string (gchar **field, const GValue *value)
{
  g_free (*field);
  *field = g_value_dup_string (value);
}

static void
gst_bt_publish_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec)
{
  GstBtPublish *self = GST_BT_PUBLISH (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_METHOD:
      self->method = g_value_get_enum (value);
      break;
    case PROP_LOCATION:
      replace_string (&self->location, value);
      break;
    case PROP_SOURCE:
      replace_string (&self->source, value);
      break;
    case PROP_PUBLISH_FRAMES:
      self->publish_frames = g_value_get_boolean (value);
      break;
    case PROP_QOS:
      self->qos = g_value_get_uint (value);
      break;
    case PROP_CLIENT_ID:
      replace_string (&self->client_id, value);
      break;
    case PROP_USERNAME:
      replace_string (&self->username, value);
      break;
    case PROP_PASSWORD:
      replace_string (&self->password, value);
      break;
    case PROP_CREDENTIALS_FILE:
      replace_string (&self->credentials_file, value);
      break;
    case PROP_TLS_CA_FILE:
      replace_string (&self->tls_ca_file, value);
      break;
    case PROP_TLS_CERT_FILE:
      replace_string (&self->tls_cert_file, value);
      break;
    case PROP_TLS_KEY_FILE:
      replace_string (&self->tls_key_file, value);
      break;
    case PROP_QUERIES_TOPIC:
      replace_string (&self->queries_topic, value);
      break;
    case PROP_MAX_QUEUE:
      self->max_queue = g_value_get_uint (value);
      break;
    case PROP_RECONNECT_DELAY_MAX:
      self->reconnect_delay_max = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_bt_publish_get_property (GObject *object, guint prop_id, GValue *value,
    GParamSpec *pspec)
{
  GstBtPublish *self = GST_BT_PUBLISH (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_METHOD:
      g_value_set_enum (value, self->method);
      break;
    case PROP_LOCATION:
      g_value_set_string (value, self->location);
      break;
    case PROP_SOURCE:
      g_value_set_string (value, self->source);
      break;
    case PROP_PUBLISH_FRAMES:
      g_value_set_boolean (value, self->publish_frames);
      break;
    case PROP_QOS:
      g_value_set_uint (value, self->qos);
      break;
    case PROP_CLIENT_ID:
      g_value_set_string (value, self->client_id);
      break;
    case PROP_USERNAME:
      g_value_set_string (value, self->username);
      break;
    case PROP_PASSWORD:
      g_value_set_string (value, self->password);
      break;
    case PROP_CREDENTIALS_FILE:
      g_value_set_string (value, self->credentials_file);
      break;
    case PROP_TLS_CA_FILE:
      g_value_set_string (value, self->tls_ca_file);
      break;
    case PROP_TLS_CERT_FILE:
      g_value_set_string (value, self->tls_cert_file);
      break;
    case PROP_TLS_KEY_FILE:
      g_value_set_string (value, self->tls_key_file);
      break;
    case PROP_QUERIES_TOPIC:
      g_value_set_string (value, self->queries_topic);
      break;
    case PROP_MAX_QUEUE:
      g_value_set_uint (value, self->max_queue);
      break;
    case PROP_RECONNECT_DELAY_MAX:
      g_value_set_uint (value, self->reconnect_delay_max);
      break;
    case PROP_PUBLISHED:
      g_value_set_uint64 (value, self->published);
      break;
    case PROP_DROPPED:
      g_value_set_uint64 (value, self->dropped);
      break;
    case PROP_CONNECTED:
      g_value_set_boolean (value, self->connected);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_bt_publish_finalize (GObject *object)
{
  GstBtPublish *self = GST_BT_PUBLISH (object);

  g_free (self->location);
  g_free (self->source);
  g_free (self->client_id);
  g_free (self->username);
  g_free (self->password);
  g_free (self->credentials_file);
  g_free (self->tls_ca_file);
  g_free (self->tls_cert_file);
  g_free (self->tls_key_file);
  g_free (self->queries_topic);
  g_free (self->last_query_message);
  g_free (self->source_now);
  g_clear_pointer (&self->pending_queries, g_ptr_array_unref);
  G_OBJECT_CLASS (gst_bt_publish_parent_class)->finalize (object);
}

static void
install_string (GObjectClass *klass, guint id, const gchar *name,
    const gchar *blurb)
{
  g_object_class_install_property (klass, id, g_param_spec_string (name, name,
          blurb, NULL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
}

static void
gst_bt_publish_class_init (GstBtPublishClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  const GParamFlags rw_ready = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY;
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  gobject_class->set_property = gst_bt_publish_set_property;
  gobject_class->get_property = gst_bt_publish_get_property;
  gobject_class->finalize = gst_bt_publish_finalize;

  g_object_class_install_property (gobject_class, PROP_METHOD,
      g_param_spec_enum ("method", "Method",
          "file: JSON lines to location (stdout when unset); mqtt: one MQTT "
          "message per result to location=mqtt://host[:port]/topic.",
          GST_TYPE_BT_PUBLISH_METHOD, DEFAULT_METHOD, rw_ready));
  install_string (gobject_class, PROP_LOCATION, "location",
      "method=file: the file (truncated at start); method=mqtt: "
      "mqtt://[user[:password]@]host[:port]/topic, mqtts:// for TLS "
      "(ports 1883 / 8883 by default).");
  install_string (gobject_class, PROP_SOURCE, "source",
      "Camera / source id written into every message (default: the host "
      "name).");
  g_object_class_install_property (gobject_class, PROP_PUBLISH_FRAMES,
      g_param_spec_boolean ("publish-frames", "Publish frames",
          "Publish a message per scored frame; false: only match starts and "
          "segments.", DEFAULT_PUBLISH_FRAMES, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_QOS,
      g_param_spec_uint ("qos", "QoS",
          "MQTT quality of service: 0 (at most once) or 1 (at least once, "
          "kept and sent again across reconnections).", 0, 1, DEFAULT_QOS,
          rw_ready));
  install_string (gobject_class, PROP_CLIENT_ID, "client-id",
      "MQTT client id (default: a random one from libmosquitto).");
  install_string (gobject_class, PROP_USERNAME, "username",
      "MQTT user name (overrides the URL's and the credentials file's).");
  install_string (gobject_class, PROP_PASSWORD, "password",
      "MQTT password (prefer credentials-file: properties show in process "
      "lists).");
  install_string (gobject_class, PROP_CREDENTIALS_FILE, "credentials-file",
      "Key file with an [mqtt] group: username, password, tls-ca-file, "
      "tls-cert-file, tls-key-file; used for what the properties and the "
      "URL leave unset.");
  install_string (gobject_class, PROP_TLS_CA_FILE, "tls-ca-file",
      "PEM CA certificate(s) to verify the broker (turns TLS on; mqtts:// "
      "without it uses /etc/ssl/certs).");
  install_string (gobject_class, PROP_TLS_CERT_FILE, "tls-cert-file",
      "PEM client certificate, with tls-key-file (turns TLS on).");
  install_string (gobject_class, PROP_TLS_KEY_FILE, "tls-key-file",
      "PEM private key of tls-cert-file (unencrypted).");
  install_string (gobject_class, PROP_QUERIES_TOPIC, "queries-topic",
      "MQTT topic whose (retained) message is the query list, in the "
      "queries-file format; sent upstream to btmatcher. An empty message "
      "returns btmatcher to its own queries.");
  g_object_class_install_property (gobject_class, PROP_MAX_QUEUE,
      g_param_spec_uint ("max-queue", "Maximum queue",
          "Messages held for the broker (QoS 1: until acknowledged, also "
          "while disconnected; QoS 0: until written). Beyond it messages are "
          "dropped, counted and reported in a gap message.", 1, G_MAXINT,
          DEFAULT_MAX_QUEUE, rw_ready));
  g_object_class_install_property (gobject_class, PROP_RECONNECT_DELAY_MAX,
      g_param_spec_uint ("reconnect-delay-max", "Maximum reconnect delay",
          "Seconds: reconnection attempts back off from 1 s up to this.", 1,
          3600, DEFAULT_RECONNECT_DELAY_MAX, rw_ready));
  g_object_class_install_property (gobject_class, PROP_PUBLISHED,
      g_param_spec_uint64 ("published", "Published",
          "Messages handed to the file or the MQTT client since start.", 0,
          G_MAXUINT64, 0, ro));
  g_object_class_install_property (gobject_class, PROP_DROPPED,
      g_param_spec_uint64 ("dropped", "Dropped",
          "Messages dropped since start (queue full, or QoS 0 while "
          "disconnected).", 0, G_MAXUINT64, 0, ro));
  g_object_class_install_property (gobject_class, PROP_CONNECTED,
      g_param_spec_boolean ("connected", "Connected",
          "Connected to the MQTT broker now.", FALSE, ro));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "BridgeTower result publisher", "Filter/Network",
      "Publishes btmatcher's frame scores and matches as JSON (JSON lines "
      "to a file, or MQTT messages to a broker) and takes a remote query "
      "list from MQTT; buffers pass through unchanged.",
      "gst-bridgetower <https://github.com/gst-bridgetower/gst-bridgetower>");

  gst_type_mark_as_plugin_api (GST_TYPE_BT_PUBLISH_METHOD, 0);

  trans_class->passthrough_on_same_caps = FALSE;
  trans_class->start = GST_DEBUG_FUNCPTR (gst_bt_publish_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_bt_publish_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_bt_publish_sink_event);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_bt_publish_transform_ip);
}

static void
gst_bt_publish_init (GstBtPublish *self)
{
  self->method = DEFAULT_METHOD;
  self->publish_frames = DEFAULT_PUBLISH_FRAMES;
  self->qos = DEFAULT_QOS;
  self->max_queue = DEFAULT_MAX_QUEUE;
  self->reconnect_delay_max = DEFAULT_RECONNECT_DELAY_MAX;
  self->gap_first = self->gap_last = G_MAXUINT64;
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
}
