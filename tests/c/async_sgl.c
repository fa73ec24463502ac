/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uadk-rs C test: wd_do_comp_async with scatter-gather lists (data_fmt = WD_SGL_BUF).
 *
 * 64 requests of different sizes, each with its own uneven chains of struct wd_datalist
 * on both sides, are submitted before any is polled; wd_comp_poll reaps them. As in UADK,
 * the library copies each request at submit (the caller's struct is scribbled over right
 * after) and calls back with its copy, which holds the results. Each callback must run
 * once, with this job's lists, status 0 and dst_len the size of the output, which must be
 * in the caller's destination chain (and nowhere past dst_len), and inflate with the
 * system zlib to the input. The compressed chains are then decompressed the same way,
 * asynchronously, into other chains. A chain shorter than src_len is refused at submit.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "uadk/wd_comp.h"
#include "uadk/wd_sched.h"
#include "chain.h"

#define JOBS	64
#define SEGS	8
#define GUARD	0x5a

#define DIE(...) do { fprintf(stderr, "async_sgl: " __VA_ARGS__); fputc('\n', stderr); \
	exit(1); } while (0)

struct job {
	struct wd_comp_req req;		/* the caller's, reused */
	__u32 done_src_len, done_dst_len, done_status;	/* what the callback reported */
	unsigned char *flat;		/* the input */
	size_t len;
	struct chain in, z, back;	/* source, compressed, decompressed */
	__u32 z_len;
	atomic_int calls;
	atomic_int bad;
};

static struct job jobs[JOBS];

/* A chain of `count` separately allocated segments of pseudo-random sizes summing to total. */
static void chain_make(struct chain *c, size_t total, unsigned int seed)
{
	size_t left = total, k;
	int i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < SEGS && left; i++) {
		seed = seed * 1103515245u + 12345u;
		k = i == SEGS - 1 ? left : 1 + (seed >> 8) % (left / 2 + 1);
		if (k > left)
			k = left;
		/* One spare guard byte past each segment: nothing may be written there. */
		c->node[i].data = malloc(k + 1);
		if (!c->node[i].data)
			DIE("out of memory");
		memset(c->node[i].data, GUARD, k + 1);
		c->node[i].len = k;
		if (i)
			c->node[i - 1].next = &c->node[i];
		left -= k;
		c->total += k;
	}
	c->count = i;
}

/* Whether every guard byte (past each segment, and past the first `used` bytes) is intact. */
static int guards_intact(const struct chain *c, size_t used)
{
	size_t off = 0, j;
	int i;

	for (i = 0; i < c->count; i++) {
		for (j = 0; j <= c->node[i].len; j++)
			if (off + j >= used && ((unsigned char *)c->node[i].data)[j] != GUARD)
				return 0;
		off += c->node[i].len;
	}
	return 1;
}

static void fill(unsigned char *p, size_t n, unsigned int seed)
{
	static const char words[] = "scatter gather async list segment ";
	unsigned int x = seed * 2654435761u + 7;
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (i / 300 + seed) % 5 == 4 ? (unsigned char)x : words[(i + seed) % 34];
	}
}

static void *on_done(struct wd_comp_req *req, void *cb_param)
{
	struct job *j = cb_param;

	if (req == &j->req || req->cb_param != j || req->status != 0 ||
	    (req->list_dst != j->z.node && req->list_dst != j->back.node))
		atomic_fetch_add(&j->bad, 1);
	j->done_src_len = req->src_len;
	j->done_dst_len = req->dst_len;
	j->done_status = req->status;
	atomic_fetch_add(&j->calls, 1);
	return NULL;
}

static void submit(handle_t h, struct job *j, enum wd_comp_op_type op, struct chain *src,
		   __u32 src_len, struct chain *dst)
{
	int ret;

	memset(&j->req, 0, sizeof(j->req));
	atomic_store(&j->calls, 0);
	j->req.list_src = src->node;
	j->req.src_len = src_len;
	j->req.list_dst = dst->node;
	j->req.dst_len = dst->total;
	j->req.op_type = op;
	j->req.data_fmt = WD_SGL_BUF;
	j->req.cb = on_done;
	j->req.cb_param = j;
	do {
		ret = wd_do_comp_async(h, &j->req);
	} while (ret == -WD_EBUSY);
	if (ret)
		DIE("wd_do_comp_async (op %d) returned %d", op, ret);
	memset(&j->req, 0xa5, sizeof(j->req));	/* the caller's again */
}

static void reap_all(const char *phase)
{
	int done = 0, spins = 0, i;
	__u32 count;

	while (done < JOBS) {
		count = 0;
		if (wd_comp_poll(JOBS, &count) < 0)
			DIE("%s: wd_comp_poll failed", phase);
		done += count;
		if (++spins > 50000000)
			DIE("%s: only %d of %d completions", phase, done, JOBS);
	}
	for (i = 0; i < JOBS; i++)
		if (atomic_load(&jobs[i].calls) != 1 || atomic_load(&jobs[i].bad))
			DIE("%s: job %d: %d callbacks, bad %d (status %u)", phase, i,
			    atomic_load(&jobs[i].calls), atomic_load(&jobs[i].bad),
			    jobs[i].done_status);
}

