/* The load of scripts/bench-webhooks' burst phase: C keep-alive connections POST /webhooks/ml,
 * one request in flight each, reconnecting when the server dies, and every _id answered 200
 * written to a file, so the bench can check per id that whatever was acknowledged is stored.
 *
 *   webhook-load [-c conns] [-d seconds] [-u user_id] [-p prefix] -o ack-file host:port
 *
 * A request whose answer never came (the connection dropped with it in flight) is not
 * acknowledged: Mercado Livre would retry it; it may or may not be stored. It is not resent
 * here. */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define RECONNECT_MS 50
#define GRACE_S	     5 /* after the deadline: how long answers in flight may take */
#define MAX_HEADER   8192
#define MAX_STATUS   600

typedef struct load load_t;

/* One connection and its one request in flight; its bufferevent is NULL between connections. */
typedef struct conn {
	load_t *load;
	int idx;
	struct bufferevent *bev;
	struct event *retry; /* the reconnect timer */
	bool connected;
	bool in_flight;
	unsigned long seq;
	int64_t sent_us;
	char id[96]; /* the _id of the request in flight */
} conn_t;

struct load {
	struct event_base *base;
	struct sockaddr_storage addr;
	int addrlen;
	const char *hostport, *prefix;
	long long user_id;
	int nconns, secs;
	conn_t *conns;
	bool ending; /* past the deadline: no new request, no reconnect */
	FILE *acks;
	unsigned long sent, acked, connect_failed, dropped, unanswered, bad_answers;
	unsigned long status[MAX_STATUS];
	uint32_t *lat_us; /* latency of every acknowledged request */
	size_t nlat, caplat;
};

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void conn_connect(conn_t *c);
static void send_request(conn_t *c);

static void maybe_finish(load_t *l)
{
	if (!l->ending)
		return;
	for (int i = 0; i < l->nconns; i++)
		if (l->conns[i].in_flight)
			return;
	event_base_loopbreak(l->base);
}

/* Close the connection; reconnect after RECONNECT_MS unless the run is over. */
static void conn_close(conn_t *c, bool reconnect_now)
{
	load_t *l = c->load;
	if (c->bev)
		bufferevent_free(c->bev);
	c->bev = NULL;
	c->connected = false;
	c->in_flight = false;
	if (l->ending) {
		maybe_finish(l);
		return;
	}
	struct timeval tv = {0, reconnect_now ? 0 : RECONNECT_MS * 1000};
	evtimer_add(c->retry, &tv);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_connect(arg);
}

