/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uadk-rs C test: calls a careless or hostile caller makes. Each must come back with an
 * error (a negative return, a 0 handle, or a data-error status for bad compressed input)
 * and none may crash:
 * unknown or NULL algorithm, bad scheduler or task type for init2; bad alg, level, window,
 * op type or a NULL setup for alloc_sess; NULL request, handle 0, a freed handle,
 * src_len 0, dst_len 0, NULL buffers, an unknown data_fmt and an op type other than the
 * session's for the sync, sync2, stream and async calls; corrupt, truncated and
 * checksum-damaged compressed input; decompression into too small a buffer; NULL count for
 * the poll calls.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "uadk/wd_comp.h"
#include "uadk/wd_sched.h"

static int failures, checks;

#define EXPECT(cond, ...) do { \
	checks++; \
	if (!(cond)) { \
		failures++; \
		fprintf(stderr, "errors: FAIL: " __VA_ARGS__); \
		fputc('\n', stderr); \
	} \
} while (0)

static void *never_cb(struct wd_comp_req *req, void *param)
{
	(void)req;
	(void)param;
	return NULL;
}

static handle_t open_sess(enum wd_comp_alg_type alg, enum wd_comp_op_type op)
{
	struct wd_comp_sess_setup ss = {0};

	ss.alg_type = alg;
	ss.op_type = op;
	return wd_comp_alloc_sess(&ss);
}

enum call { SYNC, SYNC2, STRM, ASYNC, NCALLS };
static const char *call_name[] = { "wd_do_comp_sync", "wd_do_comp_sync2", "wd_do_comp_strm",
				   "wd_do_comp_async" };

static int do_call(enum call k, handle_t h, struct wd_comp_req *r)
{
	switch (k) {
	case SYNC:
		return wd_do_comp_sync(h, r);
	case SYNC2:
		return wd_do_comp_sync2(h, r);
	case STRM:
		return wd_do_comp_strm(h, r);
	default:
		if (r) {
			r->cb = never_cb;
			r->cb_param = r;
		}
		return wd_do_comp_async(h, r);
	}
}

static void good_req(struct wd_comp_req *r, void *src, __u32 src_len, void *dst, __u32 dst_len,
		     enum wd_comp_op_type op)
{
	memset(r, 0, sizeof(*r));
	r->src = src;
	r->src_len = src_len;
	r->dst = dst;
	r->dst_len = dst_len;
	r->op_type = op;
	r->data_fmt = WD_FLAT_BUF;
	r->last = 1;
}

/* A decompression of bad input: a negative return or a data-error status. */
static void expect_data_error(handle_t d, unsigned char *in, __u32 in_len, unsigned char *out,
			      __u32 out_len, const char *what)
{
	struct wd_comp_req r;
	int ret;

	good_req(&r, in, in_len, out, out_len, WD_DIR_DECOMPRESS);
	ret = wd_do_comp_sync(d, &r);
	EXPECT(ret < 0 || r.status == WD_IN_EPARA,
	       "%s: wd_do_comp_sync returns %d with status %u (want < 0 or WD_IN_EPARA)", what,
	       ret, r.status);
	good_req(&r, in, in_len, out, out_len, WD_DIR_DECOMPRESS);
	ret = wd_do_comp_sync2(d, &r);
	EXPECT(ret < 0 || r.status == WD_IN_EPARA,
	       "%s: wd_do_comp_sync2 returns %d with status %u (want < 0 or WD_IN_EPARA)", what,
	       ret, r.status);
	wd_comp_reset_sess(d);
}

