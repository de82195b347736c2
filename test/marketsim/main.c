/* marketsim: a Mercado Livre and Amazon (LWA + SP-API) simulator on one libevent loop. Prints one
 * line when listening; exits 0 on SIGTERM/SIGINT after freeing everything (so LeakSanitizer stays
 * quiet). */
#include "amazon.h"
#include "marketsim.h"
#include "tiny.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

void ms_state_build(ms_t *ms)
{
	ms->data = ms_data_new(&ms->opt);
	ms->auth = ms_auth_new();
	ms->notify = ms_notify_new(ms);
	ms->traffic = ms_traffic_new();
	ms->faults = ms_faults_new(ms->opt.seed);
	ms->scrolls = ms_scrolls_new();
	ms_budget_init(&ms->budget, ms->opt.rate, ms->opt.burst);
	ms->amazon = am_new(ms);
	ms->tiny = tiny_new(ms);
	ms->stock_writes = json_array();
}

void ms_state_free(ms_t *ms)
{
	am_free(ms->amazon);
	ms->amazon = NULL;
	tiny_free(ms->tiny);
	ms->tiny = NULL;
	json_decref(ms->stock_writes);
	ms->stock_writes = NULL;
	ms_notify_free(ms->notify);
	ms_scrolls_free(ms->scrolls);
	ms_faults_free(ms->faults);
	ms_traffic_free(ms->traffic);
	ms_auth_free(ms->auth);
	ms_data_free(ms->data);
	ms->notify = NULL;
	ms->scrolls = NULL;
	ms->faults = NULL;
	ms->traffic = NULL;
	ms->auth = NULL;
	ms->data = NULL;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv)
{
	static ms_t ms;
	char err[256];
	ms_options_defaults(&ms.boot);
	if (!ms_options_parse_argv(&ms.boot, argc, argv, err, sizeof(err))) {
		fprintf(stderr, "marketsim: %s\n", err);
		return 2;
	}
	ms_options_finish(&ms.boot);
	ms.opt = ms.boot;
	signal(SIGPIPE, SIG_IGN);
	ms.base = event_base_new();
	if (!ms.base) {
		fprintf(stderr, "marketsim: cannot create the event loop\n");
		return 1;
	}
	ms_state_build(&ms);
	int status = 0;
	struct event *sigterm = evsignal_new(ms.base, SIGTERM, on_signal, ms.base);
	struct event *sigint = evsignal_new(ms.base, SIGINT, on_signal, ms.base);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	if (ms_server_start(&ms, ms.boot.port)) {
		char now[40];
		ms_time_fmt(ms.opt.now_ms, now, sizeof(now));
		printf(
		    "marketsim listening on http://127.0.0.1:%d seed=%llu sellers=%zu items=%zu "
		    "orders=%zu questions=%zu claims=%zu now=%s client_id=%s amazon_sellers=%zu\n",
		    ms.opt.port, (unsigned long long)ms.opt.seed, ms.data->n_sellers,
		    ms.data->n_items, ms.data->n_orders, ms.data->n_questions, ms.data->n_claims,
		    now, ms.opt.client_id, ms.amazon->n_sellers);
		fflush(stdout);
		event_base_dispatch(ms.base);
	} else {
		fprintf(stderr, "marketsim: cannot listen on 127.0.0.1:%d\n", ms.boot.port);
		status = 1;
	}
	ms_server_stop(&ms);
	ms_state_free(&ms);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(ms.base);
	libevent_global_shutdown();
	return status;
}
