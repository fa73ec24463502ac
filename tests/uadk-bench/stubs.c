/*
 * uadk-rs: what UADK's uadk_tool benchmark needs besides its compression benchmark, so
 * that only zip_uadk_benchmark.c and uadk_benchmark.c of UADK are built: the other
 * benchmarks answer "not built", and main() runs the benchmark command line directly.
 */
#include <stdint.h>
#include <stdio.h>
#include "uadk_benchmark.h"

static int not_built(const char *what)
{
	fprintf(stderr, "stubs: the %s benchmark is not built\n", what);
	return -1;
}

int sec_uadk_benchmark(struct acc_option *o) { (void)o; return not_built("sec"); }
int sec_wd_benchmark(struct acc_option *o) { (void)o; return not_built("sec v1"); }
int sec_soft_benchmark(struct acc_option *o) { (void)o; return not_built("sec soft"); }
int hpre_uadk_benchmark(struct acc_option *o) { (void)o; return not_built("hpre"); }
int hpre_wd_benchmark(struct acc_option *o) { (void)o; return not_built("hpre v1"); }
int zip_wd_benchmark(struct acc_option *o) { (void)o; return not_built("zip v1"); }

/* Memory-pool lookups of libwd's wd_bmm.h, used only by the benchmark's no-SVA path. */
uintptr_t wd_find_ctx(const char *alg) { (void)alg; return 0; }
uint32_t wd_get_dev_id(void *pool) { (void)pool; return 0; }

int main(int argc, char **argv)
{
	struct acc_option option = {0};
	int ret = acc_cmd_parse(argc, argv, &option);

	if (!ret)
		ret = acc_option_convert(&option);
	if (!ret)
		ret = acc_benchmark_run(&option);
	return ret ? 1 : 0;
}
