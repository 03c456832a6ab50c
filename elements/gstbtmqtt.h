/* gstbtmqtt.h - btpublish's MQTT client: libmosquitto driven by a network
 * thread of its own behind a bounded queue, so the streaming thread never
 * waits on the network. Built only when libmosquitto is found (BT_HAVE_MQTT).
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  gchar *host;
  guint port;
  gchar *topic;
  gboolean tls;                /* mqtts:// */
  gchar *username;             /* from user:password@ in the URL */
  gchar *password;
} GstBtMqttUrl;

/* Parses mqtt://[user[:password]@]host[:port]/topic (port 1883) or
 * mqtts://... (TLS, port 8883). The topic must be non-empty and free of the
 * wildcards + and #. */
gboolean gst_bt_mqtt_url_parse (const gchar *url, GstBtMqttUrl *out,
    GError **error);
void gst_bt_mqtt_url_clear (GstBtMqttUrl *url);

typedef struct {
  const gchar *host;
  guint port;
  gboolean tls;
  const gchar *ca_file;        /* NULL with tls: the system's CA folder */
  const gchar *cert_file;      /* client certificate, with key_file */
  const gchar *key_file;
  const gchar *client_id;      /* NULL: libmosquitto makes one */
  const gchar *username;
  const gchar *password;
  gint qos;                    /* 0 or 1 */
  guint max_queue;             /* messages not yet sent (QoS 0) / acked (1) */
  guint reconnect_delay_max;   /* s; the backoff starts at 1 s */
  const gchar *subscribe;      /* topic to subscribe to, or NULL */
} GstBtMqttSettings;

/* Called on the client's thread. */
typedef struct {
  /* connected or disconnected; `reason` says why when it is not asked for */
  void (*connection) (gboolean connected, const gchar *reason,
      gpointer user_data);
  /* a message on the `subscribe` topic */
  void (*message) (const gchar *payload, gsize length, gpointer user_data);
} GstBtMqttCallbacks;

typedef struct _GstBtMqtt GstBtMqtt;

/* Starts connecting in the background; a broker that cannot be reached is
 * retried, not an error. Errors are settings libmosquitto refuses (TLS
 * files that cannot be read, a bad client id). */
GstBtMqtt *gst_bt_mqtt_new (const GstBtMqttSettings *settings,
    const GstBtMqttCallbacks *callbacks, gpointer user_data, GError **error);

/* Hands one message to the network thread; never blocks on the network.
 * FALSE: dropped (the queue is full, or QoS 0 while disconnected). */
gboolean gst_bt_mqtt_publish (GstBtMqtt *mqtt, const gchar *topic,
    const gchar *payload, gsize length);

/* Messages accepted at QoS 0 that a lost connection discarded before they
 * were sent, since the last call. */
guint gst_bt_mqtt_take_lost (GstBtMqtt *mqtt);

/* Waits up to `timeout_ms` for the queue to empty; FALSE when it did not. */
gboolean gst_bt_mqtt_flush (GstBtMqtt *mqtt, guint timeout_ms);

/* Disconnects, joins the network thread and frees. */
void gst_bt_mqtt_free (GstBtMqtt *mqtt);

G_END_DECLS
