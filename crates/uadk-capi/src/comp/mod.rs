//! `libwd_comp` (version node `UADK_COMP_2.0`): init, sessions and requests.
//!
//! `instance.rs` holds the framework instance the inits install, `init.rs` the inits,
//! `sess.rs` the session table, `req.rs` what the request calls share, `sync.rs` the
//! sync, sync2 and stream calls, `submit.rs` async submission, `poll.rs` reaping.

mod init;
mod instance;
mod poll;
mod req;
mod sess;
mod submit;
mod sync;

pub use init::{
    wd_comp_ctx_num_init, wd_comp_ctx_num_uninit, wd_comp_env_init, wd_comp_env_uninit,
    wd_comp_get_env_param, wd_comp_init, wd_comp_init2_, wd_comp_uninit, wd_comp_uninit2,
};
pub(crate) use instance::install;
pub use poll::{wd_comp_get_msg, wd_comp_poll, wd_comp_poll_ctx};
pub(crate) use sess::with_sess;
pub use sess::{wd_comp_alloc_sess, wd_comp_free_sess, wd_comp_reset_sess};
pub use submit::wd_do_comp_async;
pub use sync::{wd_do_comp_strm, wd_do_comp_sync, wd_do_comp_sync2};
