/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uadk-rs C test: wd_do_comp_async with callbacks, in two phases.
 *
 * 1. Caller polling after wd_comp_init2, even with WD_COMP_ASYNC_POLL_EN=1 set (UADK reads
 *    it in wd_comp_env_init only): 1000 zlib compressions, reaped with wd_comp_poll;
 *    callbacks must run inside wd_comp_poll on the polling thread. Then the 1000 outputs
 *    are decompressed the same way.
 * 2. Library polling (WD_COMP_ASYNC_POLL_EN=1, wd_comp_env_init): 1000 gzip compressions
 *    submitted from two threads; the caller never polls.
 *
 * As in UADK, a request is the caller's: the library copies it at submit and calls back
 * with its own copy, holding the results. So every submit here fills one request per thread
 * and scribbles over it as soon as wd_do_comp_async returns; the callback must get
 * another pointer, with this job's cb_param and buffers. Every request must complete
 * exactly once, with status 0, and its output must inflate with the system zlib. No
 * callback may run inside wd_do_comp_async.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "uadk/wd_comp.h"
#include "uadk/wd_sched.h"

#define N		1000
#define MAX_SRC		12000
#define DST_ROOM	(MAX_SRC + MAX_SRC / 8 + 64)

struct job {
	unsigned char *src, *dst, *back;
	__u32 src_len, z_len;
	/* What the callback reported. */
	__u32 done_src_len, done_dst_len, done_status;
	atomic_int calls;
	atomic_int bad_req;	/* callback got the caller's struct, or not this job's request */
	atomic_int bad_status;
	atomic_int bad_place;	/* callback ran outside wd_comp_poll or inside a submit */
};

static struct job jobs[N];
static atomic_int completed;
static int library_polls;	/* phase 2 */
static __thread int in_poll, in_submit;

static void die(const char *what)
{
	fprintf(stderr, "async: %s\n", what);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fill(unsigned char *p, size_t n, unsigned int seed)
{
	static const char words[] = "async callback poll request session window ";
	unsigned int x = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		if ((i / 256 + seed) % 4 == 3)
			p[i] = (unsigned char)x;	/* incompressible stretch */
		else
			p[i] = words[(i + seed) % (sizeof(words) - 1)];
	}
}

/* The caller's requests: one per submitting thread, filled anew for every submit. */
static struct wd_comp_req caller_req[2];

static void *on_done(struct wd_comp_req *req, void *cb_param)
{
	struct job *j = cb_param;
	int mine = req->cb_param == j && (req->src == j->src || req->src == j->dst);

	if (req == &caller_req[0] || req == &caller_req[1] || !mine)
		atomic_fetch_add(&j->bad_req, 1);
	j->done_src_len = req->src_len;
	j->done_dst_len = req->dst_len;
	j->done_status = req->status;
	if (req->status != 0)
		atomic_fetch_add(&j->bad_status, 1);
	if (in_submit || (!library_polls && !in_poll))
		atomic_fetch_add(&j->bad_place, 1);
	atomic_fetch_add(&j->calls, 1);
	atomic_fetch_add(&completed, 1);
	return NULL;
}

static void reset_jobs(void)
{
	int i;

	for (i = 0; i < N; i++) {
		atomic_store(&jobs[i].calls, 0);
		atomic_store(&jobs[i].bad_req, 0);
		atomic_store(&jobs[i].bad_status, 0);
		atomic_store(&jobs[i].bad_place, 0);
	}
	atomic_store(&completed, 0);
}

static void poll_some(__u32 expt)
{
	__u32 count = 0;
	int ret;

	in_poll = 1;
	ret = wd_comp_poll(expt, &count);
	in_poll = 0;
	if (ret < 0 && ret != -WD_EAGAIN) {
		fprintf(stderr, "async: wd_comp_poll returned %d\n", ret);
		exit(1);
	}
}

