/* The configuration parser: settings as the environment gives them, read by config_load (the
 * core's and every channel's settings) over a base that passes, then freed. The one-line error
 * must never carry a secret. Input: NAME=value lines (they override the base). */
#include "fuzz.h"

#include "config.h"

#define MAX_VARS    64
#define DB_PASSWORD "db-password-3c9e1f7a"

static const char *const base[] = {
    "DATABASE_URL",	  "postgresql://sellerhub:" DB_PASSWORD "@127.0.0.1:5432/sellerhub",
    "JWT_SECRET",	  "a-jwt-secret-of-more-than-thirty-two-characters",
    "ENCRYPTION_KEY",	  "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    "ENCRYPTION_KEY_OLD", "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100",
    "METRICS_TOKEN",	  "metrics-token-7b3e9d1c4a",
    "ML_CLIENT_SECRET",	  "ml-client-secret-5f2a8c6e0b",
};

static const char *names[MAX_VARS], *values[MAX_VARS];
static size_t nvars;

static const char *lookup(const char *name)
{
	for (size_t i = nvars; i-- > 0;) /* the last wins, as in a shell */
		if (strcmp(names[i], name) == 0)
			return values[i];
	return NULL;
}

/* The secrets the base sets (the password of DATABASE_URL's among them). Only these are looked
 * for in the error: a value the input sets may be a piece of the error's own fixed text. */
static const char *const secrets[] = {
    DB_PASSWORD,
    "a-jwt-secret-of-more-than-thirty-two-characters",
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100",
    "metrics-token-7b3e9d1c4a",
    "ml-client-secret-5f2a8c6e0b",
};

/* The error may quote a setting that is no secret (a bad WEBHOOK_ALLOW_IPS entry); when the
 * input copied a secret's value into one of those, seeing it there is no leak. */
static bool in_a_plain_setting(const char *v)
{
	static const char *const secret_names[] = {
	    "DATABASE_URL",  "JWT_SECRET",	 "ENCRYPTION_KEY",   "ENCRYPTION_KEY_OLD",
	    "METRICS_TOKEN", "ML_CLIENT_SECRET", "ML_WEBHOOK_SECRET"};
	for (size_t i = 0; i < nvars; i++) {
		bool secret = false;
		for (size_t k = 0; k < sizeof(secret_names) / sizeof(secret_names[0]); k++)
			secret = secret || strcmp(names[i], secret_names[k]) == 0;
		if (!secret && strstr(values[i], v))
			return true;
	}
	return false;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	nvars = 0;
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i += 2) {
		names[nvars] = base[i];
		values[nvars++] = base[i + 1];
	}
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line && nvars < MAX_VARS;
	     line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		names[nvars] = line;
		values[nvars++] = eq + 1;
	}

	unsigned char key[32];
	config_parse_key(lookup("ENCRYPTION_KEY"), key);

	config_t c;
	char err[256];
	if (config_load(&c, lookup, err, sizeof(err))) {
		config_free(&c);
	} else {
		if (!err[0] || strchr(err, '\n'))
			abort(); /* one line naming the setting */
		for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
			if (strstr(err, secrets[i]) && !in_a_plain_setting(secrets[i]))
				abort(); /* a secret echoed */
	}
	free(text);
	return 0;
}
