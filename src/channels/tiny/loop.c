/* The ERP loop's sweep: see the header. */
#include "loop.h"
#include "forward.h"
#include "log.h"
#include "status.h"
#include "tiny.h"
#include "util.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#define TENANTS_MAX 100 /* tenants a sweep serves; the rest are the next sweep's */

// clang-format off
/* The last day's orders of every tenant with a Tiny account (its primary one takes them); older
 * ones are the scheduled sync's full pass. */
static const char enlist_sql[] =
    "INSERT INTO erp_orders (order_id, tenant_id, account_id)"
    " SELECT o.id, o.tenant_id, a.id FROM accounts a"
    " JOIN orders o ON o.tenant_id = a.tenant_id AND o.date_created > now() - interval '1 day'"
    "  AND o.channel <> 'tiny' AND o.status NOT IN ('cancelled', 'invalid')"
    " WHERE a.channel = 'tiny' AND a.id = (SELECT b.id FROM accounts b WHERE"
    "  b.tenant_id = a.tenant_id AND b.channel = 'tiny' ORDER BY b.is_primary DESC,"
    "  b.created_at, b.id LIMIT 1)"
    " AND NOT EXISTS (SELECT 1 FROM erp_orders e WHERE e.order_id = o.id)"
    " ON CONFLICT (order_id) DO NOTHING";

/* Tenants with due work on an active account. */
static const char due_sql[] =
    "SELECT tenant_id FROM erp_orders e WHERE e.status IN ('pending', 'held')"
    "  AND e.next_try_at <= now() AND (e.lease_until IS NULL OR e.lease_until < now())"
    "  AND EXISTS (SELECT 1 FROM accounts a WHERE a.id = e.account_id AND a.status = 'active')"
    " UNION SELECT tenant_id FROM erp_orders e WHERE e.status = 'sent' AND e.poll_at IS NOT NULL"
    "  AND (e.poll_at <= now() OR (e.cancel_state IS NULL AND EXISTS (SELECT 1 FROM orders o"
    "   WHERE o.id = e.order_id AND o.status = 'cancelled')))"
    "  AND (e.lease_until IS NULL OR e.lease_until < now())"
    " LIMIT 100"; /* TENANTS_MAX */
// clang-format on

/* One sweep; outlives the loop when stopped in flight. */
typedef struct sweep {
	app_t *app;
	tiny_loop_t *loop; /* NULL once the loop stopped */
	char **tenants;
	int n, at;
} sweep_t;

struct tiny_loop {
	app_t *app;
	struct event *ev;
	sweep_t *running;
};

static void arm(tiny_loop_t *l)
{
	long ms = tiny_config(l->app)->sweep_ms;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	evtimer_add(l->ev, &tv);
}

static void sweep_end(sweep_t *s)
{
	if (s->loop)
		s->loop->running = NULL;
	for (int i = 0; i < s->n; i++)
		free(s->tenants[i]);
	free(s->tenants);
	free(s);
}

static void next_tenant(sweep_t *s);

static void status_done(const status_counts_t *c, const char *err, void *arg)
{
	sweep_t *s = arg;
	if (err)
		log_error("tiny: the status pass of a tenant: %s", err);
	s->at++;
	next_tenant(s);
}

static void forward_done(const forward_counts_t *c, const char *err, void *arg)
{
	sweep_t *s = arg;
	if (err)
		log_error("tiny: the forwarding pass of a tenant: %s", err);
	if (!s->loop) { /* stopping: no new calls */
		sweep_end(s);
		return;
	}
	tiny_status_run(s->app, s->tenants[s->at], NULL, status_done, s);
}

static void next_tenant(sweep_t *s)
{
	if (!s->loop || s->at >= s->n) {
		sweep_end(s);
		return;
	}
	tiny_forward_run(s->app, s->tenants[s->at], NULL, FORWARD_NO_ENLIST, forward_done, s);
}

static void listed(const PGresult *res, const char *err, void *arg)
{
	sweep_t *s = arg;
	if (err) {
		log_error("tiny: the ERP sweep's due tenants: %s", err);
		sweep_end(s);
		return;
	}
	s->n = PQntuples(res);
	s->tenants = xcalloc(s->n ? s->n : 1, sizeof(char *));
	for (int i = 0; i < s->n; i++)
		s->tenants[i] = xstrdup(pg_value(res, i, 0));
	next_tenant(s);
}

static void enlisted(const PGresult *res, const char *err, void *arg)
{
	sweep_t *s = arg;
	if (err)
		log_error("tiny: the ERP sweep's enlisting: %s", err);
	if (!s->loop) {
		sweep_end(s);
		return;
	}
	pg_query(s->app->pg, due_sql, 0, NULL, listed, s);
}

static void fire(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	tiny_loop_t *l = arg;
	arm(l);
	if (l->running)
		return;
	sweep_t *s = xcalloc(1, sizeof(*s));
	s->app = l->app;
	s->loop = l;
	l->running = s;
	pg_query(l->app->pg, enlist_sql, 0, NULL, enlisted, s);
}

tiny_loop_t *tiny_loop_start(app_t *app)
{
	if (tiny_config(app)->sweep_ms <= 0)
		return NULL;
	tiny_loop_t *l = xcalloc(1, sizeof(*l));
	l->app = app;
	l->ev = evtimer_new(app->base, fire, l);
	arm(l);
	return l;
}

void tiny_loop_stop(tiny_loop_t *l)
{
	if (!l)
		return;
	if (l->running)
		l->running->loop = NULL;
	event_free(l->ev);
	free(l);
}
