/* The baseline for `make bench`: a bare libevent evhttp server answering the same bytes as
 * sellerhubd's GET /health, with no routing, logging or metrics. */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdlib.h>

static void health(struct evhttp_request *req, void *arg)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/json");
	evbuffer_add(evhttp_request_get_output_buffer(req), "{\"status\":\"ok\"}", 15);
	evhttp_send_reply(req, 200, "OK", NULL);
}

int main(int argc, char **argv)
{
	struct event_base *base = event_base_new();
	struct evhttp *http = evhttp_new(base);
	evhttp_set_gencb(http, health, NULL);
	if (argc < 2 || evhttp_bind_socket(http, "127.0.0.1", (unsigned short)atoi(argv[1])) != 0)
		return 1;
	return event_base_dispatch(base);
}
