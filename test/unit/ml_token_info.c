/* The token-info arithmetic of /api/ml-accounts/:id/token-info. */
#include <criterion/criterion.h>

#include "channels/ml/account.h"

#define H (3600 * 1000LL)

Test(ml_token_info, halfway_through_a_six_hour_token)
{
	ml_token_info_t t = ml_token_info(3 * H, 6 * H, 0);
	cr_assert_eq(t.time_to_expiry_s, 3 * 3600);
	cr_assert_eq(t.health_percent, 50);
	cr_assert_not(t.is_expired);
	cr_assert_not(t.needs_refresh);
}

Test(ml_token_info, fresh_token_is_full_health)
{
	ml_token_info_t t = ml_token_info(0, 6 * H, 0);
	cr_assert_eq(t.health_percent, 100);
	cr_assert_eq(t.time_to_expiry_s, 21600);
}

Test(ml_token_info, needs_refresh_inside_thirty_minutes)
{
	ml_token_info_t t = ml_token_info(6 * H - 30 * 60 * 1000 + 1, 6 * H, 0);
	cr_assert(t.needs_refresh);
	t = ml_token_info(6 * H - 30 * 60 * 1000, 6 * H, 0);
	cr_assert_not(t.needs_refresh, "exactly 30 minutes left is not yet inside the window");
}

Test(ml_token_info, expired_is_zero_everything)
{
	ml_token_info_t t = ml_token_info(7 * H, 6 * H, 0);
	cr_assert(t.is_expired);
	cr_assert(t.needs_refresh);
	cr_assert_eq(t.time_to_expiry_s, 0);
	cr_assert_eq(t.health_percent, 0);
}

Test(ml_token_info, clock_oddities_are_clamped)
{
	/* refreshed_at after now (clock step) or after expiry: never above 100, never negative. */
	ml_token_info_t t = ml_token_info(0, 6 * H, 1 * H);
	cr_assert_eq(t.health_percent, 100);
	t = ml_token_info(0, 6 * H, 7 * H);
	cr_assert_eq(t.health_percent, 0);
	cr_assert_eq(t.time_to_expiry_s, 21600);
}
