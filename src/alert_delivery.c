/* Alert delivery jobs: the signed webhook and the e-mail (see the header). */
#include "alert_delivery.h"
#include "crypto.h"
#include "identity.h"
#include "jobs.h"
#include "log.h"
#include "upkeep.h"
#include "util.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WEBHOOK_TIMEOUT_MS 10000
#define SMTP_TIMEOUT_S	   30

// clang-format off
static const char webhook_sql[] =
    "SELECT json_build_object('id', a.id, 'type', a.type, 'severity', a.severity,"
    " 'title', a.title, 'message', a.message, 'ref', a.ref,"
    " 'firedAt', " SQL_ISO("a.fired_at") ")::text, s.webhook_url, s.webhook_secret_sealed"
    " FROM alerts a JOIN alert_settings s ON s.tenant_id = a.tenant_id WHERE a.id = $1::uuid";

/* The e-mail of the alerts in $1 (a JSON array of ids): (to, how many, subject line, body). */
static const char email_sql[] =
    "SELECT s.email, count(*), min(a.title),"
    " string_agg(format('[%s] %s' || E'\\r\\n' || '%s' || E'\\r\\n' || 'Fired at %s, ref %s.',"
    "  upper(a.severity), a.title, a.message, " SQL_ISO("a.fired_at") ", a.ref),"
    "  E'\\r\\n\\r\\n' ORDER BY a.fired_at, a.id)"
    " FROM alerts a JOIN alert_settings s ON s.tenant_id = a.tenant_id"
    " WHERE a.id IN (SELECT jsonb_array_elements_text($1::jsonb)::uuid)"
    " AND s.email IS NOT NULL GROUP BY s.email";

/* What happened to a delivery, on each alert it carried ($1 a JSON array of ids). */
static const char activity_sql[] =
    "INSERT INTO alert_activity (tenant_id, alert_id, action, detail)"
    " SELECT a.tenant_id, a.id, $2, $3 FROM alerts a"
    " WHERE a.id IN (SELECT jsonb_array_elements_text($1::jsonb)::uuid)";
// clang-format on

static void activity_written(const PGresult *res, const char *err, void *arg)
{
	if (err)
		log_warn("alerts: could not record a delivery: %s", err);
}

static void record(job_t *job, const char *ids_json, const char *action, const char *detail)
{
	const char *params[] = {ids_json, action, detail};
	pg_query_prepared(job->app->pg, activity_sql, 3, params, activity_written, NULL);
}

/* A failed attempt: recorded, then retried with backoff (dead after the last one). */
static void failed(job_t *job, const char *ids_json, const char *what, const char *why)
{
	char detail[256];
	snprintf(detail, sizeof(detail), "%s: %s (attempt %d of %d)", what, why, job->attempt,
		 job->max_attempts);
	record(job, ids_json, job_is_last_attempt(job) ? "delivery_dead" : "delivery_failed",
	       detail);
	job_retry(job, detail, -1);
}

