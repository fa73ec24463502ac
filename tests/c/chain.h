/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uadk-rs C tests: chains of struct wd_datalist segments, each separately allocated, and
 * the copies between a chain and a flat buffer. Shared by the SGL tests.
 */
#ifndef UADK_RS_TEST_CHAIN_H
#define UADK_RS_TEST_CHAIN_H

#include <stdlib.h>
#include <string.h>
#include "uadk/wd_comp.h"

#define CHAIN_MAX	16

struct chain {
	struct wd_datalist node[CHAIN_MAX];
	int count;
	size_t total;
};

static inline void chain_free(struct chain *c)
{
	int i;

	for (i = 0; i < c->count; i++)
		free(c->node[i].data);
}

/* Copy n bytes of flat into the chain, segment after segment. */
static inline void scatter(struct chain *c, const unsigned char *flat, size_t n)
{
	size_t k;
	int i;

	for (i = 0; i < c->count && n; i++) {
		k = n < c->node[i].len ? n : c->node[i].len;
		memcpy(c->node[i].data, flat, k);
		flat += k;
		n -= k;
	}
}

/* Copy the first n bytes of the chain into flat. */
static inline void gather(const struct chain *c, unsigned char *flat, size_t n)
{
	size_t k;
	int i;

	for (i = 0; i < c->count && n; i++) {
		k = n < c->node[i].len ? n : c->node[i].len;
		memcpy(flat, c->node[i].data, k);
		flat += k;
		n -= k;
	}
}

#endif
