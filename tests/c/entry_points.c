/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uadk-rs: the other entry points of libwd_comp, each checked against the system zlib:
 * async with callbacks (caller polling), stream with small buffers, sync2 on 64 MiB,
 * scatter-gather lists, the zlib-style wrapper, wd_comp_init with a caller-built config and
 * wd_sched_rr_alloc, and bad calls that must return error codes.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "uadk/wd_comp.h"
#include "uadk/wd_sched.h"

#define CHECK(cond, ...) do { if (!(cond)) { fprintf(stderr, "entry_points: " __VA_ARGS__); \
	fprintf(stderr, " (%s:%d)\n", __FILE__, __LINE__); exit(1); } } while (0)

static void fill(unsigned char *p, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (i / 64) % 3 ? "compress me, gently "[i % 20] : (unsigned char)(seed >> 16);
	}
}

static handle_t sess(enum wd_comp_alg_type alg, enum wd_comp_op_type op)
{
	struct wd_comp_sess_setup ss = {0};
	handle_t h;

	ss.alg_type = alg;
	ss.op_type = op;
	ss.comp_lv = WD_COMP_L1;
	ss.win_sz = WD_COMP_WS_32K;
	h = wd_comp_alloc_sess(&ss);
	CHECK(h, "alloc_sess(%d, %d)", alg, op);
	return h;
}

static void check_zlib(const unsigned char *z, size_t zn, const unsigned char *want, size_t n)
{
	unsigned char *back = malloc(n + 1);
	uLongf got = n + 1;

	CHECK(back, "malloc");
	CHECK(uncompress(back, &got, z, zn) == Z_OK && got == n && !memcmp(back, want, n),
	      "system zlib disagrees");
	free(back);
}

/* ---- async ---- */
#define ASYNC_N 500
static atomic_int done[ASYNC_N];
static unsigned char async_src[ASYNC_N][4096], async_dst[ASYNC_N][8192];
static struct wd_comp_req async_req[ASYNC_N];

static void *async_cb(struct wd_comp_req *req, void *param)
{
	int i = (int)(long)param;

	CHECK(req == &async_req[i], "callback got another request");
	CHECK(req->status == 0, "async status %u", req->status);
	atomic_fetch_add(&done[i], 1);
	return NULL;
}

static void test_async(void)
{
	handle_t h = sess(WD_ZLIB, WD_DIR_COMPRESS);
	__u32 count, total = 0;
	int i, ret;

	for (i = 0; i < ASYNC_N; i++) {
		struct wd_comp_req *r = &async_req[i];

		fill(async_src[i], sizeof(async_src[i]), i);
		r->src = async_src[i];
		r->src_len = sizeof(async_src[i]);
		r->dst = async_dst[i];
		r->dst_len = sizeof(async_dst[i]);
		r->op_type = WD_DIR_COMPRESS;
		r->data_fmt = WD_FLAT_BUF;
		r->cb = async_cb;
		r->cb_param = (void *)(long)i;
		while ((ret = wd_do_comp_async(h, r)) == -WD_EBUSY) {
			CHECK(wd_comp_poll(16, &count) == 0, "poll");
			total += count;
		}
		CHECK(ret == 0, "do_comp_async: %d", ret);
	}
	while (total < ASYNC_N) {
		CHECK(wd_comp_poll(ASYNC_N, &count) == 0, "poll");
		total += count;
	}
	for (i = 0; i < ASYNC_N; i++) {
		CHECK(atomic_load(&done[i]) == 1, "request %d completed %d times", i, done[i]);
		check_zlib(async_dst[i], async_req[i].dst_len, async_src[i], sizeof(async_src[i]));
	}
	wd_comp_free_sess(h);
	printf("entry_points: async %d requests, each completed once\n", ASYNC_N);
}

