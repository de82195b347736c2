/* SQL fragments that render a column as the API renders the value (JSON built by PostgreSQL):
 * shared by the data modules (orders.c, listings.c, shipments.c) and the list helper. */
#ifndef SH_SQL_JSON_H
#define SH_SQL_JSON_H

/* Timestamps as the API renders them: ISO-8601 UTC with milliseconds and Z. */
#define SQL_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
/* A channel's id (external_id, text) as the API renders it: a number when it is one (as the
 * ids the API has always answered as numbers), else a string. list_json_id does the same. */
#define SQL_ID(col)                                                                                \
	"(CASE WHEN " col " ~ '^(0|[1-9][0-9]{0,18})$' THEN to_json(" col "::numeric)"             \
	" ELSE to_json(" col ") END)"
/* The value of a legacy ml* id field (mlOrderId, mlItemId, mlShipmentId): the row's id when its
 * channel is ml, else null (every channel's id is in externalId). */
#define SQL_ML_ONLY(channel_col, value) "(CASE WHEN " channel_col " = 'ml' THEN " value " END)"

#endif
