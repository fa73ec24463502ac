// SPDX-License-Identifier: Apache-2.0
/*
 * uadk-rs conformance suite: the parts of UADK's uadk_tool that are not compression.
 *
 * uadk_tool links its crypto benchmarks (sec, hpre), its v1 (no-SVA) zip benchmark and its
 * sec test into one binary. This project implements compression over UADK v2's API only, so
 * those entry points are ours: each says it is not part of this build and fails. The suite
 * never calls them; they exist so that UADK's compression sources link unmodified.
 */
#include <errno.h>
#include <stdio.h>

#include "uadk_benchmark.h"
#include "sec_uadk_benchmark.h"
#include "sec_wd_benchmark.h"
#include "sec_soft_benchmark.h"
#include "hpre_uadk_benchmark.h"
#include "hpre_wd_benchmark.h"
#include "zip_wd_benchmark.h"
#include "test_sec.h"

static int not_here(const char *what)
{
	fprintf(stderr, "uadk-rs conformance build: %s is not part of this build\n", what);
	return -EOPNOTSUPP;
}

int sec_uadk_benchmark(struct acc_option *options)
{
	(void)options;
	return not_here("the sec benchmark (crypto)");
}

int sec_wd_benchmark(struct acc_option *options)
{
	(void)options;
	return not_here("the sec v1 benchmark (crypto, no-SVA)");
}

int sec_soft_benchmark(struct acc_option *options)
{
	(void)options;
	return not_here("the sec OpenSSL benchmark (crypto)");
}

int hpre_uadk_benchmark(struct acc_option *options)
{
	(void)options;
	return not_here("the hpre benchmark (crypto)");
}

int hpre_wd_benchmark(struct acc_option *options)
{
	(void)options;
	return not_here("the hpre v1 benchmark (crypto, no-SVA)");
}

int zip_wd_benchmark(struct acc_option *options)
{
	(void)options;
	return not_here("the zip v1 benchmark (--mode nosva: UADK's v1 API)");
}

int test_sec_entry(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	return not_here("the sec test (crypto)");
}
