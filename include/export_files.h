/* The orders export's files (see exports.h): written on a worker thread with a database
 * connection of the thread's own (the loop's pool never waits on a file), as the background
 * job "orders_export" writes them, kept under EXPORTS_DIR until they expire. */
#ifndef SH_EXPORT_FILES_H
#define SH_EXPORT_FILES_H

#include "exports.h"

#define EXPORT_JOB "orders_export"

typedef struct export_file export_file_t;
typedef void (*export_file_cb)(export_file_t *f);

/* One file being written (owned by whoever gets done; freed by export_file_free). */
struct export_file {
	app_t *app;
	export_spec_t spec;
	char path[512];
	char *conninfo, *dir;
	export_file_cb done;
	void *arg;
	long long rows, bytes;
	char error[256]; /* empty on success */
};

/* Write spec's rows into path (NULL: a temp file in EXPORTS_DIR, its name in f->path) on a
 * worker thread; done(f) runs on the loop. */
void export_file_write(app_t *app, const export_spec_t *spec, const char *path, export_file_cb done,
		       void *arg);
void export_file_free(export_file_t *f);

#endif
