/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uadk-rs C test: wd_do_comp_sync2 on a 64 MiB input, compress then decompress, for zlib
 * (checked with the system zlib's uncompress) and gzip (checked with inflate). Too little
 * output room must give an error, never a silently cut stream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "uadk/wd_comp.h"
#include "uadk/wd_sched.h"

#define SIZE	(64u << 20)
#define ROOM	(SIZE + SIZE / 8 + 4096)

#define DIE(...) do { fprintf(stderr, "sync2: " __VA_ARGS__); fputc('\n', stderr); \
	exit(1); } while (0)

static void fill(unsigned char *p, size_t n)
{
	static const char text[] = "sixty-four mebibytes in one call, chunked inside the library. ";
	unsigned int x = 88172645u;
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		switch ((i >> 14) % 5) {
		case 0:
		case 1:
			p[i] = text[i % (sizeof(text) - 1)];
			break;
		case 2:
			p[i] = (unsigned char)x;
			break;
		case 3:
			p[i] = 0;
			break;
		default:
			p[i] = (unsigned char)((i >> 7) ^ (x & 1));
		}
	}
}

static handle_t open_sess(enum wd_comp_alg_type alg, enum wd_comp_op_type op)
{
	struct wd_comp_sess_setup ss = {0};
	handle_t h;

	ss.alg_type = alg;
	ss.op_type = op;
	ss.comp_lv = WD_COMP_L1;
	ss.win_sz = WD_COMP_WS_32K;
	h = wd_comp_alloc_sess(&ss);
	if (!h)
		DIE("wd_comp_alloc_sess(alg %d, op %d) returned 0", alg, op);
	return h;
}

static void check_zlib(const char *name, int wbits, const unsigned char *z, size_t zn,
		       const unsigned char *want, unsigned char *back)
{
	z_stream s;
	int ret;

	memset(&s, 0, sizeof(s));
	if (inflateInit2(&s, wbits) != Z_OK)
		DIE("inflateInit2");
	s.next_in = (unsigned char *)z;
	s.avail_in = zn;
	s.next_out = back;
	s.avail_out = SIZE;
	ret = inflate(&s, Z_FINISH);
	if (ret != Z_STREAM_END || s.total_out != SIZE || s.avail_in || memcmp(back, want, SIZE))
		DIE("%s: the system zlib inflates to %lu of %u bytes (inflate returns %d)", name,
		    s.total_out, SIZE, ret);
	inflateEnd(&s);
}

static void round_trip(enum wd_comp_alg_type alg, const char *name, int wbits,
		       const unsigned char *src, unsigned char *z, unsigned char *back)
{
	handle_t c = open_sess(alg, WD_DIR_COMPRESS), d = open_sess(alg, WD_DIR_DECOMPRESS);
	struct wd_comp_req r = {0};
	__u32 zn;
	int ret;

	r.src = (void *)src;
	r.src_len = SIZE;
	r.dst = z;
	r.dst_len = ROOM;
	r.op_type = WD_DIR_COMPRESS;
	r.data_fmt = WD_FLAT_BUF;
	ret = wd_do_comp_sync2(c, &r);
	if (ret || r.status)
		DIE("%s: compress: ret %d status %u", name, ret, r.status);
	if (r.dst_len == 0 || r.dst_len > ROOM)
		DIE("%s: compress: output length %u", name, r.dst_len);
	zn = r.dst_len;
	check_zlib(name, wbits, z, zn, src, back);

	memset(back, 0, SIZE);
	memset(&r, 0, sizeof(r));
	r.src = z;
	r.src_len = zn;
	r.dst = back;
	r.dst_len = SIZE;
	r.op_type = WD_DIR_DECOMPRESS;
	r.data_fmt = WD_FLAT_BUF;
	ret = wd_do_comp_sync2(d, &r);
	if (ret || r.status)
		DIE("%s: decompress: ret %d status %u", name, ret, r.status);
	if (r.dst_len != SIZE || memcmp(back, src, SIZE))
		DIE("%s: decompress: %u bytes, want %u identical ones", name, r.dst_len, SIZE);

	/* Half the room the stream needs: an error of some kind, not success. */
	memset(&r, 0, sizeof(r));
	r.src = (void *)src;
	r.src_len = SIZE;
	r.dst = z;
	r.dst_len = zn / 2;
	r.op_type = WD_DIR_COMPRESS;
	r.data_fmt = WD_FLAT_BUF;
	ret = wd_do_comp_sync2(c, &r);
	if (ret == 0 && r.status == 0)
		DIE("%s: compress into half the room it needs reports success (%u bytes)", name,
		    r.dst_len);

	wd_comp_free_sess(c);
	wd_comp_free_sess(d);
	printf("sync2: %s: 64 MiB -> %u bytes -> 64 MiB; too little room is an error\n", name, zn);
}

int main(void)
{
	unsigned char *src = malloc(SIZE), *z = malloc(ROOM), *back = malloc(SIZE);
	char alg[] = "zlib";
	int ret;

	if (!src || !z || !back)
		DIE("out of memory");
	fill(src, SIZE);
	ret = wd_comp_init2(alg, SCHED_POLICY_RR, TASK_HW);
	if (ret)
		DIE("wd_comp_init2 returned %d", ret);
	round_trip(WD_ZLIB, "zlib", 15, src, z, back);
	round_trip(WD_GZIP, "gzip", 31, src, z, back);
	wd_comp_uninit2();
	free(src);
	free(z);
	free(back);
	return 0;
}
