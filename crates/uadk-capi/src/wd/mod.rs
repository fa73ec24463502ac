//! `libwd` (version node `UADK_2.0`): devices, contexts, version.
//!
//! Devices are UACCE's (`uacce::list()`: the kernel's, or the device model's when
//! `UADK_ZIP_MODEL` is set), reported with the fields UADK reads from sysfs. An algorithm
//! that no device serves is still listed when the CPU engine serves it: the engine presents
//! itself as one pseudo-device per NUMA node (`/dev/uadk-cpu-<node>` in `char_dev_path`,
//! api `cpu`), so a caller that builds its own context configuration from
//! `wd_get_accel_list` works on any machine.
//!
//! A context on a UACCE device is an opened queue: it can be started, mapped, driven by
//! ioctls and waited on. A context on a CPU pseudo-device has no queue: its regions, ioctls
//! and sizes answer errors (or 0), the rest works as for a device.
//!
//! `dev.rs` holds the devices and their sysfs attributes, `numa.rs` nodemasks and NUMA
//! distances, `ctx.rs` the context table and the calls on a context, `ctx_list.rs` the
//! list of hardware contexts of `wd_bmm.h`, `ffi.rs` the C values they share, and
//! `util.rs` the version, the log switches and the small helpers UADK exports.

mod ctx;
mod ctx_list;
mod dev;
mod ffi;
mod numa;
mod util;

pub(crate) use ctx::{ctx_info, ctx_ref, dev_id_of};
pub use ctx::{
    wd_ctx_get_api, wd_ctx_get_dev_name, wd_ctx_get_priv, wd_ctx_get_region_size, wd_ctx_mmap_qfr,
    wd_ctx_set_io_cmd, wd_ctx_set_priv, wd_ctx_start, wd_ctx_unmap_qfr, wd_ctx_wait,
    wd_get_numa_id, wd_is_sva, wd_release_ctx, wd_release_ctx_force, wd_request_ctx, CtxHandle,
};
pub use ctx_list::{wd_find_ctx, wd_insert_ctx_list, wd_remove_ctx_list};
pub(crate) use dev::device_nodes;
pub use dev::{
    wd_add_dev_to_list, wd_clone_dev, wd_find_dev_by_numa, wd_free_list_accels, wd_get_accel_dev,
    wd_get_accel_list, wd_get_avail_ctx, wd_get_dev_usage, wd_is_isolate,
};
pub use numa::{wd_create_device_nodemask, wd_free_device_nodemask};
pub use util::{memcmp_consttime, wd_get_accel_name, wd_get_version, wd_need_debug, wd_need_info};
