/* Amazon's sync plan (channel_t.plan): see plan.c. */
#ifndef SH_AMAZON_PLAN_H
#define SH_AMAZON_PLAN_H

#include "sync_engine.h"

extern const sync_plan_t amazon_sync_plan;

#endif
