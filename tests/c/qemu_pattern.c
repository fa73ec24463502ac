/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uadk-rs C test: the calls QEMU's multifd "uadk" compression makes, in its order.
 *
 * Per channel thread: wd_comp_init2("zlib", SCHED_POLICY_RR, TASK_HW) before each of its two
 * sessions (send side: compress, receive side: decompress), accepting -WD_EEXIST. Pages of
 * 4 KiB are compressed with wd_do_comp_sync into a packed buffer with 2 pages of room per
 * call; a page whose output is not smaller than the page is sent raw. The receive side
 * copies raw pages and decompresses the others into a page buffer, checking dst_len. Every
 * compressed page must also inflate with the system zlib.
 *
 * Teardown as QEMU: each side frees its session and calls wd_comp_uninit2(); channel 0 calls
 * uninit2 before freeing its sessions; one more uninit2 stands for a channel whose init
 * failed. Afterwards a fresh init2 must work again.
 *
 * QEMU_PATTERN_CHANNELS sets the number of channels (default 4, at most 16).
 * Prints `qemu_pattern: N pages/s` for the compress loops running side by side.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#include "uadk/wd_comp.h"
#include "uadk/wd_sched.h"

#define PAGE		4096u
#define PAGES		4000	/* per channel */
#define MAX_CHANNELS	16

struct channel {
	int id;
	handle_t comp, decomp;
	struct sched_params comp_param, decomp_param;
	long sent_compressed, sent_raw;
	double seconds;
	char error[256];
};

static pthread_barrier_t start_line, work_done;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The same page mix as crates/uadk/examples/page_loop.rs, so the two figures compare. */
static void fill_page(unsigned char *p, int ch, int i)
{
	static const char text[] = "the quick brown fox jumps over the lazy dog ";
	unsigned int x = (unsigned int)(ch * 100003 + i) * 2654435761u;
	unsigned int k;

	switch (i % 5) {
	case 0: /* zero page */
		memset(p, 0, PAGE);
		break;
	case 1: /* text */
		for (k = 0; k < PAGE; k++)
			p[k] = text[(k + i) % 44];
		break;
	case 2: /* random bytes: kept raw */
		for (k = 0; k < PAGE; k++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			p[k] = (unsigned char)x;
		}
		break;
	case 3: /* a text page with one byte changed */
		for (k = 0; k < PAGE; k++)
			p[k] = text[k % 44];
		p[x % PAGE] ^= 0x5a;
		break;
	default: /* structured binary */
		for (k = 0; k < PAGE; k++)
			p[k] = (unsigned char)((k * 7) ^ (k >> 5) ^ i);
	}
}

/* As QEMU's uadk_hw_init(): a second channel's init finds the library ready. */
static int hw_init(void)
{
	char alg[] = "zlib";
	int ret = wd_comp_init2(alg, SCHED_POLICY_RR, TASK_HW);

	return ret == 0 || ret == -WD_EEXIST ? 0 : ret;
}

static handle_t open_sess(struct channel *c, int compress)
{
	struct wd_comp_sess_setup ss = {0};
	struct sched_params *param = compress ? &c->comp_param : &c->decomp_param;

	ss.alg_type = WD_ZLIB;
	ss.op_type = compress ? WD_DIR_COMPRESS : WD_DIR_DECOMPRESS;
	if (c->id % 2 == 0) {
		/* QEMU's own setup: level and window left zero, a scheduler key per direction. */
		memset(param, 0, sizeof(*param));
		param->type = ss.op_type;
		ss.sched_param = param;
	} else {
		/* The same, spelled out: level 1 and a 4 KiB window. */
		ss.comp_lv = WD_COMP_L1;
		ss.win_sz = WD_COMP_WS_4K;
	}
	return wd_comp_alloc_sess(&ss);
}

#define FAIL(c, ...) do { snprintf((c)->error, sizeof((c)->error), __VA_ARGS__); \
	goto out; } while (0)

