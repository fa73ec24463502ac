/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uadk-rs C test: libwd's calls added by UADK after v2.10.
 *
 * memcmp_consttime: 0 for equal bytes, nonzero wherever they differ. wd_get_alg_type:
 * each algorithm's class. wd_alg_get_dev_usage: asks the registered C driver of the
 * device's name and the algorithm's class, once it is initialised (priv set), through its
 * get_usage. wd_get_dev_usage: a device's sysfs dev_usage; over modelled devices the
 * COMPRESS figure rises while compressions run and falls back to 0 when they stop; the CPU
 * engine's pseudo-devices have none.
 *
 * Links libwd. Run on the CPU engine and over one modelled device.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "uadk/wd.h"
#include "uadk/wd_alg.h"
#include "uadk/wd_comp.h"
#include "uadk/wd_internal.h"
#include "uadk/wd_sched.h"

#define DIE(...) do { fprintf(stderr, "usage: " __VA_ARGS__); fputc('\n', stderr); \
	exit(1); } while (0)

static void check_memcmp(void)
{
	unsigned char a[64], b[64];
	int i;

	for (i = 0; i < 64; i++)
		a[i] = b[i] = (unsigned char)(i * 7);
	if (memcmp_consttime(a, b, sizeof(a)) != 0 || memcmp_consttime(a, b, 0) != 0)
		DIE("memcmp_consttime: equal bytes compare unequal");
	for (i = 0; i < 64; i += 21) {
		b[i] ^= 0x10;
		if (memcmp_consttime(a, b, sizeof(a)) == 0)
			DIE("memcmp_consttime misses a difference at byte %d", i);
		b[i] ^= 0x10;
	}
}

static void check_alg_type(void)
{
	static const char *const pairs[][2] = {
		{ "zlib", "zlib" }, { "lz4", "lz4" }, { "cbc(aes)", "cipher" },
		{ "xts(sm4)", "cipher" }, { "cbc(des3_ede)", "cipher" }, { "gcm(sm4)", "aead" },
		{ "sha256", "digest" }, { "cmac(aes)", "digest" }, { "join-gather", "hashjoin" },
		{ "x25519", "x25519" },
	};
	char t[ALG_NAME_SIZE];
	size_t i;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		memset(t, 'x', sizeof(t));
		if (wd_get_alg_type(pairs[i][0], t) || strcmp(t, pairs[i][1]))
			DIE("wd_get_alg_type(%s) gives '%.20s', want %s", pairs[i][0], t, pairs[i][1]);
	}
	if (wd_get_alg_type("zstd", t) != -WD_EINVAL || wd_get_alg_type("ecb(des3)", t) != -WD_EINVAL ||
	    wd_get_alg_type(NULL, t) != -WD_EINVAL || wd_get_alg_type("zlib", NULL) != -WD_EINVAL)
		DIE("wd_get_alg_type accepts what is not an algorithm");
}

static int drv_ok(struct wd_alg_driver *drv, void *conf) { (void)drv; (void)conf; return 0; }
static void drv_exit(struct wd_alg_driver *drv) { (void)drv; }
static int drv_io(struct wd_alg_driver *drv, handle_t ctx, void *msg)
{
	(void)drv; (void)ctx; (void)msg;
	return 0;
}

static struct wd_alg_driver fake;

static int fake_usage(void *param)
{
	struct hisi_dev_usage *u = param;

	if (u->drv != &fake || strcmp(u->dev_name, "hisi_zip-0"))
		return -1000;
	return 40 + u->alg_op_type;
}

static void check_alg_dev_usage(int have_hw)
{
	int ret;

	fake.drv_name = "hisi_zip";
	fake.alg_name = "gzip";
	fake.priority = 50;
	fake.calc_type = UADK_ALG_HW;
	fake.init = drv_ok;
	fake.exit = drv_exit;
	fake.send = drv_io;
	fake.recv = drv_io;
	fake.get_usage = fake_usage;
	ret = wd_alg_driver_register(&fake);
	if (!have_hw) {
		if (ret != -WD_ENODEV)
			DIE("a hardware driver without its device registered: %d", ret);
		if (wd_alg_get_dev_usage("hisi_zip-0", "gzip", 0) != -WD_EACCES)
			DIE("wd_alg_get_dev_usage answers without a driver");
		return;
	}
	if (ret)
		DIE("wd_alg_driver_register(hisi_zip, gzip) returned %d", ret);
	/* Not initialised yet (priv NULL): not asked. */
	if (wd_alg_get_dev_usage("hisi_zip-0", "gzip", 0) != -WD_EACCES)
		DIE("wd_alg_get_dev_usage asks a driver not initialised");
	fake.priv = &fake;
	if (wd_alg_get_dev_usage("hisi_zip-0", "gzip", 1) != 41)
		DIE("wd_alg_get_dev_usage does not give the driver's answer");
	if (wd_alg_get_dev_usage("hisi_zip-0", "cipher", 0) != -WD_EACCES ||
	    wd_alg_get_dev_usage("hisi_zipx-0", "gzip", 0) != -WD_EACCES ||
	    wd_alg_get_dev_usage("hisi_zip", "gzip", 0) != -WD_EACCES)
		DIE("wd_alg_get_dev_usage asks a driver of another class or device");
	if (wd_alg_get_dev_usage(NULL, "gzip", 0) != -WD_EINVAL)
		DIE("wd_alg_get_dev_usage(NULL)");
	fake.get_usage = NULL;
	if (wd_alg_get_dev_usage("hisi_zip-0", "gzip", 0) != -WD_EINVAL)
		DIE("wd_alg_get_dev_usage with no get_usage");
	wd_alg_driver_unregister(&fake);
	if (wd_alg_get_dev_usage("hisi_zip-0", "gzip", 0) != -WD_EACCES)
		DIE("wd_alg_get_dev_usage asks an unregistered driver");
}