static void record_latency(load_t *l, int64_t us)
{
	if (l->nlat == l->caplat) {
		l->caplat = l->caplat ? l->caplat * 2 : 65536;
		l->lat_us = realloc(l->lat_us, l->caplat * sizeof(*l->lat_us));
		if (!l->lat_us) {
			perror("webhook-load: realloc");
			exit(1);
		}
	}
	l->lat_us[l->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* One complete answer in the input, or none yet. Answers -1 for garbage, 0 to wait, else the
 * answer's length in bytes with its status and whether the server closes the connection. */
static long parse_answer(struct evbuffer *in, int *status, bool *close)
{
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (end.pos < 0)
		return evbuffer_get_length(in) > MAX_HEADER ? -1 : 0;
	size_t hlen = (size_t)end.pos + 4;
	if (hlen > MAX_HEADER)
		return -1;
	char h[MAX_HEADER + 1];
	evbuffer_copyout(in, h, hlen);
	h[hlen] = '\0';
	int minor;
	if (sscanf(h, "HTTP/1.%d %3d", &minor, status) != 2 || *status < 100 ||
	    *status >= MAX_STATUS)
		return -1;
	long clen = -1;
	*close = minor == 0;
	for (char *line = strstr(h, "\r\n") + 2; line < h + hlen - 2;) {
		char *eol = strstr(line, "\r\n");
		if (strncasecmp(line, "Content-Length:", 15) == 0)
			clen = strtol(line + 15, NULL, 10);
		else if (strncasecmp(line, "Connection:", 11) == 0) {
			const char *v = line + 11;
			v += strspn(v, " \t");
			*close = strncasecmp(v, "close", 5) == 0;
		} else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0)
			return -1; /* sellerhubd always sends a Content-Length */
		line = eol + 2;
	}
	if (clen < 0)
		return -1;
	if (evbuffer_get_length(in) < hlen + (size_t)clen)
		return 0;
	return (long)hlen + clen;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	conn_t *c = arg;
	load_t *l = c->load;
	struct evbuffer *in = bufferevent_get_input(bev);
	int status = 0;
	bool close = false;
	long n = parse_answer(in, &status, &close);
	if (n == 0)
		return;
	if (n < 0 || !c->in_flight) {
		l->bad_answers++;
		if (c->in_flight)
			l->unanswered++;
		conn_close(c, false);
		return;
	}
	evbuffer_drain(in, (size_t)n);
	c->in_flight = false;
	if (status == 200) {
		l->acked++;
		fprintf(l->acks, "%s\n", c->id);
		record_latency(l, now_us() - c->sent_us);
	} else {
		l->status[status]++;
	}
	if (close || evbuffer_get_length(in) > 0) {
		if (evbuffer_get_length(in) > 0)
			l->bad_answers++; /* more than one answer to one request */
		conn_close(c, true);
		return;
	}
	send_request(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	conn_t *c = arg;
	load_t *l = c->load;
	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->connected = true;
		send_request(c);
		return;
	}
	if (!c->connected)
		l->connect_failed++;
	else
		l->dropped++;
	if (c->in_flight)
		l->unanswered++;
	conn_close(c, false);
}

static void conn_connect(conn_t *c)
{
	load_t *l = c->load;
	if (l->ending)
		return;
	c->bev = bufferevent_socket_new(l->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		fprintf(stderr, "webhook-load: bufferevent_socket_new failed\n");
		exit(1);
	}
	bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&l->addr, l->addrlen) < 0) {
		l->connect_failed++;
		conn_close(c, false);
	}
}

static void send_request(conn_t *c)
{
	load_t *l = c->load;
	if (l->ending) {
		conn_close(c, false);
		return;
	}
	c->seq++;
	snprintf(c->id, sizeof(c->id), "%s-%d-%lu", l->prefix, c->idx, c->seq);
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	char ts[40];
	size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - n, ".%03dZ", (int)(tv.tv_usec / 1000));
	char body[512];
	int blen = snprintf(body, sizeof(body),
			    "{\"_id\":\"%s\",\"resource\":\"/orders/%lu\",\"user_id\":%lld,"
			    "\"topic\":\"orders_v2\",\"application_id\":1,\"attempts\":1,"
			    "\"sent\":\"%s\",\"received\":\"%s\"}",
			    c->id, c->seq, l->user_id, ts, ts);
	evbuffer_add_printf(bufferevent_get_output(c->bev),
			    "POST /webhooks/ml HTTP/1.1\r\nHost: %s\r\n"
			    "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			    l->hostport, blen, body);
	c->in_flight = true;
	c->sent_us = now_us();
	l->sent++;
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	load_t *l = arg;
	l->ending = true;
	/* Waiting to reconnect or connecting: stop now; in flight: after the answer. */
	for (int i = 0; i < l->nconns; i++) {
		conn_t *c = &l->conns[i];
		evtimer_del(c->retry);
		if (!c->in_flight && c->bev) {
			bufferevent_free(c->bev);
			c->bev = NULL;
		}
	}
	maybe_finish(l);
}

