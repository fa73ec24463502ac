//! The C compiler's view of the headers must equal the Rust mirrors: every sizeof, offsetof
//! and constant that `tests/c/abi_check.c` prints.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

#[test]
fn c_headers_and_rust_mirrors_agree() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let exe = std::env::temp_dir().join(format!("uadk-abi-check-{}", std::process::id()));
    let out = Command::new("cc")
        .arg("-Wall")
        .arg("-Werror")
        .arg("-I")
        .arg(root.join("capi/include"))
        .arg(root.join("tests/c/abi_check.c"))
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("the system C compiler (cc) is needed for the ABI check");
    assert!(
        out.status.success(),
        "cc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().expect("run abi_check");
    let _ = std::fs::remove_file(&exe);
    assert!(run.status.success());
    let c: BTreeMap<String, i64> = String::from_utf8_lossy(&run.stdout)
        .lines()
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.trim().to_string(), v.trim().parse().ok()?))
        })
        .collect();
    let mut missing = Vec::new();
    let mut differ = Vec::new();
    for (name, rust) in uadk_capi::abi::facts() {
        match c.get(&name) {
            None => missing.push(name),
            Some(&cv) if cv != rust => differ.push(format!("{name}: C {cv}, Rust {rust}")),
            Some(_) => {}
        }
    }
    assert!(differ.is_empty(), "layouts differ:\n{}", differ.join("\n"));
    assert!(
        missing.is_empty(),
        "abi_check.c does not print: {missing:?}"
    );
}