int main(void)
{
	static unsigned char page[4096], z[8192], out[4096], bad[8192];
	struct wd_comp_sess_setup ss;
	struct wd_comp_req r;
	handle_t c, d, gone;
	__u32 zn, count;
	char alg[] = "zlib", brotli[] = "brotli";
	int ret, k, i;

	for (i = 0; i < (int)sizeof(page); i++)
		page[i] = "errors are values "[i % 18] ^ (unsigned char)(i >> 9);

	/* init2 with bad arguments, before any good one. */
	ret = wd_comp_init2(brotli, SCHED_POLICY_RR, TASK_HW);
	EXPECT(ret == -WD_EINVAL, "init2(\"brotli\") returns %d, want -WD_EINVAL", ret);
	ret = wd_comp_init2(NULL, SCHED_POLICY_RR, TASK_HW);
	EXPECT(ret == -WD_EINVAL, "init2(NULL) returns %d, want -WD_EINVAL", ret);
	ret = wd_comp_init2(alg, SCHED_POLICY_BUTT, TASK_HW);
	EXPECT(ret == -WD_EINVAL, "init2 with sched_type SCHED_POLICY_BUTT returns %d", ret);
	ret = wd_comp_init2(alg, SCHED_POLICY_RR, TASK_MAX_TYPE);
	EXPECT(ret == -WD_EINVAL, "init2 with task_type TASK_MAX_TYPE returns %d", ret);
	ret = wd_comp_init2(alg, SCHED_POLICY_RR, -1);
	EXPECT(ret == -WD_EINVAL, "init2 with task_type -1 returns %d", ret);

	ret = wd_comp_init2(alg, SCHED_POLICY_RR, TASK_HW);
	if (ret) {
		fprintf(stderr, "errors: wd_comp_init2(\"zlib\") returns %d after the bad calls\n",
			ret);
		return 1;
	}

	/* Sessions that cannot be. */
	memset(&ss, 0, sizeof(ss));
	ss.alg_type = WD_COMP_ALG_MAX;
	EXPECT(wd_comp_alloc_sess(&ss) == 0, "alloc_sess with alg_type WD_COMP_ALG_MAX");
	ss.alg_type = 17;
	EXPECT(wd_comp_alloc_sess(&ss) == 0, "alloc_sess with alg_type 17");
	ss.alg_type = WD_ZLIB;
	ss.op_type = WD_DIR_MAX;
	EXPECT(wd_comp_alloc_sess(&ss) == 0, "alloc_sess with op_type WD_DIR_MAX");
	ss.op_type = WD_DIR_COMPRESS;
	ss.comp_lv = WD_COMP_L15 + 1;
	EXPECT(wd_comp_alloc_sess(&ss) == 0, "alloc_sess (compress) with level 16");
	ss.comp_lv = 99;
	EXPECT(wd_comp_alloc_sess(&ss) == 0, "alloc_sess (compress) with level 99");
	ss.comp_lv = WD_COMP_L1;
	ss.win_sz = WD_COMP_WS_32K + 1;
	EXPECT(wd_comp_alloc_sess(&ss) == 0, "alloc_sess (compress) with win_sz 5");
	ss.win_sz = 9;
	EXPECT(wd_comp_alloc_sess(&ss) == 0, "alloc_sess (compress) with win_sz 9");
	EXPECT(wd_comp_alloc_sess(NULL) == 0, "alloc_sess(NULL)");

	c = open_sess(WD_ZLIB, WD_DIR_COMPRESS);
	d = open_sess(WD_ZLIB, WD_DIR_DECOMPRESS);
	gone = open_sess(WD_ZLIB, WD_DIR_COMPRESS);
	if (!c || !d || !gone) {
		fprintf(stderr, "errors: alloc_sess of good sessions failed\n");
		return 1;
	}
	wd_comp_free_sess(gone);

	/* A good stream to damage below. */
	good_req(&r, page, sizeof(page), z, sizeof(z), WD_DIR_COMPRESS);
	ret = wd_do_comp_sync(c, &r);
	if (ret || r.status) {
		fprintf(stderr, "errors: a good compression fails: ret %d status %u\n", ret,
			r.status);
		return 1;
	}
	zn = r.dst_len;

	/* Bad requests, for each of the four request calls. */
	for (k = 0; k < NCALLS; k++) {
		const char *f = call_name[k];

		ret = do_call(k, c, NULL);
		EXPECT(ret < 0, "%s with a NULL request returns %d", f, ret);

		good_req(&r, page, sizeof(page), z, sizeof(z), WD_DIR_COMPRESS);
		ret = do_call(k, 0, &r);
		EXPECT(ret < 0, "%s with handle 0 returns %d", f, ret);

		good_req(&r, page, sizeof(page), z, sizeof(z), WD_DIR_COMPRESS);
		ret = do_call(k, gone, &r);
		EXPECT(ret < 0, "%s with a freed handle returns %d", f, ret);

		good_req(&r, page, sizeof(page), z, 0, WD_DIR_COMPRESS);
		ret = do_call(k, c, &r);
		EXPECT(ret < 0, "%s with dst_len 0 returns %d", f, ret);

		good_req(&r, page, sizeof(page), NULL, sizeof(z), WD_DIR_COMPRESS);
		ret = do_call(k, c, &r);
		EXPECT(ret < 0, "%s with dst NULL returns %d", f, ret);

		good_req(&r, NULL, sizeof(page), z, sizeof(z), WD_DIR_COMPRESS);
		ret = do_call(k, c, &r);
		EXPECT(ret < 0, "%s with src NULL and src_len %zu returns %d", f, sizeof(page),
		       ret);

		good_req(&r, page, sizeof(page), z, sizeof(z), WD_DIR_COMPRESS);
		r.data_fmt = 7;
		ret = do_call(k, c, &r);
		EXPECT(ret < 0, "%s with data_fmt 7 returns %d", f, ret);

		good_req(&r, page, sizeof(page), z, sizeof(z), WD_DIR_MAX);
		ret = do_call(k, c, &r);
		EXPECT(ret < 0, "%s with op_type WD_DIR_MAX returns %d", f, ret);

		/* A decompression request on a compression session and the reverse. */
		good_req(&r, z, zn, out, sizeof(out), WD_DIR_DECOMPRESS);
		ret = do_call(k, c, &r);
		EXPECT(ret < 0, "%s: decompress request on a compress session returns %d", f,
		       ret);
		good_req(&r, page, sizeof(page), z, sizeof(z), WD_DIR_COMPRESS);
		ret = do_call(k, d, &r);
		EXPECT(ret < 0, "%s: compress request on a decompress session returns %d", f,
		       ret);

		/* An empty source is an error for the block calls (the stream call may end a
		 * stream with it). */
		if (k != STRM) {
			good_req(&r, page, 0, z, sizeof(z), WD_DIR_COMPRESS);
			ret = do_call(k, c, &r);
			EXPECT(ret < 0, "%s with src_len 0 returns %d", f, ret);
		}
		wd_comp_reset_sess(c);
		wd_comp_reset_sess(d);
	}

	/* Bad compressed input. */
	memset(bad, 0xff, sizeof(bad));
	expect_data_error(d, bad, sizeof(bad), out, sizeof(out), "0xff bytes");
	for (i = 0; i < (int)sizeof(bad); i++)
		bad[i] = (unsigned char)(i * 131 + 7);
	bad[0] = 0x78;	/* a zlib header, then noise */
	bad[1] = 0x9c;
	expect_data_error(d, bad, sizeof(bad), out, sizeof(out), "zlib header then noise");
	memcpy(bad, z, zn);
	bad[zn - 1] ^= 0x55;	/* Adler-32 trailer damaged */
	expect_data_error(d, bad, zn, out, sizeof(out), "damaged checksum");
	memcpy(bad, z, zn);
	bad[0] = 0x79;		/* header check bits wrong */
	expect_data_error(d, bad, zn, out, sizeof(out), "damaged header");

	/* Output room too small, and a stream cut short: never a clean success. */
	good_req(&r, z, zn, out, 100, WD_DIR_DECOMPRESS);
	ret = wd_do_comp_sync(d, &r);
	EXPECT(ret < 0 || r.status != 0,
	       "decompress into 100 bytes of room succeeds (ret %d, %u bytes)", ret, r.dst_len);
	wd_comp_reset_sess(d);
	good_req(&r, z, zn / 2, out, sizeof(out), WD_DIR_DECOMPRESS);
	ret = wd_do_comp_sync(d, &r);
	EXPECT(ret < 0 || r.status != 0 || r.dst_len < sizeof(page),
	       "a stream cut in half decompresses to the whole page (ret %d)", ret);
	wd_comp_reset_sess(d);

	/* The sessions still work after all that. */
	good_req(&r, z, zn, out, sizeof(out), WD_DIR_DECOMPRESS);
	ret = wd_do_comp_sync(d, &r);
	EXPECT(ret == 0 && r.status == 0 && r.dst_len == sizeof(page) &&
	       !memcmp(out, page, sizeof(page)),
	       "good decompression after the bad calls: ret %d status %u len %u", ret,
	       r.status, r.dst_len);

	/* Poll calls with no counter. */
	ret = wd_comp_poll(1, NULL);
	EXPECT(ret < 0, "wd_comp_poll with count NULL returns %d", ret);
	ret = wd_comp_poll_ctx(0, 1, NULL);
	EXPECT(ret < 0, "wd_comp_poll_ctx with count NULL returns %d", ret);
	ret = wd_comp_poll_ctx(0, 0, &count);
	EXPECT(ret == -WD_EINVAL, "wd_comp_poll_ctx expecting 0 completions returns %d", ret);
	ret = wd_comp_poll(1, &count);
	EXPECT(ret == 0 || ret == -WD_EAGAIN, "wd_comp_poll with nothing in flight returns %d",
	       ret);

	/* Freeing: handle 0 and a second free are ignored (UADK itself promises neither). */
	wd_comp_free_sess(0);
	wd_comp_free_sess(gone);
	wd_comp_free_sess(c);
	wd_comp_free_sess(d);
	wd_comp_uninit2();

	if (failures) {
		fprintf(stderr, "errors: %d of %d checks failed\n", failures, checks);
		return 1;
	}
	printf("errors: %d bad calls, each refused with an error code\n", checks);
	return 0;
}
