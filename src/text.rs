//! Wording shared by everything that talks to the user (plans, reports, errors, progress), and
//! reading the text hosts send back base64-encoded.

/// `1 host`, `2 hosts`.
pub(crate) fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Text a host sent base64-encoded (command output, error messages), read leniently: invalid
/// UTF-8 is replaced, and a garbled encoding reads as nothing rather than failing the report.
pub(crate) fn from_base64(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}
