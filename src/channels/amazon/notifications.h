/* Amazon's notifications: the intake (channel_t.intake, POST /webhooks/amazon) and the job that
 * applies each stored group. */
#ifndef SH_AMAZON_NOTIFICATIONS_H
#define SH_AMAZON_NOTIFICATIONS_H

#include "app.h"
#include "channel.h"

#define AMAZON_NOTIFICATIONS_JOB "amazon_notifications"

extern const channel_intake_t amazon_intake;

/* The job handler (at start, before jobs_start). */
void amazon_notifications_register(app_t *app);

#endif
