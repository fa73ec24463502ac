/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uadk-rs C test: libwd's memory pools.
 *
 * 1. wd_mempool_create: bad sizes and nodes give WD_IS_ERR handles; a 1 MiB pool has 256
 *    free 4 KiB units. Blockpools of small blocks (several to a unit) and of large blocks
 *    (several units each) take the units the stats say; one too large is refused.
 * 2. Eight threads allocate and free blocks of one pool at once, each marking the blocks
 *    it holds with its id and checking the mark before freeing: no block is ever handed to
 *    two threads. Afterwards every block is free again.
 * 3. Exhaustion gives NULL; a double free, a foreign address and an address inside a block
 *    are ignored (the free count stays right); destroying a blockpool with blocks out, or a
 *    mempool with blockpools, is refused; stale handles are refused.
 * 4. wd_bmm.h: wd_mempool_alloc on a context, wd_mem_alloc / wd_mem_free / wd_mem_map, the
 *    free and failure counts, wd_get_bufsize, wd_mempool_free.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "uadk/wd.h"
#include "uadk/wd_bmm.h"

#define THREADS		8
#define ROUNDS		20000
#define HOLD		6
#define SMALL		512
#define SMALL_NUM	100
#define LARGE		10000
#define LARGE_NUM	10

#define DIE(...) do { fprintf(stderr, "mempool: " __VA_ARGS__); fputc('\n', stderr); \
	exit(1); } while (0)

static handle_t small_bp;

static void mp_stats(handle_t mp, struct wd_mempool_stats *s)
{
	memset(s, 0xff, sizeof(*s));
	wd_mempool_stats(mp, s);
}

static void bp_stats(handle_t bp, struct wd_blockpool_stats *s)
{
	memset(s, 0xff, sizeof(*s));
	wd_blockpool_stats(bp, s);
}

static void *worker(void *arg)
{
	unsigned int id = (unsigned int)(uintptr_t)arg, x = id * 2654435761u + 1;
	unsigned char *held[HOLD] = {0};
	int r, k, i;

	for (r = 0; r < ROUNDS; r++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		k = x % HOLD;
		if (held[k]) {
			for (i = 0; i < SMALL; i++)
				if (held[k][i] != (unsigned char)id)
					DIE("thread %u: a block it holds was written by %u", id,
					    held[k][i]);
			wd_block_free(small_bp, held[k]);
			held[k] = NULL;
		} else {
			held[k] = wd_block_alloc(small_bp);
			if (held[k])	/* NULL: the others hold them all for now */
				memset(held[k], id, SMALL);
		}
	}
	for (k = 0; k < HOLD; k++)
		if (held[k])
			wd_block_free(small_bp, held[k]);
	return NULL;
}

static void threads(void)
{
	pthread_t t[THREADS];
	struct wd_blockpool_stats b;
	uintptr_t i;

	for (i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)(i + 1)))
			DIE("pthread_create");
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	bp_stats(small_bp, &b);
	if (b.free_block_num != SMALL_NUM || b.block_usage_rate != 0)
		DIE("after the threads: %lu of %d blocks free, usage %lu%%", b.free_block_num,
		    SMALL_NUM, b.block_usage_rate);
}

