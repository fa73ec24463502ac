/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uadk-rs C test: the long way in, wd_comp_init with a caller-built configuration.
 *
 * Devices come from wd_get_accel_list("zlib"); on one device per NUMA node the caller opens
 * contexts with wd_request_ctx for each (mode, op type) pair, fills struct wd_ctx_config,
 * and gives each range of context indices to a round-robin scheduler from
 * wd_sched_rr_alloc(SCHED_POLICY_RR, 2, numa_max_node() + 1, wd_comp_poll_ctx) with
 * wd_sched_rr_instance, and renames it (as UADK's own programs do: the scheduler is still
 * the library's). Then a sync round trip and an async one (reaped by wd_comp_poll; the
 * callback gets the library's copy of the request), and the teardown in reverse:
 * sessions, wd_comp_uninit, wd_sched_rr_release, wd_release_ctx, wd_free_list_accels.
 * Finally wd_comp_init2 must start from scratch.
 *
 * wd_bmm.h's context list: while initialised, wd_find_ctx("zlib") hands out each of the
 * caller's hardware contexts once (none for the CPU engine's pseudo-devices, which UADK
 * does not list either), and a pool made on one reports the device's id; after
 * wd_comp_uninit the list is empty.
 *
 * Links libwd too (wd_request_ctx and friends) and libnuma.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "uadk/wd_bmm.h"
#include "uadk/wd_comp.h"
#include "uadk/wd_sched.h"

#define PER_RANGE	2	/* contexts per (node, mode, op type) */
#define MAX_NODES	64
#define MAX_CTX		(MAX_NODES * 2 * 2 * PER_RANGE)
#define PAGE		4096

#define DIE(...) do { fprintf(stderr, "init_custom: " __VA_ARGS__); fputc('\n', stderr); \
	exit(1); } while (0)

static int callbacks;
static __u32 async_status = 1, async_len;

static void *on_done(struct wd_comp_req *req, void *param)
{
	if (param == &callbacks && req->cb_param == param) {
		async_status = req->status;
		async_len = req->dst_len;
		callbacks++;
	}
	return NULL;
}

/* The number ending a device name ("hisi_zip-3" -> 3), as UADK parses device ids. */
static int dev_id(const char *path)
{
	const char *dash = strrchr(path, '-');

	return dash ? atoi(dash + 1) : -1;
}

static handle_t open_sess(enum wd_comp_op_type op, struct sched_params *key)
{
	struct wd_comp_sess_setup ss = {0};
	handle_t h;

	ss.alg_type = WD_ZLIB;
	ss.op_type = op;
	ss.comp_lv = WD_COMP_L1;
	ss.win_sz = WD_COMP_WS_32K;
	ss.sched_param = key;
	h = wd_comp_alloc_sess(&ss);
	if (!h)
		DIE("wd_comp_alloc_sess(op %d) after wd_comp_init returned 0", op);
	return h;
}

