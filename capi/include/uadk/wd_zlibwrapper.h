/* SPDX-License-Identifier: Apache-2.0 */
/* uadk-rs: UADK v2.10's zlib-style wrapper over compression sessions. */
#ifndef UADK_ZLIBWRAPPER_H
#define UADK_ZLIBWRAPPER_H

#include <asm/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define Z_NO_FLUSH		0
#define Z_PARTIAL_FLUSH		1
#define Z_SYNC_FLUSH		2
#define Z_FULL_FLUSH		3
#define Z_FINISH		4

#define Z_OK			0
#define Z_STREAM_END		1
#define Z_NEED_DICT		2
#define Z_ERRNO			(-1)
#define Z_STREAM_ERROR		(-2)
#define Z_DATA_ERROR		(-3)
#define Z_MEM_ERROR		(-4)
#define Z_BUF_ERROR		(-5)
#define Z_VERSION_ERROR		(-6)

#define Z_DEFAULT_COMPRESSION	(-1)
#define MAX_WBITS		15
#define DEF_MEM_LEVEL		0
#define Z_DEFAULT_STRATEGY	0

struct internal_state {};

typedef void (*alloc_func) (void *opaque, __u32 items, __u32 size);
typedef void (*free_func) (void *opaque, void *address);

/* zlib's stream shape; `reserved` carries the session handle. */
typedef struct z_stream_s {
	const __u8 *next_in;
	__u32 avail_in;
	__u64 total_in;
	__u8 *next_out;
	__u32 avail_out;
	__u64 total_out;
	const char *msg;
	struct internal_state *state;
	alloc_func zalloc;
	free_func zfree;
	void *opaque;
	int data_type;
	__u64 adler;
	__u64 reserved;
} z_stream;

typedef z_stream *z_streamp;

/* windowbits as zlib: -15..-8 raw deflate, 8..15 zlib, 24..31 gzip. */
int wd_deflate_init(z_streamp strm, int level, int windowbits);
int wd_deflate(z_streamp strm, int flush);
int wd_deflate_reset(z_streamp strm);
int wd_deflate_end(z_streamp strm);

int wd_inflate_init(z_streamp strm, int windowbits);
int wd_inflate(z_streamp strm, int flush);
int wd_inflate_reset(z_streamp strm);
int wd_inflate_end(z_streamp strm);

#ifdef __cplusplus
}
#endif

#endif /* UADK_ZLIBWRAPPER_H */
