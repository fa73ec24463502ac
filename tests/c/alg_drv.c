/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uadk-rs C test: wd_alg.h's driver registry, as C drivers and their callers use it.
 *
 * With a device serving zlib (run under UADK_ZIP_MODEL=1@0, or on a machine with a ZIP
 * accelerator), two hardware drivers named after it register with priorities 100 and 200:
 * 1. Registration refuses NULL, nameless drivers and drivers missing a callback; an equal
 *    driver registered again changes nothing; a software driver, an SVE driver (on a CPU
 *    without SVE) and a hardware driver without a device are refused with -WD_ENODEV. The
 *    list from wd_get_alg_head holds the two in registration order with their fields.
 * 2. wd_request_drv picks the higher priority, counts references, honours hw_mask; a
 *    disabled driver is passed over until enabled again; the first registered wins a tie;
 *    wd_release_drv gives references back; wd_drv_alg_support.
 * 3. wd_alg_driver_init/exit/send/recv reach the driver's callbacks with their arguments;
 *    a NULL driver or callback is an error, not a crash.
 * 4. Threads register, request, release and unregister at once; the list ends empty.
 * Without any device, every hardware driver is refused and the list stays empty; the
 * dispatch checks run all the same. On x86 (and Arm without SVE) v2.10's rules leave no
 * non-hardware driver available, so hw_mask finds nothing; with SVE, an SVE driver is
 * registered and is what hw_mask selects.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__aarch64__)
#include <sys/auxv.h>
#endif
#include "uadk/wd.h"
#include "uadk/wd_alg.h"

#define DIE(...) do { fprintf(stderr, "alg_drv: " __VA_ARGS__); fputc('\n', stderr); \
	exit(1); } while (0)
#define CHECK(c) do { if (!(c)) DIE("line %d: %s", __LINE__, #c); } while (0)
#define THREADS 4

struct calls {
	int init, exit, send, recv;
	void *conf, *msg;
	handle_t ctx;
};

static struct calls seen;

static int fake_init(struct wd_alg_driver *drv, void *conf)
{
	seen.init++;
	seen.conf = conf;
	return drv->priority;
}

static void fake_exit(struct wd_alg_driver *drv)
{
	(void)drv;
	seen.exit++;
}

static int fake_send(struct wd_alg_driver *drv, handle_t ctx, void *msg)
{
	(void)drv;
	seen.send++;
	seen.ctx = ctx;
	seen.msg = msg;
	return 0;
}

static int fake_recv(struct wd_alg_driver *drv, handle_t ctx, void *msg)
{
	(void)drv;
	(void)ctx;
	(void)msg;
	seen.recv++;
	return -WD_EAGAIN;
}

static struct wd_alg_driver make(const char *drv, const char *alg, int prio, int type)
{
	struct wd_alg_driver d;

	memset(&d, 0, sizeof(d));
	d.drv_name = drv;
	d.alg_name = alg;
	d.priority = prio;
	d.calc_type = type;
	d.queue_num = 1;
	d.op_type_num = 2;
	d.init = fake_init;
	d.exit = fake_exit;
	d.send = fake_send;
	d.recv = fake_recv;
	return d;
}

static int list_len(void)
{
	struct wd_alg_list *p = wd_get_alg_head();
	int n = 0;

	CHECK(p);
	for (p = p->next; p; p = p->next)
		n++;
	return n;
}

static int has_sve(void)
{
#if defined(__aarch64__)
	return (getauxval(AT_HWCAP) & HWCAP_SVE) != 0;
#else
	return 0;
#endif
}

/* The accelerator's driver name: the first zlib device's name without its "-N". */
static int device_name(char *name, size_t len)
{
	struct uacce_dev_list *list = wd_get_accel_list("zlib");
	const char *base;
	char *dash;

	if (!list)
		return 0;
	if (!strcmp(list->dev->api, "cpu")) {
		wd_free_list_accels(list);
		return 0;
	}
	base = strrchr(list->dev->char_dev_path, '/');
	snprintf(name, len, "%s", base ? base + 1 : list->dev->char_dev_path);
	dash = strrchr(name, '-');
	if (dash)
		*dash = '\0';
	wd_free_list_accels(list);
	return 1;
}