/* Submit job i; on -WD_EBUSY make room (poll, or wait for the library) and retry. */
static void submit(handle_t h, int i, int op, int slot)
{
	struct job *j = &jobs[i];
	struct wd_comp_req *r = &caller_req[slot];
	double deadline = now() + 30;
	int ret;

	memset(r, 0, sizeof(*r));
	r->op_type = op;
	r->data_fmt = WD_FLAT_BUF;
	if (op == WD_DIR_COMPRESS) {
		r->src = j->src;
		r->src_len = j->src_len;
		r->dst = j->dst;
		r->dst_len = DST_ROOM;
	} else {
		r->src = j->dst;
		r->src_len = j->z_len;
		r->dst = j->back;
		r->dst_len = MAX_SRC;
	}
	r->cb = on_done;
	r->cb_param = j;	/* UADK refuses a NULL cb_param */
	for (;;) {
		in_submit = 1;
		ret = wd_do_comp_async(h, r);
		in_submit = 0;
		if (ret != -WD_EBUSY)
			break;
		if (now() > deadline)
			die("the queue stayed full for 30 s");
		if (library_polls)
			usleep(100);
		else
			poll_some(64);
	}
	if (ret) {
		fprintf(stderr, "async: wd_do_comp_async(job %d) returned %d\n", i, ret);
		exit(1);
	}
	/* The request is the caller's again: reuse it (as UADK's benchmark does). */
	memset(r, 0xa5, sizeof(*r));
}

static void wait_all(const char *phase)
{
	double deadline = now() + 60;

	while (atomic_load(&completed) < N) {
		if (now() > deadline) {
			fprintf(stderr, "async: %s: only %d of %d callbacks after 60 s\n", phase,
				atomic_load(&completed), N);
			exit(1);
		}
		if (library_polls)
			usleep(1000);
		else
			poll_some(N);
	}
	/* Nothing more may come: poll (or wait) once more and count again. */
	if (library_polls)
		usleep(50000);
	else
		poll_some(N);
}

static void check_callbacks(const char *phase)
{
	int i;

	for (i = 0; i < N; i++) {
		struct job *j = &jobs[i];

		if (atomic_load(&j->calls) != 1) {
			fprintf(stderr, "async: %s: job %d completed %d times\n", phase, i,
				atomic_load(&j->calls));
			exit(1);
		}
		if (atomic_load(&j->bad_req) || atomic_load(&j->bad_status)) {
			fprintf(stderr, "async: %s: job %d: callback got %s (status %u)\n", phase, i,
				atomic_load(&j->bad_req) ? "the caller's struct or another job's" :
				"an error", j->done_status);
			exit(1);
		}
		if (atomic_load(&j->bad_place)) {
			fprintf(stderr, "async: %s: job %d: callback ran %s\n", phase, i,
				library_polls ? "inside wd_do_comp_async" :
				"outside the caller's wd_comp_poll");
			exit(1);
		}
	}
}

/* Inflate job i's output with the system zlib; wbits 15 (zlib) or 31 (gzip). */
static void check_with_zlib(int i, int wbits)
{
	struct job *j = &jobs[i];
	z_stream z;
	int ret;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, wbits) != Z_OK)
		die("inflateInit2");
	z.next_in = j->dst;
	z.avail_in = j->z_len;
	z.next_out = j->back;
	z.avail_out = MAX_SRC;
	ret = inflate(&z, Z_FINISH);
	if (ret != Z_STREAM_END || z.total_out != j->src_len || z.avail_in != 0 ||
	    memcmp(j->back, j->src, j->src_len)) {
		fprintf(stderr, "async: job %d: zlib inflate gives %d, %lu of %u bytes\n", i, ret,
			z.total_out, j->src_len);
		exit(1);
	}
	inflateEnd(&z);
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
		die("wd_comp_alloc_sess returned 0");
	return h;
}

static void init(void)
{
	char alg[] = "zlib";
	int ret = library_polls ? wd_comp_env_init(NULL) :
		  wd_comp_init2(alg, SCHED_POLICY_RR, TASK_HW);

	if (ret) {
		fprintf(stderr, "async: %s returned %d\n",
			library_polls ? "wd_comp_env_init" : "wd_comp_init2", ret);
		exit(1);
	}
}

