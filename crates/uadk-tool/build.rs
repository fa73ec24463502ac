//! Records the build's target, profile and compiler for `uadk_tool dfx --version`.

use std::process::Command;

fn main() {
    for (name, var) in [
        ("UADK_TOOL_TARGET", "TARGET"),
        ("UADK_TOOL_PROFILE", "PROFILE"),
        ("UADK_TOOL_OPT_LEVEL", "OPT_LEVEL"),
    ] {
        let val = std::env::var(var).unwrap_or_else(|_| "unknown".into());
        println!("cargo:rustc-env={name}={val}");
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "rustc (version unknown)".into());
    println!("cargo:rustc-env=UADK_TOOL_RUSTC={version}");
    println!("cargo:rerun-if-changed=build.rs");
}
