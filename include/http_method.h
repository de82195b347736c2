/* The name of an evhttp method, for every program that serves HTTP (sellerhubd, marketsim). */
#ifndef SH_HTTP_METHOD_H
#define SH_HTTP_METHOD_H

#include <event2/http.h>

/* "GET", "POST", ... ("OTHER" for methods sellerhub does not serve). */
const char *http_method_name(enum evhttp_cmd_type t);

#endif
