/* How a failed Amazon call reaches a client: the one mapper every handler of the channel answers
 * with (the core maps database errors: identity_db_error). */
#ifndef SH_AMAZON_ERRORS_H
#define SH_AMAZON_ERRORS_H

#include "channel.h"
#include "http.h"

/* what: the operation, for the sentence ("Connecting the Amazon account"). */
void amazon_error_reply(req_t *r, enum channel_err e, const char *what, const char *message);

#endif
