/* SPDX-License-Identifier: Apache-2.0 */
/* uadk-rs: the zlib-style wrapper (wd_deflate_* / wd_inflate_*) round trip, raw, zlib, gzip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "uadk/wd_comp.h"
#include "uadk/wd_zlibwrapper.h"

static int round_trip(int wbits)
{
	enum { N = 300000 };
	static unsigned char src[N], z[N + N / 8], back[N];
	z_stream c = {0}, d = {0};
	int i, ret;

	for (i = 0; i < N; i++)
		src[i] = (unsigned char)("wrapper text "[i % 13] + (i / 5000));
	if (wd_deflate_init(&c, 6, wbits) != Z_OK)
		return 1;
	c.next_in = src;
	c.avail_in = N;
	c.next_out = z;
	c.avail_out = sizeof(z);
	do {
		ret = wd_deflate(&c, Z_FINISH);
	} while (ret == Z_OK);
	if (ret != Z_STREAM_END || wd_deflate_end(&c) != Z_OK)
		return 2;
	if (wd_inflate_init(&d, wbits) != Z_OK)
		return 3;
	d.next_in = z;
	d.avail_in = (__u32)c.total_out;
	d.next_out = back;
	d.avail_out = sizeof(back);
	do {
		ret = wd_inflate(&d, Z_SYNC_FLUSH);
	} while (ret == Z_OK);
	if (ret != Z_STREAM_END || d.total_out != N || memcmp(back, src, N))
		return 4;
	return wd_inflate_end(&d) == Z_OK ? 0 : 5;
}

int main(void)
{
	int wbits[] = { -15, 15, 31, 12 };
	int i, rc;

	for (i = 0; i < 4; i++) {
		rc = round_trip(wbits[i]);
		if (rc) {
			fprintf(stderr, "zlib_wrapper: windowbits %d failed at step %d\n", wbits[i], rc);
			return 1;
		}
	}
	printf("zlib_wrapper: raw, zlib, gzip and 4K-window round trips\n");
	return 0;
}