static void grace_cb(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Nearest rank: the smallest latency that p% of the acknowledged requests did not exceed. */
static double percentile_ms(const load_t *l, size_t p)
{
	if (l->nlat == 0)
		return 0;
	size_t rank = (p * l->nlat + 99) / 100;
	return l->lat_us[rank ? rank - 1 : 0] / 1000.0;
}

static void report(load_t *l)
{
	for (int i = 0; i < l->nconns; i++)
		if (l->conns[i].in_flight)
			l->unanswered++; /* no answer within the grace period */
	qsort(l->lat_us, l->nlat, sizeof(*l->lat_us), cmp_u32);
	unsigned long non200 = 0;
	for (int s = 0; s < MAX_STATUS; s++)
		non200 += l->status[s];
	printf("sent:               %lu\n", l->sent);
	printf("acknowledged (200): %lu (%.0f/s over %d s)\n", l->acked, (double)l->acked / l->secs,
	       l->secs);
	printf("non-200 answers:    %lu", non200);
	const char *sep = " (";
	for (int s = 0; s < MAX_STATUS; s++)
		if (l->status[s]) {
			printf("%s%d: %lu", sep, s, l->status[s]);
			sep = ", ";
		}
	printf("%s\n", non200 ? ")" : "");
	printf("connection errors:  %lu (connect failed %lu, dropped %lu, bad answers %lu); "
	       "requests left unanswered: %lu\n",
	       l->connect_failed + l->dropped + l->bad_answers, l->connect_failed, l->dropped,
	       l->bad_answers, l->unanswered);
	printf("ack latency:        p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", percentile_ms(l, 50),
	       percentile_ms(l, 99), l->nlat ? l->lat_us[l->nlat - 1] / 1000.0 : 0.0);
}

static void usage(void)
{
	fputs("usage: webhook-load [-c conns (50)] [-d seconds (60)] [-u user_id (4242)]\n"
	      "                    [-p id prefix (load)] -o ack-file host:port\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	load_t l = {.nconns = 50, .secs = 60, .user_id = 4242, .prefix = "load"};
	const char *ackpath = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "c:d:u:p:o:")) != -1) {
		switch (opt) {
		case 'c':
			l.nconns = atoi(optarg);
			break;
		case 'd':
			l.secs = atoi(optarg);
			break;
		case 'u':
			l.user_id = atoll(optarg);
			break;
		case 'p':
			l.prefix = optarg;
			break;
		case 'o':
			ackpath = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || !ackpath || l.nconns < 1 || l.secs < 1 || l.user_id < 1)
		usage();
	l.hostport = argv[optind];
	l.addrlen = (int)sizeof(l.addr);
	if (evutil_parse_sockaddr_port(l.hostport, (struct sockaddr *)&l.addr, &l.addrlen) < 0) {
		fprintf(stderr, "webhook-load: not a host:port: %s\n", l.hostport);
		return 2;
	}
	l.acks = fopen(ackpath, "w");
	if (!l.acks) {
		perror(ackpath);
		return 1;
	}
	setvbuf(l.acks, NULL, _IOFBF, 1 << 20);
	signal(SIGPIPE, SIG_IGN);

	l.base = event_base_new();
	l.conns = calloc((size_t)l.nconns, sizeof(*l.conns));
	if (!l.base || !l.conns)
		return 1;
	for (int i = 0; i < l.nconns; i++) {
		conn_t *c = &l.conns[i];
		c->load = &l;
		c->idx = i;
		c->retry = evtimer_new(l.base, retry_cb, c);
		conn_connect(c);
	}
	struct event *deadline = evtimer_new(l.base, deadline_cb, &l);
	struct event *grace = evtimer_new(l.base, grace_cb, l.base);
	struct timeval d = {l.secs, 0}, g = {l.secs + GRACE_S, 0};
	evtimer_add(deadline, &d);
	evtimer_add(grace, &g);
	event_base_dispatch(l.base);

	report(&l);
	if (fclose(l.acks) != 0) {
		perror(ackpath);
		return 1;
	}
	for (int i = 0; i < l.nconns; i++) {
		if (l.conns[i].bev)
			bufferevent_free(l.conns[i].bev);
		event_free(l.conns[i].retry);
	}
	event_free(deadline);
	event_free(grace);
	free(l.conns);
	free(l.lat_us);
	event_base_free(l.base);
	return 0;
}