static void bmm(void)
{
	struct wd_mempool_setup setup = {0};
	struct uacce_dev_list *list = wd_get_accel_list("zlib");
	void *pool, *bufs[64], *extra;
	__u32 n = 0, fails = 0;
	handle_t ctx;
	int i;

	if (!list)
		DIE("wd_get_accel_list finds no device");
	ctx = wd_request_ctx(list->dev);
	if (!ctx)
		DIE("wd_request_ctx failed");
	setup.block_size = 4096;
	setup.block_num = 64;
	setup.align_size = 64;
	if (wd_mempool_alloc(0, &setup) || wd_mempool_alloc(ctx, NULL))
		DIE("wd_mempool_alloc accepts a NULL context or setup");
	pool = wd_mempool_alloc(ctx, &setup);
	if (!pool)
		DIE("wd_mempool_alloc failed");
	if (wd_get_bufsize(pool) != 4096 || wd_get_bufsize(NULL) != 0)
		DIE("wd_get_bufsize gives %u", wd_get_bufsize(pool));
	if (wd_mem_alloc(pool, 4097) || wd_mem_alloc(pool, 0))
		DIE("wd_mem_alloc gives a buffer larger than a block, or of 0 bytes");
	for (i = 0; i < 64; i++) {
		bufs[i] = wd_mem_alloc(pool, 100 + i * 60);
		if (!bufs[i])
			DIE("wd_mem_alloc %d failed", i);
		memset(bufs[i], i, 4096);
		if (wd_mem_map(pool, bufs[i], 4096) != bufs[i])
			DIE("wd_mem_map: the device address is not the virtual one (SVA)");
	}
	extra = wd_mem_alloc(pool, 10);
	if (extra || wd_get_free_num(pool, &n) || n != 0 || wd_get_fail_num(pool, &fails) ||
	    fails != 1)
		DIE("exhausted pool: extra %p, free %u, failures %u", extra, n, fails);
	wd_mempool_free(ctx, pool);	/* refused: buffers are out */
	if (wd_get_free_num(pool, &n) || n != 0)
		DIE("wd_mempool_free with buffers out destroyed the pool");
	for (i = 0; i < 64; i++) {
		if (((unsigned char *)bufs[i])[4095] != i)
			DIE("buffer %d was overwritten", i);
		wd_mem_free(pool, bufs[i]);
	}
	wd_mem_free(pool, bufs[0]);	/* twice: ignored */
	if (wd_get_free_num(pool, &n) || n != 64)
		DIE("after freeing all: %u free", n);
	if (wd_get_free_num(NULL, &n) != -WD_EINVAL || wd_get_fail_num(pool, NULL) != -WD_EINVAL)
		DIE("bad arguments to wd_get_free_num / wd_get_fail_num are accepted");
	wd_mem_unmap(pool, bufs[0], bufs[0], 4096);
	wd_mempool_free(ctx, pool);
	if (wd_get_free_num(pool, &n) != -WD_EINVAL || wd_mem_alloc(pool, 10))
		DIE("a freed pool still answers");
	wd_release_ctx(ctx);
	wd_free_list_accels(list);
}

