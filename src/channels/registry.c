/* The channels this build knows, in the order they start. Adding a channel is its folder under
 * src/channels/ and one line here. */
#include "channel.h"

extern const channel_t ml_channel;
extern const channel_t amazon_channel;
extern const channel_t tiny_channel;

const channel_t *const channels[] = {
    &ml_channel,
    &amazon_channel,
    &tiny_channel,
    NULL,
};
