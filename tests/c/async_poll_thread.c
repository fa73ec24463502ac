/* SPDX-License-Identifier: Apache-2.0 */
/* uadk-rs: async requests reaped by the library's poll thread (WD_COMP_ASYNC_POLL_EN=1):
 * the caller never polls; every callback runs exactly once. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "uadk/wd_comp.h"
#include "uadk/wd_sched.h"

#define N 300
static unsigned char src[N][8192], dst[N][9000];
static struct wd_comp_req req[N];
static atomic_int calls[N], total;

static void *cb(struct wd_comp_req *r, void *param)
{
	int i = (int)(long)param;

	if (r == &req[i] && r->status == 0)
		atomic_fetch_add(&calls[i], 1);
	atomic_fetch_add(&total, 1);
	return NULL;
}

int main(void)
{
	struct wd_comp_sess_setup ss = {0};
	handle_t h;
	int i, ret, waited = 0;

	setenv("WD_COMP_ASYNC_POLL_EN", "1", 1);
	ret = wd_comp_init2("gzip", SCHED_POLICY_RR, TASK_HW);
	if (ret && ret != -WD_EEXIST)
		return 1;
	ss.alg_type = WD_GZIP;
	ss.op_type = WD_DIR_COMPRESS;
	h = wd_comp_alloc_sess(&ss);
	if (!h)
		return 2;
	for (i = 0; i < N; i++) {
		memset(src[i], 'a' + i % 26, sizeof(src[i]));
		req[i].src = src[i];
		req[i].src_len = sizeof(src[i]);
		req[i].dst = dst[i];
		req[i].dst_len = sizeof(dst[i]);
		req[i].op_type = WD_DIR_COMPRESS;
		req[i].cb = cb;
		req[i].cb_param = (void *)(long)i;
		while ((ret = wd_do_comp_async(h, &req[i])) == -WD_EBUSY)
			usleep(100);
		if (ret)
			return 3;
	}
	while (atomic_load(&total) < N && waited++ < 10000)
		usleep(1000);
	for (i = 0; i < N; i++) {
		z_stream z = {0};
		unsigned char back[8192];

		if (atomic_load(&calls[i]) != 1) {
			fprintf(stderr, "async_poll_thread: request %d: %d callbacks\n", i, calls[i]);
			return 4;
		}
		inflateInit2(&z, 31);
		z.next_in = dst[i];
		z.avail_in = req[i].dst_len;
		z.next_out = back;
		z.avail_out = sizeof(back);
		if (inflate(&z, Z_FINISH) != Z_STREAM_END || z.total_out != sizeof(back) ||
		    memcmp(back, src[i], sizeof(back))) {
			fprintf(stderr, "async_poll_thread: request %d does not gunzip\n", i);
			return 5;
		}
		inflateEnd(&z);
	}
	wd_comp_free_sess(h);
	wd_comp_uninit2();
	printf("async_poll_thread: %d requests reaped by the poll thread, each once\n", N);
	return 0;
}
