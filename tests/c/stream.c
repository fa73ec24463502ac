/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uadk-rs C test: wd_do_comp_strm with small buffers, for zlib, gzip and raw deflate.
 *
 * 1 MiB goes in as 1000-byte input pieces with 333-byte output buffers. A compression stream
 * is finished when a call with last=1 consumed all it was given and status is 0 (the rule
 * UADK's zlib wrapper applies); a decompression stream when status is WD_STREAM_END. Every
 * compressed stream is also inflated by the system zlib.
 *
 * Also: the final call may carry no input at all (last=1, src_len=0, as wd_deflate with
 * Z_FINISH and an empty next_in does); a session serves a second stream after the first
 * ended; wd_comp_reset_sess abandons a half-done stream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "uadk/wd_comp.h"
#include "uadk/wd_sched.h"

#define MIB		(1u << 20)
#define PIECE		1000u
#define OUT		333u
#define MAX_CALLS	1000000

static const char *alg_name[] = { "deflate", "zlib", "gzip" };

#define DIE(name, ...) do { \
	fprintf(stderr, "stream: %s: ", name); \
	fprintf(stderr, __VA_ARGS__); \
	fputc('\n', stderr); \
	exit(1); \
} while (0)

static void fill(unsigned char *p, size_t n, unsigned int seed)
{
	static const char text[] = "streams arrive in pieces and leave in smaller ones; ";
	unsigned int x = seed * 2246822519u + 7;
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		switch ((i / 3000 + seed) % 4) {
		case 0:
			p[i] = text[i % (sizeof(text) - 1)];
			break;
		case 1:
			p[i] = (unsigned char)x;
			break;
		case 2:
			p[i] = (unsigned char)(i / 500);
			break;
		default:
			p[i] = (x & 3) ? text[(i * 3) % (sizeof(text) - 1)] : (unsigned char)x;
		}
	}
}

static handle_t open_sess(enum wd_comp_alg_type alg, enum wd_comp_op_type op)
{
	struct wd_comp_sess_setup ss = {0};
	handle_t h;

	ss.alg_type = alg;
	ss.op_type = op;
	ss.comp_lv = WD_COMP_L6;
	ss.win_sz = WD_COMP_WS_32K;
	h = wd_comp_alloc_sess(&ss);
	if (!h)
		DIE(alg_name[alg], "wd_comp_alloc_sess(op %d) returned 0", op);
	return h;
}

/*
 * Compress src[0..n) through 1000-byte pieces and 333-byte outputs; `stop` > 0 leaves the
 * stream unfinished after that many pieces. With `empty_last` every piece goes in with
 * last=0 and one more call with no input finishes the stream. Returns the stream length.
 */
static size_t strm_compress(handle_t h, enum wd_comp_alg_type alg, const unsigned char *src,
			    size_t n, unsigned char *z, size_t zcap, int empty_last, int stop)
{
	unsigned char out[OUT];
	size_t pos = 0, zn = 0;
	int calls = 0, pieces = 0, idle = 0;

	for (;;) {
		size_t piece = n - pos < PIECE ? n - pos : PIECE;
		int last = empty_last ? piece == 0 : pos + piece == n;
		size_t left = piece;

		if (stop && pieces++ == stop)
			return zn;
		/* Offer the rest of this piece until it is consumed (or the stream ends). */
		for (;;) {
			struct wd_comp_req r = {0};
			int ret;

			r.src = (void *)(src + pos);
			r.src_len = left;
			r.dst = out;
			r.dst_len = OUT;
			r.op_type = WD_DIR_COMPRESS;
			r.data_fmt = WD_FLAT_BUF;
			r.last = last;
			ret = wd_do_comp_strm(h, &r);
			if (ret || r.status)
				DIE(alg_name[alg], "compress: ret %d, status %u", ret, r.status);
			if (r.src_len > left || r.dst_len > OUT)
				DIE(alg_name[alg], "compress: consumed %u, produced %u: more than given",
				    r.src_len, r.dst_len);
			if (zn + r.dst_len > zcap)
				DIE(alg_name[alg], "compress: output passes %zu bytes", zcap);
			memcpy(z + zn, out, r.dst_len);
			zn += r.dst_len;
			pos += r.src_len;
			idle = r.src_len || r.dst_len ? 0 : idle + 1;
			if (idle > 3 || ++calls > MAX_CALLS)
				DIE(alg_name[alg], "compress: no progress at input %zu", pos);
			if (last && r.src_len == left)
				return zn;	/* the end, by UADK's rule */
			left -= r.src_len;
			if (!last && left == 0)
				break;
		}
	}
}

