//! The workspace's pinned `uniffi-bindgen` (same uniffi version as `rapport-ffi`).
fn main() {
    uniffi::uniffi_bindgen_main()
}
