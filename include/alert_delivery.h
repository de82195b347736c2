/* Delivery of alerts, as durable jobs the alerts outbox creates (alerts.h):
 * - alert_webhook {alert}: POST <url> with the alert's JSON {id, type, severity, title, message,
 *   ref, firedAt}, X-Sellerhub-Timestamp (Unix seconds) and X-Sellerhub-Signature:
 *   sha256=<hex HMAC-SHA256 of "timestamp.body" under the rule's secret>; a non-2xx answer or
 *   no answer is retried with the jobs' backoff.
 * - alert_email {alerts}: one message listing the alerts, through libcurl's SMTP to SMTP_URL,
 *   on a worker thread (curl's easy interface blocks; the loop never waits for it).
 * Each outcome is written to the alert's activity. The secret is opened only to sign. */
#ifndef SH_ALERT_DELIVERY_H
#define SH_ALERT_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>

#include "app.h"

#define ALERT_WEBHOOK_JOB   "alert_webhook"
#define ALERT_EMAIL_JOB	    "alert_email"
#define ALERT_SIGNATURE_LEN (7 + 64) /* "sha256=" and the hex digest */

void alert_delivery_register(app_t *app);

/* "sha256=<hex HMAC-SHA256(secret, timestamp "." body)>" into out; false on a library failure. */
bool alert_signature(const char *secret, const char *timestamp, const char *body, size_t body_len,
		     char out[ALERT_SIGNATURE_LEN + 1]);

#endif
