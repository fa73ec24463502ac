/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe: drive libwd_comp's block API the way an application does, and report what the
 * library answers: its return codes and request statuses, tallied.
 *
 *   probe ALG comp|decomp sync|async COUNT IN [OUT]
 *   probe ALG comp stream CHUNK IN OUT
 *
 * Runs COUNT block requests of ALG (zlib, gzip, deflate, lz4) over the whole of IN (at
 * most 4 MiB) through wd_comp_init2(TASK_HW), then writes the last good output to OUT.
 * The stream form compresses IN with wd_do_comp_strm in CHUNK-byte calls, none of them
 * last, then ends the stream with an empty last call (which UADK finishes in software
 * from the checksum the device reported) and writes the stream to OUT.
 * Prints one line per distinct (ret, status) pair and a summary line
 *   probe: N ok, M failed
 * and exits 0 only when every request succeeded with status 0.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "uadk/wd_comp.h"
#include "uadk/wd_sched.h"

#define MAX_IN (4u << 20)
#define KINDS 16

struct tally {
	int ret;
	unsigned int status;
	unsigned int n;
};

static struct tally kinds[KINDS];
static int nkinds;

static void count(int ret, unsigned int status)
{
	int i;

	for (i = 0; i < nkinds; i++) {
		if (kinds[i].ret == ret && kinds[i].status == status) {
			kinds[i].n++;
			return;
		}
	}
	if (nkinds < KINDS) {
		kinds[nkinds].ret = ret;
		kinds[nkinds].status = status;
		kinds[nkinds].n = 1;
		nkinds++;
	}
}

static volatile unsigned int done_async;

/* UADK hands the callback its own copy of the request: the results go back by hand. */
static void *on_done(struct wd_comp_req *req, void *param)
{
	struct wd_comp_req *mine = param;

	mine->status = req->status;
	mine->src_len = req->src_len;
	mine->dst_len = req->dst_len;
	count(0, req->status);
	__atomic_add_fetch(&done_async, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int alg_of(const char *name)
{
	if (!strcmp(name, "deflate"))
		return WD_DEFLATE;
	if (!strcmp(name, "zlib"))
		return WD_ZLIB;
	if (!strcmp(name, "gzip"))
		return WD_GZIP;
	if (!strcmp(name, "lz4"))
		return WD_LZ4;
	return -1;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct wd_comp_sess_setup setup = { 0 };
	struct sched_params param = { 0 };
	struct wd_comp_req req;
	unsigned char *src, *dst;
	unsigned int src_len, dst_cap, last_len = 0, ok = 0, failed = 0, i, n;
	int alg, decomp, async, ret;
	handle_t sess;
	FILE *f;

	if (argc < 6) {
		fprintf(stderr, "usage: probe ALG comp|decomp sync|async COUNT IN [OUT]\n");
		return 2;
	}
	alg = alg_of(argv[1]);
	decomp = !strcmp(argv[2], "decomp");
	async = !strcmp(argv[3], "async");
	if (!strcmp(argv[3], "stream") && decomp) {
		fprintf(stderr, "probe: streams compress only\n");
		return 2;
	}
	n = (unsigned int)strtoul(argv[4], NULL, 10);
	if (alg < 0 || !n) {
		fprintf(stderr, "probe: bad algorithm or count\n");
		return 2;
	}
	src = malloc(MAX_IN);
	f = fopen(argv[5], "rb");
	if (!src || !f) {
		fprintf(stderr, "probe: cannot read %s\n", argv[5]);
		return 2;
	}
	src_len = (unsigned int)fread(src, 1, MAX_IN, f);
	fclose(f);
	dst_cap = decomp ? 32 * src_len + 65536 : src_len + src_len / 8 + 4096;
	dst = malloc(dst_cap);
	if (!dst || !src_len)
		return 2;

	ret = wd_comp_init2(argv[1], SCHED_POLICY_RR, TASK_HW);
	if (ret) {
		printf("probe: wd_comp_init2 ret=%d\n", ret);
		return 1;
	}
	setup.alg_type = alg;
	setup.op_type = decomp ? WD_DIR_DECOMPRESS : WD_DIR_COMPRESS;
	setup.comp_lv = WD_COMP_L8;
	setup.win_sz = WD_COMP_WS_32K;
	param.numa_id = 0;
	param.type = setup.op_type;
	param.mode = async ? CTX_MODE_ASYNC : CTX_MODE_SYNC;
	setup.sched_param = &param;
	sess = wd_comp_alloc_sess(&setup);
	if (!sess) {
		printf("probe: wd_comp_alloc_sess failed\n");
		wd_comp_uninit2();
		return 1;
	}

	if (!strcmp(argv[3], "stream")) {
		unsigned int at = 0, out = 0, chunk = n;

		while (!failed) {
			unsigned int len = src_len - at < chunk ? src_len - at : chunk;

			memset(&req, 0, sizeof(req));
			req.src = src + at;
			req.src_len = len;
			req.dst = dst + out;
			req.dst_len = dst_cap - out;
			req.op_type = WD_DIR_COMPRESS;
			req.data_fmt = WD_FLAT_BUF;
			req.last = !len;
			ret = wd_do_comp_strm(sess, &req);
			count(ret, ret ? 0 : req.status);
			if (ret || req.status) {
				failed++;
				break;
			}
			ok++;
			at += req.src_len;
			out += req.dst_len;
			if (!len)
				break;
		}
		last_len = out;
		n = 0;
	}

	for (i = 0; i < n; i++) {
		memset(&req, 0, sizeof(req));
		req.src = src;
		req.src_len = src_len;
		req.dst = dst;
		req.dst_len = dst_cap;
		req.op_type = setup.op_type;
		req.data_fmt = WD_FLAT_BUF;
		if (!async) {
			ret = wd_do_comp_sync(sess, &req);
			count(ret, ret ? 0 : req.status);
			if (!ret && !req.status) {
				ok++;
				last_len = req.dst_len;
			} else {
				failed++;
			}
			continue;
		}
		/* One request in flight at a time: the output buffer is shared. */
		req.cb = on_done;
		req.cb_param = &req;
		done_async = 0;
		ret = wd_do_comp_async(sess, &req);
		if (ret) {
			count(ret, 0);
			failed++;
			continue;
		}
		{
			double give_up = now() + 10;
			unsigned int got;

			while (!__atomic_load_n(&done_async, __ATOMIC_ACQUIRE)) {
				ret = wd_comp_poll(1, &got);
				if (ret < 0 && ret != -WD_EAGAIN) {
					count(ret, 0);
					break;
				}
				if (now() > give_up) {
					count(-ETIMEDOUT, 0);
					break;
				}
			}
		}
		if (done_async && !req.status) {
			ok++;
			last_len = req.dst_len;
		} else {
			failed++;
		}
	}

	for (i = 0; i < (unsigned int)nkinds; i++)
		printf("probe: %u x ret=%d status=%u\n", kinds[i].n, kinds[i].ret, kinds[i].status);
	printf("probe: %u ok, %u failed\n", ok, failed);
	if (argc > 6 && ok) {
		f = fopen(argv[6], "wb");
		if (!f || fwrite(dst, 1, last_len, f) != last_len)
			failed++;
		if (f)
			fclose(f);
	}
	wd_comp_free_sess(sess);
	wd_comp_uninit2();
	free(src);
	free(dst);
	return failed ? 1 : 0;
}