static atomic_int running;

static void *compress_loop(void *arg)
{
	struct wd_comp_sess_setup ss = {0};
	static unsigned char src[65536], dst[70000];
	struct wd_comp_req r;
	handle_t h;
	size_t i;

	(void)arg;
	for (i = 0; i < sizeof(src); i++)
		src[i] = (unsigned char)("usage of a device "[i % 18] + (i >> 12));
	ss.alg_type = WD_ZLIB;
	ss.op_type = WD_DIR_COMPRESS;
	ss.comp_lv = WD_COMP_L1;
	ss.win_sz = WD_COMP_WS_32K;
	h = wd_comp_alloc_sess(&ss);
	if (!h)
		DIE("wd_comp_alloc_sess");
	while (atomic_load(&running)) {
		memset(&r, 0, sizeof(r));
		r.src = src;
		r.src_len = sizeof(src);
		r.dst = dst;
		r.dst_len = sizeof(dst);
		r.op_type = WD_DIR_COMPRESS;
		if (wd_do_comp_sync(h, &r) || r.status)
			DIE("compression failed");
	}
	wd_comp_free_sess(h);
	return NULL;
}

static void check_dev_usage(struct uacce_dev *dev, int have_hw)
{
	char alg[] = "zlib";
	pthread_t th;
	int i, u, peak = 0;

	if (wd_get_dev_usage(NULL, "zlib", 0) != -WD_EINVAL || wd_get_dev_usage(dev, NULL, 0) != -WD_EINVAL ||
	    wd_get_dev_usage(dev, "zstd", 0) != -WD_EINVAL)
		DIE("wd_get_dev_usage accepts NULL or an algorithm the device lacks");
	if (!have_hw) {
		if (wd_get_dev_usage(dev, "zlib", 0) != -WD_EINVAL)
			DIE("the CPU engine's pseudo-device reports a usage");
		return;
	}
	if (wd_get_dev_usage(dev, "zlib", 2) != -WD_EINVAL)
		DIE("a ZIP device reports a usage for op type 2");
	if (wd_comp_init2(alg, SCHED_POLICY_RR, TASK_HW))
		DIE("wd_comp_init2");
	atomic_store(&running, 1);
	if (pthread_create(&th, NULL, compress_loop, NULL))
		DIE("pthread_create");
	for (i = 0; i < 20; i++) {	/* 1 s */
		usleep(50000);
		u = wd_get_dev_usage(dev, "zlib", 0);
		if (u < 0 || u > 100)
			DIE("COMPRESS usage %d while compressing", u);
		peak = u > peak ? u : peak;
		u = wd_get_dev_usage(dev, "zlib", 1);
		if (u < 0 || u > 100)
			DIE("DECOMPRESS usage %d", u);
	}
	atomic_store(&running, 0);
	pthread_join(th, NULL);
	wd_comp_uninit2();
	if (peak == 0)
		DIE("COMPRESS usage stayed 0 through 1 s of compressions");
	usleep(700000);
	u = wd_get_dev_usage(dev, "zlib", 0);
	if (u != 0)
		DIE("COMPRESS usage %d after 0.7 s idle", u);
	printf("usage: %s COMPRESS usage peaked at %d%% while compressing, 0%% idle\n",
	       dev->char_dev_path, peak);
}

int main(void)
{
	struct uacce_dev_list *list;
	int have_hw;

	check_memcmp();
	check_alg_type();
	list = wd_get_accel_list("zlib");
	if (!list)
		DIE("no device serves zlib");
	have_hw = strcmp(list->dev->api, "cpu") != 0;
	check_alg_dev_usage(have_hw);
	check_dev_usage(list->dev, have_hw);
	wd_free_list_accels(list);
	printf("usage: memcmp_consttime, wd_get_alg_type, wd_alg_get_dev_usage and "
	       "wd_get_dev_usage (%s) ok\n", have_hw ? "a modelled device" : "the CPU engine");
	return 0;
}