/* ---- stream ---- */
static void test_stream(void)
{
	size_t n = 1 << 20, pos = 0, zn = 0, outn = 0;
	unsigned char *src = malloc(n), *z = malloc(2 * n), *back = malloc(n);
	handle_t c = sess(WD_ZLIB, WD_DIR_COMPRESS), d = sess(WD_ZLIB, WD_DIR_DECOMPRESS);

	CHECK(src && z && back, "malloc");
	fill(src, n, 7);
	for (;;) {
		struct wd_comp_req r = {0};
		size_t piece = n - pos < 1000 ? n - pos : 1000;

		r.src = src + pos;
		r.src_len = piece;
		r.dst = z + zn;
		r.dst_len = 333;
		r.op_type = WD_DIR_COMPRESS;
		r.last = pos + piece == n;
		CHECK(wd_do_comp_strm(c, &r) == 0 && r.status == 0, "strm compress");
		pos += r.src_len;
		zn += r.dst_len;
		if (r.last && r.src_len == piece)
			break;
	}
	check_zlib(z, zn, src, n);
	for (pos = 0;;) {
		struct wd_comp_req r = {0};
		size_t piece = zn - pos < 1000 ? zn - pos : 1000;

		r.src = z + pos;
		r.src_len = piece;
		r.dst = back + outn;
		r.dst_len = n - outn < 333 ? n - outn : 333;
		r.op_type = WD_DIR_DECOMPRESS;
		r.last = pos + piece == zn;
		if (r.dst_len == 0)
			r.dst_len = 1, r.dst = back; /* never reached for a valid stream */
		CHECK(wd_do_comp_strm(d, &r) == 0, "strm decompress");
		pos += r.src_len;
		outn += r.dst_len;
		if (r.status == WD_STREAM_END)
			break;
		CHECK(r.status == 0, "strm decompress status %u", r.status);
	}
	CHECK(outn == n && !memcmp(back, src, n), "stream round trip");
	wd_comp_free_sess(c);
	wd_comp_free_sess(d);
	free(src);
	free(z);
	free(back);
	printf("entry_points: stream 1 MiB through 1000-byte input and 333-byte output pieces\n");
}

/* ---- sync2 ---- */
static void test_sync2(void)
{
	size_t n = 64u << 20;
	unsigned char *src = malloc(n), *z = malloc(n + n / 8), *back = malloc(n);
	handle_t c = sess(WD_GZIP, WD_DIR_COMPRESS), d = sess(WD_GZIP, WD_DIR_DECOMPRESS);
	struct wd_comp_req r = {0};

	CHECK(src && z && back, "malloc");
	fill(src, n, 99);
	r.src = src;
	r.src_len = n;
	r.dst = z;
	r.dst_len = n + n / 8;
	r.op_type = WD_DIR_COMPRESS;
	CHECK(wd_do_comp_sync2(c, &r) == 0 && r.status == 0, "sync2 compress");
	r.src = z;
	r.src_len = r.dst_len;
	r.dst = back;
	r.dst_len = n;
	r.op_type = WD_DIR_DECOMPRESS;
	CHECK(wd_do_comp_sync2(d, &r) == 0 && r.status == 0, "sync2 decompress");
	CHECK(r.dst_len == n && !memcmp(back, src, n), "sync2 round trip");
	wd_comp_free_sess(c);
	wd_comp_free_sess(d);
	free(src);
	free(z);
	free(back);
	printf("entry_points: sync2 64 MiB round trip\n");
}

/* ---- scatter-gather ---- */
static void test_sgl(void)
{
	static unsigned char in[3][3000], out[4][2000], flat[9000];
	struct wd_datalist lin[3], lout[4];
	struct wd_comp_req r = {0};
	handle_t c = sess(WD_ZLIB, WD_DIR_COMPRESS);
	size_t k, left;
	int i;

	for (i = 0; i < 3; i++) {
		fill(in[i], sizeof(in[i]), 50 + i);
		memcpy(flat + i * 3000, in[i], 3000);
		lin[i].data = in[i];
		lin[i].len = sizeof(in[i]);
		lin[i].next = i < 2 ? &lin[i + 1] : NULL;
	}
	for (i = 0; i < 4; i++) {
		lout[i].data = out[i];
		lout[i].len = sizeof(out[i]);
		lout[i].next = i < 3 ? &lout[i + 1] : NULL;
	}
	r.list_src = lin;
	r.src_len = 9000;
	r.list_dst = lout;
	r.dst_len = 8000;
	r.op_type = WD_DIR_COMPRESS;
	r.data_fmt = WD_SGL_BUF;
	CHECK(wd_do_comp_sync(c, &r) == 0 && r.status == 0, "sgl compress");
	{
		unsigned char z[8000];

		for (k = 0, left = r.dst_len, i = 0; left; i++) {
			size_t take = left < 2000 ? left : 2000;

			memcpy(z + k, out[i], take);
			k += take;
			left -= take;
		}
		check_zlib(z, r.dst_len, flat, sizeof(flat));
	}
	wd_comp_free_sess(c);
	printf("entry_points: scatter-gather lists in and out\n");
}