static void check_dispatch(void)
{
	struct wd_alg_driver d = make("any", "zlib", 7, UADK_ALG_HW);
	int conf, msg;

	memset(&seen, 0, sizeof(seen));
	CHECK(wd_alg_driver_init(&d, &conf) == 7 && seen.init == 1 && seen.conf == &conf);
	CHECK(wd_alg_driver_send(&d, 0x1234, &msg) == 0 && seen.send == 1);
	CHECK(seen.ctx == 0x1234 && seen.msg == &msg);
	CHECK(wd_alg_driver_recv(&d, 0x1234, &msg) == -WD_EAGAIN && seen.recv == 1);
	wd_alg_driver_exit(&d);
	CHECK(seen.exit == 1);

	d.init = NULL;
	d.exit = NULL;
	d.send = NULL;
	d.recv = NULL;
	CHECK(wd_alg_driver_init(&d, &conf) == -WD_EINVAL);
	CHECK(wd_alg_driver_send(&d, 1, &msg) == -WD_EINVAL);
	CHECK(wd_alg_driver_recv(&d, 1, &msg) == -WD_EINVAL);
	wd_alg_driver_exit(&d);
	CHECK(wd_alg_driver_init(NULL, &conf) == -WD_EINVAL);
	CHECK(wd_alg_driver_send(NULL, 1, &msg) == -WD_EINVAL);
	CHECK(wd_alg_driver_recv(NULL, 1, &msg) == -WD_EINVAL);
	wd_alg_driver_exit(NULL);
	CHECK(seen.init == 1 && seen.exit == 1 && seen.send == 1 && seen.recv == 1);
}

static void check_refusals(const char *hw_name, int have_dev)
{
	struct wd_alg_driver d = make(hw_name, "zlib", 10, UADK_ALG_HW);

	CHECK(wd_alg_driver_register(NULL) == -WD_EINVAL);
	d.send = NULL;
	CHECK(wd_alg_driver_register(&d) == -WD_EINVAL);
	d = make(NULL, "zlib", 10, UADK_ALG_HW);
	CHECK(wd_alg_driver_register(&d) == -WD_EINVAL);
	d = make(hw_name, NULL, 10, UADK_ALG_HW);
	CHECK(wd_alg_driver_register(&d) == -WD_EINVAL);
	d = make("soft_zlib", "zlib", 300, UADK_ALG_SOFT);
	CHECK(wd_alg_driver_register(&d) == -WD_ENODEV);
	d = make("nodev_zip", "zlib", 300, UADK_ALG_HW);
	CHECK(wd_alg_driver_register(&d) == -WD_ENODEV);
	d = make("ce_zlib", "zlib", 300, UADK_ALG_CE_INSTR);
	CHECK(wd_alg_driver_register(&d) == -WD_ENODEV);
	d = make("odd", "zlib", 300, 9);
	CHECK(wd_alg_driver_register(&d) == -WD_ENODEV);
	if (!has_sve()) {
		d = make("sve_zlib", "zlib", 300, UADK_ALG_SVE_INSTR);
		CHECK(wd_alg_driver_register(&d) == -WD_ENODEV);
	}
	d = make(hw_name, "zlib", 10, UADK_ALG_HW);
	CHECK(wd_alg_driver_register(&d) == (have_dev ? 0 : -WD_ENODEV));
	if (have_dev)
		wd_alg_driver_unregister(&d);
	CHECK(list_len() == 0);
}

/* Outlive the threads: one thread may be handed another's driver. */
static struct wd_alg_driver thread_drv[THREADS];

static void *worker(void *p)
{
	struct wd_alg_driver *d = p, *got;
	int i;

	for (i = 0; i < 2000; i++) {
		CHECK(wd_alg_driver_register(d) == 0);
		got = wd_request_drv("gzip", false);
		CHECK(got);
		CHECK(wd_drv_alg_support("gzip", d));
		wd_release_drv(got);
		if (i % 3 == 0)
			wd_disable_drv(d);
		else
			wd_enable_drv(d);
		wd_alg_driver_unregister(d);
	}
	return NULL;
}

