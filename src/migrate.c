/* Migration runner. See migrate.h for why it is blocking. */
#include "migrate.h"
#include "log.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <libgen.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Any constant works; it only has to be the same in every sellerhub process. */
#define MIGRATE_LOCK_KEY "7362616c6c657268"

static const char create_table[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
				   " version integer PRIMARY KEY,"
				   " name text NOT NULL,"
				   " checksum text NOT NULL,"
				   " applied_at timestamptz NOT NULL DEFAULT now())";

bool migrate_parse_name(const char *file, int *version)
{
	size_t n = strlen(file);
	if (n < 10 || strcmp(file + n - 4, ".sql") != 0)
		return false;
	for (int i = 0; i < 4; i++)
		if (!isdigit((unsigned char)file[i]))
			return false;
	if (file[4] != '_' || file[5] == '.')
		return false;
	*version = atoi(file);
	return *version > 0;
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *migrate_find_dir(void)
{
	const char *env = getenv("SQL_DIR");
	if (env && *env)
		return is_dir(env) ? xstrdup(env) : NULL;
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	char *dir = dirname(exe);
	for (int up = 0; up < 4; up++) {
		char cand[4200];
		snprintf(cand, sizeof(cand), "%s/sql", dir);
		if (is_dir(cand))
			return realpath(cand, NULL);
		dir = dirname(dir);
	}
	return NULL;
}

static int cmp_names(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int only_migrations(const struct dirent *d)
{
	int v;
	return migrate_parse_name(d->d_name, &v);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = xmalloc((size_t)n + 1);
	size_t got = fread(buf, 1, (size_t)n, f);
	fclose(f);
	buf[got] = '\0';
	return buf;
}

static void sha256_hex(const char *s, char out[65])
{
	unsigned char md[32];
	unsigned int len = 0;
	EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

static bool exec_ok(PGconn *c, const char *sql, char *err, size_t errlen, const char *what)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
	if (!ok) {
		snprintf(err, errlen, "migrate: %s: %s", what, PQresultErrorMessage(r));
		err[strcspn(err, "\n")] = '\0';
	}
	PQclear(r);
	return ok;
}

static bool apply_one(PGconn *c, const char *dir, const char *file, int version, int *applied,
		      char *err, size_t errlen)
{
	char path[4400], vbuf[16], sum[65];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	snprintf(vbuf, sizeof(vbuf), "%d", version);
	const char *vparam[] = {vbuf};
	PGresult *r = PQexecParams(c, "SELECT checksum FROM schema_migrations WHERE version = $1",
				   1, NULL, vparam, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "migrate: %s", PQresultErrorMessage(r));
		err[strcspn(err, "\n")] = '\0';
		PQclear(r);
		return false;
	}
	char *sql = read_file(path);
	if (!sql) {
		PQclear(r);
		snprintf(err, errlen, "migrate: cannot read %s", path);
		return false;
	}
	sha256_hex(sql, sum);
	if (PQntuples(r) == 1) {
		if (strcmp(PQgetvalue(r, 0, 0), sum) != 0)
			log_warn("migrate: %s changed after it was applied; not applied again",
				 file);
		PQclear(r);
		free(sql);
		return true;
	}
	PQclear(r);

	bool ok = exec_ok(c, "BEGIN", err, errlen, file) && exec_ok(c, sql, err, errlen, file);
	free(sql);
	if (ok) {
		const char *params[] = {vbuf, file, sum};
		r = PQexecParams(c,
				 "INSERT INTO schema_migrations (version, name, checksum) "
				 "VALUES ($1, $2, $3)",
				 3, NULL, params, NULL, NULL, 0);
		ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		if (!ok) {
			snprintf(err, errlen, "migrate: %s: %s", file, PQresultErrorMessage(r));
			err[strcspn(err, "\n")] = '\0';
		}
		PQclear(r);
	}
	if (ok && exec_ok(c, "COMMIT", err, errlen, file)) {
		log_info("migrate: applied %s", file);
		(*applied)++;
		return true;
	}
	PQclear(PQexec(c, "ROLLBACK"));
	return false;
}

bool migrate_run(const char *conninfo, const char *dir, int *applied, char *err, size_t errlen)
{
	*applied = 0;
	PGconn *c = PQconnectdb(conninfo);
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(err, errlen, "migrate: cannot connect to the database: %s",
			 PQerrorMessage(c));
		err[strcspn(err, "\n")] = '\0';
		PQfinish(c);
		return false;
	}
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	bool ok = exec_ok(c, "SELECT pg_advisory_lock(x'" MIGRATE_LOCK_KEY "'::bigint)", err,
			  errlen, "lock") &&
		  exec_ok(c, create_table, err, errlen, "schema_migrations");
	struct dirent **files = NULL;
	int n = ok ? scandir(dir, &files, only_migrations, cmp_names) : 0;
	if (n < 0) {
		snprintf(err, errlen, "migrate: cannot read %s", dir);
		ok = false;
	}
	int last = 0;
	for (int i = 0; i < n; i++) {
		int version = 0;
		migrate_parse_name(files[i]->d_name, &version);
		if (ok && version == last) {
			snprintf(err, errlen, "migrate: two migrations numbered %04d", version);
			ok = false;
		}
		last = version;
		if (ok)
			ok = apply_one(c, dir, files[i]->d_name, version, applied, err, errlen);
		free(files[i]);
	}
	free(files);
	PQclear(PQexec(c, "SELECT pg_advisory_unlock_all()"));
	PQfinish(c);
	return ok;
}