int main(void)
{
	struct wd_mempool_stats m;
	struct wd_blockpool_stats b;
	void *all[SMALL_NUM], *one;
	handle_t mp, large_bp, h;
	int i;

	if (!WD_IS_ERR(wd_mempool_create(0, 0)) || !WD_IS_ERR(wd_mempool_create(4096, -1)) ||
	    !WD_IS_ERR(wd_mempool_create(4096, 4096)))
		DIE("bad size or node accepted");
	if (WD_HANDLE_ERR(wd_mempool_create(0, 0)) != -WD_EINVAL)
		DIE("size 0 gives %lld, want %d", WD_HANDLE_ERR(wd_mempool_create(0, 0)),
		    -WD_EINVAL);
	mp = wd_mempool_create((1 << 20) - 100, 0);	/* rounded up to 1 MiB */
	if (!mp || WD_IS_ERR(mp))
		DIE("wd_mempool_create(1 MiB, node 0) gives %lld", WD_HANDLE_ERR(mp));
	mp_stats(mp, &m);
	if (m.page_type != WD_NORMAL_PAGE || m.blk_size != 4096 || m.blk_num != 256 ||
	    m.free_blk_num != 256 || m.blk_usage_rate != 0 || !m.page_size ||
	    m.page_num * m.page_size != 1 << 20)
		DIE("new mempool: type %d, page %lu x %lu, %lu of %lu units free, usage %lu",
		    m.page_type, m.page_num, m.page_size, m.free_blk_num, m.blk_num,
		    m.blk_usage_rate);

	/* 100 blocks of 512 bytes: 8 to a unit, 13 units. */
	small_bp = wd_blockpool_create(mp, SMALL, SMALL_NUM);
	if (!small_bp || WD_IS_ERR(small_bp))
		DIE("wd_blockpool_create(512 x 100) gives %lld", WD_HANDLE_ERR(small_bp));
	/* 10 blocks of 10000 bytes: 3 contiguous units each. */
	large_bp = wd_blockpool_create(mp, LARGE, LARGE_NUM);
	if (!large_bp || WD_IS_ERR(large_bp))
		DIE("wd_blockpool_create(10000 x 10) gives %lld", WD_HANDLE_ERR(large_bp));
	mp_stats(mp, &m);
	if (m.free_blk_num != 256 - 13 - 30 || m.blk_usage_rate != 43 * 100 / 256)
		DIE("after two blockpools: %lu units free (want %d), usage %lu",
		    m.free_blk_num, 256 - 43, m.blk_usage_rate);
	bp_stats(small_bp, &b);
	if (b.block_size != SMALL || b.block_num != SMALL_NUM || b.free_block_num != SMALL_NUM ||
	    b.block_usage_rate != 0 || b.mem_waste_rate != (13 * 4096 - 51200) * 100 / (13 * 4096))
		DIE("small blockpool stats: %lu x %lu, %lu free, usage %lu, waste %lu",
		    b.block_num, b.block_size, b.free_block_num, b.block_usage_rate,
		    b.mem_waste_rate);
	bp_stats(large_bp, &b);
	if (b.mem_waste_rate != (30 * 4096 - 100000) * 100 / (30 * 4096))
		DIE("large blockpool waste %lu", b.mem_waste_rate);
	h = wd_blockpool_create(mp, 4096, 300);
	if (WD_HANDLE_ERR(h) != -WD_ENOMEM)
		DIE("a blockpool larger than the free units gives %lld", WD_HANDLE_ERR(h));
	if (WD_HANDLE_ERR(wd_blockpool_create(mp, 0, 1)) != -WD_EINVAL ||
	    WD_HANDLE_ERR(wd_blockpool_create(12345, 64, 1)) != -WD_EINVAL)
		DIE("bad blockpool arguments accepted");

	/* Large blocks: distinct, 3 units apart at least, writable end to end. */
	for (i = 0; i < LARGE_NUM; i++) {
		all[i] = wd_block_alloc(large_bp);
		if (!all[i])
			DIE("large block %d", i);
		memset(all[i], i, LARGE);
	}
	if (wd_block_alloc(large_bp))
		DIE("an 11th large block");
	for (i = 0; i < LARGE_NUM; i++) {
		if (((unsigned char *)all[i])[LARGE - 1] != i)
			DIE("large block %d overlaps another", i);
		wd_block_free(large_bp, all[i]);
	}

	threads();

	/* Exhaustion, bad frees. */
	for (i = 0; i < SMALL_NUM; i++) {
		all[i] = wd_block_alloc(small_bp);
		if (!all[i])
			DIE("block %d of %d", i, SMALL_NUM);
	}
	if (wd_block_alloc(small_bp))
		DIE("a block past the last");
	bp_stats(small_bp, &b);
	if (b.free_block_num != 0 || b.block_usage_rate != 100)
		DIE("all out: %lu free, usage %lu", b.free_block_num, b.block_usage_rate);
	wd_blockpool_destroy(small_bp);	/* refused: blocks are out */
	wd_mempool_destroy(mp);		/* refused: blockpools are on it */
	bp_stats(small_bp, &b);
	mp_stats(mp, &m);
	if (b.block_num != SMALL_NUM || m.blk_num != 256)
		DIE("a pool in use was destroyed");
	wd_block_free(small_bp, all[0]);
	wd_block_free(small_bp, all[0]);		/* double free */
	wd_block_free(small_bp, (char *)all[1] + 1);	/* inside a block */
	wd_block_free(small_bp, &b);			/* not the pool's */
	wd_block_free(large_bp, all[2]);		/* another pool's */
	wd_block_free(0, all[3]);
	bp_stats(small_bp, &b);
	if (b.free_block_num != 1)
		DIE("after one good and five bad frees: %lu free", b.free_block_num);
	one = wd_block_alloc(small_bp);
	if (one != all[0])
		DIE("the one free block is not handed out again");
	for (i = 0; i < SMALL_NUM; i++)
		wd_block_free(small_bp, all[i]);

	wd_blockpool_destroy(small_bp);
	wd_blockpool_destroy(large_bp);
	wd_blockpool_destroy(large_bp);	/* twice: ignored */
	mp_stats(mp, &m);
	if (m.free_blk_num != 256)
		DIE("after destroying the blockpools: %lu units free", m.free_blk_num);
	if (wd_block_alloc(small_bp))
		DIE("a destroyed blockpool hands out blocks");
	wd_mempool_destroy(mp);
	wd_mempool_destroy(mp);
	mp_stats(mp, &m);
	if (m.blk_num != (unsigned long)-1)
		DIE("stats of a destroyed mempool were written");
	if (!WD_IS_ERR(wd_blockpool_create(mp, 64, 1)))
		DIE("a blockpool on a destroyed mempool");

	bmm();
	printf("mempool: pools, %d threads x %d block alloc/free, bad frees and stale handles "
	       "refused, context pools\n", THREADS, ROUNDS);
	return 0;
}
