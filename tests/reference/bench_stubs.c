/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Linked into UADK's uadk_tool when it is built against this project's libraries for
 * tests/reference/side_by_side.sh: only its compression benchmark is wanted, and these
 * stand in for the parts of the tool that need UADK's crypto libraries, its v1 API or
 * its no-SVA memory pools, none of which that benchmark reaches in SVA mode.
 */
#include <stdio.h>

struct acc_option;
struct wd_datalist;

static int not_here(const char *what)
{
	fprintf(stderr, "uadk_tool (zip benchmark build): %s is not built in\n", what);
	return -1;
}

int sec_uadk_benchmark(struct acc_option *options)
{
	(void)options;
	return not_here("the sec benchmark");
}

int sec_wd_benchmark(struct acc_option *options)
{
	(void)options;
	return not_here("the v1 sec benchmark");
}

int hpre_uadk_benchmark(struct acc_option *options)
{
	(void)options;
	return not_here("the hpre benchmark");
}

int hpre_wd_benchmark(struct acc_option *options)
{
	(void)options;
	return not_here("the v1 hpre benchmark");
}

int zip_wd_benchmark(struct acc_option *options)
{
	(void)options;
	return not_here("the v1 (no-SVA) zip benchmark");
}

void acc_test_run(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	not_here("uadk_tool test");
}

void dfx_cmd_parse(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	not_here("uadk_tool dfx");
}

void print_dfx_help(void)
{
	not_here("uadk_tool dfx");
}

void print_test_help(void)
{
	not_here("uadk_tool test");
}

/* UADK's no-SVA pool calls, reached only with a reserved memory pool (--memory 1/2). */
unsigned long wd_find_ctx(const char *alg)
{
	(void)alg;
	not_here("wd_find_ctx");
	return 0;
}

unsigned int wd_get_dev_id(void *pool)
{
	(void)pool;
	not_here("wd_get_dev_id");
	return 0;
}
