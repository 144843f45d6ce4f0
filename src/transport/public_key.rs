//! Which public key an SSH session authenticated with, as `type base64` (the form of an
//! `authorized_keys` line), so the resources that could remove or restrict it know the door
//! recon came in by (see `door/`). Read from the identity file's `.pub`, else from the public
//! half an OpenSSH private key file carries in clear (even when it is encrypted), or from the
//! blob of the agent key that was accepted.

use std::path::Path;

use base64::Engine as _;

/// The `type base64` of the public key for the private key file `private`, or `None` when
/// neither its `.pub` nor the file itself (OpenSSH format) says.
pub(crate) fn of_identity_file(private: &Path) -> Option<String> {
    let mut public = private.as_os_str().to_owned();
    public.push(".pub");
    if let Ok(text) = std::fs::read_to_string(&public) {
        let mut words = text.split_whitespace();
        if let (Some(kind), Some(blob)) = (words.next(), words.next()) {
            return Some(format!("{kind} {blob}"));
        }
    }
    let text = std::fs::read_to_string(private).ok()?;
    of_openssh_private_key(&text)
}

/// The public key inside an `-----BEGIN OPENSSH PRIVATE KEY-----` file: after the magic, the
/// cipher, KDF and KDF options strings and the key count comes the first public key's blob,
/// never encrypted.
fn of_openssh_private_key(text: &str) -> Option<String> {
    let body: String = text
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .ok()?;
    let mut rest = bytes.strip_prefix(b"openssh-key-v1\0")?;
    for _ in 0..3 {
        rest = ssh_string(rest)?.1;
    }
    let count = rest.get(..4)?;
    if u32::from_be_bytes(count.try_into().ok()?) == 0 {
        return None;
    }
    let (blob, _) = ssh_string(rest.get(4..)?)?;
    of_blob(blob)
}

/// `type base64` of a public key blob (the agent's identity blob, an SSH wire key), whose
/// first field is its type.
pub(crate) fn of_blob(blob: &[u8]) -> Option<String> {
    let (kind, _) = ssh_string(blob)?;
    let kind = std::str::from_utf8(kind).ok()?;
    Some(format!(
        "{kind} {}",
        base64::engine::general_purpose::STANDARD.encode(blob)
    ))
}

/// One SSH wire `string` (a big-endian u32 length, then the bytes) and what follows it.
fn ssh_string(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let end = 4usize.checked_add(len)?;
    Some((bytes.get(4..end)?, bytes.get(end..)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_key_comes_from_the_pub_file_or_the_private_key_itself() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("id");
        let made = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "x", "-f"])
            .arg(&key)
            .status()
            .expect("ssh-keygen");
        assert!(made.success());
        let public = std::fs::read_to_string(dir.path().join("id.pub")).expect("pub");
        let want: Vec<&str> = public.split_whitespace().take(2).collect();
        let want = want.join(" ");
        assert_eq!(of_identity_file(&key).as_deref(), Some(want.as_str()));
        std::fs::remove_file(dir.path().join("id.pub")).expect("rm pub");
        assert_eq!(
            of_identity_file(&key).as_deref(),
            Some(want.as_str()),
            "read from the private key's clear public half"
        );
        std::fs::write(&key, "garbage").expect("write");
        assert_eq!(of_identity_file(&key), None);
        assert_eq!(of_blob(&[0, 0, 0, 9, b'x']), None, "truncated blob");
    }
}
