//! Link the cagebox binary as a non-PIE executable. Start time matters (every
//! package script pays it): a PIE build applies ~21,000 relative relocations,
//! page-faulting its data in, at every start; a non-PIE one needs none.
fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
