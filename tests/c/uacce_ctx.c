/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uadk-rs C test: libwd's devices and contexts over a UACCE device, as a UADK driver
 * (drv/hisi_qm_udrv.c) drives them. Needs one modelled device: run with UADK_ZIP_MODEL=1@0.
 *
 * 1. wd_get_accel_list / wd_get_accel_dev / wd_find_dev_by_numa / wd_get_avail_ctx /
 *    wd_is_isolate report hisi_zip-0 with the fields of its sysfs directory; wd_clone_dev,
 *    wd_add_dev_to_list, wd_create_device_nodemask / wd_free_device_nodemask.
 * 2. wd_request_ctx opens a queue (one fewer available); the context's name, api, node and
 *    SVA flag; region sizes; DUS and MMIO mapped; the two hisi QM ioctls; the queue
 *    started (twice is refused); wd_ctx_wait times out (no request was sent); stopped with
 *    wd_release_ctx_force; regions unmapped; released (the queue is available again).
 * 3. Bad calls: NULL, released and misaligned handles, unmapped and unknown regions, a
 *    driver ioctl without its argument, absent devices, a CPU pseudo-device's context.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include "uadk/wd.h"

#define DIE(...) do { fprintf(stderr, "uacce_ctx: " __VA_ARGS__); fputc('\n', stderr); \
	exit(1); } while (0)
#define CHECK(c) do { if (!(c)) DIE("line %d: %s", __LINE__, #c); } while (0)

/* The hisi_qm driver's ioctls (its uapi header), which UADK's QM driver issues. */
struct hisi_qp_ctx {
	__u16 id;
	__u16 qc_type;
};

struct hisi_qp_info {
	__u32 sqe_size;
	__u16 sq_depth;
	__u16 cq_depth;
	__u64 reserved;
};

#define HISI_QM_SET_QP_CTX	_IOWR('H', 10, struct hisi_qp_ctx)
#define HISI_QM_SET_QP_INFO	_IOWR('H', 11, struct hisi_qp_info)