bool alert_signature(const char *secret, const char *timestamp, const char *body, size_t body_len,
		     char out[ALERT_SIGNATURE_LEN + 1])
{
	size_t tlen = strlen(timestamp), n = tlen + 1 + body_len;
	char *signed_text = xmalloc(n);
	memcpy(signed_text, timestamp, tlen);
	signed_text[tlen] = '.';
	memcpy(signed_text + tlen + 1, body, body_len);
	unsigned char mac[32];
	bool ok = crypto_hmac_sha256(secret, strlen(secret), signed_text, n, mac);
	free(signed_text);
	if (!ok)
		return false;
	memcpy(out, "sha256=", 7);
	for (int i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
	return true;
}

/* --- webhook --------------------------------------------------------------------------------- */

typedef struct hook {
	job_t *job;
	char ids[64]; /* ["<alert id>"] */
} hook_t;

static void hook_answered(const httpc_response_t *resp, void *arg)
{
	hook_t *h = arg;
	job_t *job = h->job;
	char why[96];
	if (resp->err == HTTPC_ERR_REFUSED) {
		/* Not tried again: the seller must point the webhook somewhere public. */
		snprintf(why, sizeof(why), "webhook: %s", resp->error);
		record(job, h->ids, "delivery_dead", why);
		job_fail(job, why);
		free(h);
		return;
	}
	if (resp->err != HTTPC_OK)
		snprintf(why, sizeof(why), "%s", resp->error);
	else if (resp->status < 200 || resp->status > 299)
		snprintf(why, sizeof(why), "answered %ld", resp->status);
	else {
		snprintf(why, sizeof(why), "webhook: answered %ld", resp->status);
		record(job, h->ids, "delivered", why);
		job_done(job, why);
		free(h);
		return;
	}
	failed(job, h->ids, "webhook", why);
	free(h);
}

static void hook_loaded(const PGresult *res, const char *err, void *arg)
{
	hook_t *h = arg;
	job_t *job = h->job;
	if (err) {
		job_retry(job, err, -1);
		free(h);
		return;
	}
	if (PQntuples(res) != 1 || !pg_value(res, 0, 1)) {
		job_done(job, "no webhook to deliver to");
		free(h);
		return;
	}
	const char *body = pg_value(res, 0, 0), *url = pg_value(res, 0, 1);
	crypto_keys_t keys;
	upkeep_keys(job->app, &keys);
	char *secret = crypto_open(&keys, pg_value(res, 0, 2));
	OPENSSL_cleanse(&keys, sizeof(keys));
	char ts[24], sig[ALERT_SIGNATURE_LEN + 1];
	snprintf(ts, sizeof(ts), "%lld", (long long)(wall_ms() / 1000));
	bool signed_ok = secret && alert_signature(secret, ts, body, strlen(body), sig);
	crypto_free_secret(secret);
	if (!signed_ok) {
		record(job, h->ids, "delivery_dead", "webhook: the secret cannot be opened");
		job_fail(job, "the webhook secret cannot be opened");
		free(h);
		return;
	}
	char ts_h[64], sig_h[128];
	snprintf(ts_h, sizeof(ts_h), "X-Sellerhub-Timestamp: %s", ts);
	snprintf(sig_h, sizeof(sig_h), "X-Sellerhub-Signature: %s", sig);
	const char *headers[] = {"Content-Type: application/json", ts_h, sig_h, NULL};
	httpc_request_t req = {.method = "POST",
			       .url = url,
			       .headers = headers,
			       .body = body,
			       .body_len = strlen(body),
			       .timeout_ms = WEBHOOK_TIMEOUT_MS,
			       .max_retries = -1, /* the job retries, durably */
			       .max_response = 64 * 1024,
			       .public_only = !job->app->cfg.alert_webhook_allow_private};
	if (!httpc_send(job->app->httpc, &req, hook_answered, h)) {
		record(job, h->ids, "delivery_dead", "webhook: the URL cannot be used");
		job_fail(job, "the webhook URL cannot be used");
		free(h);
	}
}

static void run_webhook(job_t *job)
{
	const char *id = json_string_value(json_object_get(job->payload, "alert"));
	if (!id || strlen(id) != 36) {
		job_fail(job, "no alert in the payload");
		return;
	}
	hook_t *h = xcalloc(1, sizeof(*h));
	h->job = job;
	snprintf(h->ids, sizeof(h->ids), "[\"%s\"]", id);
	const char *params[] = {id};
	pg_query_prepared(job->app->pg, webhook_sql, 1, params, hook_loaded, h);
}

/* --- e-mail ---------------------------------------------------------------------------------- */

typedef struct mail {
	job_t *job;
	char *ids;	       /* the payload's alerts, as JSON */
	char *url, *from, *to; /* copies: the worker thread reads them */
	char *message;	       /* headers and body, CRLF lines */
	size_t len, sent;
	CURLcode rc;
	char error[CURL_ERROR_SIZE];
} mail_t;

static void mail_free(mail_t *m)
{
	free(m->ids);
	free(m->url);
	free(m->from);
	free(m->to);
	free(m->message);
	free(m);
}

static size_t mail_read(char *buf, size_t size, size_t nmemb, void *arg)
{
	mail_t *m = arg;
	size_t n = size * nmemb, left = m->len - m->sent;
	if (n > left)
		n = left;
	memcpy(buf, m->message + m->sent, n);
	m->sent += n;
	return n;
}

/* On a worker thread: nothing here touches the loop. */
static void mail_send(void *arg)
{
	mail_t *m = arg;
	CURL *c = curl_easy_init();
	if (!c) {
		m->rc = CURLE_FAILED_INIT;
		return;
	}
	struct curl_slist *rcpt = curl_slist_append(NULL, m->to);
	curl_easy_setopt(c, CURLOPT_URL, m->url);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, m->from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, mail_read);
	curl_easy_setopt(c, CURLOPT_READDATA, m);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)SMTP_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, m->error);
	m->rc = curl_easy_perform(c);
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(c);
}

