/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uadk-rs C test: the zlib-style wrapper, wd_deflate_* and wd_inflate_*, on the z_stream of
 * wd_zlibwrapper.h (so <zlib.h> stays out of this file).
 *
 * For raw deflate, zlib and gzip windowbits, 4 KiB and 32 KiB windows and several levels:
 * 16 KiB input chunks go in with Z_SYNC_FLUSH and the last with Z_FINISH, through 4 KiB
 * output chunks, called again while the output chunk comes back full (zlib's rule); then
 * wd_inflate reads it back through 3000-byte input chunks. zlib-format streams are also
 * checked with the system zlib's uncompress(). Then deflate and inflate reset and run a
 * second stream on the same z_stream, and bad arguments are refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "uadk/wd_zlibwrapper.h"

/* From the system zlib; declared here because <zlib.h> has its own z_stream. */
extern int uncompress(unsigned char *dest, unsigned long *dest_len, const unsigned char *source,
		      unsigned long source_len);

#define N		(300 * 1024 + 7)
#define ROOM		(N + N / 8 + 4096)
#define IN_CHUNK	16384u
#define OUT_CHUNK	4096u
#define UNZ_CHUNK	3000u

#define DIE(...) do { fprintf(stderr, "zlibwrapper: " __VA_ARGS__); fputc('\n', stderr); \
	exit(1); } while (0)

static void fill(unsigned char *p, size_t n, unsigned int seed)
{
	static const char text[] = "a wrapper in zlib's clothes; ";
	unsigned int x = seed + 99;
	size_t i;

	for (i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		if ((i / 5000 + seed) % 3 == 0)
			p[i] = (unsigned char)(x >> 16);
		else
			p[i] = (unsigned char)(text[i % (sizeof(text) - 1)] + (i / 20000));
	}
}

/* Compress src into z with wd_deflate; returns the stream length. */
static size_t deflate_all(z_stream *s, const unsigned char *src, size_t n, unsigned char *z,
			  const char *what)
{
	size_t pos = 0, zn = 0;
	int ret = Z_OK, calls = 0;

	while (ret != Z_STREAM_END) {
		size_t piece = n - pos < IN_CHUNK ? n - pos : IN_CHUNK;
		int flush = pos + piece == n ? Z_FINISH : Z_SYNC_FLUSH;

		s->next_in = src + pos;
		s->avail_in = piece;
		do {
			if (zn + OUT_CHUNK > ROOM)
				DIE("%s: deflate output passes %u bytes", what, ROOM);
			s->next_out = z + zn;
			s->avail_out = OUT_CHUNK;
			ret = wd_deflate(s, flush);
			if (ret != Z_OK && ret != Z_STREAM_END)
				DIE("%s: wd_deflate returned %d", what, ret);
			zn += OUT_CHUNK - s->avail_out;
			if (++calls > 1000000)
				DIE("%s: wd_deflate makes no progress", what);
		} while (s->avail_in > 0 || s->avail_out == 0 ||
			 (flush == Z_FINISH && ret != Z_STREAM_END));
		pos += piece;
	}
	if (s->total_in != n || s->total_out != zn)
		DIE("%s: total_in %llu, total_out %llu; want %zu and %zu", what,
		    (unsigned long long)s->total_in, (unsigned long long)s->total_out, n, zn);
	return zn;
}

/* Decompress z into back with wd_inflate; returns the output length. */
static size_t inflate_all(z_stream *s, const unsigned char *z, size_t zn, unsigned char *back,
			  size_t cap, const char *what)
{
	size_t pos = 0, n = 0;
	int ret = Z_OK, calls = 0;

	while (ret != Z_STREAM_END) {
		size_t piece = zn - pos < UNZ_CHUNK ? zn - pos : UNZ_CHUNK;

		s->next_in = z + pos;
		s->avail_in = piece;
		do {
			size_t room = cap - n < OUT_CHUNK ? cap - n : OUT_CHUNK;

			if (room == 0)
				DIE("%s: inflate output passes %zu bytes", what, cap);
			s->next_out = back + n;
			s->avail_out = room;
			ret = wd_inflate(s, Z_SYNC_FLUSH);
			if (ret != Z_OK && ret != Z_STREAM_END)
				DIE("%s: wd_inflate returned %d at input %zu", what, ret,
				    pos + piece - s->avail_in);
			n += room - s->avail_out;
			if (++calls > 1000000)
				DIE("%s: wd_inflate makes no progress", what);
		} while (ret == Z_OK && (s->avail_in > 0 || s->avail_out == 0));
		pos += piece - s->avail_in;
		if (ret == Z_OK && pos == zn && piece == 0)
			DIE("%s: input ends before the stream does", what);
	}
	if (pos != zn)
		DIE("%s: stream ended after %zu of %zu input bytes", what, pos, zn);
	return n;
}

