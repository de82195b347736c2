/* marketsim's clock (the real one plus what POST /_sim/clock moved it by), and times as Mercado
 * Livre renders them: ISO-8601 with milliseconds and the site's UTC offset (resources) or Z
 * (notifications, via iso8601_utc in util.c). */
#include "marketsim.h"
#include "tiny.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"

int64_t ms_now_us(const ms_t *ms)
{
	return ms->clock.frozen ? ms->clock.frozen_us : now_us() + ms->clock.offset_us;
}

/* The wall clock moves with the monotonic one: both carry the same offset. */
int64_t ms_wall_ms(const ms_t *ms)
{
	return ms->clock.frozen ? ms->clock.frozen_wall_ms : wall_ms() + ms->clock.wall_offset_ms;
}

static void clock_reply(ms_req_t *r)
{
	ms_t *ms = r->ms;
	int64_t wall = ms_wall_ms(ms);
	char iso[32];
	iso8601_utc(wall, iso, sizeof(iso));
	ms_reply_json(
	    r, 200,
	    json_pack("{s:I, s:s, s:I, s:b}", "nowMs", (json_int_t)wall, "now", iso, "offsetMs",
		      (json_int_t)(ms->clock.frozen ? wall - wall_ms() : ms->clock.wall_offset_ms),
		      "frozen", ms->clock.frozen));
}

void h_sim_clock_get(ms_req_t *r)
{
	clock_reply(r);
}

/* {"advanceMs": N} or {"nowMs": epoch ms}, optionally with {"frozen": bool}: freezing (or
 * thawing) applies first, then the move. Time only goes forward: what has expired stays
 * expired, and monotonic deadlines stay ordered. */
void h_sim_clock_post(ms_req_t *r)
{
	ms_t *ms = r->ms;
	json_t *body = ms_body_json(r);
	json_t *advance = json_object_get(body, "advanceMs"), *to = json_object_get(body, "nowMs");
	json_t *frozen = json_object_get(body, "frozen");
	const char *bad = NULL;
	if (!body)
		bad = "The body must be a JSON object";
	else if ((advance && !json_is_integer(advance)) || (to && !json_is_integer(to)) ||
		 (advance && to))
		bad = "give advanceMs or nowMs, an integer";
	else if (frozen && !json_is_boolean(frozen))
		bad = "frozen must be true or false";
	else if (!advance && !to && !frozen)
		bad = "give advanceMs, nowMs or frozen";
	int64_t forward_ms = advance ? json_integer_value(advance)
			     : to    ? json_integer_value(to) - ms_wall_ms(ms)
				     : 0;
	if (!bad && forward_ms < 0)
		bad = "the clock does not go back";
	if (bad) {
		json_decref(body);
		ms_reply_error(r, 400, "bad_request", "%s", bad);
		return;
	}
	ms_clock_t *c = &ms->clock;
	if (frozen && json_is_true(frozen) && !c->frozen) {
		c->frozen_us = ms_now_us(ms);
		c->frozen_wall_ms = ms_wall_ms(ms);
		c->frozen = true;
	} else if (frozen && !json_is_true(frozen) && c->frozen) {
		/* Each clock runs on from where it stopped. */
		c->offset_us = c->frozen_us - now_us();
		c->wall_offset_ms = c->frozen_wall_ms - wall_ms();
		c->frozen = false;
	}
	json_decref(body);
	if (c->frozen) {
		c->frozen_us += forward_ms * 1000;
		c->frozen_wall_ms += forward_ms;
	} else {
		c->offset_us += forward_ms * 1000;
		c->wall_offset_ms += forward_ms;
	}
	ms_notify_clock_moved(ms->notify);
	tiny_clock_moved(ms->tiny);
	clock_reply(r);
}

/* Brazil has kept UTC-3 all year since 2019. */
#define MS_OFFSET_MIN (-180)

void ms_time_fmt(int64_t wall_ms, char *buf, size_t size)
{
	int64_t local = wall_ms + (int64_t)MS_OFFSET_MIN * 60000;
	int64_t secs = local >= 0 ? local / 1000 : (local - 999) / 1000;
	int millis = (int)(local - secs * 1000);
	time_t t = (time_t)secs;
	struct tm tm;
	gmtime_r(&t, &tm);
	int off = MS_OFFSET_MIN < 0 ? -MS_OFFSET_MIN : MS_OFFSET_MIN;
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%c%02d:%02d", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis,
		 MS_OFFSET_MIN < 0 ? '-' : '+', off / 60, off % 60);
}

json_t *ms_time_json(int64_t wall_ms)
{
	char buf[40];
	ms_time_fmt(wall_ms, buf, sizeof(buf));
	return json_string(buf);
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool ms_time_parse(const char *s, int64_t *wall_ms)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, off = 0;
	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d))
		return false;
	const char *p = s + 10;
	if (*p == 'T' || *p == ' ') {
		if (!digits(p + 1, 2, &h) || p[3] != ':' || !digits(p + 4, 2, &mi))
			return false;
		p += 6;
		if (*p == ':') {
			if (!digits(p + 1, 2, &sec))
				return false;
			p += 3;
			if (*p == '.') {
				p++;
				int n = 0, frac = 0;
				while (isdigit((unsigned char)*p)) {
					if (n < 3)
						frac = frac * 10 + (*p - '0');
					n++;
					p++;
				}
				if (n == 0)
					return false;
				for (; n < 3; n++)
					frac *= 10;
				ms = frac;
			}
		}
		if (*p == 'Z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int oh, om;
			int sign = *p == '-' ? -1 : 1;
			if (!digits(p + 1, 2, &oh))
				return false;
			p += 3;
			if (*p == ':')
				p++;
			if (!digits(p, 2, &om))
				return false;
			p += 2;
			off = sign * (oh * 60 + om);
		}
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return false;
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi,
			.tm_sec = sec};
	int64_t secs = (int64_t)timegm(&tm) - (int64_t)off * 60;
	*wall_ms = secs * 1000 + ms;
	return true;
}