/* ---- bad calls ---- */
static void test_errors(void)
{
	handle_t c = sess(WD_ZLIB, WD_DIR_COMPRESS), d = sess(WD_ZLIB, WD_DIR_DECOMPRESS);
	unsigned char buf[100] = "abc", out[100];
	struct wd_comp_sess_setup bad = {0};
	struct wd_comp_req r = {0};

	r.src = buf;
	r.src_len = sizeof(buf);
	r.dst = out;
	r.dst_len = sizeof(out);
	r.op_type = WD_DIR_COMPRESS;
	CHECK(wd_do_comp_sync(c, NULL) < 0, "NULL request");
	CHECK(wd_do_comp_sync(0, &r) < 0, "NULL handle");
	r.src_len = 0;
	CHECK(wd_do_comp_sync(c, &r) < 0, "src_len 0");
	r.src_len = sizeof(buf);
	r.dst_len = 0;
	CHECK(wd_do_comp_sync(c, &r) < 0, "dst_len 0");
	r.dst_len = sizeof(out);
	CHECK(wd_do_comp_sync(d, &r) < 0, "op type mismatch");
	r.op_type = WD_DIR_DECOMPRESS;
	memset(buf, 0xff, sizeof(buf));
	CHECK(wd_do_comp_sync(d, &r) < 0 || r.status == WD_IN_EPARA, "corrupt input");
	CHECK(wd_comp_init2("brotli", SCHED_POLICY_RR, TASK_HW) < 0, "unknown alg");
	bad.alg_type = 17;
	CHECK(wd_comp_alloc_sess(&bad) == 0, "bad alg");
	bad.alg_type = WD_ZLIB;
	bad.comp_lv = 99;
	CHECK(wd_comp_alloc_sess(&bad) == 0, "bad level");
	bad.comp_lv = WD_COMP_L1;
	bad.win_sz = 9;
	CHECK(wd_comp_alloc_sess(&bad) == 0, "bad window");
	CHECK(wd_comp_alloc_sess(NULL) == 0, "NULL setup");
	wd_comp_free_sess(c);
	r.op_type = WD_DIR_COMPRESS;
	CHECK(wd_do_comp_sync(c, &r) < 0, "freed handle");
	wd_comp_free_sess(c); /* twice: ignored */
	wd_comp_free_sess(d);
	CHECK(wd_comp_poll(1, NULL) < 0, "NULL count");
	printf("entry_points: bad calls return error codes\n");
}

/* ---- wd_comp_init with a caller-built config ---- */
static void test_custom_init(void)
{
	struct uacce_dev_list *list = wd_get_accel_list("zlib");
	struct wd_ctx ctxs[4];
	struct wd_ctx_config cfg = {0};
	struct sched_params sp = {0};
	struct wd_sched *sched;
	unsigned char src[4096], z[8192];
	struct wd_comp_req r = {0};
	handle_t c;
	int i, numa;

	CHECK(list && list->dev, "wd_get_accel_list(zlib)");
	numa = list->dev->numa_id;
	for (i = 0; i < 4; i++) {
		ctxs[i].ctx = wd_request_ctx(list->dev);
		CHECK(ctxs[i].ctx, "wd_request_ctx");
		ctxs[i].op_type = i / 2;        /* 0,1: compress; 2,3: decompress */
		ctxs[i].ctx_mode = CTX_MODE_SYNC;
	}
	cfg.ctx_num = 4;
	cfg.ctxs = ctxs;
	sched = wd_sched_rr_alloc(SCHED_POLICY_RR, 2, numa_max_node() + 1, wd_comp_poll_ctx);
	CHECK(sched, "wd_sched_rr_alloc");
	for (i = 0; i < 2; i++) {
		sp.numa_id = numa;
		sp.type = i;
		sp.mode = CTX_MODE_SYNC;
		sp.begin = i * 2;
		sp.end = i * 2 + 1;
		CHECK(wd_sched_rr_instance(sched, &sp) == 0, "wd_sched_rr_instance");
	}
	CHECK(wd_comp_init(&cfg, sched) == 0, "wd_comp_init");
	c = sess(WD_ZLIB, WD_DIR_COMPRESS);
	fill(src, sizeof(src), 3);
	r.src = src;
	r.src_len = sizeof(src);
	r.dst = z;
	r.dst_len = sizeof(z);
	r.op_type = WD_DIR_COMPRESS;
	CHECK(wd_do_comp_sync(c, &r) == 0 && r.status == 0, "sync after wd_comp_init");
	check_zlib(z, r.dst_len, src, sizeof(src));
	wd_comp_free_sess(c);
	wd_comp_uninit();
	wd_sched_rr_release(sched);
	for (i = 0; i < 4; i++)
		wd_release_ctx(ctxs[i].ctx);
	wd_free_list_accels(list);
	printf("entry_points: wd_comp_init with a caller-built config and RR scheduler\n");
}

int main(void)
{
	int ret;

	test_custom_init();
	ret = wd_comp_init2("zlib", SCHED_POLICY_RR, TASK_INSTR);
	CHECK(ret == 0 || ret == -WD_EEXIST, "init2: %d", ret);
	test_async();
	test_stream();
	test_sync2();
	test_sgl();
	test_errors();
	wd_comp_uninit2();
	return 0;
}
