// SPDX-License-Identifier: Apache-2.0
/*
 * uadk-rs conformance suite: UADK's cipher API (libwd_crypto), which this project does not
 * implement. test/wd_mempool_test.c links it for its --perf 2 mode (cipher requests from a
 * block pool); the suite runs only --perf 0 and 1 (memory pools alone). Every call fails
 * as a library without a cipher device would.
 */
#include <stdio.h>

#include "wd_cipher.h"

static int no_cipher(void)
{
	fprintf(stderr, "uadk-rs conformance build: no cipher library (libwd_crypto)\n");
	return -WD_ENODEV;
}

int wd_cipher_init(struct wd_ctx_config *config, struct wd_sched *sched)
{
	(void)config;
	(void)sched;
	return no_cipher();
}

void wd_cipher_uninit(void)
{
}

handle_t wd_cipher_alloc_sess(struct wd_cipher_sess_setup *setup)
{
	(void)setup;
	no_cipher();
	return 0;
}

void wd_cipher_free_sess(handle_t h_sess)
{
	(void)h_sess;
}

int wd_cipher_set_key(handle_t h_sess, const __u8 *key, __u32 key_len)
{
	(void)h_sess;
	(void)key;
	(void)key_len;
	return no_cipher();
}

int wd_do_cipher_sync(handle_t h_sess, struct wd_cipher_req *req)
{
	(void)h_sess;
	(void)req;
	return no_cipher();
}

int wd_do_cipher_async(handle_t h_sess, struct wd_cipher_req *req)
{
	(void)h_sess;
	(void)req;
	return no_cipher();
}

int wd_cipher_poll_ctx(__u32 idx, __u32 expt, __u32 *count)
{
	(void)idx;
	(void)expt;
	if (count)
		*count = 0;
	return no_cipher();
}

int wd_cipher_poll(__u32 expt, __u32 *count)
{
	(void)expt;
	if (count)
		*count = 0;
	return no_cipher();
}
