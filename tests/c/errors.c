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
 * the poll calls. Handles that were never issued (1, 4096, 0x7f1234567890, an address of the
 * caller's own data, one byte into a real handle) or were freed, for every call that takes a
 * session, context, scheduler, pool or block handle; a z_stream whose `reserved` field is
 * garbage; zlib-wrapper flush values other than Z_SYNC_FLUSH and Z_FINISH; a context
 * configuration naming contexts that do not exist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uadk/wd_comp.h"
#include "uadk/wd_sched.h"
#include "uadk/wd_bmm.h"
#include "uadk/wd_zlibwrapper.h"

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

/* Handles no call may trust: never issued, or pointing into the caller's own memory. */
static handle_t bogus[5];
static const char *bogus_name[] = { "1", "4096", "0x7f1234567890", "a stack address",
				    "a real handle + 1" };
#define NBOGUS ((int)(sizeof(bogus) / sizeof(bogus[0])))

static void bogus_sessions(handle_t gone, unsigned char *page, unsigned char *z, __u32 zlen)
{
	struct wd_comp_req r;
	int k, b, ret;

	for (b = 0; b <= NBOGUS; b++) {
		handle_t h = b < NBOGUS ? bogus[b] : gone;
		const char *hn = b < NBOGUS ? bogus_name[b] : "a freed handle";

		for (k = 0; k < NCALLS; k++) {
			good_req(&r, page, 4096, z, zlen, WD_DIR_COMPRESS);
			ret = do_call(k, h, &r);
			EXPECT(ret == -WD_EINVAL, "%s with handle %s returns %d, want -WD_EINVAL",
			       call_name[k], hn, ret);
		}
		ret = wd_comp_reset_sess(h);
		EXPECT(ret == -WD_EINVAL, "wd_comp_reset_sess(%s) returns %d", hn, ret);
		wd_comp_free_sess(h);	/* ignored; must not crash */
	}
}

/* A z_stream the wrapper never initialised, and flush values UADK refuses. */
static void zlib_misuse(unsigned char *page, unsigned char *z, __u32 zlen)
{
	static const int bad_flush[] = { 99, -1, Z_NO_FLUSH, Z_PARTIAL_FLUSH, Z_FULL_FLUSH,
					 5 };
	unsigned char back[4096];
	z_stream s;
	int i, ret;

	memset(&s, 0xa5, sizeof(s));
	ret = wd_deflate(&s, Z_FINISH);
	EXPECT(ret == Z_STREAM_ERROR, "wd_deflate on a garbage z_stream returns %d", ret);
	ret = wd_inflate(&s, Z_SYNC_FLUSH);
	EXPECT(ret == Z_STREAM_ERROR, "wd_inflate on a garbage z_stream returns %d", ret);
	for (i = 0; i < NBOGUS; i++) {
		memset(&s, 0, sizeof(s));
		s.next_in = page;
		s.avail_in = 4096;
		s.next_out = z;
		s.avail_out = zlen;
		s.reserved = bogus[i];
		ret = wd_deflate(&s, Z_FINISH);
		EXPECT(ret == Z_STREAM_ERROR, "wd_deflate with reserved = %s returns %d",
		       bogus_name[i], ret);
		ret = wd_inflate(&s, Z_SYNC_FLUSH);
		EXPECT(ret == Z_STREAM_ERROR, "wd_inflate with reserved = %s returns %d",
		       bogus_name[i], ret);
		wd_deflate_reset(&s);
		wd_inflate_reset(&s);
		wd_deflate_end(&s);	/* ignored; must not crash */
		s.reserved = bogus[i];
		wd_inflate_end(&s);
	}

	/* Flush values: refused without touching the stream, which still works after. */
	memset(&s, 0, sizeof(s));
	ret = wd_deflate_init(&s, 1, 15);
	EXPECT(ret == Z_OK, "wd_deflate_init returns %d", ret);
	if (ret != Z_OK)
		return;
	for (i = 0; i < (int)(sizeof(bad_flush) / sizeof(bad_flush[0])); i++) {
		s.next_in = page;
		s.avail_in = 4096;
		s.next_out = z;
		s.avail_out = zlen;
		ret = wd_deflate(&s, bad_flush[i]);
		EXPECT(ret == Z_STREAM_ERROR && s.avail_in == 4096 && s.total_out == 0,
		       "wd_deflate with flush %d returns %d (avail_in %u)", bad_flush[i], ret,
		       s.avail_in);
	}
	ret = wd_deflate(&s, Z_FINISH);
	EXPECT(ret == Z_STREAM_END, "wd_deflate with Z_FINISH after bad flushes returns %d", ret);
	zlen = (__u32)s.total_out;
	wd_deflate_end(&s);

	memset(&s, 0, sizeof(s));
	ret = wd_inflate_init(&s, 15);
	EXPECT(ret == Z_OK, "wd_inflate_init returns %d", ret);
	if (ret != Z_OK)
		return;
	for (i = 0; i < (int)(sizeof(bad_flush) / sizeof(bad_flush[0])); i++) {
		s.next_in = z;
		s.avail_in = zlen;
		s.next_out = back;
		s.avail_out = sizeof(back);
		ret = wd_inflate(&s, bad_flush[i]);
		EXPECT(ret == Z_STREAM_ERROR && s.avail_in == zlen && s.total_out == 0,
		       "wd_inflate with flush %d returns %d", bad_flush[i], ret);
	}
	ret = wd_inflate(&s, Z_SYNC_FLUSH);
	EXPECT(ret == Z_STREAM_END && s.total_out == 4096 && !memcmp(back, page, 4096),
	       "wd_inflate after bad flushes returns %d with %llu bytes", ret,
	       (unsigned long long)s.total_out);
	wd_inflate_end(&s);
}

/* libwd: contexts, schedulers, pools and blocks. */
static void bogus_libwd(void)
{
	struct wd_mempool_setup ms = { 0 };
	struct wd_mempool_stats mst;
	struct wd_blockpool_stats bst;
	struct sched_params sp = { 0 };
	struct wd_sched mine, *rr, *rr_gone;
	struct wd_ctx ctxs[1];
	struct wd_ctx_config cfg = { 0 };
	handle_t mp, bp, mp_gone;
	void *blk;
	char buf[64];
	__u32 n;
	int i, ret;

	ms.block_size = 4096;
	ms.block_num = 4;
	for (i = 0; i < NBOGUS; i++) {
		handle_t h = bogus[i];
		const char *hn = bogus_name[i];

		ret = wd_ctx_start(h);
		EXPECT(ret == -WD_EINVAL, "wd_ctx_start(%s) returns %d", hn, ret);
		ret = wd_release_ctx_force(h);
		EXPECT(ret == -WD_EINVAL, "wd_release_ctx_force(%s) returns %d", hn, ret);
		ret = wd_ctx_set_priv(h, buf);
		EXPECT(ret == -WD_EINVAL, "wd_ctx_set_priv(%s) returns %d", hn, ret);
		EXPECT(!wd_ctx_get_priv(h), "wd_ctx_get_priv(%s)", hn);
		EXPECT(!wd_ctx_get_api(h), "wd_ctx_get_api(%s)", hn);
		EXPECT(!wd_ctx_get_dev_name(h), "wd_ctx_get_dev_name(%s)", hn);
		EXPECT(!wd_ctx_mmap_qfr(h, UACCE_QFRT_MMIO), "wd_ctx_mmap_qfr(%s)", hn);
		wd_ctx_unmap_qfr(h, UACCE_QFRT_MMIO);
		EXPECT(wd_ctx_get_region_size(h, UACCE_QFRT_DUS) == 0,
		       "wd_ctx_get_region_size(%s)", hn);
		ret = wd_ctx_set_io_cmd(h, 0, NULL);
		EXPECT(ret == -WD_EINVAL, "wd_ctx_set_io_cmd(%s) returns %d", hn, ret);
		ret = wd_ctx_wait(h, 1);
		EXPECT(ret == -WD_EINVAL, "wd_ctx_wait(%s) returns %d", hn, ret);
		ret = wd_is_sva(h);
		EXPECT(ret == -WD_EINVAL, "wd_is_sva(%s) returns %d", hn, ret);
		ret = wd_get_numa_id(h);
		EXPECT(ret == -WD_EINVAL, "wd_get_numa_id(%s) returns %d", hn, ret);
		EXPECT(!wd_mempool_alloc(h, &ms), "wd_mempool_alloc(%s)", hn);
		wd_release_ctx(h);

		/* wd_comp_init checks the contexts it is given. */
		ctxs[0].ctx = h;
		ctxs[0].op_type = WD_DIR_COMPRESS;
		ctxs[0].ctx_mode = CTX_MODE_SYNC;
		cfg.ctx_num = 1;
		cfg.ctxs = ctxs;
		rr = wd_sched_rr_alloc(SCHED_POLICY_RR, 2, 1, NULL);
		ret = rr ? wd_comp_init(&cfg, rr) : -1;
		EXPECT(ret == -WD_EINVAL, "wd_comp_init with context %s returns %d", hn, ret);
		if (ret == 0)
			wd_comp_uninit();
		wd_sched_rr_release(rr);

		EXPECT(!wd_block_alloc(h), "wd_block_alloc(%s)", hn);
		wd_block_free(h, buf);
		EXPECT(WD_IS_ERR(wd_blockpool_create(h, 64, 4)), "wd_blockpool_create(%s)", hn);
		wd_blockpool_destroy(h);
		wd_mempool_destroy(h);
		memset(&mst, 0x5a, sizeof(mst));
		wd_mempool_stats(h, &mst);
		EXPECT(mst.blk_num == 0x5a5a5a5a5a5a5a5aUL, "wd_mempool_stats(%s) wrote", hn);
		memset(&bst, 0x5a, sizeof(bst));
		wd_blockpool_stats(h, &bst);
		EXPECT(bst.block_num == 0x5a5a5a5a5a5a5a5aUL, "wd_blockpool_stats(%s) wrote", hn);
		EXPECT(!wd_mem_alloc((void *)h, 16), "wd_mem_alloc(%s)", hn);
		wd_mem_free((void *)h, buf);
		EXPECT(!wd_mem_map((void *)h, buf, 16), "wd_mem_map(%s)", hn);
		EXPECT(wd_get_free_num((void *)h, &n) == -WD_EINVAL, "wd_get_free_num(%s)", hn);
		EXPECT(wd_get_fail_num((void *)h, &n) == -WD_EINVAL, "wd_get_fail_num(%s)", hn);
		EXPECT(wd_get_bufsize((void *)h) == 0, "wd_get_bufsize(%s)", hn);
		wd_mempool_free(h, (void *)h);

		/* Schedulers: only one of ours, not yet released, is used or freed. */
		ret = wd_sched_rr_instance((const struct wd_sched *)h, &sp);
		EXPECT(ret == -WD_EINVAL, "wd_sched_rr_instance(%s) returns %d", hn, ret);
		wd_sched_rr_release((struct wd_sched *)h);
	}

	/* Freed handles of each kind. */
	rr_gone = wd_sched_rr_alloc(SCHED_POLICY_RR, 2, 1, NULL);
	EXPECT(rr_gone != NULL, "wd_sched_rr_alloc");
	wd_sched_rr_release(rr_gone);
	ret = wd_sched_rr_instance(rr_gone, &sp);
	EXPECT(ret == -WD_EINVAL, "wd_sched_rr_instance on a released scheduler returns %d", ret);
	wd_sched_rr_release(rr_gone);	/* a second release: ignored */
	memset(&mine, 0, sizeof(mine));	/* a caller's own struct: not ours to free */
	wd_sched_rr_release(&mine);
	ret = wd_sched_rr_instance(&mine, &sp);
	EXPECT(ret == -WD_EINVAL, "wd_sched_rr_instance on the caller's struct returns %d", ret);

	mp_gone = wd_mempool_create(1 << 16, 0);
	EXPECT(!WD_IS_ERR(mp_gone), "wd_mempool_create");
	wd_mempool_destroy(mp_gone);
	EXPECT(WD_IS_ERR(wd_blockpool_create(mp_gone, 64, 4)),
	       "wd_blockpool_create on a destroyed mempool");
	wd_mempool_destroy(mp_gone);

	mp = wd_mempool_create(1 << 16, 0);
	bp = WD_IS_ERR(mp) ? mp : wd_blockpool_create(mp, 256, 8);
	EXPECT(!WD_IS_ERR(bp), "wd_blockpool_create");
	if (!WD_IS_ERR(bp)) {
		blk = wd_block_alloc(bp);
		EXPECT(blk != NULL, "wd_block_alloc");
		wd_block_free(bp, (char *)blk + 1);	/* not a block: ignored */
		wd_block_free(bp, buf);
		wd_block_free(bp, blk);
		wd_block_free(bp, blk);			/* twice: ignored */
		wd_blockpool_stats(bp, &bst);
		EXPECT(bst.free_block_num == 8, "blockpool has %lu of 8 blocks free after bad frees",
		       bst.free_block_num);
		wd_blockpool_destroy(bp);
		EXPECT(!wd_block_alloc(bp), "wd_block_alloc on a destroyed blockpool");
		wd_block_free(bp, blk);
	}
	if (!WD_IS_ERR(mp))
		wd_mempool_destroy(mp);
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
	bogus[0] = 1;
	bogus[1] = 4096;
	bogus[2] = (handle_t)0x7f1234567890ULL;
	bogus[3] = (handle_t)&ss;
	bogus[4] = c + 1;

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

	bogus_sessions(gone, page, z, sizeof(z));
	zlib_misuse(page, z, sizeof(z));
	bogus_libwd();

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
