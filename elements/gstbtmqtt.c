/* gstbtmqtt.c - see gstbtmqtt.h.
 *
 * libmosquitto runs its network loop in its own thread
 * (mosquitto_loop_start): mosquitto_publish from the streaming thread only
 * queues the packet and wakes that thread. libmosquitto's queue has no
 * bound, so `queued` counts what is waiting (QoS 0: not yet written; QoS 1:
 * not yet acknowledged) and publish drops beyond max_queue. At QoS 1
 * libmosquitto keeps unacknowledged messages across a reconnect and sends
 * them again; at QoS 0 a lost connection discards them, which `lost`
 * counts.
 *
 * SPDX-License-Identifier: MIT
 */
#include "gstbtmqtt.h"

#include <errno.h>
#include <string.h>
#include <mosquitto.h>
#include <bt-common.h>

#define KEEPALIVE_S 10

struct _GstBtMqtt
{
  struct mosquitto *mosq;
  GstBtMqttCallbacks callbacks;
  gpointer user_data;
  gint qos;
  guint max_queue;
  guint reconnect_delay_max;
  gchar *subscribe;

  GMutex lock;                 /* guards the fields below */
  GCond drained;
  guint queued;
  guint lost;
  gboolean connected;
  /* libmosquitto's loop thread ends on errors it deems fatal (a TLS
   * failure, a protocol error): publish restarts it, with backoff */
  gboolean loop_ended;
  gint64 restart_at;           /* monotonic us */
  guint restarts;
  GThread *restarter;
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

/* ---- callbacks, on libmosquitto's thread -------------------------------- */

static void
on_connect (struct mosquitto *mosq, void *obj, int rc)
{
  GstBtMqtt *mqtt = obj;

  if (rc != 0) {
    mqtt->callbacks.connection (FALSE, mosquitto_connack_string (rc),
        mqtt->user_data);
    return;
  }
  g_mutex_lock (&mqtt->lock);
  mqtt->connected = TRUE;
  mqtt->restarts = 0;
  g_mutex_unlock (&mqtt->lock);
  /* the session is clean: subscribe again on every connection, which also
   * delivers the retained message again */
  if (mqtt->subscribe)
    mosquitto_subscribe (mosq, NULL, mqtt->subscribe, 1);
  mqtt->callbacks.connection (TRUE, NULL, mqtt->user_data);
}

/* The codes on which libmosquitto's loop thread returns for good. */
static gboolean
ends_loop (int rc)
{
  switch (rc) {
    case MOSQ_ERR_NOMEM:
    case MOSQ_ERR_PROTOCOL:
    case MOSQ_ERR_INVAL:
    case MOSQ_ERR_NOT_FOUND:
    case MOSQ_ERR_TLS:
    case MOSQ_ERR_PAYLOAD_SIZE:
    case MOSQ_ERR_NOT_SUPPORTED:
    case MOSQ_ERR_AUTH:
    case MOSQ_ERR_ACL_DENIED:
    case MOSQ_ERR_UNKNOWN:
    case MOSQ_ERR_EAI:
    case MOSQ_ERR_PROXY:
      return TRUE;
    default:
      return FALSE;
  }
}

static void
on_disconnect (struct mosquitto *mosq, void *obj, int rc)
{
  GstBtMqtt *mqtt = obj;
  /* the loop also gives up when errno says EPROTO, whatever rc is */
  gboolean ends = rc != 0 && (ends_loop (rc) || errno == EPROTO);

  (void) mosq;
  g_mutex_lock (&mqtt->lock);
  mqtt->connected = FALSE;
  if (mqtt->qos == 0) {
    mqtt->lost += mqtt->queued;
    mqtt->queued = 0;
    g_cond_broadcast (&mqtt->drained);
  }
  if (ends) {
    guint delay = MIN (1u << MIN (mqtt->restarts, 16u),
        mqtt->reconnect_delay_max);

    mqtt->loop_ended = TRUE;
    mqtt->restart_at = g_get_monotonic_time () + delay * G_USEC_PER_SEC;
    mqtt->restarts++;
  }
  g_mutex_unlock (&mqtt->lock);
  if (rc != 0)
    mqtt->callbacks.connection (FALSE, mosquitto_strerror (rc),
        mqtt->user_data);
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

/* ---- API ---------------------------------------------------------------- */

static gboolean
mqtt_fail (GError **error, const gchar *what, int rc)
{
  g_set_error (error, BT_ERROR, BT_ERROR_INPUT, "%s: %s", what,
      rc == MOSQ_ERR_ERRNO ? g_strerror (errno) : mosquitto_strerror (rc));
  return FALSE;
}

static gboolean
mqtt_configure (GstBtMqtt *mqtt, const GstBtMqttSettings *s, GError **error)
{
  int rc;

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
  mosquitto_reconnect_delay_set (mqtt->mosq, 1, s->reconnect_delay_max,
      TRUE);
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
  int rc;

  if (g_once_init_enter (&lib_init)) {
    mosquitto_lib_init ();
    g_once_init_leave (&lib_init, 1);
  }
  mqtt = g_new0 (GstBtMqtt, 1);
  g_mutex_init (&mqtt->lock);
  g_cond_init (&mqtt->drained);
  mqtt->callbacks = *callbacks;
  mqtt->user_data = user_data;
  mqtt->qos = settings->qos;
  mqtt->max_queue = MAX (settings->max_queue, 1);
  mqtt->reconnect_delay_max = MAX (settings->reconnect_delay_max, 1);
  mqtt->subscribe = g_strdup (settings->subscribe);
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
  /* a broker that is down now is retried by the loop thread */
  rc = mosquitto_connect_async (mqtt->mosq, settings->host,
      (int) settings->port, KEEPALIVE_S);
  if (rc != MOSQ_ERR_SUCCESS)
    mqtt->callbacks.connection (FALSE, rc == MOSQ_ERR_ERRNO ?
        g_strerror (errno) : mosquitto_strerror (rc), user_data);
  rc = mosquitto_loop_start (mqtt->mosq);
  if (rc != MOSQ_ERR_SUCCESS) {
    mqtt_fail (error, "cannot start the MQTT thread", rc);
    gst_bt_mqtt_free (mqtt);
    return NULL;
  }
  return mqtt;
}

/* After libmosquitto's loop thread gave up: join it, reconnect, start a
 * new one; in a thread of its own, as joining and name lookups may take a
 * while. A reconnection that fails at once leaves the new loop thread to
 * retry (blocking reconnections in it do not end it). */
static gpointer
mqtt_restart_loop (gpointer data)
{
  GstBtMqtt *mqtt = data;

  mosquitto_loop_stop (mqtt->mosq, FALSE);
  mosquitto_reconnect_async (mqtt->mosq);
  mosquitto_loop_start (mqtt->mosq);
  return NULL;
}

gboolean
gst_bt_mqtt_publish (GstBtMqtt *mqtt, const gchar *topic,
    const gchar *payload, gsize length)
{
  int rc;

  g_mutex_lock (&mqtt->lock);
  if (mqtt->loop_ended && g_get_monotonic_time () >= mqtt->restart_at) {
    mqtt->loop_ended = FALSE;
    if (mqtt->restarter)
      g_thread_join (mqtt->restarter);
    mqtt->restarter = g_thread_new ("bt-mqtt-restart", mqtt_restart_loop,
        mqtt);
  }
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
  if (mqtt->restarter)
    g_thread_join (mqtt->restarter);
  if (mqtt->mosq) {
    mosquitto_disconnect (mqtt->mosq);
    mosquitto_loop_stop (mqtt->mosq, FALSE);
    mosquitto_destroy (mqtt->mosq);
  }
  g_free (mqtt->subscribe);
  g_mutex_clear (&mqtt->lock);
  g_cond_clear (&mqtt->drained);
  g_free (mqtt);
}