static void inflate_check(int i, const unsigned char *z, size_t zn, const unsigned char *want,
			  size_t n)
{
	unsigned char *back = malloc(n + 1);
	z_stream s;
	int ret;

	memset(&s, 0, sizeof(s));
	if (!back || inflateInit2(&s, 15) != Z_OK)
		DIE("inflateInit2");
	s.next_in = (unsigned char *)z;
	s.avail_in = zn;
	s.next_out = back;
	s.avail_out = n + 1;
	ret = inflate(&s, Z_FINISH);
	if (ret != Z_STREAM_END || s.total_out != n || memcmp(back, want, n))
		DIE("job %d: the system zlib inflates to %lu of %zu bytes (%d)", i, s.total_out,
		    n, ret);
	inflateEnd(&s);
	free(back);
}

int main(void)
{
	struct wd_comp_sess_setup ss = {0};
	struct chain shortc, out;
	handle_t c, d;
	char alg[] = "zlib";
	unsigned char *z;
	struct job *j;
	size_t bytes = 0;
	int ret, i;

	ret = wd_comp_init2(alg, SCHED_POLICY_RR, TASK_HW);
	if (ret)
		DIE("wd_comp_init2 returned %d", ret);
	ss.alg_type = WD_ZLIB;
	ss.win_sz = WD_COMP_WS_32K;
	ss.op_type = WD_DIR_COMPRESS;
	c = wd_comp_alloc_sess(&ss);
	ss.op_type = WD_DIR_DECOMPRESS;
	d = wd_comp_alloc_sess(&ss);
	if (!c || !d)
		DIE("wd_comp_alloc_sess failed");

	for (i = 0; i < JOBS; i++) {
		j = &jobs[i];
		j->len = 1 + (size_t)i * 2111 % 90000;
		j->flat = malloc(j->len);
		if (!j->flat)
			DIE("out of memory");
		fill(j->flat, j->len, i);
		chain_make(&j->in, j->len, i + 1);
		scatter(&j->in, j->flat, j->len);
		chain_make(&j->z, j->len + j->len / 8 + 128, i + 2);
		chain_make(&j->back, j->len, i + 3);
		bytes += j->len;
	}

	for (i = 0; i < JOBS; i++)
		submit(c, &jobs[i], WD_DIR_COMPRESS, &jobs[i].in, jobs[i].len, &jobs[i].z);
	reap_all("compress");
	for (i = 0; i < JOBS; i++) {
		j = &jobs[i];
		j->z_len = j->done_dst_len;
		if (j->done_src_len != j->len || !j->z_len || j->z_len > j->z.total)
			DIE("job %d: src_len %u (want %zu), dst_len %u of %zu", i, j->done_src_len,
			    j->len, j->z_len, j->z.total);
		if (!guards_intact(&j->z, j->z_len))
			DIE("job %d: bytes written past dst_len or past a segment", i);
		z = malloc(j->z_len);
		if (!z)
			DIE("out of memory");
		gather(&j->z, z, j->z_len);
		inflate_check(i, z, j->z_len, j->flat, j->len);
		free(z);
	}

	for (i = 0; i < JOBS; i++)
		submit(d, &jobs[i], WD_DIR_DECOMPRESS, &jobs[i].z, jobs[i].z_len, &jobs[i].back);
	reap_all("decompress");
	for (i = 0; i < JOBS; i++) {
		j = &jobs[i];
		z = malloc(j->len);
		if (!z)
			DIE("out of memory");
		gather(&j->back, z, j->len);
		if (j->done_dst_len != j->len || memcmp(z, j->flat, j->len) ||
		    !guards_intact(&j->back, j->len))
			DIE("job %d: decompressed %u bytes, want %zu identical ones", i,
			    j->done_dst_len, j->len);
		free(z);
	}

	/* A source chain of 3000 bytes with src_len 10000: refused, no callback. */
	chain_make(&shortc, 3000, 99);
	chain_make(&out, 20000, 98);
	memset(&jobs[0].req, 0, sizeof(jobs[0].req));
	jobs[0].req.list_src = shortc.node;
	jobs[0].req.src_len = 10000;
	jobs[0].req.list_dst = out.node;
	jobs[0].req.dst_len = out.total;
	jobs[0].req.op_type = WD_DIR_COMPRESS;
	jobs[0].req.data_fmt = WD_SGL_BUF;
	jobs[0].req.cb = on_done;
	jobs[0].req.cb_param = &jobs[0];
	if (wd_do_comp_async(c, &jobs[0].req) == 0)
		DIE("a 3000-byte chain with src_len 10000 was accepted");
	chain_free(&shortc);
	chain_free(&out);

	for (i = 0; i < JOBS; i++) {
		chain_free(&jobs[i].in);
		chain_free(&jobs[i].z);
		chain_free(&jobs[i].back);
		free(jobs[i].flat);
	}
	wd_comp_free_sess(c);
	wd_comp_free_sess(d);
	wd_comp_uninit2();
	printf("async_sgl: %d requests (%zu bytes) compressed and decompressed between "
	       "datalist chains; short chain refused\n", JOBS, bytes);
	return 0;
}
