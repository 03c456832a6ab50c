/* gstbtmqtt.c - see gstbtmqtt.h.
 *
 * The network work runs in a thread of ours that drives libmosquitto
 * (mosquitto_threaded_set + mosquitto_loop): mosquitto_publish from the
 * streaming thread only queues the packet and wakes that thread. Not
 * mosquitto_loop_start: libmosquitto 2.0's own thread ends for good, and
 * without any callback, when a TLS handshake fails, and the camera would
 * never publish again. Here every failure (refused, lost, TLS) is reported
 * and retried with backoff, and stopping takes at most a loop turn
 * (100 ms) plus a connection attempt in progress.
 *
 * libmosquitto's queue has no bound, so `queued` counts what is waiting
 * (QoS 0: not yet written; QoS 1: not yet acknowledged) and publish drops
 * beyond max_queue. At QoS 1 libmosquitto keeps unacknowledged messages
 * across a reconnection and sends them again; at QoS 0 a lost connection
 * discards them, which `lost` counts.
 *
 * SPDX-License-Identifier: MIT
 */
#include "gstbtmqtt.h"

#include <errno.h>
#include <string.h>
#include <mosquitto.h>
#include <gst/gst.h>
#include <bt-common.h>

GST_DEBUG_CATEGORY_STATIC (bt_mqtt_debug);
#define GST_CAT_DEFAULT bt_mqtt_debug

#define KEEPALIVE_S 10
#define LOOP_TURN_MS 100

struct _GstBtMqtt
{
  struct mosquitto *mosq;
  GstBtMqttCallbacks callbacks;
  gpointer user_data;
  gchar *host;
  guint port;
  gint qos;
  guint max_queue;
  guint reconnect_delay_max;
  gchar *subscribe;
  GThread *thread;

  /* the network thread's own */
  guint failures;              /* since the last accepted connection */
  gchar *reported;             /* the last failure reported */

  GMutex lock;                 /* guards the fields below */
  GCond drained;
  GCond wake;                  /* cuts the backoff short when stopping */
  guint queued;
  guint lost;
  gboolean connected;
  gboolean stopping;
};

gboolean
gst_bt_mqtt_url_parse (const gchar *url, GstBtMqttUrl *out, GError **error)
{
  g_autoptr (GUri) uri = NULL;
  g_autoptr (GError) local = NULL;
  const gchar *scheme, *path;

  memset (out, 0, sizeof (*out));
  uri = g_uri_parse (url, G_URI_FLAGS_HAS_PASSWORD, &local);
  if (!uri) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT, "\"%s\": %s", url,
        local->message);
    return FALSE;
  }
  scheme = g_uri_get_scheme (uri);
  if (g_ascii_strcasecmp (scheme, "mqtt") == 0)
    out->tls = FALSE;
  else if (g_ascii_strcasecmp (scheme, "mqtts") == 0)
    out->tls = TRUE;
  else {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
        "\"%s\": the scheme must be mqtt:// or mqtts://", url);
    return FALSE;
  }
  path = g_uri_get_path (uri);
  while (*path == '/')
    path++;
  /* a '#' wildcard would parse as a URL fragment */
  if (!g_uri_get_host (uri) || !g_uri_get_host (uri)[0] || !path[0]
      || strchr (path, '+') || g_uri_get_fragment (uri)
      || g_uri_get_query (uri)) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
        "\"%s\": expected mqtt://host[:port]/topic with a topic free of the "
        "wildcards + and #", url);
    return FALSE;
  }
  out->host = g_strdup (g_uri_get_host (uri));
  out->port = g_uri_get_port (uri) > 0 ? (guint) g_uri_get_port (uri)
      : out->tls ? 8883 : 1883;
  out->topic = g_uri_unescape_string (path, NULL);
  out->username = g_strdup (g_uri_get_user (uri));
  out->password = g_strdup (g_uri_get_password (uri));
  if (!out->topic) {
    gst_bt_mqtt_url_clear (out);
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT, "\"%s\": bad topic", url);
    return FALSE;
  }
  return TRUE;
}

void
gst_bt_mqtt_url_clear (GstBtMqttUrl *url)
{
  g_clear_pointer (&url->host, g_free);
  g_clear_pointer (&url->topic, g_free);
  g_clear_pointer (&url->username, g_free);
  g_clear_pointer (&url->password, g_free);
}

/* ---- the network thread (libmosquitto's callbacks run in it) ------------ */

/* Reports a failure once, not again while it repeats. */
static void
mqtt_report (GstBtMqtt *mqtt, const gchar *reason)
{
  GST_DEBUG ("%s", reason);
  if (g_strcmp0 (mqtt->reported, reason) == 0)
    return;
  g_free (mqtt->reported);
  mqtt->reported = g_strdup (reason);
  mqtt->callbacks.connection (FALSE, reason, mqtt->user_data);
}

