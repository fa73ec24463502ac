/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uadk-rs C test: scatter-gather requests (data_fmt = WD_SGL_BUF) through wd_do_comp_sync,
 * with struct wd_datalist chains of uneven, separately allocated segments on src and dst.
 * Compress and decompress, zlib and gzip, checked against the system zlib; a chain longer
 * than src_len (only src_len bytes count); a single segment; and a chain shorter than
 * src_len, which must be an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "uadk/wd_comp.h"
#include "uadk/wd_sched.h"
#include "chain.h"

#define N	(64 * 1024 + 123)
#define ROOM	(2 * N)

#define DIE(...) do { fprintf(stderr, "sgl: " __VA_ARGS__); fputc('\n', stderr); \
	exit(1); } while (0)

/* Build a chain of separately allocated segments of the given sizes (0-terminated). */
static void chain_make(struct chain *c, const size_t *sizes)
{
	int i;

	memset(c, 0, sizeof(*c));
	for (i = 0; sizes[i]; i++) {
		c->node[i].data = malloc(sizes[i]);
		if (!c->node[i].data)
			DIE("out of memory");
		memset(c->node[i].data, 0xa5, sizes[i]);
		c->node[i].len = sizes[i];
		c->node[i].next = NULL;
		if (i)
			c->node[i - 1].next = &c->node[i];
		c->total += sizes[i];
	}
	c->count = i;
}

static void fill(unsigned char *p, size_t n)
{
	static const char text[] = "segment after segment after segment; ";
	unsigned int x = 12345;
	size_t i;

	for (i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (i / 700) % 3 ? text[i % (sizeof(text) - 1)] : (unsigned char)(x >> 16);
	}
}

static handle_t open_sess(enum wd_comp_alg_type alg, enum wd_comp_op_type op)
{
	struct wd_comp_sess_setup ss = {0};
	handle_t h;

	ss.alg_type = alg;
	ss.op_type = op;
	ss.win_sz = WD_COMP_WS_32K;
	h = wd_comp_alloc_sess(&ss);
	if (!h)
		DIE("wd_comp_alloc_sess(alg %d, op %d) returned 0", alg, op);
	return h;
}

static int sgl_call(handle_t h, enum wd_comp_op_type op, struct chain *in, __u32 in_len,
		    struct chain *out, __u32 *out_len, __u32 *status)
{
	struct wd_comp_req r = {0};
	int ret;

	r.list_src = in->node;
	r.src_len = in_len;
	r.list_dst = out->node;
	r.dst_len = out->total;
	r.op_type = op;
	r.data_fmt = WD_SGL_BUF;
	ret = wd_do_comp_sync(h, &r);
	*out_len = r.dst_len;
	*status = r.status;
	return ret;
}

static void inflate_check(const char *what, int wbits, const unsigned char *z, size_t zn,
			  const unsigned char *want, size_t n)
{
	unsigned char *back = malloc(n + 1);
	z_stream s;
	int ret;

	memset(&s, 0, sizeof(s));
	if (!back || inflateInit2(&s, wbits) != Z_OK)
		DIE("inflateInit2");
	s.next_in = (unsigned char *)z;
	s.avail_in = zn;
	s.next_out = back;
	s.avail_out = n + 1;
	ret = inflate(&s, Z_FINISH);
	if (ret != Z_STREAM_END || s.total_out != n || memcmp(back, want, n))
		DIE("%s: the system zlib inflates to %lu of %zu bytes (inflate returns %d)", what,
		    s.total_out, n, ret);
	inflateEnd(&s);
	free(back);
}

static void run(enum wd_comp_alg_type alg, const char *name, int wbits,
		const unsigned char *flat)
{
	static const size_t src_sizes[] = { 1, 7, 4096, 100, 30000, 3, N - 34207, 0 };
	static const size_t dst_sizes[] = { 13, 500, 4096, 8192, ROOM - 12801, 0 };
	static const size_t zin_sizes[] = { 2, 999, 5, 70000, 0 };
	static const size_t back_sizes[] = { 1000, 3, 50000, N - 51003, 0 };
	static const size_t long_sizes[] = { 5000, N - 5000 + 4000, 0 };	/* 4000 spare */
	static const size_t one_size[] = { N, 0 };
	static const size_t short_sizes[] = { 1000, 2000, 0 };
	handle_t c = open_sess(alg, WD_DIR_COMPRESS), d = open_sess(alg, WD_DIR_DECOMPRESS);
	unsigned char *z = malloc(ROOM), *back = malloc(N);
	struct chain in, out, zin, bout;
	__u32 zn, n, status;
	char what[96];
	int ret, v;

	if (!z || !back)
		DIE("out of memory");

	/* Compress, three shapes of source chain; all must give the same data back. */
	for (v = 0; v < 3; v++) {
		const size_t *shape = v == 0 ? src_sizes : v == 1 ? long_sizes : one_size;

		chain_make(&in, shape);
		chain_make(&out, dst_sizes);
		scatter(&in, flat, N);
		snprintf(what, sizeof(what), "%s, %s source chain", name,
			 v == 0 ? "7-segment" : v == 1 ? "over-long" : "1-segment");
		ret = sgl_call(c, WD_DIR_COMPRESS, &in, N, &out, &zn, &status);
		if (ret || status)
			DIE("%s: compress: ret %d status %u", what, ret, status);
		if (zn == 0 || zn > out.total)
			DIE("%s: compress: output length %u", what, zn);
		gather(&out, z, zn);
		inflate_check(what, wbits, z, zn, flat, N);
		chain_free(&in);
		chain_free(&out);
	}

	/* Decompress from one chain into another. */
	chain_make(&zin, zin_sizes);
	chain_make(&bout, back_sizes);
	if (zin.total < zn)
		DIE("%s: test chain too short for %u compressed bytes", name, zn);
	scatter(&zin, z, zn);
	ret = sgl_call(d, WD_DIR_DECOMPRESS, &zin, zn, &bout, &n, &status);
	if (ret || status)
		DIE("%s: decompress: ret %d status %u", name, ret, status);
	gather(&bout, back, N);
	if (n != N || memcmp(back, flat, N))
		DIE("%s: decompress: %u bytes, want %u identical ones", name, n, N);
	chain_free(&zin);
	chain_free(&bout);

	/* src_len beyond the end of the chain: an error, not a stream of fewer bytes. */
	chain_make(&in, short_sizes);
	chain_make(&out, dst_sizes);
	scatter(&in, flat, in.total);
	ret = sgl_call(c, WD_DIR_COMPRESS, &in, 10000, &out, &zn, &status);
	if (ret == 0 && status == 0)
		DIE("%s: src_len 10000 over a 3000-byte chain reports success (%u bytes out)",
		    name, zn);
	chain_free(&in);
	chain_free(&out);

	wd_comp_free_sess(c);
	wd_comp_free_sess(d);
	free(z);
	free(back);
	printf("sgl: %s: chains in and out, compress and decompress; short chain refused\n",
	       name);
}

int main(void)
{
	unsigned char *flat = malloc(N);
	char alg[] = "zlib";
	int ret;

	if (!flat)
		DIE("out of memory");
	fill(flat, N);
	ret = wd_comp_init2(alg, SCHED_POLICY_RR, TASK_HW);
	if (ret)
		DIE("wd_comp_init2 returned %d", ret);
	run(WD_ZLIB, "zlib", 15, flat);
	run(WD_GZIP, "gzip", 31, flat);
	wd_comp_uninit2();
	free(flat);
	return 0;
}
