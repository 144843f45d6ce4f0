//! Who is running recon, for the lock holder shown to others ("locked by recon alice@build pid
//! 42"). `$USER` is unset under cron, systemd units and `env -i`, so the name comes from the
//! process's real uid (`/proc/self/status`) looked up in `/etc/passwd`; no libc call, no unsafe.

/// The login name of the account running this process: the passwd entry of the real uid, else
/// `$USER`/`$LOGNAME`, else `uid N`, else `unknown`.
pub(crate) fn login_name() -> String {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| real_uid(&s));
    if let Some(name) = uid.and_then(|u| {
        std::fs::read_to_string("/etc/passwd")
            .ok()
            .and_then(|p| passwd_name(&p, u))
    }) {
        return name;
    }
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| uid.map(|u| format!("uid {u}")))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The real uid from `/proc/self/status` (`Uid:\treal\teffective\tsaved\tfs`).
fn real_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The first `/etc/passwd` entry with `uid` (`name:x:uid:gid:gecos:home:shell`).
fn passwd_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let id: u32 = f.nth(1)?.parse().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::{login_name, passwd_name, real_uid};

    #[test]
    fn reads_uid_and_passwd() {
        let status = "Name:\trecon\nUid:\t1001\t0\t0\t0\nGid:\t0\t0\t0\t0\n";
        assert_eq!(real_uid(status), Some(1001));
        let passwd =
            "root:x:0:0:root:/root:/bin/sh\n# comment\nalice:x:1001:1001::/home/alice:/bin/sh\n";
        assert_eq!(passwd_name(passwd, 1001).as_deref(), Some("alice"));
        assert_eq!(passwd_name(passwd, 0).as_deref(), Some("root"));
        assert_eq!(passwd_name(passwd, 7), None);
    }

    #[test]
    fn names_this_process_from_its_uid() {
        // The tests run as a real account: the name is never the `unknown` placeholder.
        assert_ne!(login_name(), "unknown");
    }
}