int main(void)
{
	static struct wd_ctx ctxs[MAX_CTX];
	struct uacce_dev_list *list, *p;
	struct wd_ctx_config cfg = {0};
	struct sched_params key_c = {0}, key_d = {0};
	struct wd_comp_req r;
	struct wd_sched *sched;
	unsigned char src[PAGE], z[2 * PAGE], back[PAGE];
	int seen[MAX_NODES] = {0};
	int numa_num = numa_max_node() + 1, first_node = -1, nodes = 0;
	int i, ret, mode, op, waited;
	__u32 n = 0, count, zn;
	char alg[] = "zlib";
	uLongf got;

	if (numa_num < 1 || numa_num > MAX_NODES)
		DIE("numa_max_node() + 1 is %d", numa_num);
	list = wd_get_accel_list("zlib");
	if (!list || !list->dev)
		DIE("wd_get_accel_list(\"zlib\") finds no device");

	sched = wd_sched_rr_alloc(SCHED_POLICY_RR, 2, numa_num, wd_comp_poll_ctx);
	if (!sched)
		DIE("wd_sched_rr_alloc failed");
	sched->name = "sched_rr";

	for (p = list; p; p = p->next) {
		struct uacce_dev *dev = p->dev;
		int node = dev->numa_id < 0 ? 0 : dev->numa_id;

		if (node >= numa_num || seen[node])
			continue;
		seen[node] = 1;
		nodes++;
		if (first_node < 0)
			first_node = node;
		if (wd_get_avail_ctx(dev) < 4 * PER_RANGE)
			DIE("device %s has fewer than %d contexts free", dev->char_dev_path,
			    4 * PER_RANGE);
		for (mode = CTX_MODE_SYNC; mode <= CTX_MODE_ASYNC; mode++) {
			for (op = WD_DIR_COMPRESS; op <= WD_DIR_DECOMPRESS; op++) {
				struct sched_params sp = {0};

				sp.numa_id = node;
				sp.type = op;
				sp.mode = mode;
				sp.begin = n;
				for (i = 0; i < PER_RANGE; i++, n++) {
					ctxs[n].ctx = wd_request_ctx(dev);
					if (!ctxs[n].ctx)
						DIE("wd_request_ctx(%s) failed", dev->char_dev_path);
					ctxs[n].op_type = op;
					ctxs[n].ctx_mode = mode;
				}
				sp.end = n - 1;
				ret = wd_sched_rr_instance(sched, &sp);
				if (ret)
					DIE("wd_sched_rr_instance(node %d, op %d, mode %d) returned %d",
					    node, op, mode, ret);
			}
		}
	}
	if (wd_get_numa_id(ctxs[0].ctx) != first_node)
		DIE("wd_get_numa_id of a context on node %d gives %d", first_node,
		    wd_get_numa_id(ctxs[0].ctx));

	cfg.ctx_num = n;
	cfg.ctxs = ctxs;
	ret = wd_comp_init(&cfg, sched);
	if (ret)
		DIE("wd_comp_init with %u contexts returned %d", n, ret);

	/* The context list: each hardware context once, then none; CPU contexts are not listed. */
	{
		int hw = strcmp(list->dev->api, "cpu") != 0, found = 0, k;
		handle_t h, first = 0;

		while ((h = wd_find_ctx("zlib")) != 0) {
			for (k = 0; k < (int)n && ctxs[k].ctx != h; k++)
				;
			if (k == (int)n)
				DIE("wd_find_ctx returned a context that is not the caller's");
			if (!first)
				first = h;
			if (++found > (int)n)
				DIE("wd_find_ctx hands out more contexts than there are");
		}
		if (found != (hw ? (int)n : 0))
			DIE("wd_find_ctx handed out %d of %u contexts (%s device)", found, n,
			    list->dev->api);
		if (first) {
			struct wd_mempool_setup ms = {0};
			void *pool;

			ms.block_size = PAGE;
			ms.block_num = 8;
			pool = wd_mempool_alloc(first, &ms);
			if (!pool)
				DIE("wd_mempool_alloc on a listed context failed");
			if ((int)wd_get_dev_id(pool) != dev_id(wd_ctx_get_dev_name(first)))
				DIE("wd_get_dev_id gives %u for %s", wd_get_dev_id(pool),
				    wd_ctx_get_dev_name(first));
			wd_mempool_free(first, pool);
		}
	}

	key_c.numa_id = first_node;
	key_c.type = WD_DIR_COMPRESS;
	key_d.numa_id = first_node;
	key_d.type = WD_DIR_DECOMPRESS;
	{
		handle_t c = open_sess(WD_DIR_COMPRESS, &key_c);
		handle_t d = open_sess(WD_DIR_DECOMPRESS, &key_d);

		for (i = 0; i < PAGE; i++)
			src[i] = (unsigned char)("custom contexts "[i % 16] + i / 1024);

		/* Sync. */
		memset(&r, 0, sizeof(r));
		r.src = src;
		r.src_len = PAGE;
		r.dst = z;
		r.dst_len = sizeof(z);
		r.op_type = WD_DIR_COMPRESS;
		ret = wd_do_comp_sync(c, &r);
		if (ret || r.status)
			DIE("sync compress: ret %d status %u", ret, r.status);
		zn = r.dst_len;
		got = PAGE;
		if (uncompress(back, &got, z, zn) != Z_OK || got != PAGE || memcmp(back, src, PAGE))
			DIE("the system zlib does not read the sync output back");
		memset(&r, 0, sizeof(r));
		r.src = z;
		r.src_len = zn;
		r.dst = back;
		r.dst_len = PAGE;
		r.op_type = WD_DIR_DECOMPRESS;
		ret = wd_do_comp_sync(d, &r);
		if (ret || r.status || r.dst_len != PAGE || memcmp(back, src, PAGE))
			DIE("sync decompress: ret %d status %u len %u", ret, r.status, r.dst_len);

		/* Async, reaped through the scheduler's poll policy. */
		memset(&r, 0, sizeof(r));
		r.src = src;
		r.src_len = PAGE;
		r.dst = z;
		r.dst_len = sizeof(z);
		r.op_type = WD_DIR_COMPRESS;
		r.cb = on_done;
		r.cb_param = &callbacks;
		ret = wd_do_comp_async(c, &r);
		if (ret)
			DIE("async compress: ret %d", ret);
		/* Poll for up to 10 s. */
		for (waited = 0; callbacks == 0 && waited < 100000; waited++) {
			ret = wd_comp_poll(1, &count);
			if (ret < 0 && ret != -WD_EAGAIN)
				DIE("wd_comp_poll returned %d", ret);
			if (!callbacks)
				usleep(100);
		}
		if (callbacks != 1 || async_status)
			DIE("async compress: %d callbacks, status %u", callbacks, async_status);
		if (r.dst_len != sizeof(z))
			DIE("async compress: the caller's request was written");
		got = PAGE;
		if (uncompress(back, &got, z, async_len) != Z_OK || got != PAGE ||
		    memcmp(back, src, PAGE))
			DIE("the system zlib does not read the async output back");
		/* Polling one async context directly, with nothing in flight. */
		ret = wd_comp_poll_ctx(2 * PER_RANGE, 1, &count);
		if ((ret < 0 && ret != -WD_EAGAIN) || count != 0)
			DIE("wd_comp_poll_ctx on an idle async context: ret %d count %u", ret, count);

		wd_comp_free_sess(c);
		wd_comp_free_sess(d);
	}

	wd_comp_uninit();
	if (wd_find_ctx("zlib"))
		DIE("wd_find_ctx finds a context after wd_comp_uninit");
	wd_sched_rr_release(sched);
	for (i = 0; i < (int)n; i++)
		wd_release_ctx(ctxs[i].ctx);
	wd_free_list_accels(list);

	/* Nothing of that configuration is left behind. */
	ret = wd_comp_init2(alg, SCHED_POLICY_RR, TASK_HW);
	if (ret)
		DIE("wd_comp_init2 after wd_comp_uninit returned %d, want 0", ret);
	wd_comp_uninit2();

	printf("init_custom: %u contexts on %d node(s), RR scheduler: sync and async round "
	       "trips\n", n, nodes);
	return 0;
}
