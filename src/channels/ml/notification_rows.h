/* Mercado Livre notifications on their way into ml_notifications (notification_rows.c).
 *
 * Validation is lenient about the documented variants (_id or id, user_id as a string,
 * "recieved", resource without its slash) and strict about anything PostgreSQL would refuse:
 * a group of notifications is committed by one statement, so one value PostgreSQL cannot take
 * would fail every notification of the group. A value that is present but unusable (a date
 * that does not exist, attempts past int4) is stored as NULL; the body keeps it as it came.
 *
 * A group is kept column by column as PostgreSQL array literals, the parameters of one
 * INSERT ... SELECT FROM unnest($1::text[], ...): no per-row statement text, no JSON round
 * trip. */
#ifndef SH_ML_NOTIFICATION_ROWS_H
#define SH_ML_NOTIFICATION_ROWS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Columns in the order of the INSERT's unnest: notification_id, topic, resource, ml_user_id,
 * application_id, attempts, sent_at, received_at, body. */
#define NOTIFICATION_COLUMNS 9

/* One notification's fields, borrowing the strings of its JSON body. */
typedef struct notification {
	const char *nid; /* _id, or id as given (a number is rendered into nid_buf) */
	char nid_buf[24];
	const char *topic;
	const char *resource; /* as given: the leading slash is added when stored */
	int64_t user_id;
	int64_t app_id;		     /* 0 when absent */
	int64_t attempts;	     /* -1 when absent or out of range */
	const char *sent, *received; /* NULL when absent or not a real instant */
} notification_t;

typedef struct notification_rows notification_rows_t;

/* Fills *out from body and answers true; false when body is not a notification (problems
 * added to *details) or, with app_id_required set, when it is another application's
 * (*foreign). */
bool notification_parse(json_t *body, int64_t app_id_required, notification_t *out,
			json_t **details, bool *foreign);
/* The ISO-8601 instants PostgreSQL's timestamptz takes, checked field by field (no 2026-02-30,
 * no hour 24, offsets within ±14:59). */
bool notification_timestamp_ok(const char *s);

notification_rows_t *notification_rows_new(void);
void notification_rows_free(notification_rows_t *rows);
size_t notification_rows_count(const notification_rows_t *rows);
/* Appends one notification with its body as received (valid UTF-8 without NUL bytes, as any
 * body jansson accepted is). */
void notification_rows_add(notification_rows_t *rows, const notification_t *n, const char *body,
			   size_t body_len);
/* The array literals, one per column; valid until the next add or the free. */
void notification_rows_params(notification_rows_t *rows, const char *params[NOTIFICATION_COLUMNS]);

#endif
