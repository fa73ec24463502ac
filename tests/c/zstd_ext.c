/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uadk-rs C test: the zstd extension of uadk/wd_comp_ext.h. A framework set up for "zstd",
 * sessions at zstd levels UADK has no name for (19, a negative fast level, 0 = default),
 * sync block requests (one frame out; several frames and a skippable frame in), stream
 * requests in small pieces, and the checks: a level out of zstd's range and UADK's
 * WD_COMP_ALG_MAX are refused, corrupt input is a request status. The `zstd` tool checks
 * one of our frames when it is installed. Then a framework on the hardware for lz4: zstd
 * sessions and lz4 decompression work there too (on the CPU engine).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "uadk/wd_comp.h"
#include "uadk/wd_comp_ext.h"
#include "uadk/wd_sched.h"

#define SIZE	(3u << 20)
#define ROOM	(SIZE + SIZE / 64 + 4096)

#define DIE(...) do { fprintf(stderr, "zstd_ext: " __VA_ARGS__); fputc('\n', stderr); \
	exit(1); } while (0)

static void fill(unsigned char *p, size_t n)
{
	static const char text[] = "zstd frames through libwd_comp, an extension of UADK. ";
	unsigned int x = 2463534242u;
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = ((i >> 13) % 4 == 3) ? (unsigned char)x : (unsigned char)text[i % (sizeof(text) - 1)];
	}
}

static handle_t open_sess(int level, enum wd_comp_op_type op)
{
	struct wd_comp_sess_setup ss;

	memset(&ss, 0, sizeof(ss));
	ss.alg_type = WD_EXT_ZSTD;
	ss.op_type = op;
	ss.comp_lv = level;
	ss.win_sz = WD_COMP_WS_32K;
	return wd_comp_alloc_sess(&ss);
}

static __u32 block(handle_t h, enum wd_comp_op_type op, void *src, __u32 n, void *dst,
		   __u32 room, __u32 *status)
{
	struct wd_comp_req req;
	int ret;

	memset(&req, 0, sizeof(req));
	req.op_type = op;
	req.src = src;
	req.src_len = n;
	req.dst = dst;
	req.dst_len = room;
	req.data_fmt = WD_FLAT_BUF;
	ret = wd_do_comp_sync(h, &req);
	if (ret)
		DIE("wd_do_comp_sync returned %d", ret);
	*status = req.status;
	return req.dst_len;
}

/* Feed `src` through a stream in `piece`-byte requests with `out`-byte output room. */
static size_t stream(handle_t h, enum wd_comp_op_type op, const unsigned char *src, size_t n,
		     unsigned char *dst, size_t room, __u32 piece, __u32 out)
{
	struct wd_comp_req req;
	size_t i = 0, o = 0;
	int ret, guard = 0;

	for (;;) {
		__u32 len = n - i < piece ? (__u32)(n - i) : piece;

		memset(&req, 0, sizeof(req));
		req.op_type = op;
		req.src = (void *)(src + i);
		req.src_len = len;
		req.dst = dst + o;
		req.dst_len = room - o < out ? (__u32)(room - o) : out;
		req.data_fmt = WD_FLAT_BUF;
		req.last = i + len == n;
		ret = wd_do_comp_strm(h, &req);
		if (ret || (req.status && req.status != WD_STREAM_END))
			DIE("wd_do_comp_strm returned %d, status %u", ret, req.status);
		i += req.src_len;
		o += req.dst_len;
		/* UADK's rule for compression: last set and all input taken means ended. */
		if (op == WD_DIR_DECOMPRESS ? req.status == WD_STREAM_END : (req.last && i == n))
			return o;
		if (++guard > 1000000)
			DIE("stream made no progress");
	}
}

