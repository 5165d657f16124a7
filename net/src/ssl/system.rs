//! The system's CA certificates, loaded on first use.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::SslCertificate;

/// OpenSSL's variable naming a CA bundle file to use instead of the
/// system's.
const CERT_FILE_ENV: &str = "SSL_CERT_FILE";
/// OpenSSL's variable naming CA directories (`:`-separated).
const CERT_DIR_ENV: &str = "SSL_CERT_DIR";

/// Where distributions keep the CA bundle, most common first (Debian and
/// Ubuntu, Fedora and RHEL, openSUSE, Alpine and others).
const BUNDLE_FILES: [&str; 5] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
];
/// The directory of single certificates, read when no bundle is found.
const CERT_DIR: &str = "/etc/ssl/certs";

/// A file bigger than this is not a certificate store (Debian's bundle
/// is 215 KiB).
const MAX_FILE: u64 = 16 << 20;

/// The system's trusted CA certificates, read once, on the first call,
/// and kept for the life of the process.
///
/// As OpenSSL (Qt's backend) does: `SSL_CERT_FILE` names the bundle file
/// and `SSL_CERT_DIR` the directories (`:`-separated) to read instead of
/// the system's; without them the distribution's bundle
/// (`/etc/ssl/certs/ca-certificates.crt` on Debian) is read, or the
/// certificates in `/etc/ssl/certs` when there is no bundle. Unreadable
/// files and malformed certificates are skipped; duplicates are dropped.
/// An empty list means none were found.
///
/// Qt: `QSslConfiguration::systemCaCertificates()`
///
/// ```
/// use sigloop_net::ssl::system_ca_certificates;
///
/// let roots = system_ca_certificates();
/// assert!(roots.iter().all(|root| !root.to_der().is_empty()));
/// // Loaded once: the same list again.
/// assert_eq!(system_ca_certificates().len(), roots.len());
/// ```
pub fn system_ca_certificates() -> Vec<SslCertificate> {
    static CACHE: OnceLock<Vec<SslCertificate>> = OnceLock::new();
    CACHE
        .get_or_init(|| {
            let file = std::env::var_os(CERT_FILE_ENV).map(PathBuf::from);
            let dirs: Option<Vec<PathBuf>> =
                std::env::var_os(CERT_DIR_ENV).map(|value| std::env::split_paths(&value).collect());
            let roots = load(file.as_deref(), dirs.as_deref());
            log::debug!("loaded {} system CA certificates", roots.len());
            roots
        })
        .clone()
}

/// The certificates of `file` (else the first bundle that exists) and of
/// `dirs` (else, without a bundle, [`CERT_DIR`]), without duplicates.
pub(crate) fn load(file: Option<&Path>, dirs: Option<&[PathBuf]>) -> Vec<SslCertificate> {
    let bundle = match file {
        Some(file) => Some(file.to_path_buf()),
        None => BUNDLE_FILES
            .iter()
            .map(PathBuf::from)
            .find(|path| path.is_file()),
    };
    let mut found = Vec::new();
    if let Some(bundle) = &bundle {
        found.extend(read_file(bundle));
    }
    let default_dirs = [PathBuf::from(CERT_DIR)];
    let dirs: &[PathBuf] = match dirs {
        Some(dirs) => dirs,
        None if bundle.is_none() => &default_dirs,
        None => &[],
    };
    for dir in dirs {
        found.extend(read_dir(dir));
    }
    let mut seen = HashSet::new();
    found.retain(|certificate| seen.insert(certificate.clone()));
    found
}

/// Every certificate in a directory's regular files, in name order.
fn read_dir(dir: &Path) -> Vec<SslCertificate> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    paths.sort();
    paths.iter().flat_map(|path| read_file(path)).collect()
}

/// The certificates in one file; none if it cannot be read or is too big.
/// A malformed certificate in a bundle costs only itself.
fn read_file(path: &Path) -> Vec<SslCertificate> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Vec::new();
    };
    if !meta.is_file() || meta.len() > MAX_FILE {
        return Vec::new();
    }
    let Ok(data) = std::fs::read(path) else {
        return Vec::new();
    };
    if let Ok(all) = SslCertificate::list_from_pem(&data) {
        return all;
    }
    // One bad section fails the whole list: read the good ones one by one.
    split_pem(&data)
        .filter_map(|section| SslCertificate::from_pem(section).ok())
        .collect()
}

/// Each `-----BEGIN` ... `-----END ...-----` block of `data`.
fn split_pem(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    let mut rest = data;
    std::iter::from_fn(move || {
        let start = find(rest, BEGIN)?;
        let after = &rest[start + BEGIN.len()..];
        let end = find(after, b"-----END ")
            .map(|at| start + BEGIN.len() + at)
            .and_then(|at| find(&rest[at + 9..], b"-----").map(|close| at + 9 + close + 5))
            .unwrap_or(rest.len());
        let section = &rest[start..end];
        rest = &rest[end..];
        Some(section)
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC_CA: &str = include_str!("testdata/doc-ca.crt");

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("sigloop-system-ca-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_named_file_is_read_and_a_bad_section_costs_only_itself() {
        let dir = temp_dir("file");
        let file = dir.join("bundle.pem");
        let broken = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
        std::fs::write(&file, format!("{broken}{DOC_CA}{DOC_CA}")).unwrap();
        let roots = load(Some(&file), Some(&[]));
        assert_eq!(roots.len(), 1, "the good certificate, once");
        assert_eq!(roots[0].subject_display_name(), "sigloop doc CA");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn named_directories_are_read_and_junk_skipped() {
        let dir = temp_dir("dir");
        std::fs::write(dir.join("aabbccdd.0"), DOC_CA).unwrap();
        std::fs::write(dir.join("README"), "not a certificate").unwrap();
        let missing = dir.join("missing.pem");
        let roots = load(Some(&missing), Some(&[dir.clone(), dir.join("nope")]));
        assert_eq!(roots.len(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_system_store_loads_on_this_machine() {
        // Debian keeps the bundle where BUNDLE_FILES starts; on a machine
        // without one the list is simply empty.
        if Path::new(BUNDLE_FILES[0]).is_file() {
            assert!(load(None, None).len() > 10);
        }
    }
}
