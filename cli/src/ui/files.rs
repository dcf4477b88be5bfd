//! The dashboard's files, compiled in from ui/src and ui/vendor by `cli/build.rs`.

include!(concat!(env!("OUT_DIR"), "/ui_files.rs"));

pub struct File {
    pub content_type: &'static str,
    pub body: &'static [u8],
}

/// The file served at `path` (`/` is `/index.html`). Only exact names of embedded files match:
/// there is no file system behind this, so `..` and encoded tricks find nothing.
pub fn find(path: &str) -> Option<File> {
    let path = if path == "/" { "/index.html" } else { path };
    FILES
        .iter()
        .find(|(name, _, _)| *name == path)
        .map(|(_, content_type, body)| File { content_type, body })
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_embedded_names_are_files() {
        assert!(super::find("/../Cargo.toml").is_none());
        assert!(super::find("/%2e%2e/etc/passwd").is_none());
        assert!(super::find("//etc/passwd").is_none());
    }
}
