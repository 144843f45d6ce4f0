//! OpenSSH `known_hosts` marker lines, which libssh2 does not understand. `@revoked` names a key
//! that must never be accepted (for any host: a revoked key is revoked everywhere), and
//! `@cert-authority` names a CA that signs host certificates — recon does not verify host
//! certificates, so such a line is neither a host key nor a reason to trust one. Marker lines are
//! split off here; only plain lines reach libssh2's host-key check.

use base64::Engine as _;

/// A marker line recon will not guess at (1-based line numbers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum BadLine {
    /// `@revoked` without its three fields.
    RevokedFields(usize),
    /// `@revoked` with a key that is not base64.
    RevokedKey { line: usize, error: String },
}

impl std::fmt::Display for BadLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::RevokedFields(n) => write!(f, "line {n}: `@revoked` needs `hosts keytype key`"),
            Self::RevokedKey { line, error } => {
                write!(f, "line {line}: the revoked key is not base64 ({error})")
            }
        }
    }
}

/// A known_hosts file read for recon's check.
#[derive(Debug, Default)]
pub(super) struct KnownHostsFile<'a> {
    /// Plain `hosts keytype base64` lines (1-based line number, text) for libssh2.
    pub(super) plain: Vec<(usize, &'a str)>,
    /// Revoked keys (decoded key blobs) with their line numbers.
    pub(super) revoked: Vec<(usize, Vec<u8>)>,
    /// Line numbers of `@cert-authority` lines (reported, never used).
    pub(super) cert_authorities: Vec<usize>,
}

impl<'a> KnownHostsFile<'a> {
    /// Sorts the lines of `text`. Comments and blank lines are dropped; a marker line whose key
    /// does not decode is an error (a revocation that silently fails to apply is worse than none).
    pub(super) fn parse(text: &'a str) -> Result<Self, BadLine> {
        let mut file = KnownHostsFile::default();
        for (i, line) in text.lines().enumerate() {
            let number = i + 1;
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let mut fields = trimmed.split_whitespace();
            let first = fields.next().unwrap_or_default();
            match first {
                "@revoked" => {
                    let key = fields.nth(2).ok_or(BadLine::RevokedFields(number))?;
                    let blob = base64::engine::general_purpose::STANDARD
                        .decode(key)
                        .map_err(|e| BadLine::RevokedKey {
                            line: number,
                            error: e.to_string(),
                        })?;
                    file.revoked.push((number, blob));
                }
                "@cert-authority" => file.cert_authorities.push(number),
                // Unknown markers are skipped, as OpenSSH does: never a plain host key.
                m if m.starts_with('@') => {}
                _ => file.plain.push((number, trimmed)),
            }
        }
        Ok(file)
    }

    /// The line that revokes `key` (the server's key blob), if any.
    pub(super) fn revokes(&self, key: &[u8]) -> Option<usize> {
        self.revoked
            .iter()
            .find(|(_, blob)| blob == key)
            .map(|(n, _)| *n)
    }
}

#[cfg(test)]
mod tests {
    use super::KnownHostsFile;

    #[test]
    fn markers_are_split_from_plain_lines() {
        let text = "# comment\n\n[127.0.0.1]:2201 ssh-ed25519 AAAA\n@revoked * ssh-ed25519 AQID\n@cert-authority *.example ssh-ed25519 AAAA\n@future x y z\n";
        let f = KnownHostsFile::parse(text).expect("parses");
        assert_eq!(f.plain, [(3, "[127.0.0.1]:2201 ssh-ed25519 AAAA")]);
        assert_eq!(f.revokes(&[1, 2, 3]), Some(4));
        assert_eq!(f.revokes(&[1, 2]), None);
        assert_eq!(f.cert_authorities, [5]);
    }

    #[test]
    fn a_revocation_that_cannot_be_read_is_an_error() {
        assert!(KnownHostsFile::parse("@revoked * ssh-ed25519 !!!\n").is_err());
        assert!(KnownHostsFile::parse("@revoked *\n").is_err());
    }
}