/* Decompress z[0..zn) through 1000-byte pieces and 333-byte outputs; returns its length. */
static size_t strm_decompress(handle_t h, enum wd_comp_alg_type alg, const unsigned char *z,
			      size_t zn, unsigned char *dst, size_t cap, size_t stop_at)
{
	unsigned char out[OUT];
	size_t pos = 0, n = 0;
	int calls = 0, idle = 0;

	for (;;) {
		size_t piece = zn - pos < PIECE ? zn - pos : PIECE;
		struct wd_comp_req r = {0};
		int ret;

		if (stop_at && pos >= stop_at)
			return n;
		r.src = (void *)(z + pos);
		r.src_len = piece;
		r.dst = out;
		r.dst_len = OUT;
		r.op_type = WD_DIR_DECOMPRESS;
		r.data_fmt = WD_FLAT_BUF;
		r.last = pos + piece == zn;
		ret = wd_do_comp_strm(h, &r);
		if (ret || (r.status != 0 && r.status != WD_STREAM_END))
			DIE(alg_name[alg], "decompress: ret %d, status %u", ret, r.status);
		if (r.src_len > piece || r.dst_len > OUT)
			DIE(alg_name[alg], "decompress: consumed %u, produced %u: more than given",
			    r.src_len, r.dst_len);
		if (n + r.dst_len > cap)
			DIE(alg_name[alg], "decompress: output passes %zu bytes", cap);
		memcpy(dst + n, out, r.dst_len);
		n += r.dst_len;
		pos += r.src_len;
		if (r.status == WD_STREAM_END) {
			if (pos != zn)
				DIE(alg_name[alg], "decompress: stream end after %zu of %zu input bytes",
				    pos, zn);
			return n;
		}
		idle = r.src_len || r.dst_len ? 0 : idle + 1;
		if (idle > 3 || ++calls > MAX_CALLS)
			DIE(alg_name[alg], "decompress: no progress at input %zu of %zu", pos, zn);
	}
}

/* The system zlib must read the stream back: wbits -15 deflate, 15 zlib, 31 gzip. */
static void check_zlib(enum wd_comp_alg_type alg, const char *what, const unsigned char *z,
		       size_t zn, const unsigned char *want, size_t n)
{
	static const int wbits[] = { -15, 15, 31 };
	unsigned char *back = malloc(n + 1);
	z_stream s;
	int ret;

	memset(&s, 0, sizeof(s));
	if (!back || inflateInit2(&s, wbits[alg]) != Z_OK)
		DIE(alg_name[alg], "inflateInit2 failed");
	s.next_in = (unsigned char *)z;
	s.avail_in = zn;
	s.next_out = back;
	s.avail_out = n + 1;
	ret = inflate(&s, Z_FINISH);
	if (ret != Z_STREAM_END || s.total_out != n || s.avail_in || memcmp(back, want, n))
		DIE(alg_name[alg], "%s: zlib's inflate returns %d with %lu of %zu bytes", what,
		    ret, s.total_out, n);
	inflateEnd(&s);
	free(back);
}

static void round_trip(enum wd_comp_alg_type alg, handle_t c, handle_t d,
		       const unsigned char *src, size_t n, unsigned char *z, unsigned char *back,
		       int empty_last)
{
	size_t zn = strm_compress(c, alg, src, n, z, 2 * MIB, empty_last, 0);
	size_t got;

	check_zlib(alg, empty_last ? "stream ended by an empty last call" : "stream", z, zn,
		   src, n);
	got = strm_decompress(d, alg, z, zn, back, MIB, 0);
	if (got != n || memcmp(back, src, n))
		DIE(alg_name[alg], "round trip%s: %zu bytes back of %zu",
		    empty_last ? " (empty last call)" : "", got, n);
}

int main(void)
{
	unsigned char *src = malloc(MIB), *src2 = malloc(MIB);
	unsigned char *z = malloc(2 * MIB), *z2 = malloc(2 * MIB), *back = malloc(MIB);
	char alg[] = "zlib";
	int a, ret;

	if (!src || !src2 || !z || !z2 || !back)
		DIE("setup", "out of memory");
	fill(src, MIB, 1);
	fill(src2, MIB, 2);
	ret = wd_comp_init2(alg, SCHED_POLICY_RR, TASK_HW);
	if (ret)
		DIE("setup", "wd_comp_init2 returned %d", ret);

	for (a = WD_DEFLATE; a <= WD_GZIP; a++) {
		handle_t c = open_sess(a, WD_DIR_COMPRESS);
		handle_t d = open_sess(a, WD_DIR_DECOMPRESS);
		size_t zn, got;

		/* 1 MiB, then a second stream on the same sessions (they start anew at an end). */
		round_trip(a, c, d, src, MIB, z, back, 0);
		round_trip(a, c, d, src2, 64 * 1024 + 17, z, back, 0);

		/* The last call brings no input. */
		round_trip(a, c, d, src2, 300000, z, back, 1);

		/* A stream abandoned after 5 pieces, reset, then a whole stream. */
		strm_compress(c, a, src2, MIB, z2, 2 * MIB, 0, 5);
		if (wd_comp_reset_sess(c))
			DIE(alg_name[a], "wd_comp_reset_sess (compress) failed");
		zn = strm_compress(c, a, src, 200000, z, 2 * MIB, 0, 0);
		check_zlib(a, "stream after wd_comp_reset_sess", z, zn, src, 200000);

		/* A decompression abandoned half-way, reset, then a whole stream. */
		strm_decompress(d, a, z, zn, back, MIB, zn / 2);
		if (wd_comp_reset_sess(d))
			DIE(alg_name[a], "wd_comp_reset_sess (decompress) failed");
		got = strm_decompress(d, a, z, zn, back, MIB, 0);
		if (got != 200000 || memcmp(back, src, got))
			DIE(alg_name[a], "after reset: %zu bytes back of 200000", got);

		wd_comp_free_sess(c);
		wd_comp_free_sess(d);
		printf("stream: %s: 1 MiB through %u-byte pieces and %u-byte outputs; second "
		       "stream, empty last call and reset\n", alg_name[a], PIECE, OUT);
	}
	wd_comp_uninit2();
	free(src);
	free(src2);
	free(z);
	free(z2);
	free(back);
	return 0;
}
