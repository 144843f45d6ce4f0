//! Exit codes, decided in one place: 0 success (or no changes), 1 error or failed host,
//! 2 changes pending (`plan --detailed-exitcode`).

/// Success; for `plan`, also "no changes" with `--detailed-exitcode`.
pub(crate) const OK: i32 = 0;
/// Bad input, an unreachable or failed host, a stale plan, a refused lock.
pub(crate) const ERROR: i32 = 1;
/// `plan --detailed-exitcode` found changes to make.
pub(crate) const CHANGES: i32 = 2;
