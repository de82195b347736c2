/* Retry timing: full-jitter exponential backoff and Retry-After parsing (RFC 9110 §10.2.3). */
#include "backoff.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

int64_t backoff_delay_ms(int attempt, int64_t base_ms, int64_t cap_ms, uint32_t rnd)
{
	if (base_ms <= 0 || cap_ms <= 0)
		return 0;
	if (attempt < 1)
		attempt = 1;
	/* base * 2^(attempt-1) without overflow: once the shifted base would pass the cap (or the
	 * shift alone would overflow) the ceiling is the cap, so attempt 64 or 10000 is safe. */
	int shift = attempt - 1;
	int64_t ceiling = cap_ms;
	if (shift < 62 && base_ms <= (cap_ms >> shift))
		ceiling = base_ms << shift;
	/* Uniform over [0, ceiling]: scale the 32 random bits; 128-bit product cannot overflow. */
	unsigned __int128 span = (unsigned __int128)(uint64_t)ceiling + 1;
	return (int64_t)((span * rnd) >> 32);
}

static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* strptime that must consume the whole value (trailing blanks allowed). %a/%b are parsed in the
 * C locale's English names, which is what HTTP dates use; the process never calls setlocale. */
static bool parse_date(const char *s, const char *fmt, time_t *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(s, fmt, &tm);
	if (!end || *skip_ws(end) != '\0')
		return false;
	*out = timegm(&tm);
	return *out != (time_t)-1;
}

int64_t retry_after_ms(const char *value, int64_t now_wall_ms)
{
	if (!value)
		return -1;
	const char *s = skip_ws(value);
	if (isdigit((unsigned char)*s)) {
		/* delta-seconds. Clamp absurd values instead of overflowing: callers cap the wait.
		 */
		int64_t secs = 0;
		const char *p = s;
		for (; isdigit((unsigned char)*p); p++) {
			if (secs < INT64_MAX / 10000)
				secs = secs * 10 + (*p - '0');
		}
		if (*skip_ws(p) != '\0')
			return -1;
		if (secs >= INT64_MAX / 10000)
			secs = INT64_MAX / 10000;
		return secs * 1000;
	}
	/* IMF-fixdate, plus the two obsolete forms recipients must still accept. */
	static const char *const formats[] = {
	    "%a, %d %b %Y %H:%M:%S GMT", /* Sun, 06 Nov 1994 08:49:37 GMT */
	    "%A, %d-%b-%y %H:%M:%S GMT", /* Sunday, 06-Nov-94 08:49:37 GMT */
	    "%a %b %e %H:%M:%S %Y",	 /* Sun Nov  6 08:49:37 1994 */
	};
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		time_t t;
		if (parse_date(s, formats[i], &t)) {
			int64_t ms = (int64_t)t * 1000 - now_wall_ms;
			return ms > 0 ? ms : 0;
		}
	}
	return -1;
}