static void mail_sent(void *arg)
{
	mail_t *m = arg;
	if (m->rc == CURLE_OK) {
		record(m->job, m->ids, "delivered", "e-mail: accepted by the SMTP server");
		job_done(m->job, "e-mail sent");
	} else {
		/* curl's message may quote the server, never the URL's credentials. */
		failed(m->job, m->ids, "e-mail",
		       m->error[0] ? m->error : curl_easy_strerror(m->rc));
	}
	mail_free(m);
}

/* A header value from text the seller or a marketplace wrote: one line, printable. */
static void header_text(char *out, size_t size, const char *s)
{
	size_t n = 0;
	for (; s && *s && n + 1 < size; s++)
		out[n++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? ' ' : *s;
	out[n] = '\0';
}

static void mail_loaded(const PGresult *res, const char *err, void *arg)
{
	mail_t *m = arg;
	job_t *job = m->job;
	if (err) {
		job_retry(job, err, -1);
		mail_free(m);
		return;
	}
	if (PQntuples(res) != 1 || !job->app->cfg.smtp_url) {
		job_done(job, "no e-mail to send");
		mail_free(m);
		return;
	}
	long long n = pg_int(res, 0, 1, 0);
	char subject[200], to[300];
	if (n == 1)
		header_text(subject, sizeof(subject), pg_value(res, 0, 2));
	else
		snprintf(subject, sizeof(subject), "%lld alerts", n);
	header_text(to, sizeof(to), pg_value(res, 0, 0));
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", gmtime_r(&now, &tm));
	const char *body = pg_value(res, 0, 3);
	size_t cap = strlen(body) + 1024;
	m->message = xmalloc(cap);
	m->len = (size_t)snprintf(m->message, cap,
				  "Date: %s\r\nFrom: sellerhub <%s>\r\nTo: <%s>\r\n"
				  "Subject: [sellerhub] %s\r\nMIME-Version: 1.0\r\n"
				  "Content-Type: text/plain; charset=utf-8\r\n"
				  "Content-Transfer-Encoding: 8bit\r\n\r\n%s\r\n",
				  date, job->app->cfg.smtp_from, to, subject, body);
	m->url = xstrdup(job->app->cfg.smtp_url);
	size_t fl = strlen(job->app->cfg.smtp_from) + 3, tl = strlen(to) + 3;
	m->from = xmalloc(fl);
	snprintf(m->from, fl, "<%s>", job->app->cfg.smtp_from);
	m->to = xmalloc(tl);
	snprintf(m->to, tl, "<%s>", to);
	workers_submit(job->app->workers, mail_send, mail_sent, m);
}

static void run_email(job_t *job)
{
	json_t *ids = json_object_get(job->payload, "alerts");
	if (!json_is_array(ids) || json_array_size(ids) == 0) {
		job_fail(job, "no alerts in the payload");
		return;
	}
	mail_t *m = xcalloc(1, sizeof(*m));
	m->job = job;
	m->ids = json_dumps(ids, JSON_COMPACT);
	const char *params[] = {m->ids};
	pg_query_prepared(job->app->pg, email_sql, 1, params, mail_loaded, m);
}

void alert_delivery_register(app_t *app)
{
	jobs_register(app->jobs, ALERT_WEBHOOK_JOB, run_webhook, JOB_DURABLE);
	jobs_register(app->jobs, ALERT_EMAIL_JOB, run_email, JOB_DURABLE);
}
