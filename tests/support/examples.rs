//! The compiled example binaries, for tests that run them as a user would.

use std::path::PathBuf;

/// The path of a compiled example: `target/<profile>/examples/<name>`,
/// beside the `deps/` folder the test binary lives in. `cargo test` builds
/// the examples first; a test run alone needs `cargo build --examples`.
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in target/<profile>/deps");
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is missing: `cargo test` builds the examples; when running this \
         test alone, run `cargo build --examples` first",
        path.display()
    );
    path
}
