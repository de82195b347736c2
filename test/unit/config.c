/* Configuration: defaults, validation, one clear line per problem, secrets never echoed. */
#include <criterion/criterion.h>
#include <string.h>

#include "channels/ml/ml.h"
#include "config.h"

static const char *const *table;

static const char *lookup(const char *name)
{
	for (size_t i = 0; table[i]; i += 2)
		if (strcmp(table[i], name) == 0)
			return table[i + 1];
	return NULL;
}

#define KEY_HEX "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define SECRET	"this-is-a-long-enough-jwt-secret-123456"
#define BASE                                                                                       \
	"DATABASE_URL", "postgresql://u:pw@localhost/db", "JWT_SECRET", SECRET, "ENCRYPTION_KEY",  \
	    KEY_HEX

static bool load(config_t *c, char *err, const char *const *t)
{
	table = t;
	return config_load(c, lookup, err, 256);
}

Test(config, defaults)
{
	const char *t[] = {BASE, NULL};
	config_t c;
	char err[256];
	cr_assert(load(&c, err, t), "%s", err);
	cr_assert_eq(c.port, 8080);
	cr_assert_str_eq(c.bind, "127.0.0.1");
	cr_assert_str_eq(c.redis_url, "redis://127.0.0.1:6379");
	cr_assert_eq(c.pg_pool_size, 8);
	cr_assert_eq(c.max_body, 65536);
	cr_assert_eq(c.jwt_ttl_s, 900);
	cr_assert_eq(c.log_level, LOG_INFO);
	cr_assert_str_eq(((const ml_config_t *)c.channel_cfg[0])->api_url,
			 "https://api.mercadolibre.com");
	cr_assert_null(c.cors_origins[0]);
	cr_assert_eq(c.encryption_key[0], 0x00);
	cr_assert_eq(c.encryption_key[31], 0xff);
	cr_assert_not(c.has_old_key);
	config_free(&c);
}

Test(config, overrides_and_lists)
{
	const char *t[] = {BASE,
			   "PORT",
			   "9000",
			   "CORS_ORIGINS",
			   " https://a.com , https://b.com,",
			   "LOG_LEVEL",
			   "debug",
			   "PG_POOL_SIZE",
			   "4",
			   NULL};
	config_t c;
	char err[256];
	cr_assert(load(&c, err, t), "%s", err);
	cr_assert_eq(c.port, 9000);
	cr_assert_eq(c.pg_pool_size, 4);
	cr_assert_eq(c.log_level, LOG_DEBUG);
	cr_assert_str_eq(c.cors_origins[0], "https://a.com");
	cr_assert_str_eq(c.cors_origins[1], "https://b.com");
	cr_assert_null(c.cors_origins[2]);
	config_free(&c);
}

Test(config, missing_required_names_the_setting)
{
	const char *t[] = {"JWT_SECRET", SECRET, "ENCRYPTION_KEY", KEY_HEX, NULL};
	config_t c;
	char err[256];
	cr_assert_not(load(&c, err, t));
	cr_assert(strstr(err, "DATABASE_URL"), "%s", err);
	cr_assert_null(strchr(err, '\n'));
}

Test(config, bad_numbers)
{
	const char *t1[] = {BASE, "PORT", "80a", NULL};
	const char *t2[] = {BASE, "PORT", "70000", NULL};
	const char *t3[] = {BASE, "PG_POOL_SIZE", "0", NULL};
	config_t c;
	char err[256];
	cr_assert_not(load(&c, err, t1));
	cr_assert(strstr(err, "PORT"), "%s", err);
	cr_assert_not(load(&c, err, t2));
	cr_assert(strstr(err, "PORT"), "%s", err);
	cr_assert_not(load(&c, err, t3));
	cr_assert(strstr(err, "PG_POOL_SIZE"), "%s", err);
}

Test(config, bad_key_is_refused_without_echo)
{
	const char *t[] = {"DATABASE_URL",   "postgresql://x/y",   "JWT_SECRET", SECRET,
			   "ENCRYPTION_KEY", "deadbeef-not-a-key", NULL};
	config_t c;
	char err[256];
	cr_assert_not(load(&c, err, t));
	cr_assert(strstr(err, "ENCRYPTION_KEY"), "%s", err);
	cr_assert_null(strstr(err, "deadbeef"));
}

Test(config, short_jwt_secret_is_refused_without_echo)
{
	const char *t[] = {"DATABASE_URL",
			   "postgresql://x/y",
			   "JWT_SECRET",
			   "short-secret",
			   "ENCRYPTION_KEY",
			   KEY_HEX,
			   NULL};
	config_t c;
	char err[256];
	cr_assert_not(load(&c, err, t));
	cr_assert(strstr(err, "JWT_SECRET"), "%s", err);
	cr_assert_null(strstr(err, "short-secret"));
}

Test(config, database_url_with_password_is_not_echoed)
{
	const char *t[] = {"DATABASE_URL",
			   "mysql://root:hunter2@db/x",
			   "JWT_SECRET",
			   SECRET,
			   "ENCRYPTION_KEY",
			   KEY_HEX,
			   NULL};
	config_t c;
	char err[256];
	cr_assert_not(load(&c, err, t));
	cr_assert(strstr(err, "DATABASE_URL"), "%s", err);
	cr_assert_null(strstr(err, "hunter2"));
}

Test(config, base64_key_and_old_key)
{
	/* 32 bytes of 0x01 in base64 */
	const char *t[] = {"DATABASE_URL",
			   "postgres://x/y",
			   "JWT_SECRET",
			   SECRET,
			   "ENCRYPTION_KEY",
			   "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
			   "ENCRYPTION_KEY_OLD",
			   KEY_HEX,
			   NULL};
	config_t c;
	char err[256];
	cr_assert(load(&c, err, t), "%s", err);
	for (int i = 0; i < 32; i++)
		cr_assert_eq(c.encryption_key[i], 1);
	cr_assert(c.has_old_key);
	cr_assert_eq(c.encryption_key_old[1], 0x11);
	config_free(&c);
}

Test(config, bad_log_level_and_client_secret_pairing)
{
	const char *t1[] = {BASE, "LOG_LEVEL", "loud", NULL};
	const char *t2[] = {BASE, "ML_CLIENT_ID", "123", NULL};
	config_t c;
	char err[256];
	cr_assert_not(load(&c, err, t1));
	cr_assert(strstr(err, "LOG_LEVEL"), "%s", err);
	cr_assert_not(load(&c, err, t2));
	cr_assert(strstr(err, "ML_CLIENT_SECRET"), "%s", err);
}

Test(config, address_lists_are_validated)
{
	const char *t1[] = {BASE, "TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8", NULL};
	const char *t2[] = {BASE, "WEBHOOK_ALLOW_IPS", "1.2.3.4, nonsense", NULL};
	config_t c;
	char err[256];
	cr_assert(load(&c, err, t1), "%s", err);
	config_free(&c);
	cr_assert_not(load(&c, err, t2));
	cr_assert(strstr(err, "WEBHOOK_ALLOW_IPS"), "%s", err);
	cr_assert(strstr(err, "nonsense"), "%s", err);
}