static int ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);

	return a >= b && !strcmp(s + a - b, tail);
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void check_devices(struct uacce_dev_list *list)
{
	struct uacce_dev *dev = list->dev, *near;
	struct uacce_dev_list *zl;
	char long_name[500];

	CHECK(dev && !list->next);
	CHECK(!strcmp(dev->api, "hisi_qm_v3"));
	CHECK(dev->flags & UACCE_DEV_SVA);
	CHECK(dev->numa_id == 0);
	CHECK(strstr(dev->algs, "zlib") && strstr(dev->algs, "gzip"));
	CHECK(ends_with(dev->char_dev_path, "/dev/hisi_zip-0"));
	CHECK(ends_with(dev->dev_root, "/sys/class/uacce/hisi_zip-0"));
	CHECK(dev->qfrs_offs[UACCE_QFRT_MMIO] == 0x2000);
	CHECK(dev->qfrs_offs[UACCE_QFRT_DUS] > 0);
	CHECK(wd_get_avail_ctx(dev) == 256);
	CHECK(wd_is_isolate(dev) == 0);

	CHECK(wd_find_dev_by_numa(list, 0) == dev);
	CHECK(WD_PTR_ERR(wd_find_dev_by_numa(list, 3)) == -WD_ENODEV);
	CHECK(WD_PTR_ERR(wd_find_dev_by_numa(NULL, 0)) == -WD_EINVAL);

	near = wd_get_accel_dev("gzip");
	CHECK(near && !strcmp(near->char_dev_path, dev->char_dev_path));
	free(near);

	/* Nothing serves "nosuchalg"; names NULL or beyond UADK's limit are refused. */
	CHECK(!wd_get_accel_list("nosuchalg"));
	CHECK(!wd_get_accel_dev("nosuchalg"));
	/* No device serves zstd (ours), the CPU engine does: its pseudo-devices stand in. */
	zl = wd_get_accel_list("zstd");
	CHECK(zl && !strcmp(zl->dev->api, "cpu") && strstr(zl->dev->algs, "zstd"));
	wd_free_list_accels(zl);
	CHECK(!wd_get_accel_list(NULL));
	memset(long_name, 'z', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	CHECK(!wd_get_accel_list(long_name));
	CHECK(wd_get_avail_ctx(NULL) == -WD_EINVAL);
	CHECK(wd_is_isolate(NULL) == -WD_EINVAL);
}

static void check_list_helpers(void)
{
	struct uacce_dev_list *a = wd_get_accel_list("zlib"), *b = wd_get_accel_list("gzip"), *p;
	struct uacce_dev *copy;
	struct bitmask *bmp;
	int n = 0;

	CHECK(a && b && !a->next && !b->next);
	copy = wd_clone_dev(a->dev);
	CHECK(copy && copy != a->dev && !memcmp(copy, a->dev, sizeof(*copy)));
	free(copy);
	CHECK(!wd_clone_dev(NULL));

	wd_add_dev_to_list(a, b);
	wd_add_dev_to_list(a, b);
	wd_add_dev_to_list(a, a);
	wd_add_dev_to_list(NULL, b);
	wd_add_dev_to_list(a, NULL);
	for (p = a; p; p = p->next)
		n++;
	CHECK(n == 2 && a->next == b);

	bmp = wd_create_device_nodemask(a);
	CHECK(bmp && !WD_IS_ERR(bmp) && bmp->size >= 64 && bmp->maskp);
	CHECK(bmp->maskp[0] == 1);
	wd_free_device_nodemask(bmp);
	CHECK(WD_PTR_ERR(wd_create_device_nodemask(NULL)) == -WD_EINVAL);
	wd_free_device_nodemask(NULL);
	wd_free_device_nodemask(WD_ERR_PTR(-WD_EINVAL));
	wd_free_list_accels(a);
}

static void check_bad_calls(struct uacce_dev *dev, handle_t stale)
{
	struct uacce_dev fake = *dev, cpu;
	struct hisi_qp_ctx qc = {0};
	handle_t h;

	/* Released, NULL and misaligned handles. */
	for (int i = 0; i < 3; i++) {
		handle_t b = i == 0 ? stale : i == 1 ? 0 : 3;

		CHECK(!wd_ctx_mmap_qfr(b, UACCE_QFRT_DUS));
		wd_ctx_unmap_qfr(b, UACCE_QFRT_DUS);
		CHECK(wd_ctx_get_region_size(b, UACCE_QFRT_DUS) == 0);
		CHECK(wd_ctx_set_io_cmd(b, HISI_QM_SET_QP_CTX, &qc) == -WD_EINVAL);
		CHECK(wd_ctx_start(b) == -WD_EINVAL);
		CHECK(wd_release_ctx_force(b) == -WD_EINVAL);
		CHECK(wd_ctx_wait(b, 1) == -WD_EINVAL);
		CHECK(wd_is_sva(b) == -WD_EINVAL);
		CHECK(wd_get_numa_id(b) == -WD_EINVAL);
		CHECK(!wd_ctx_get_api(b) && !wd_ctx_get_dev_name(b));
		CHECK(wd_ctx_set_priv(b, &qc) == -WD_EINVAL && !wd_ctx_get_priv(b));
		wd_release_ctx(b);
	}

	/* No device, no dev_root, a device that is not there. */
	CHECK(!wd_request_ctx(NULL));
	fake.dev_root[0] = '\0';
	CHECK(!wd_request_ctx(&fake));
	CHECK(wd_is_isolate(&fake) == -WD_EINVAL);
	fake = *dev;
	strcpy(fake.char_dev_path, "/dev/hisi_zip-77");
	CHECK(!wd_request_ctx(&fake));
	strcpy(fake.dev_root, "/sys/class/uacce/hisi_zip-77");
	CHECK(wd_get_avail_ctx(&fake) == -WD_ENODEV);

	/* Regions: unknown or empty ones are refused; unmapping an unmapped one is a no-op. */
	h = wd_request_ctx(dev);
	CHECK(h);
	CHECK(!wd_ctx_mmap_qfr(h, UACCE_QFRT_SS));
	CHECK(!wd_ctx_mmap_qfr(h, (enum uacce_qfrt)7));
	CHECK(wd_ctx_get_region_size(h, (enum uacce_qfrt)7) == 0);
	wd_ctx_unmap_qfr(h, UACCE_QFRT_MMIO);
	wd_ctx_unmap_qfr(h, (enum uacce_qfrt)7);
	/* A driver ioctl without its argument, and one the device does not know. */
	CHECK(wd_ctx_set_io_cmd(h, HISI_QM_SET_QP_CTX, NULL) < 0);
	CHECK(wd_ctx_set_io_cmd(h, _IOWR('H', 99, int), &qc) < 0);
	/* Stopping a queue never started is fine. */
	CHECK(wd_release_ctx_force(h) == 0);
	wd_release_ctx(h);

	/* A CPU pseudo-device's context: no queue behind it. */
	memset(&cpu, 0, sizeof(cpu));
	strcpy(cpu.api, "cpu");
	strcpy(cpu.char_dev_path, "/dev/uadk-cpu-0");
	strcpy(cpu.dev_root, "/sys/class/uacce/uadk-cpu-0");
	cpu.flags = UACCE_DEV_SVA;
	CHECK(wd_get_avail_ctx(&cpu) > 0 && wd_is_isolate(&cpu) == 0);
	h = wd_request_ctx(&cpu);
	CHECK(h);
	CHECK(!strcmp(wd_ctx_get_api(h), "cpu"));
	CHECK(!strcmp(wd_ctx_get_dev_name(h), "uadk-cpu-0"));
	CHECK(wd_ctx_start(h) == 0 && wd_is_sva(h) == 1 && wd_ctx_wait(h, 1) == 1);
	CHECK(!wd_ctx_mmap_qfr(h, UACCE_QFRT_DUS));
	CHECK(wd_ctx_get_region_size(h, UACCE_QFRT_DUS) == 0);
	CHECK(wd_ctx_set_io_cmd(h, HISI_QM_SET_QP_CTX, &qc) == -WD_EINVAL);
	CHECK(wd_ctx_set_io_cmd(h, UACCE_CMD_START, NULL) == -WD_EINVAL);
	wd_release_ctx(h);
}

int main(void)
{
	struct uacce_dev_list *list;
	struct uacce_dev *dev;
	struct hisi_qp_ctx qc = { .id = 0xffff, .qc_type = 0 };
	struct hisi_qp_info qi = { .sqe_size = 128, .sq_depth = 1024, .cq_depth = 1024 };
	handle_t h, h2;
	void *dus, *mmio;
	double t0;
	int priv;

	list = wd_get_accel_list("zlib");
	if (!list)
		DIE("no device serves zlib: run with UADK_ZIP_MODEL=1@0");
	check_devices(list);
	dev = list->dev;
	check_list_helpers();

	h = wd_request_ctx(dev);
	CHECK(h);
	CHECK(wd_get_avail_ctx(dev) == 255);
	CHECK(!strcmp(wd_ctx_get_api(h), "hisi_qm_v3"));
	CHECK(!strcmp(wd_ctx_get_dev_name(h), "hisi_zip-0"));
	CHECK(wd_get_numa_id(h) == 0);
	CHECK(wd_is_sva(h) == 1);
	CHECK(wd_ctx_set_priv(h, &priv) == 0 && wd_ctx_get_priv(h) == &priv);
	CHECK(wd_ctx_get_region_size(h, UACCE_QFRT_MMIO) == dev->qfrs_offs[UACCE_QFRT_MMIO]);
	CHECK(wd_ctx_get_region_size(h, UACCE_QFRT_DUS) == dev->qfrs_offs[UACCE_QFRT_DUS]);
	CHECK(wd_ctx_get_region_size(h, UACCE_QFRT_SS) == 0);

	/* Map as the QM driver does: DUS (rings), then MMIO (doorbells). */
	dus = wd_ctx_mmap_qfr(h, UACCE_QFRT_DUS);
	mmio = wd_ctx_mmap_qfr(h, UACCE_QFRT_MMIO);
	CHECK(dus && mmio && dus != mmio);
	CHECK(wd_ctx_mmap_qfr(h, UACCE_QFRT_DUS) == dus);
	/* The rings are ours to write. */
	memset(dus, 0, 4096);

	/* Bind the queue to an op type (the device answers its number), give ring sizes. */
	CHECK(wd_ctx_set_io_cmd(h, HISI_QM_SET_QP_CTX, &qc) == 0);
	CHECK(qc.id == 0);
	CHECK(wd_ctx_set_io_cmd(h, HISI_QM_SET_QP_INFO, &qi) == 0);
	CHECK(qi.sqe_size == 128 && qi.sq_depth == 1024 && qi.cq_depth == 1024);

	/* A second context is another queue. */
	h2 = wd_request_ctx(dev);
	CHECK(h2 && h2 != h);
	qc.id = 0xffff;
	CHECK(wd_ctx_set_io_cmd(h2, HISI_QM_SET_QP_CTX, &qc) == 0);
	CHECK(qc.id == 1);
	CHECK(wd_get_avail_ctx(dev) == 254);

	CHECK(wd_ctx_start(h) == 0);
	CHECK(wd_ctx_start(h) != 0);
	CHECK(wd_ctx_set_io_cmd(h2, UACCE_CMD_START, NULL) == 0);

	/* Nothing was sent: the wait times out, after really waiting. */
	t0 = now_ms();
	CHECK(wd_ctx_wait(h, 30) == 0);
	CHECK(now_ms() - t0 >= 25);

	CHECK(wd_release_ctx_force(h) == 0);
	CHECK(wd_ctx_start(h) == 0);
	CHECK(wd_ctx_set_io_cmd(h, UACCE_CMD_PUT_Q, NULL) == 0);
	wd_ctx_unmap_qfr(h, UACCE_QFRT_DUS);
	wd_ctx_unmap_qfr(h, UACCE_QFRT_DUS);
	wd_ctx_unmap_qfr(h, UACCE_QFRT_MMIO);
	wd_release_ctx(h);
	/* Released with its queue started and a region mapped. */
	CHECK(wd_ctx_mmap_qfr(h2, UACCE_QFRT_DUS));
	wd_release_ctx(h2);
	CHECK(wd_get_avail_ctx(dev) == 256);

	check_bad_calls(dev, h);
	CHECK(wd_get_avail_ctx(dev) == 256);
	wd_free_list_accels(list);
	printf("uacce_ctx: devices, queues, regions, ioctls, start/stop and bad calls ok\n");
	return 0;
}