static void phase_caller_polls(void)
{
	handle_t c, d;
	int i;

	/* Not for wd_comp_init2: the caller polls, and no library thread takes its completions. */
	setenv("WD_COMP_ASYNC_POLL_EN", "1", 1);
	library_polls = 0;
	init();
	unsetenv("WD_COMP_ASYNC_POLL_EN");
	c = open_sess(WD_ZLIB, WD_DIR_COMPRESS);
	d = open_sess(WD_ZLIB, WD_DIR_DECOMPRESS);

	reset_jobs();
	for (i = 0; i < N; i++)
		submit(c, i, WD_DIR_COMPRESS, 0);
	wait_all("caller polls, compress");
	check_callbacks("caller polls, compress");
	for (i = 0; i < N; i++) {
		jobs[i].z_len = jobs[i].done_dst_len;
		if (jobs[i].done_src_len != jobs[i].src_len)
			die("caller polls: a compression reports partial input consumed");
		check_with_zlib(i, 15);
	}

	reset_jobs();
	for (i = 0; i < N; i++) {
		memset(jobs[i].back, 0, MAX_SRC);
		submit(d, i, WD_DIR_DECOMPRESS, 0);
	}
	wait_all("caller polls, decompress");
	check_callbacks("caller polls, decompress");
	for (i = 0; i < N; i++) {
		if (jobs[i].done_dst_len != jobs[i].src_len ||
		    memcmp(jobs[i].back, jobs[i].src, jobs[i].src_len)) {
			fprintf(stderr, "async: job %d: async decompression gives %u of %u bytes\n",
				i, jobs[i].done_dst_len, jobs[i].src_len);
			exit(1);
		}
	}
	wd_comp_free_sess(c);
	wd_comp_free_sess(d);
	wd_comp_uninit2();
	printf("async: caller polls (wd_comp_init2, WD_COMP_ASYNC_POLL_EN=1 ignored): %d "
	       "compressions and %d decompressions from one reused request, each called back "
	       "once with the library's copy\n", N, N);
}

struct submitter {
	handle_t h;
	int first, step;
};

static void *submit_thread(void *arg)
{
	struct submitter *s = arg;
	int i;

	for (i = s->first; i < N; i += s->step)
		submit(s->h, i, WD_DIR_COMPRESS, s->first);
	return NULL;
}

static void phase_library_polls(void)
{
	struct submitter s[2];
	pthread_t th[2];
	handle_t c;
	int i;

	setenv("WD_COMP_ASYNC_POLL_EN", "1", 1);
	library_polls = 1;
	init();
	c = open_sess(WD_GZIP, WD_DIR_COMPRESS);

	reset_jobs();
	for (i = 0; i < 2; i++) {
		s[i].h = c;
		s[i].first = i;
		s[i].step = 2;
		if (pthread_create(&th[i], NULL, submit_thread, &s[i]))
			die("pthread_create");
	}
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	wait_all("library polls");
	check_callbacks("library polls");
	for (i = 0; i < N; i++) {
		jobs[i].z_len = jobs[i].done_dst_len;
		check_with_zlib(i, 31);
	}
	wd_comp_free_sess(c);
	wd_comp_env_uninit();
	unsetenv("WD_COMP_ASYNC_POLL_EN");
	printf("async: library polls (wd_comp_env_init, WD_COMP_ASYNC_POLL_EN=1): %d compressions "
	       "from 2 threads, each called back once\n", N);
}

int main(void)
{
	int i;

	for (i = 0; i < N; i++) {
		jobs[i].src_len = 500 + (i * 7919u) % (MAX_SRC - 500);
		jobs[i].src = malloc(MAX_SRC);
		jobs[i].dst = malloc(DST_ROOM);
		jobs[i].back = malloc(MAX_SRC);
		if (!jobs[i].src || !jobs[i].dst || !jobs[i].back)
			die("out of memory");
		fill(jobs[i].src, jobs[i].src_len, i);
	}
	phase_caller_polls();
	phase_library_polls();
	for (i = 0; i < N; i++) {
		free(jobs[i].src);
		free(jobs[i].dst);
		free(jobs[i].back);
	}
	return 0;
}
