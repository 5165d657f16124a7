//! A private directory for a test's Unix socket files (and the `TMPDIR` of
//! the processes it starts), removed with everything in it when the test
//! ends, pass or fail.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// See the module documentation.
pub struct SocketDir(pub PathBuf);

impl SocketDir {
    /// A fresh directory under the temporary directory, named after `test`
    /// and unique in this process.
    pub fn new(test: &str) -> SocketDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sigloop-{test}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("a test directory");
        SocketDir(dir)
    }

    /// The path of `file` in the directory, as a server name.
    pub fn name(&self, file: &str) -> String {
        self.0.join(file).to_string_lossy().into_owned()
    }

    /// The names in the directory, sorted.
    pub fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .expect("the test directory")
            .map(|e| {
                e.expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }
}

impl Drop for SocketDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