static void *channel_main(void *arg)
{
	struct channel *c = arg;
	unsigned char *pages = malloc((size_t)PAGES * PAGE);
	/* QEMU's send buffer: one page per page plus one spare page. */
	unsigned char *wire = malloc((size_t)PAGES * PAGE + PAGE);
	uint32_t *hdr = calloc(PAGES, sizeof(*hdr));
	unsigned char *recv_page = malloc(PAGE);
	unsigned char *zcheck = malloc(PAGE);
	unsigned char *buf;
	double t0;
	int ret, i, ready = 0;

	if (!pages || !wire || !hdr || !recv_page || !zcheck)
		FAIL(c, "out of memory");
	for (i = 0; i < PAGES; i++)
		fill_page(pages + (size_t)i * PAGE, c->id, i);

	/* multifd_uadk_send_setup() and multifd_uadk_recv_setup(). */
	ret = hw_init();
	if (ret)
		FAIL(c, "wd_comp_init2 (send side) returned %d", ret);
	c->comp = open_sess(c, 1);
	if (!c->comp)
		FAIL(c, "wd_comp_alloc_sess (compress) returned 0");
	ret = hw_init();
	if (ret)
		FAIL(c, "wd_comp_init2 (receive side) returned %d", ret);
	c->decomp = open_sess(c, 0);
	if (!c->decomp)
		FAIL(c, "wd_comp_alloc_sess (decompress) returned 0");
	ready = 1;

out:
	/* Every channel passes both barriers, failed or not, so none waits forever. */
	pthread_barrier_wait(&start_line);
	if (!ready)
		goto work_end;

	/* multifd_uadk_send_prepare(), one packet of PAGES pages. */
	t0 = now();
	buf = wire;
	for (i = 0; i < PAGES; i++) {
		unsigned char *page = pages + (size_t)i * PAGE;
		struct wd_comp_req creq = {
			.op_type = WD_DIR_COMPRESS,
			.src = page,
			.src_len = PAGE,
			.dst = buf,
			.dst_len = PAGE * 2,
			.data_fmt = WD_FLAT_BUF,
		};

		ret = wd_do_comp_sync(c->comp, &creq);
		if (ret || creq.status) {
			snprintf(c->error, sizeof(c->error),
				 "page %d: compression failed, ret %d status %u", i, ret,
				 creq.status);
			goto work_end;
		}
		if (creq.dst_len < PAGE) {
			hdr[i] = creq.dst_len;
			buf += creq.dst_len;
			c->sent_compressed++;
		} else {
			hdr[i] = PAGE;
			memcpy(buf, page, PAGE); /* QEMU sends the guest page itself */
			buf += PAGE;
			c->sent_raw++;
		}
	}
	c->seconds = now() - t0;

	/* The system zlib reads every compressed page. */
	buf = wire;
	for (i = 0; i < PAGES; i++) {
		uLongf n = PAGE;

		if (hdr[i] < PAGE &&
		    (uncompress(zcheck, &n, buf, hdr[i]) != Z_OK || n != PAGE ||
		     memcmp(zcheck, pages + (size_t)i * PAGE, PAGE))) {
			snprintf(c->error, sizeof(c->error),
				 "page %d: zlib's uncompress() does not give the page back", i);
			goto work_end;
		}
		buf += hdr[i];
	}

	/* multifd_uadk_recv(). */
	buf = wire;
	for (i = 0; i < PAGES; i++) {
		struct wd_comp_req creq = {
			.op_type = WD_DIR_DECOMPRESS,
			.src = buf,
			.src_len = hdr[i],
			.dst = recv_page,
			.dst_len = PAGE,
			.data_fmt = WD_FLAT_BUF,
		};

		if (hdr[i] == PAGE) {
			memcpy(recv_page, buf, PAGE);
		} else {
			ret = wd_do_comp_sync(c->decomp, &creq);
			if (ret || creq.status) {
				snprintf(c->error, sizeof(c->error),
					 "page %d: decompression failed, ret %d status %u", i, ret,
					 creq.status);
				goto work_end;
			}
			if (creq.dst_len != PAGE) {
				snprintf(c->error, sizeof(c->error),
					 "page %d: decompressed length %u", i, creq.dst_len);
				goto work_end;
			}
		}
		if (memcmp(recv_page, pages + (size_t)i * PAGE, PAGE)) {
			snprintf(c->error, sizeof(c->error), "page %d: received page differs", i);
			goto work_end;
		}
		buf += hdr[i];
	}

work_end:
	/* Migration ends for all channels before any cleanup runs. */
	pthread_barrier_wait(&work_done);

	if (c->id == 0) {
		/* Out of QEMU's order: uninit first, then free the sessions. */
		wd_comp_uninit2();
		wd_comp_uninit2();
		wd_comp_free_sess(c->comp);
		wd_comp_free_sess(c->decomp);
	} else {
		/* multifd_uadk_send_cleanup() and multifd_uadk_recv_cleanup(). */
		if (c->comp)
			wd_comp_free_sess(c->comp);
		wd_comp_uninit2();
		if (c->decomp)
			wd_comp_free_sess(c->decomp);
		wd_comp_uninit2();
	}
	free(pages);
	free(wire);
	free(hdr);
	free(recv_page);
	free(zcheck);
	return NULL;
}