int main(void)
{
	static const unsigned char magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
	static const unsigned char skip[12] = { 0x5a, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4 };
	unsigned char *in = malloc(SIZE), *z = malloc(ROOM), *back = malloc(SIZE + 64);
	int levels[] = { 1, 19, -5, 0 };
	handle_t c, d;
	__u32 st, zn, n;
	size_t k, sn;
	FILE *f;

	if (!in || !z || !back)
		DIE("out of memory");
	fill(in, SIZE);
	if (wd_comp_init2("zstd", SCHED_POLICY_RR, TASK_MIX))
		DIE("wd_comp_init2(zstd) failed");
	d = open_sess(0, WD_DIR_DECOMPRESS);
	if (!d)
		DIE("decompression session");
	for (k = 0; k < sizeof(levels) / sizeof(levels[0]); k++) {
		c = open_sess(levels[k], WD_DIR_COMPRESS);
		if (!c)
			DIE("compression session at level %d", levels[k]);
		zn = block(c, WD_DIR_COMPRESS, in, SIZE, z, ROOM, &st);
		if (st || zn < 16 || memcmp(z, magic, 4))
			DIE("level %d: status %u, %u bytes, not a zstd frame", levels[k], st, zn);
		n = block(d, WD_DIR_DECOMPRESS, z, zn, back, SIZE + 64, &st);
		if (st || n != SIZE || memcmp(back, in, SIZE))
			DIE("level %d: decompressed %u of %u bytes, status %u", levels[k], n, SIZE, st);
		printf("level %3d: %u -> %u bytes\n", levels[k], SIZE, zn);
		wd_comp_free_sess(c);
	}

	/* Two frames with a skippable frame between them are one input. */
	c = open_sess(3, WD_DIR_COMPRESS);
	zn = block(c, WD_DIR_COMPRESS, in, SIZE / 2, z, ROOM, &st);
	memcpy(z + zn, skip, sizeof(skip));
	zn += sizeof(skip);
	zn += block(c, WD_DIR_COMPRESS, in + SIZE / 2, SIZE / 2, z + zn, ROOM - zn, &st);
	n = block(d, WD_DIR_DECOMPRESS, z, zn, back, SIZE + 64, &st);
	if (st || n != SIZE || memcmp(back, in, SIZE))
		DIE("two frames: %u bytes back, status %u", n, st);
	f = fopen("zstd_ext.zst", "wb");
	if (!f || fwrite(z, 1, zn, f) != zn || fclose(f))
		DIE("writing zstd_ext.zst");
	if (system("command -v zstd > /dev/null") == 0) {
		if (system("zstd -q -t zstd_ext.zst"))
			DIE("zstd -t rejects our frames");
		printf("zstd -t reads our frames\n");
	} else {
		printf("zstd not installed: the tool check is skipped\n");
	}

	/* Streams, in pieces smaller than zstd's blocks. */
	sn = stream(c, WD_DIR_COMPRESS, in, SIZE, z, ROOM, 10000, 3000);
	if (sn < 16 || memcmp(z, magic, 4))
		DIE("stream compression: %zu bytes", sn);
	k = stream(d, WD_DIR_DECOMPRESS, z, sn, back, SIZE + 64, 7777, 65536);
	if (k != SIZE || memcmp(back, in, SIZE))
		DIE("stream decompression: %zu of %u bytes", k, SIZE);
	printf("stream: %u -> %zu bytes\n", SIZE, sn);

	/* Corrupt input is a data error in the status, not a crash nor a success. */
	z[sn / 2] ^= 0x40;
	n = block(d, WD_DIR_DECOMPRESS, z, (__u32)sn, back, SIZE + 64, &st);
	if (st == 0 && n == SIZE && !memcmp(back, in, SIZE))
		DIE("a corrupt frame decoded to the original");
	if (st != WD_IN_EPARA)
		DIE("a corrupt frame gives status %u, not WD_IN_EPARA", st);

	/* Out of range: zstd's levels end at 22; UADK's own enum still ends where it did. */
	if (open_sess(WD_EXT_ZSTD_LEVEL_MAX + 1, WD_DIR_COMPRESS))
		DIE("level 23 accepted");
	if (!open_sess(WD_EXT_ZSTD_LEVEL_MIN, WD_DIR_COMPRESS))
		DIE("the lowest zstd level refused");
	{
		struct wd_comp_sess_setup ss;

		memset(&ss, 0, sizeof(ss));
		ss.alg_type = WD_COMP_ALG_MAX;
		if (wd_comp_alloc_sess(&ss))
			DIE("WD_COMP_ALG_MAX accepted");
	}
	wd_comp_free_sess(c);
	wd_comp_free_sess(d);
	wd_comp_uninit2();

	/*
	 * A framework on the hardware for lz4 (modelled devices under UADK_ZIP_MODEL; the
	 * CPU engine elsewhere): zstd sessions, and lz4 decompression, which the engine lacks,
	 * run on the CPU engine without the caller noticing.
	 */
	if (wd_comp_init2("lz4", SCHED_POLICY_RR, TASK_HW))
		DIE("wd_comp_init2(lz4, TASK_HW) failed");
	c = open_sess(1, WD_DIR_COMPRESS);
	d = open_sess(0, WD_DIR_DECOMPRESS);
	if (!c || !d)
		DIE("zstd sessions beside lz4 hardware");
	zn = block(c, WD_DIR_COMPRESS, in, SIZE, z, ROOM, &st);
	n = block(d, WD_DIR_DECOMPRESS, z, zn, back, SIZE + 64, &st);
	if (st || n != SIZE || memcmp(back, in, SIZE))
		DIE("zstd beside lz4 hardware: %u bytes back, status %u", n, st);
	wd_comp_free_sess(c);
	wd_comp_free_sess(d);
	{
		struct wd_comp_sess_setup ss;

		memset(&ss, 0, sizeof(ss));
		ss.alg_type = WD_LZ4;
		ss.comp_lv = WD_COMP_L1;
		ss.win_sz = WD_COMP_WS_32K;
		ss.op_type = WD_DIR_COMPRESS;
		c = wd_comp_alloc_sess(&ss);
		ss.op_type = WD_DIR_DECOMPRESS;
		d = wd_comp_alloc_sess(&ss);
	}
	if (!c || !d)
		DIE("lz4 sessions on the hardware framework");
	zn = block(c, WD_DIR_COMPRESS, in, SIZE / 4, z, ROOM, &st);
	n = block(d, WD_DIR_DECOMPRESS, z, zn, back, SIZE / 4, &st);
	if (st || n != SIZE / 4 || memcmp(back, in, SIZE / 4))
		DIE("lz4 decompression on the hardware framework: %u bytes back, status %u", n, st);
	printf("zstd sessions and lz4 decompression beside lz4 hardware\n");
	wd_comp_free_sess(c);
	wd_comp_free_sess(d);
	wd_comp_uninit2();
	remove("zstd_ext.zst");
	free(in);
	free(z);
	free(back);
	printf("zstd extension ok\n");
	return 0;
}
