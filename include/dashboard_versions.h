/* The tenants' dashboard versions (sql/0019, bumped by every write the dashboard shows) copied
 * into Redis, so that a cached dashboard is checked without a PostgreSQL round trip. Every
 * process LISTENs on dashboard_versions (sql/0034: "<tenant> <version>" at each commit) and
 * raises the tenant's score in one sorted set (ZADD GT: the copy only moves forward, whoever
 * writes it and in whatever order). When (re)listening, the process first raises every tenant
 * to PostgreSQL's version; until then, and while it is not listening, it is not live and the
 * caller reads the version from PostgreSQL. */
#ifndef SH_DASHBOARD_VERSIONS_H
#define SH_DASHBOARD_VERSIONS_H

#include "app.h"

#include <stdbool.h>

/* The sorted set: member the tenant id, score its version. */
#define DASHBOARD_VERSIONS_KEY "sh:dashboard:versions"

typedef struct dashboard_versions dashboard_versions_t;

dashboard_versions_t *dashboard_versions_new(app_t *app);
void dashboard_versions_free(dashboard_versions_t *dv);
/* True while every commit's version reaches Redis: the copy there may then be trusted. First
 * hands on the notifications already on the listener's socket, so that a ZSCORE sent after
 * this call is answered after their ZADDs (one Redis connection keeps the order). */
bool dashboard_versions_check(dashboard_versions_t *dv);
/* Raises the tenant's copy to version (one read from PostgreSQL): never lowers it. */
void dashboard_versions_raise(app_t *app, const char *tenant_id, const char *version);

#endif
