//! Embeds the dashboard's files (ui/src and ui/vendor, all committed) into the binary, so
//! `rapport ui` needs no network, no CDN and no files beside the binary at run time.

use std::fmt::Write as _;
use std::path::Path;
use std::{env, fs};

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "woff2" => "font/woff2",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn collect(dir: &Path, prefix: &str, out: &mut Vec<(String, String)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = e.path();
        if path.is_dir() {
            collect(&path, &format!("{prefix}{name}/"), out);
        } else {
            out.push((format!("{prefix}{name}"), path.display().to_string()));
        }
    }
}

fn main() {
    let manifest = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let ui = Path::new(&manifest).join("..").join("ui");
    let mut files = Vec::new();
    for (sub, prefix) in [("src", "/"), ("vendor", "/vendor/")] {
        let dir = ui.join(sub);
        println!("cargo:rerun-if-changed={}", dir.display());
        collect(&dir, prefix, &mut files);
    }
    let mut code = String::from(
        "/// (URL path, content type, bytes) of every dashboard file.\npub static FILES: &[(&str, &str, &[u8])] = &[\n",
    );
    for (url, path) in &files {
        writeln!(
            code,
            "    ({url:?}, {:?}, include_bytes!({path:?})),",
            content_type(url)
        )
        .expect("writing to a String cannot fail");
    }
    code.push_str("];\n");
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("ui_files.rs");
    fs::write(out, code).expect("cannot write the embedded file table");
}
