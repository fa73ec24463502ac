//! Inputs: the Silesia files, a VM memory image made from them, and the scratch folder.

use super::{Args, FALLBACK_LEN, PAGE, QUICK_SLICE, QUICK_VM_MB};
use crate::common::{Context, Result};
use crate::datagen;
use crate::datagen::XorShift;
use std::fs;
use std::path::{Path, PathBuf};

/// One input, as a file in the scratch folder.
pub(super) struct Input {
    pub(super) name: String,
    pub(super) what: String,
    pub(super) path: PathBuf,
    /// Every contender (the main input and the VM image), or whole files only.
    pub(super) detailed: bool,
    pub(super) main: bool,
}

/// Regular, non-empty files of the corpus folder, by name.
pub(super) fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() > 0))
        .filter(|p| p.extension().is_none_or(|e| e != "zip"))
        .collect();
    v.sort();
    v
}

/// Uniform in `0..n`, as an index.
pub(super) fn below(rng: &mut XorShift, n: usize) -> usize {
    rng.below(n as u64) as usize
}

/// Shares of the VM image's pages, in percent: zero, near-duplicate, corpus, random.
pub(super) const VM_MIX: [(usize, &str); 4] = [
    (40, "zero pages"),
    (
        30,
        "near-duplicates of 64 corpus pages, 1 to 8 bytes changed",
    ),
    (25, "pages of the corpus"),
    (
        5,
        "random bytes (data the guest already compressed or encrypted)",
    ),
];

/// A synthetic VM memory image of `pages` pages drawn from `source` (see [`VM_MIX`]).
pub(super) fn vm_image(pages: usize, source: &[u8]) -> Vec<u8> {
    let mut rng = XorShift(0x517c_c1b7_2722_0a95);
    let src_pages = (source.len() / PAGE).max(1);
    let page_of = |k: usize| -> &[u8] {
        let s = (k % src_pages) * PAGE;
        &source[s.min(source.len())..(s + PAGE).min(source.len())]
    };
    let templates: Vec<usize> = (0..64).map(|_| below(&mut rng, src_pages)).collect();
    let mut img = vec![0u8; pages * PAGE];
    for p in img.chunks_mut(PAGE) {
        let r = below(&mut rng, 100);
        if r < VM_MIX[0].0 {
            continue;
        }
        if r < VM_MIX[0].0 + VM_MIX[1].0 {
            let t = page_of(templates[below(&mut rng, templates.len())]);
            p[..t.len()].copy_from_slice(t);
            for _ in 0..1 + below(&mut rng, 8) {
                let at = below(&mut rng, PAGE);
                p[at] = rng.next() as u8;
            }
        } else if r < VM_MIX[0].0 + VM_MIX[1].0 + VM_MIX[2].0 {
            let t = page_of(below(&mut rng, src_pages));
            p[..t.len()].copy_from_slice(t);
        } else {
            for b in p.chunks_mut(8) {
                let x = rng.next().to_le_bytes();
                b.copy_from_slice(&x[..b.len()]);
            }
        }
    }
    img
}

/// Copy the corpus (or a slice of each file) into the scratch folder, with the files
/// concatenated and the VM image. Returns the inputs, main one first.
pub(super) fn build_inputs(args: &Args, scratch: &Path) -> Result<Vec<Input>> {
    let dir = args
        .corpus
        .clone()
        .unwrap_or_else(|| PathBuf::from("scratch/corpus"));
    let files = corpus_files(&dir);
    let mut inputs = Vec::new();
    let mut all: Vec<u8> = Vec::new();
    let mut per_file = Vec::new();
    let mut names = Vec::new();
    for f in &files {
        let mut d = fs::read(f).context(f.display())?;
        if args.quick {
            d.truncate(QUICK_SLICE);
        }
        let name = f
            .file_name()
            .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
        all.extend_from_slice(&d);
        names.push(name.clone());
        if !args.quick {
            let path = scratch.join(&name);
            fs::write(&path, &d).context(path.display())?;
            per_file.push(Input {
                what: format!("{} bytes", d.len()),
                name,
                path,
                detailed: false,
                main: false,
            });
        }
    }
    let (main_name, what) = if files.is_empty() {
        eprintln!(
            "compare: no corpus files in {} (scripts/compare.sh unzips Silesia there); \
             using generated text",
            dir.display()
        );
        all = datagen::text(if args.quick { 8 << 20 } else { FALLBACK_LEN });
        (
            "generated text".to_string(),
            "built-in text-like data".into(),
        )
    } else if args.quick {
        (
            format!("corpus sample ({} files)", files.len()),
            format!(
                "the first {} MiB of each of {} from {}, concatenated",
                QUICK_SLICE >> 20,
                names.join(", "),
                dir.display()
            ),
        )
    } else {
        (
            format!("corpus, all {} files", files.len()),
            format!("{} from {}, concatenated", names.join(", "), dir.display()),
        )
    };
    let path = scratch.join("corpus.all");
    fs::write(&path, &all).context(path.display())?;
    inputs.push(Input {
        what: format!("{what}; {} bytes", all.len()),
        name: main_name,
        path,
        detailed: true,
        main: true,
    });
    let vm_mb = if args.quick {
        (args.vm_image_mb as usize).min(QUICK_VM_MB)
    } else {
        args.vm_image_mb as usize
    };
    if vm_mb > 0 {
        let img = vm_image(vm_mb << 8, &all);
        let path = scratch.join("vm.img");
        fs::write(&path, &img).context(path.display())?;
        let mix: Vec<String> = VM_MIX
            .iter()
            .map(|(pct, what)| format!("{pct}% {what}"))
            .collect();
        inputs.push(Input {
            name: format!("VM memory image ({vm_mb} MiB)"),
            what: format!(
                "{} pages of 4 KiB: {}; {} bytes",
                img.len() / PAGE,
                mix.join(", "),
                img.len()
            ),
            path,
            detailed: true,
            main: false,
        });
    }
    inputs.extend(per_file);
    Ok(inputs)
}

/// The scratch folder, removed when dropped.
pub(super) struct Scratch(pub(super) PathBuf);

impl Scratch {
    pub(super) fn create(choice: Option<&Path>) -> Result<Scratch> {
        let name = format!("uadk-compare-{}", std::process::id());
        let base = match choice {
            Some(p) => p.to_path_buf(),
            None if Path::new("/dev/shm").is_dir() => PathBuf::from("/dev/shm"),
            None => std::env::temp_dir(),
        };
        let dir = base.join(name);
        fs::create_dir_all(&dir).context(dir.display())?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
