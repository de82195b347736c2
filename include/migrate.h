/* Schema migrations: sql/NNNN_name.sql, applied in order, each once, each inside a transaction,
 * under an advisory lock so that processes starting together apply each migration once, and
 * recorded in schema_migrations. Runs at start-up before the loop serves anything, so it uses
 * blocking libpq on purpose. */
#ifndef SH_MIGRATE_H
#define SH_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

/* The directory holding the migrations: $SQL_DIR, else the sql/ found beside or above the
 * executable. NULL when none is found. Returns a malloc'd path. */
char *migrate_find_dir(void);
/* Apply what is missing; *applied counts the new ones. On failure writes one line to err. */
bool migrate_run(const char *conninfo, const char *dir, int *applied, char *err, size_t errlen);
/* True when a file name is a migration (NNNN_name.sql) and fills version (the number). */
bool migrate_parse_name(const char *file, int *version);

#endif
