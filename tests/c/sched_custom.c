/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uadk-rs C test: wd_comp_init with a scheduler the caller wrote itself.
 *
 * Four contexts on the first device: 0 sync compress, 1 sync decompress, 2 async compress,
 * 3 async decompress. The scheduler's sched_init makes (with malloc, as UADK frees it with
 * the session) a key holding the session's op type from its own sched_param; pick_next_ctx
 * returns the one context of the session's op and the request's mode; poll_policy polls
 * contexts 2 and 3 with wd_comp_poll_ctx. Each function counts its calls, and the counts
 * must match the library's use: sched_init once per session, pick_next_ctx once per request,
 * poll_policy once per wd_comp_poll.
 *
 * Then the scheduler misbehaves: an index past the last context, INVALID_POS, and a
 * context of the other mode must each fail the request with an error, not crash.
 * A wd_sched with a NULL member is refused by wd_comp_init.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "uadk/wd.h"
#include "uadk/wd_comp.h"
#include "uadk/wd_sched.h"

#define PAGE	4096
#define ASYNC_N	16

#define DIE(...) do { fprintf(stderr, "sched_custom: " __VA_ARGS__); fputc('\n', stderr); \
	exit(1); } while (0)

/* What the caller hands to sched_init through wd_comp_sess_setup.sched_param. */
struct my_param {
	int op;
};

struct my_key {
	int op;
	int magic;
};

enum misbehave { GOOD, PAST_END, INVALID, OTHER_MODE };

static atomic_int n_init, n_pick, n_poll;
static enum misbehave mode_of_pick = GOOD;
static const int my_ctx_state = 42;	/* what h_sched_ctx points to */

static handle_t my_sched_init(handle_t h_sched_ctx, void *sched_param)
{
	struct my_param *p = sched_param;
	struct my_key *k;

	if (h_sched_ctx != (handle_t)&my_ctx_state || !p)
		return (handle_t)(-WD_EINVAL);
	k = malloc(sizeof(*k));
	if (!k)
		return (handle_t)(-WD_ENOMEM);
	k->op = p->op;
	k->magic = 0x5eed;
	atomic_fetch_add(&n_init, 1);
	return (handle_t)k;
}

static __u32 my_pick(handle_t h_sched_ctx, void *sched_key, const int sched_mode)
{
	struct my_key *k = sched_key;

	atomic_fetch_add(&n_pick, 1);
	if (h_sched_ctx != (handle_t)&my_ctx_state || !k || k->magic != 0x5eed)
		return INVALID_POS;
	switch (mode_of_pick) {
	case PAST_END:
		return 4;
	case INVALID:
		return INVALID_POS;
	case OTHER_MODE:
		return k->op + (sched_mode == CTX_MODE_SYNC ? 2 : 0);
	default:
		return k->op + (sched_mode == CTX_MODE_ASYNC ? 2 : 0);
	}
}

static int my_poll(handle_t h_sched_ctx, __u32 expect, __u32 *count)
{
	__u32 got, total = 0, idx;
	int ret;

	atomic_fetch_add(&n_poll, 1);
	if (h_sched_ctx != (handle_t)&my_ctx_state)
		return -WD_EINVAL;
	for (idx = 2; idx <= 3 && total < expect; idx++) {
		got = 0;
		ret = wd_comp_poll_ctx(idx, expect - total, &got);
		if (ret < 0 && ret != -WD_EAGAIN)
			return ret;
		total += got;
	}
	*count = total;
	return 0;
}

static atomic_int callbacks;
static __u32 async_len[ASYNC_N];	/* dst_len each callback reported */

/* cb_param is the index of the caller's request; the callback gets the library's copy. */
static void *on_done(struct wd_comp_req *req, void *param)
{
	int i = (int)(uintptr_t)param;

	if (i >= 0 && i < ASYNC_N && req->status == 0 && req->cb_param == param) {
		async_len[i] = req->dst_len;
		atomic_fetch_add(&callbacks, 1);
	}
	return NULL;
}