/* After the full teardown the library starts from scratch. */
static int reinit_round_trip(void)
{
	struct channel c = { .id = 0 };
	unsigned char page[PAGE], z[2 * PAGE], back[PAGE];
	struct wd_comp_req r = {0};
	char alg[] = "zlib";
	int ret, rc = 1;

	ret = wd_comp_init2(alg, SCHED_POLICY_RR, TASK_HW);
	if (ret) {
		fprintf(stderr, "qemu_pattern: init2 after full teardown returned %d, want 0\n",
			ret);
		return 1;
	}
	c.comp = open_sess(&c, 1);
	c.decomp = open_sess(&c, 0);
	if (!c.comp || !c.decomp) {
		fprintf(stderr, "qemu_pattern: alloc_sess after re-init failed\n");
		goto out;
	}
	fill_page(page, 99, 1);
	r.op_type = WD_DIR_COMPRESS;
	r.src = page;
	r.src_len = PAGE;
	r.dst = z;
	r.dst_len = sizeof(z);
	ret = wd_do_comp_sync(c.comp, &r);
	if (ret || r.status || r.dst_len >= PAGE) {
		fprintf(stderr, "qemu_pattern: compress after re-init: ret %d status %u len %u\n",
			ret, r.status, r.dst_len);
		goto out;
	}
	r.op_type = WD_DIR_DECOMPRESS;
	r.src = z;
	r.src_len = r.dst_len;
	r.dst = back;
	r.dst_len = PAGE;
	ret = wd_do_comp_sync(c.decomp, &r);
	if (ret || r.status || r.dst_len != PAGE || memcmp(back, page, PAGE)) {
		fprintf(stderr, "qemu_pattern: decompress after re-init: ret %d status %u len %u\n",
			ret, r.status, r.dst_len);
		goto out;
	}
	rc = 0;
out:
	wd_comp_free_sess(c.comp);
	wd_comp_free_sess(c.decomp);
	wd_comp_uninit2();
	return rc;
}

int main(void)
{
	const char *env = getenv("QEMU_PATTERN_CHANNELS");
	int channels = env ? atoi(env) : 4;
	static struct channel ch[MAX_CHANNELS];
	pthread_t th[MAX_CHANNELS];
	long compressed = 0, raw = 0;
	double slowest = 0;
	int i, failed = 0;

	if (channels < 1 || channels > MAX_CHANNELS)
		channels = 4;
	pthread_barrier_init(&start_line, NULL, channels);
	pthread_barrier_init(&work_done, NULL, channels);
	for (i = 0; i < channels; i++) {
		ch[i].id = i;
		if (pthread_create(&th[i], NULL, channel_main, &ch[i])) {
			fprintf(stderr, "qemu_pattern: pthread_create failed\n");
			return 1;
		}
	}
	for (i = 0; i < channels; i++) {
		pthread_join(th[i], NULL);
		if (ch[i].error[0]) {
			fprintf(stderr, "qemu_pattern: channel %d: %s\n", i, ch[i].error);
			failed = 1;
		}
		compressed += ch[i].sent_compressed;
		raw += ch[i].sent_raw;
		if (ch[i].seconds > slowest)
			slowest = ch[i].seconds;
	}
	/* A channel whose setup failed still runs its cleanup, uninit2 included. */
	wd_comp_uninit2();
	if (failed)
		return 1;
	if (reinit_round_trip())
		return 1;
	printf("qemu_pattern: %d channels x %d pages: %ld compressed, %ld sent raw\n",
	       channels, PAGES, compressed, raw);
	printf("qemu_pattern: %.0f pages/s\n",
	       slowest > 0 ? channels * (double)PAGES / slowest : 0.0);
	return 0;
}
