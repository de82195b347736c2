/* The one mapper of Tiny's errors to the envelope. */
#ifndef SH_TINY_ERRORS_H
#define SH_TINY_ERRORS_H

#include "channel.h"
#include "http.h"

/* what: the operation ("Testing the Tiny token"); message: the client's line or NULL. */
void tiny_error_reply(req_t *r, enum channel_err e, const char *what, const char *message);

#endif