static handle_t open_sess(enum wd_comp_op_type op, struct my_param *p)
{
	struct wd_comp_sess_setup ss = {0};

	ss.alg_type = WD_ZLIB;
	ss.op_type = op;
	ss.comp_lv = WD_COMP_L1;
	ss.win_sz = WD_COMP_WS_32K;
	ss.sched_param = p;
	return wd_comp_alloc_sess(&ss);
}

static int sync_call(handle_t h, enum wd_comp_op_type op, void *src, __u32 len, void *dst,
		     __u32 room, __u32 *out)
{
	struct wd_comp_req r = {0};
	int ret;

	r.src = src;
	r.src_len = len;
	r.dst = dst;
	r.dst_len = room;
	r.op_type = op;
	ret = wd_do_comp_sync(h, &r);
	*out = r.dst_len;
	return ret ? ret : (int)r.status;
}

int main(void)
{
	static unsigned char src[ASYNC_N][PAGE], z[ASYNC_N][2 * PAGE];
	static struct wd_comp_req reqs[ASYNC_N];
	struct my_param pc = { WD_DIR_COMPRESS }, pd = { WD_DIR_DECOMPRESS };
	struct wd_sched sched = {0}, broken;
	struct wd_ctx_config cfg = {0};
	struct wd_ctx ctxs[4];
	struct uacce_dev_list *list;
	unsigned char back[PAGE];
	handle_t c, d;
	__u32 zn, n, count;
	int i, ret, picks, spins;
	uLongf got;

	for (i = 0; i < ASYNC_N; i++)
		for (n = 0; n < PAGE; n++)
			src[i][n] = (n / 64 + i) % 3 ? "custom scheduler "[n % 17] : (n * 7 + i) & 0xff;

	list = wd_get_accel_list("zlib");
	if (!list || !list->dev)
		DIE("wd_get_accel_list(\"zlib\") finds no device");
	for (i = 0; i < 4; i++) {
		ctxs[i].ctx = wd_request_ctx(list->dev);
		if (!ctxs[i].ctx)
			DIE("wd_request_ctx failed");
		ctxs[i].op_type = i % 2;
		ctxs[i].ctx_mode = i / 2;
	}
	cfg.ctx_num = 4;
	cfg.ctxs = ctxs;

	sched.name = "mine";
	sched.sched_policy = 0;
	sched.sched_init = my_sched_init;
	sched.pick_next_ctx = my_pick;
	sched.poll_policy = my_poll;
	sched.h_sched_ctx = (handle_t)&my_ctx_state;

	broken = sched;
	broken.poll_policy = NULL;
	ret = wd_comp_init(&cfg, &broken);
	if (ret != -WD_EINVAL)
		DIE("wd_comp_init with a NULL poll_policy returned %d, want %d", ret, -WD_EINVAL);

	ret = wd_comp_init(&cfg, &sched);
	if (ret)
		DIE("wd_comp_init with the caller's scheduler returned %d", ret);
	c = open_sess(WD_DIR_COMPRESS, &pc);
	d = open_sess(WD_DIR_DECOMPRESS, &pd);
	if (!c || !d)
		DIE("wd_comp_alloc_sess returned 0");
	if (atomic_load(&n_init) != 2)
		DIE("sched_init ran %d times for 2 sessions", atomic_load(&n_init));
	if (open_sess(WD_DIR_COMPRESS, NULL))
		DIE("a session whose sched_init fails was opened");

	/* Sync round trip: one pick per request. */
	ret = sync_call(c, WD_DIR_COMPRESS, src[0], PAGE, z[0], sizeof(z[0]), &zn);
	if (ret)
		DIE("sync compress returned %d", ret);
	ret = sync_call(d, WD_DIR_DECOMPRESS, z[0], zn, back, PAGE, &n);
	if (ret || n != PAGE || memcmp(back, src[0], PAGE))
		DIE("sync decompress: ret %d, %u bytes", ret, n);
	if (atomic_load(&n_pick) != 2)
		DIE("pick_next_ctx ran %d times for 2 sync requests", atomic_load(&n_pick));

	/* Async: reaped through the scheduler's poll_policy. */
	for (i = 0; i < ASYNC_N; i++) {
		reqs[i].src = src[i];
		reqs[i].src_len = PAGE;
		reqs[i].dst = z[i];
		reqs[i].dst_len = sizeof(z[i]);
		reqs[i].op_type = WD_DIR_COMPRESS;
		reqs[i].cb = on_done;
		reqs[i].cb_param = (void *)(uintptr_t)i;
		ret = wd_do_comp_async(c, &reqs[i]);
		if (ret)
			DIE("async submit %d returned %d", i, ret);
	}
	if (atomic_load(&n_pick) != 2 + ASYNC_N)
		DIE("pick_next_ctx ran %d times for %d requests", atomic_load(&n_pick),
		    2 + ASYNC_N);
	for (spins = 0; atomic_load(&callbacks) < ASYNC_N; spins++) {
		count = 0;
		ret = wd_comp_poll(ASYNC_N, &count);
		if (ret < 0)
			DIE("wd_comp_poll returned %d", ret);
		if (spins > 20000000)
			DIE("only %d of %d callbacks", atomic_load(&callbacks), ASYNC_N);
	}
	if (atomic_load(&n_poll) != spins)
		DIE("poll_policy ran %d times for %d wd_comp_poll calls", atomic_load(&n_poll),
		    spins);
	for (i = 0; i < ASYNC_N; i++) {
		got = PAGE;
		if (reqs[i].dst_len != sizeof(z[i]))
			DIE("async request %d: the caller's struct was written", i);
		if (uncompress(back, &got, z[i], async_len[i]) != Z_OK || got != PAGE ||
		    memcmp(back, src[i], PAGE))
			DIE("async request %d does not inflate with the system zlib", i);
	}

	/* A misbehaving scheduler: errors, never a crash or a request on a wrong context. */
	for (mode_of_pick = PAST_END; mode_of_pick <= OTHER_MODE; mode_of_pick++) {
		picks = atomic_load(&n_pick);
		ret = sync_call(c, WD_DIR_COMPRESS, src[0], PAGE, z[0], sizeof(z[0]), &zn);
		if (ret >= 0)
			DIE("sync request with a bad pick (case %d) returned %d", mode_of_pick, ret);
		memset(&reqs[0], 0, sizeof(reqs[0]));
		reqs[0].src = src[0];
		reqs[0].src_len = PAGE;
		reqs[0].dst = z[0];
		reqs[0].dst_len = sizeof(z[0]);
		reqs[0].op_type = WD_DIR_COMPRESS;
		reqs[0].cb = on_done;
		reqs[0].cb_param = (void *)(uintptr_t)0;
		ret = wd_do_comp_async(c, &reqs[0]);
		if (ret >= 0)
			DIE("async request with a bad pick (case %d) returned %d", mode_of_pick, ret);
		if (atomic_load(&n_pick) != picks + 2)
			DIE("pick_next_ctx not called once per request (case %d)", mode_of_pick);
	}
	mode_of_pick = GOOD;
	ret = sync_call(c, WD_DIR_COMPRESS, src[1], PAGE, z[1], sizeof(z[1]), &zn);
	if (ret)
		DIE("sync compress after the bad picks returned %d", ret);

	/* The library frees the keys with the sessions (ASan sees a double free otherwise). */
	wd_comp_free_sess(c);
	wd_comp_free_sess(d);
	wd_comp_uninit();
	for (i = 0; i < 4; i++)
		wd_release_ctx(ctxs[i].ctx);
	wd_free_list_accels(list);
	printf("sched_custom: caller's scheduler: %d sched_init, %d pick_next_ctx, %d "
	       "poll_policy calls; bad picks refused\n", atomic_load(&n_init),
	       atomic_load(&n_pick), atomic_load(&n_poll));
	return 0;
}