static void
on_connect (struct mosquitto *mosq, void *obj, int rc)
{
  GstBtMqtt *mqtt = obj;

  if (rc != 0) {
    mqtt_report (mqtt, mosquitto_connack_string (rc));
    return;
  }
  g_mutex_lock (&mqtt->lock);
  mqtt->connected = TRUE;
  g_mutex_unlock (&mqtt->lock);
  mqtt->failures = 0;
  g_clear_pointer (&mqtt->reported, g_free);
  /* the session is clean: subscribe again on every connection, which also
   * delivers the retained message again */
  if (mqtt->subscribe)
    mosquitto_subscribe (mosq, NULL, mqtt->subscribe, 1);
  mqtt->callbacks.connection (TRUE, NULL, mqtt->user_data);
}

/* The connection is gone (libmosquitto may or may not have said so). */
static void
mqtt_lost (GstBtMqtt *mqtt)
{
  g_mutex_lock (&mqtt->lock);
  mqtt->connected = FALSE;
  if (mqtt->qos == 0) {
    mqtt->lost += mqtt->queued;
    mqtt->queued = 0;
    g_cond_broadcast (&mqtt->drained);
  }
  g_mutex_unlock (&mqtt->lock);
}

static void
on_disconnect (struct mosquitto *mosq, void *obj, int rc)
{
  (void) mosq;
  (void) rc;
  mqtt_lost (obj);
}

static void
on_publish (struct mosquitto *mosq, void *obj, int mid)
{
  GstBtMqtt *mqtt = obj;

  (void) mosq;
  (void) mid;
  g_mutex_lock (&mqtt->lock);
  if (mqtt->queued > 0)
    mqtt->queued--;
  if (mqtt->queued == 0)
    g_cond_broadcast (&mqtt->drained);
  g_mutex_unlock (&mqtt->lock);
}

static void
on_message (struct mosquitto *mosq, void *obj,
    const struct mosquitto_message *message)
{
  GstBtMqtt *mqtt = obj;

  (void) mosq;
  mqtt->callbacks.message (message->payload, (gsize) message->payloadlen,
      mqtt->user_data);
}

static const gchar *
mqtt_reason (int rc)
{
  return rc == MOSQ_ERR_ERRNO ? g_strerror (errno) : mosquitto_strerror (rc);
}

static gboolean
mqtt_stopping (GstBtMqtt *mqtt)
{
  gboolean stopping;

  g_mutex_lock (&mqtt->lock);
  stopping = mqtt->stopping;
  g_mutex_unlock (&mqtt->lock);
  return stopping;
}

/* Connects (blocking), then runs libmosquitto's loop a turn at a time;
 * after any failure waits 1, 2, 4 ... s up to reconnect_delay_max and
 * connects again. */
static gpointer
mqtt_run (gpointer data)
{
  GstBtMqtt *mqtt = data;
  gboolean up = FALSE, first = TRUE;

  while (!mqtt_stopping (mqtt)) {
    gint64 until;
    int rc;

    if (up) {
      rc = mosquitto_loop (mqtt->mosq, LOOP_TURN_MS, 1);
    } else {
      rc = first ? mosquitto_connect (mqtt->mosq, mqtt->host,
          (int) mqtt->port, KEEPALIVE_S) : mosquitto_reconnect (mqtt->mosq);
      first = FALSE;
    }
    up = rc == MOSQ_ERR_SUCCESS;
    if (up)
      continue;
    mqtt_report (mqtt, mqtt_reason (rc));
    mqtt_lost (mqtt);
    until = g_get_monotonic_time () + G_USEC_PER_SEC *
        (gint64) MIN (1u << MIN (mqtt->failures, 16u),
        mqtt->reconnect_delay_max);
    mqtt->failures++;
    g_mutex_lock (&mqtt->lock);
    while (!mqtt->stopping && g_cond_wait_until (&mqtt->wake, &mqtt->lock,
            until));
    g_mutex_unlock (&mqtt->lock);
  }
  if (up) {
    /* say goodbye: the DISCONNECT goes out on the next turn */
    mosquitto_disconnect (mqtt->mosq);
    mosquitto_loop (mqtt->mosq, LOOP_TURN_MS, 1);
  }
  return NULL;
}

/* ---- API ---------------------------------------------------------------- */

static gboolean
mqtt_fail (GError **error, const gchar *what, int rc)
{
  g_set_error (error, BT_ERROR, BT_ERROR_INPUT, "%s: %s", what,
      mqtt_reason (rc));
  return FALSE;
}

static gboolean
mqtt_configure (GstBtMqtt *mqtt, const GstBtMqttSettings *s, GError **error)
{
  int rc;

  /* publish from the streaming thread must leave the socket to ours */
  mosquitto_threaded_set (mqtt->mosq, TRUE);
  mosquitto_int_option (mqtt->mosq, MOSQ_OPT_PROTOCOL_VERSION,
      MQTT_PROTOCOL_V311);
  if (s->username && (rc = mosquitto_username_pw_set (mqtt->mosq,
              s->username, s->password)) != MOSQ_ERR_SUCCESS)
    return mqtt_fail (error, "username", rc);
  if (s->tls) {
    rc = mosquitto_tls_set (mqtt->mosq, s->ca_file,
        s->ca_file ? NULL : "/etc/ssl/certs", s->cert_file, s->key_file,
        NULL);
    if (rc != MOSQ_ERR_SUCCESS)
      return mqtt_fail (error, "TLS settings (CA, certificate and key files "
          "must be readable; certificate and key go together)", rc);
  }
  mosquitto_connect_callback_set (mqtt->mosq, on_connect);
  mosquitto_disconnect_callback_set (mqtt->mosq, on_disconnect);
  mosquitto_publish_callback_set (mqtt->mosq, on_publish);
  mosquitto_message_callback_set (mqtt->mosq, on_message);
  return TRUE;
}