static void round_trip(int level, int wbits, const unsigned char *src, unsigned char *z,
		       unsigned char *back)
{
	z_stream c, d;
	size_t zn, n;
	char what[64];

	snprintf(what, sizeof(what), "level %d, windowbits %d", level, wbits);
	memset(&c, 0, sizeof(c));
	memset(&d, 0, sizeof(d));
	if (wd_deflate_init(&c, level, wbits) != Z_OK)
		DIE("%s: wd_deflate_init failed", what);
	if (wd_inflate_init(&d, wbits) != Z_OK)
		DIE("%s: wd_inflate_init failed", what);

	zn = deflate_all(&c, src, N, z, what);
	if (wbits >= 8 && wbits <= 15) {
		unsigned long got = N;

		if (uncompress(back, &got, z, zn) != 0 || got != N || memcmp(back, src, N))
			DIE("%s: the system zlib does not read the stream back", what);
	}
	n = inflate_all(&d, z, zn, back, N, what);
	if (n != N || memcmp(back, src, N))
		DIE("%s: %zu bytes back of %u", what, n, N);

	/* A second stream on the same z_streams after reset. */
	if (wd_deflate_reset(&c) != Z_OK || wd_inflate_reset(&d) != Z_OK)
		DIE("%s: reset failed", what);
	if (c.total_in || c.total_out || d.total_in || d.total_out)
		DIE("%s: reset leaves totals behind", what);
	zn = deflate_all(&c, src + 1000, N - 1000, z, what);
	n = inflate_all(&d, z, zn, back, N, what);
	if (n != N - 1000 || memcmp(back, src + 1000, n))
		DIE("%s: after reset: %zu bytes back of %u", what, n, N - 1000);

	if (wd_deflate_end(&c) != Z_OK || wd_inflate_end(&d) != Z_OK)
		DIE("%s: end failed", what);
}

int main(void)
{
	static const int cases[][2] = {
		{ 1, -15 }, { 6, 15 }, { Z_DEFAULT_COMPRESSION, 31 },
		{ 9, 12 }, { 4, 28 }, { 1, -12 },
	};
	unsigned char *src = malloc(N), *z = malloc(ROOM), *back = malloc(N);
	z_stream s;
	size_t i;

	if (!src || !z || !back)
		DIE("out of memory");
	fill(src, N, 1);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		round_trip(cases[i][0], cases[i][1], src, z, back);

	/* Bad arguments. */
	memset(&s, 0, sizeof(s));
	if (wd_deflate_init(NULL, 6, 15) == Z_OK || wd_inflate_init(NULL, 15) == Z_OK)
		DIE("init with a NULL stream succeeds");
	if (wd_deflate(NULL, Z_FINISH) == Z_OK || wd_inflate(NULL, Z_SYNC_FLUSH) == Z_OK)
		DIE("a NULL stream is accepted");
	if (wd_deflate_init(&s, 6, 40) == Z_OK) {
		wd_deflate_end(&s);
		DIE("windowbits 40 is accepted");
	}
	if (wd_inflate_init(&s, 7) == Z_OK) {
		wd_inflate_end(&s);
		DIE("windowbits 7 is accepted");
	}
	free(src);
	free(z);
	free(back);
	printf("zlibwrapper: raw, zlib and gzip, 4K and 32K windows: round trips, resets, "
	       "bad arguments refused\n");
	return 0;
}