int main(void)
{
	char hw[MAX_DEV_NAME_LEN], prefix[MAX_DEV_NAME_LEN];
	struct wd_alg_driver a, b, c, lookalike;
	struct wd_alg_list *na, *nb;
	pthread_t t[THREADS];
	int have_dev, i;

	check_dispatch();
	have_dev = device_name(hw, sizeof(hw));
	if (!have_dev)
		snprintf(hw, sizeof(hw), "hisi_zip");
	check_refusals(hw, have_dev);
	CHECK(!wd_request_drv("zlib", false));
	if (has_sve()) {
		/* An instruction driver is what hw_mask asks for. */
		struct wd_alg_driver sve = make("sve_zlib", "zlib", 400, UADK_ALG_SVE_INSTR);

		CHECK(wd_alg_driver_register(&sve) == 0 && list_len() == 1);
		CHECK(!wd_request_drv("zlib", false) && wd_request_drv("zlib", true) == &sve);
		wd_release_drv(&sve);
		wd_alg_driver_unregister(&sve);
		CHECK(list_len() == 0);
	}
	if (!have_dev) {
		printf("alg_drv: no device: hardware drivers refused, dispatch ok\n");
		return 0;
	}

	/* B's name is a prefix of A's: both find the device. */
	snprintf(prefix, sizeof(prefix), "%.*s", (int)strlen(hw) - 2, hw);
	a = make(hw, "zlib", 100, UADK_ALG_HW);
	b = make(prefix, "zlib", 200, UADK_ALG_HW);
	CHECK(wd_alg_driver_register(&a) == 0);
	CHECK(wd_alg_driver_register(&b) == 0);
	CHECK(wd_alg_driver_register(&a) == 0);
	CHECK(list_len() == 2);
	na = wd_get_alg_head()->next;
	nb = na->next;
	CHECK(na->drv == &a && nb->drv == &b && !nb->next);
	CHECK(!strcmp(na->alg_name, "zlib") && !strcmp(na->drv_name, hw));
	CHECK(na->available && na->priority == 100 && na->calc_type == UADK_ALG_HW);
	CHECK(na->refcnt == 0 && !strcmp(nb->drv_name, prefix) && nb->priority == 200);

	/* Highest priority first; references counted; hw_mask leaves only non-hardware. */
	CHECK(wd_request_drv("zlib", false) == &b && nb->refcnt == 1);
	CHECK(wd_request_drv("zlib", false) == &b && nb->refcnt == 2);
	CHECK(!wd_request_drv("zlib", true));
	CHECK(!wd_request_drv("gzip", false) && !wd_request_drv(NULL, false));
	wd_disable_drv(&b);
	CHECK(!nb->available);
	CHECK(wd_request_drv("zlib", false) == &a && na->refcnt == 1);
	wd_enable_drv(&b);
	CHECK(nb->available);
	CHECK(wd_request_drv("zlib", false) == &b && nb->refcnt == 3);
	for (i = 0; i < 4; i++)
		wd_release_drv(&b);
	CHECK(nb->refcnt == 0);
	wd_release_drv(&a);
	wd_release_drv(&a);
	CHECK(na->refcnt == 0);
	wd_release_drv(NULL);
	wd_enable_drv(NULL);
	wd_disable_drv(NULL);

	/* Support is by driver name and algorithm, registered or not in this struct. */
	lookalike = make(hw, "other", 1, UADK_ALG_SOFT);
	CHECK(wd_drv_alg_support("zlib", &a) && wd_drv_alg_support("zlib", &lookalike));
	CHECK(!wd_drv_alg_support("gzip", &a) && !wd_drv_alg_support(NULL, &a));
	CHECK(!wd_drv_alg_support("zlib", NULL));
	c = make("nodev_zip", "zlib", 1, UADK_ALG_HW);
	CHECK(!wd_drv_alg_support("zlib", &c));

	/* A tie goes to the first registered; a driver still referenced can be removed. */
	c = make(hw, "zlib", 200, UADK_ALG_HW);
	CHECK(wd_alg_driver_register(&c) == 0 && list_len() == 3);
	CHECK(wd_request_drv("zlib", false) == &b);
	wd_alg_driver_unregister(&b);
	CHECK(list_len() == 2 && wd_request_drv("zlib", false) == &c);
	wd_release_drv(&c);
	wd_alg_driver_unregister(&c);
	wd_alg_driver_unregister(&c);
	wd_alg_driver_unregister(NULL);
	CHECK(list_len() == 1 && wd_get_alg_head()->next->drv == &a);
	CHECK(wd_request_drv("zlib", false) == &a);
	wd_release_drv(&a);
	wd_alg_driver_unregister(&a);
	CHECK(list_len() == 0 && !wd_request_drv("zlib", false));

	/* Concurrent use, each thread with its own driver. */
	for (i = 0; i < THREADS; i++) {
		thread_drv[i] = make(i % 2 ? hw : prefix, "gzip", 10 + i, UADK_ALG_HW);
		if (pthread_create(&t[i], NULL, worker, &thread_drv[i]))
			DIE("pthread_create");
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK(list_len() == 0);

	printf("alg_drv: %s and %s registered; request, release, enable, disable, support, "
	       "unregister, dispatch and %d threads ok\n", hw, prefix, THREADS);
	return 0;
}
