/* Arena: alignment, growth past a chunk, strings, formatting. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"

Test(arena, allocations_are_aligned_and_distinct)
{
	arena_t *a = arena_new();
	char *p = arena_alloc(a, 1), *q = arena_alloc(a, 3);
	cr_assert_eq((uintptr_t)p % 16, 0);
	cr_assert_eq((uintptr_t)q % 16, 0);
	cr_assert_neq(p, q);
	cr_assert_eq(arena_used(a), 4);
	arena_free(a);
}

Test(arena, grows_past_the_first_chunk_and_keeps_old_data)
{
	arena_t *a = arena_new();
	char *first = arena_strdup(a, "first");
	char *ptrs[1000];
	for (int i = 0; i < 1000; i++) {
		ptrs[i] = arena_alloc(a, 100);
		memset(ptrs[i], i & 0xff, 100);
	}
	char *big = arena_alloc(a, 1 << 20); /* bigger than any chunk */
	memset(big, 0xab, 1 << 20);
	for (int i = 0; i < 1000; i++)
		cr_assert_eq((unsigned char)ptrs[i][99], (unsigned char)(i & 0xff));
	cr_assert_str_eq(first, "first");
	arena_free(a);
}

Test(arena, strings_and_printf)
{
	arena_t *a = arena_new();
	cr_assert_str_eq(arena_strndup(a, "abcdef", 3), "abc");
	cr_assert_str_eq(arena_printf(a, "%s-%d", "x", 42), "x-42");
	char *zero = arena_calloc(a, 10, 8);
	for (int i = 0; i < 80; i++)
		cr_assert_eq(zero[i], 0);
	char big[10000];
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	cr_assert_eq(strlen(arena_printf(a, "%s!", big)), sizeof(big));
	arena_free(a);
}
