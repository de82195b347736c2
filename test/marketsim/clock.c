/* Times as Mercado Livre renders them: ISO-8601 with milliseconds and the site's UTC offset
 * (resources) or Z (notifications, via iso8601_utc in util.c). */
#include "marketsim.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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
