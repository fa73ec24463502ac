/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uadk-rs extensions to wd_comp.h. Not part of UADK v2.10: they change none of its enum
 * values or structures, so a program written for UADK builds and behaves as before, and
 * one that uses them says so by including this header.
 *
 * zstd (docs/zstd.md): frames as the zstd tool writes and reads them.
 *  - wd_comp_init2_("zstd", ...) sets the framework up for zstd; a framework set up for
 *    another algorithm (or with wd_comp_init) serves zstd sessions too.
 *  - struct wd_comp_sess_setup: alg_type = WD_EXT_ZSTD; comp_lv = zstd's level, from
 *    WD_EXT_ZSTD_LEVEL_MIN to WD_EXT_ZSTD_LEVEL_MAX (negative: zstd's fast levels,
 *    `zstd --fast=N` is -N), 0 = zstd's default (3); win_sz as for deflate, where
 *    WD_COMP_WS_32K (the largest) leaves zstd its level's own window.
 *  - wd_do_comp_sync / _sync2 / _strm / _async as for the other algorithms. A block
 *    request compresses into one frame and decompresses every frame of its input,
 *    skippable frames included.
 * In C the values are assigned as they are (`ss.alg_type = WD_EXT_ZSTD; ss.comp_lv = -5;`);
 * C++ needs a cast to the field's enum type.
 */
#ifndef __WD_COMP_EXT_H
#define __WD_COMP_EXT_H

#include "wd_comp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* alg_type of a zstd session. Clear of UADK's values (WD_COMP_ALG_MAX stays invalid). */
#define WD_EXT_ZSTD		64
/* comp_lv range of a zstd session. */
#define WD_EXT_ZSTD_LEVEL_MIN	(-131072)
#define WD_EXT_ZSTD_LEVEL_MAX	22
#define WD_EXT_ZSTD_LEVEL_DEFAULT 3

#ifdef __cplusplus
}
#endif

#endif /* __WD_COMP_EXT_H */
