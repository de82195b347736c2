/* A string-keyed hash map with open addressing (linear probing). Keys are copied; values belong
 * to the caller. Nothing is ever removed: marketsim's maps (tokens, codes, scrolls) only grow
 * until the next reset, which frees them whole. */
#include "marketsim.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct slot {
	char *key;
	void *value;
	uint64_t hash;
};

struct strmap {
	struct slot *slots;
	size_t cap, len;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

strmap_t *strmap_new(void)
{
	strmap_t *m = xcalloc(1, sizeof(*m));
	m->cap = 64;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	return m;
}

void strmap_free(strmap_t *m, void (*free_value)(void *))
{
	if (!m)
		return;
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->slots[i].key)
			continue;
		free(m->slots[i].key);
		if (free_value)
			free_value(m->slots[i].value);
	}
	free(m->slots);
	free(m);
}

static struct slot *lookup(const strmap_t *m, const char *key, uint64_t h)
{
	size_t i = h & (m->cap - 1);
	for (;;) {
		struct slot *s = &m->slots[i];
		if (!s->key || (s->hash == h && strcmp(s->key, key) == 0))
			return s;
		i = (i + 1) & (m->cap - 1);
	}
}

void *strmap_get(const strmap_t *m, const char *key)
{
	struct slot *s = lookup(m, key, hash_str(key));
	return s->key ? s->value : NULL;
}

static void grow(strmap_t *m)
{
	struct slot *old = m->slots;
	size_t old_cap = m->cap;
	m->cap *= 2;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].key)
			*lookup(m, old[i].key, old[i].hash) = old[i];
	free(old);
}

void *strmap_put(strmap_t *m, const char *key, void *value)
{
	if ((m->len + 1) * 10 > m->cap * 7)
		grow(m);
	uint64_t h = hash_str(key);
	struct slot *s = lookup(m, key, h);
	if (s->key) {
		void *prev = s->value;
		s->value = value;
		return prev;
	}
	s->key = xstrdup(key);
	s->hash = h;
	s->value = value;
	m->len++;
	return NULL;
}