GstBtMqtt *
gst_bt_mqtt_new (const GstBtMqttSettings *settings,
    const GstBtMqttCallbacks *callbacks, gpointer user_data, GError **error)
{
  static gsize lib_init = 0;
  GstBtMqtt *mqtt;

  if (g_once_init_enter (&lib_init)) {
    GST_DEBUG_CATEGORY_INIT (bt_mqtt_debug, "btmqtt", 0,
        "btpublish's MQTT client");
    mosquitto_lib_init ();
    g_once_init_leave (&lib_init, 1);
  }
  mqtt = g_new0 (GstBtMqtt, 1);
  g_mutex_init (&mqtt->lock);
  g_cond_init (&mqtt->drained);
  g_cond_init (&mqtt->wake);
  mqtt->callbacks = *callbacks;
  mqtt->user_data = user_data;
  mqtt->qos = settings->qos;
  mqtt->max_queue = MAX (settings->max_queue, 1);
  mqtt->reconnect_delay_max = MAX (settings->reconnect_delay_max, 1);
  mqtt->subscribe = g_strdup (settings->subscribe);
  mqtt->host = g_strdup (settings->host);
  mqtt->port = settings->port;
  mqtt->mosq = mosquitto_new (settings->client_id, TRUE, mqtt);
  if (!mqtt->mosq) {
    mqtt_fail (error, "cannot create the MQTT client", errno == EINVAL ?
        MOSQ_ERR_INVAL : MOSQ_ERR_NOMEM);
    gst_bt_mqtt_free (mqtt);
    return NULL;
  }
  if (!mqtt_configure (mqtt, settings, error)) {
    gst_bt_mqtt_free (mqtt);
    return NULL;
  }
  /* a broker that is down now is retried there */
  mqtt->thread = g_thread_new ("bt-mqtt", mqtt_run, mqtt);
  return mqtt;
}

gboolean
gst_bt_mqtt_publish (GstBtMqtt *mqtt, const gchar *topic,
    const gchar *payload, gsize length)
{
  int rc;

  g_mutex_lock (&mqtt->lock);
  if (mqtt->queued >= mqtt->max_queue
      || (mqtt->qos == 0 && !mqtt->connected)) {
    g_mutex_unlock (&mqtt->lock);
    return FALSE;
  }
  mqtt->queued++;
  g_mutex_unlock (&mqtt->lock);

  /* not under our lock: libmosquitto takes its own, and its callbacks ours */
  rc = mosquitto_publish (mqtt->mosq, NULL, topic, (int) length, payload,
      mqtt->qos, FALSE);
  /* at QoS 1 "no connection" still means queued: libmosquitto keeps the
   * message and sends it once connected */
  if (rc != MOSQ_ERR_SUCCESS && !(rc == MOSQ_ERR_NO_CONN && mqtt->qos > 0)) {
    g_mutex_lock (&mqtt->lock);
    if (mqtt->queued > 0)
      mqtt->queued--;
    g_mutex_unlock (&mqtt->lock);
    return FALSE;
  }
  return TRUE;
}

guint
gst_bt_mqtt_take_lost (GstBtMqtt *mqtt)
{
  guint lost;

  g_mutex_lock (&mqtt->lock);
  lost = mqtt->lost;
  mqtt->lost = 0;
  g_mutex_unlock (&mqtt->lock);
  return lost;
}

gboolean
gst_bt_mqtt_flush (GstBtMqtt *mqtt, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gboolean empty;

  g_mutex_lock (&mqtt->lock);
  while (mqtt->queued > 0 && g_cond_wait_until (&mqtt->drained, &mqtt->lock,
          end));
  empty = mqtt->queued == 0;
  g_mutex_unlock (&mqtt->lock);
  return empty;
}

void
gst_bt_mqtt_free (GstBtMqtt *mqtt)
{
  g_mutex_lock (&mqtt->lock);
  mqtt->stopping = TRUE;
  g_cond_broadcast (&mqtt->wake);
  g_mutex_unlock (&mqtt->lock);
  if (mqtt->thread)
    g_thread_join (mqtt->thread);
  if (mqtt->mosq)
    mosquitto_destroy (mqtt->mosq);
  g_free (mqtt->subscribe);
  g_free (mqtt->host);
  g_free (mqtt->reported);
  g_mutex_clear (&mqtt->lock);
  g_cond_clear (&mqtt->drained);
  g_cond_clear (&mqtt->wake);
  g_free (mqtt);
}
