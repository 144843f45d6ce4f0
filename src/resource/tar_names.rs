//! The name GNU tar will write must be the name recon checked. The `tar` crate and GNU tar read
//! extension headers differently in corners a hostile archive can use: GNU tar lets a pax `path`
//! override a GNU long name (the crate the other way round), takes the *last* of two `path`
//! records (the crate the first), writes a GNU sparse member under `GNU.sparse.name` (the crate
//! does not know it), applies a global header's keywords to every later member (the crate skips
//! global headers), and cuts names at a NUL byte. Each of these is refused, so a member can never
//! hide under a reviewed name. Also refused: data after the end of the archive (the host's
//! `gzip -d` exits non-zero on trailing garbage, so the release would fail on every host).

use std::collections::HashSet;
use std::io::{self, Read};

/// Pax keywords a global header (`g`) may carry: `git archive` writes the commit id as
/// `comment`. Any other keyword would apply to every later member under GNU tar.
const GLOBAL_KEYS: &[&str] = &["comment"];

/// Why the global header `entry` is refused, if it is.
pub(super) fn global_problem<R: Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<Option<String>> {
    let Some(exts) = entry.pax_extensions()? else {
        return Ok(None);
    };
    for ext in exts {
        let ext = ext?;
        let key = String::from_utf8_lossy(ext.key_bytes()).into_owned();
        if !GLOBAL_KEYS.contains(&key.as_str()) {
            return Ok(Some(format!(
                "a pax global header sets `{key}`, which GNU tar applies to every later member"
            )));
        }
    }
    Ok(None)
}

/// Why the member `entry` (extension headers already folded in by the crate) could be written
/// by GNU tar under another name than the one the crate reports, if it could.
pub(super) fn member_problem<R: Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<Option<String>> {
    let path = entry.path_bytes().into_owned();
    let link = entry.link_name_bytes().map(std::borrow::Cow::into_owned);
    let shown = String::from_utf8_lossy(&path).into_owned();
    if path.contains(&0) || link.as_ref().is_some_and(|l| l.contains(&0)) {
        return Ok(Some(format!(
            "member `{}` has a NUL byte in its name or link target (GNU tar would cut it there)",
            shown.replace('\0', "\\0")
        )));
    }
    let Some(exts) = entry.pax_extensions()? else {
        return Ok(None);
    };
    let mut keys = HashSet::new();
    for ext in exts {
        let ext = ext?;
        let key = String::from_utf8_lossy(ext.key_bytes()).into_owned();
        if key.starts_with("GNU.sparse.") {
            return Ok(Some(format!(
                "member `{shown}` is described by GNU sparse headers (`{key}`): GNU tar would write it under another name; sparse members are not allowed"
            )));
        }
        if !keys.insert(key.clone()) {
            return Ok(Some(format!(
                "the pax header of member `{shown}` sets `{key}` twice (GNU tar uses the last, other readers the first)"
            )));
        }
        let differs = match key.as_str() {
            "path" => ext.value_bytes() != path.as_slice(),
            "linkpath" => link.as_deref() != Some(ext.value_bytes()),
            _ => false,
        };
        if differs {
            return Ok(Some(format!(
                "member `{shown}` has both a GNU long name and a pax `{key}` (`{}`): GNU tar would use the pax one",
                String::from_utf8_lossy(ext.value_bytes())
            )));
        }
    }
    Ok(None)
}

/// Reads what follows the end-of-archive blocks (through the gunzip, when there is one) and
/// fails unless it is zero padding: trailing garbage, a second archive or a broken gzip trailer.
pub(super) fn expect_only_padding(rest: &mut dyn Read) -> io::Result<()> {
    let mut buf = [0_u8; 8192];
    loop {
        let n = rest.read(&mut buf).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unreadable data after the end of the tar archive ({e})"),
            )
        })?;
        if n == 0 {
            return Ok(());
        }
        if buf[..n].iter().any(|b| *b != 0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "data after the end of the tar archive (trailing garbage); tar and gzip on the host would fail on it",
            ));
        }
    }
}
