//! Lets binaries and tests find the prebuilt libduckdb at run time.
//!
//! When `DUCKDB_LIB_DIR` points at the prebuilt library (scripts/env.sh sets
//! it), every binary and test of this package gets an rpath to it. A build
//! with the `bundled` feature links DuckDB statically and needs nothing.
fn main() {
    println!("cargo:rerun-if-env-changed=DUCKDB_LIB_DIR");
    let bundled = std::env::var_os("CARGO_FEATURE_BUNDLED").is_some();
    if let (false, Some(dir)) = (bundled, std::env::var_os("DUCKDB_LIB_DIR")) {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.to_string_lossy());
    }
}
