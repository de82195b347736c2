/* The core's side of the channels: find one by name, start, stop and free every registered one,
 * and keep the state each start returned (app->channel_states, in registration order). */
#include "channel.h"
#include "app.h"
#include "ratelimit.h"
#include "util.h"

#include <stdio.h>

#include <string.h>

static size_t count(void)
{
	size_t n = 0;
	while (channels[n])
		n++;
	return n;
}

const char *channel_err_name(enum channel_err e)
{
	switch (e) {
	case CHANNEL_OK:
		return "ok";
	case CHANNEL_ERR_INVALID_GRANT:
		return "authorization revoked or expired";
	case CHANNEL_ERR_EXPIRED:
		return "authorization expired: reconnect the account";
	case CHANNEL_ERR_UNAUTHORIZED:
		return "the provider refused the token";
	case CHANNEL_ERR_FORBIDDEN:
		return "the provider refused access";
	case CHANNEL_ERR_NOT_FOUND:
		return "not found";
	case CHANNEL_ERR_RATE_LIMITED:
		return "the provider's rate limit";
	case CHANNEL_ERR_TRANSIENT:
		return "the provider is unreachable";
	case CHANNEL_ERR_CONFIG:
		return "the channel is not configured";
	case CHANNEL_ERR_BAD_RESPONSE:
		return "unexpected answer from the provider";
	case CHANNEL_ERR_OTHER:
		return "the provider refused the request";
	}
	return "error";
}

const channel_t *channel_find(const char *name)
{
	for (size_t i = 0; channels[i]; i++)
		if (strcmp(channels[i]->name, name) == 0)
			return channels[i];
	return NULL;
}

#define MAX_RATES 64

const char *const *channels_fulfillments(void)
{
	/* Filled once, on the loop's thread, from the constant registry. */
	static const char *all[32];
	if (all[0])
		return all;
	size_t n = 0;
	for (const channel_t *const *c = channels; *c; c++)
		for (const char *const *f = (*c)->fulfillments; f && *f; f++)
			if (n + 1 < sizeof(all) / sizeof(all[0]))
				all[n++] = *f;
	return all;
}

void channels_configure_rates(app_t *app)
{
	for (size_t i = 0; channels[i]; i++) {
		if (!channels[i]->rates)
			continue;
		channel_rate_t rows[MAX_RATES];
		size_t n = channels[i]->rates(app, rows, MAX_RATES);
		for (size_t k = 0; k < n; k++) {
			char prefix[128];
			if (*rows[k].op)
				snprintf(prefix, sizeof(prefix), "%s:%s:", channels[i]->name,
					 rows[k].op);
			else
				snprintf(prefix, sizeof(prefix), "%s:", channels[i]->name);
			ratelimit_configure_start(app->limits, prefix, rows[k].rate, rows[k].burst,
						  rows[k].start);
		}
	}
}

void channels_start(app_t *app)
{
	app->channel_states = xcalloc(count() + 1, sizeof(void *));
	for (size_t i = 0; channels[i]; i++)
		if (channels[i]->start)
			app->channel_states[i] = channels[i]->start(app);
}

void channels_stop(app_t *app)
{
	if (!app->channel_states)
		return;
	for (size_t i = 0; channels[i]; i++)
		if (channels[i]->stop)
			channels[i]->stop(app->channel_states[i]);
}

void channels_free(app_t *app)
{
	if (!app->channel_states)
		return;
	for (size_t i = 0; channels[i]; i++)
		if (channels[i]->free)
			channels[i]->free(app->channel_states[i]);
	free(app->channel_states);
	app->channel_states = NULL;
}

void *channel_config(const app_t *app, const channel_t *ch)
{
	for (size_t i = 0; channels[i]; i++)
		if (channels[i] == ch)
			return app->cfg.channel_cfg ? app->cfg.channel_cfg[i] : NULL;
	return NULL;
}

void *channel_state(const app_t *app, const channel_t *ch)
{
	for (size_t i = 0; channels[i]; i++)
		if (channels[i] == ch)
			return app->channel_states ? app->channel_states[i] : NULL;
	return NULL;
}
