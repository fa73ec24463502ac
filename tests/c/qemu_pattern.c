/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uadk-rs: what QEMU's multifd "uadk" compression does, per migration channel: init2 for
 * zlib on TASK_HW (accepting -WD_EEXIST), one compress and one decompress session per
 * channel thread, 4 KiB pages into 2-page buffers, raw pages kept when compression does
 * not pay, decompression into page buffers; then QEMU's teardown order.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#include "uadk/wd_comp.h"
#include "uadk/wd_sched.h"

#define PAGE 4096
#define MAX_CHANNELS 16
#define PAGES_PER_CHANNEL 4000

struct channel {
	int id;
	handle_t comp, decomp;
	long compressed, raw;
	int failed;
	double seconds;
};

static void fill_page(unsigned char *p, int ch, int i)
{
	unsigned int x = (unsigned int)(ch * 100003 + i) * 2654435761u;
	int k;

	switch (i % 5) {
	case 0: /* zero page */
		memset(p, 0, PAGE);
		break;
	case 1: /* text */
		for (k = 0; k < PAGE; k++)
			p[k] = "the quick brown fox jumps over the lazy dog "[(k + i) % 44];
		break;
	case 2: /* random: does not compress */
		for (k = 0; k < PAGE; k++) {
			x ^= x << 13; x ^= x >> 17; x ^= x << 5;
			p[k] = (unsigned char)x;
		}
		break;
	case 3: /* near-duplicate of a text page */
		for (k = 0; k < PAGE; k++)
			p[k] = "the quick brown fox jumps over the lazy dog "[k % 44];
		p[x % PAGE] ^= 0x5a;
		break;
	default: /* structured binary */
		for (k = 0; k < PAGE; k++)
			p[k] = (unsigned char)((k * 7) ^ (k >> 5) ^ i);
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *run_channel(void *arg)
{
	struct channel *c = arg;
	struct wd_comp_sess_setup ss = {0};
	unsigned char *pages = malloc((size_t)PAGES_PER_CHANNEL * PAGE);
	unsigned char *zbuf = malloc((size_t)PAGES_PER_CHANNEL * 2 * PAGE);
	unsigned int *zlen = calloc(PAGES_PER_CHANNEL, sizeof(*zlen));
	unsigned char back[PAGE];
	double t0;
	int ret, i;

	if (!pages || !zbuf || !zlen) {
		c->failed = 1;
		goto out;
	}
	ret = wd_comp_init2("zlib", SCHED_POLICY_RR, TASK_HW);
	if (ret && ret != -WD_EEXIST) {
		fprintf(stderr, "channel %d: init2: %d\n", c->id, ret);
		c->failed = 1;
		goto out;
	}
	ss.alg_type = WD_ZLIB;
	ss.op_type = WD_DIR_COMPRESS;
	c->comp = wd_comp_alloc_sess(&ss);
	ss.op_type = WD_DIR_DECOMPRESS;
	c->decomp = wd_comp_alloc_sess(&ss);
	if (!c->comp || !c->decomp) {
		fprintf(stderr, "channel %d: alloc_sess failed\n", c->id);
		c->failed = 1;
		goto out;
	}
	for (i = 0; i < PAGES_PER_CHANNEL; i++)
		fill_page(pages + (size_t)i * PAGE, c->id, i);

	t0 = now();
	for (i = 0; i < PAGES_PER_CHANNEL; i++) {
		struct wd_comp_req req = {0};

		req.src = pages + (size_t)i * PAGE;
		req.src_len = PAGE;
		req.dst = zbuf + (size_t)i * 2 * PAGE;
		req.dst_len = 2 * PAGE;
		req.op_type = WD_DIR_COMPRESS;
		req.data_fmt = WD_FLAT_BUF;
		ret = wd_do_comp_sync(c->comp, &req);
		if (ret || req.status) {
			fprintf(stderr, "channel %d page %d: compress ret %d status %u\n",
				c->id, i, ret, req.status);
			c->failed = 1;
			goto out;
		}
		/* QEMU sends the raw page when compression does not make it smaller. */
		zlen[i] = req.dst_len < PAGE ? req.dst_len : 0;
		if (zlen[i])
			c->compressed++;
		else
			c->raw++;
	}
	c->seconds = now() - t0;

	for (i = 0; i < PAGES_PER_CHANNEL; i++) {
		struct wd_comp_req req = {0};
		uLongf n = PAGE;

		if (!zlen[i])
			continue;
		req.src = zbuf + (size_t)i * 2 * PAGE;
		req.src_len = zlen[i];
		req.dst = back;
		req.dst_len = PAGE;
		req.op_type = WD_DIR_DECOMPRESS;
		req.data_fmt = WD_FLAT_BUF;
		ret = wd_do_comp_sync(c->decomp, &req);
		if (ret || req.status || req.dst_len != PAGE ||
		    memcmp(back, pages + (size_t)i * PAGE, PAGE)) {
			fprintf(stderr, "channel %d page %d: decompress ret %d status %u len %u\n",
				c->id, i, ret, req.status, req.dst_len);
			c->failed = 1;
			goto out;
		}
		/* And the system zlib reads the same page back. */
		if (uncompress(back, &n, zbuf + (size_t)i * 2 * PAGE, zlen[i]) != Z_OK ||
		    n != PAGE || memcmp(back, pages + (size_t)i * PAGE, PAGE)) {
			fprintf(stderr, "channel %d page %d: zlib disagrees\n", c->id, i);
			c->failed = 1;
			goto out;
		}
	}
out:
	free(pages);
	free(zbuf);
	free(zlen);
	return NULL;
}

int main(void)
{
	/* QEMU_PATTERN_CHANNELS sets the number of channel threads (default 4). */
	const char *env = getenv("QEMU_PATTERN_CHANNELS");
	int CHANNELS = env ? atoi(env) : 4;
	struct channel ch[MAX_CHANNELS] = {0};
	pthread_t th[MAX_CHANNELS];
	long compressed = 0, raw = 0;
	double slowest = 0;
	int i, failed = 0;

	if (CHANNELS < 1 || CHANNELS > MAX_CHANNELS)
		CHANNELS = 4;
	for (i = 0; i < CHANNELS; i++) {
		ch[i].id = i;
		pthread_create(&th[i], NULL, run_channel, &ch[i]);
	}
	for (i = 0; i < CHANNELS; i++) {
		pthread_join(th[i], NULL);
		failed |= ch[i].failed;
		compressed += ch[i].compressed;
		raw += ch[i].raw;
		if (ch[i].seconds > slowest)
			slowest = ch[i].seconds;
	}
	/* QEMU's teardown: free the sessions, then uninit once per channel. */
	for (i = 0; i < CHANNELS; i++) {
		if (i != 0) {
			wd_comp_free_sess(ch[i].comp);
			wd_comp_free_sess(ch[i].decomp);
		}
		wd_comp_uninit2();
	}
	/* A channel whose init failed still calls uninit2; a session freed after uninit2. */
	wd_comp_uninit2();
	wd_comp_free_sess(ch[0].comp);
	wd_comp_free_sess(ch[0].decomp);
	if (failed)
		return 1;
	printf("qemu_pattern: %d channels, %ld pages compressed, %ld kept raw, %.0f pages/s\n",
	       CHANNELS, compressed, raw, slowest > 0 ? CHANNELS * PAGES_PER_CHANNEL / slowest : 0);
	return 0;
}
