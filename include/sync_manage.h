/* Sync management across channels (POST /api/sync/manual, GET /api/sync/status's health and
 * rate limits): the sync types a seller asks for, mapped onto a channel's sync plan. */
#ifndef SH_SYNC_MANAGE_H
#define SH_SYNC_MANAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "sync_engine.h"

/* The types of POST /api/sync/manual, NULL-terminated; a type's bit is 1 << its index. */
extern const char *const sync_types[];
#define SYNC_TYPES_N 6

/* What a run of a plan does for some types. */
typedef struct sync_manual_map {
	const char *scope;  /* the run scope to start; NULL when the plan serves none of them */
	unsigned served;    /* the types it serves (bits) */
	unsigned lacking;   /* the types it has no resource for (bits) */
	unsigned resources; /* the plan's resources the run fetches (bit = resource index) */
} sync_manual_map_t;

/* Maps types (bits) onto plan: each type is the plan's resources of its names (a plan names
 * them alike whatever its channel), and the run's scope the narrowest that wants them all. Pure
 * (unit-tested). */
void sync_manual_map(const sync_plan_t *plan, unsigned types, sync_manual_map_t *out);
/* The run scopes whose runs fetch type (of some registered channel's plan), "all" first, as
 * a PostgreSQL array literal into buf. */
void sync_type_scopes(int type, char *buf, size_t size);
/* The index of a type name, -1 when it is none. */
int sync_type_index(const char *name);

#endif
