//! When a rolling rollout (`serial:`) stops, decided as Ansible does: after a batch in which
//! every host failed, or, with `max_fail_percentage` (`--max-fail-percent` overrides it), after a
//! batch whose share of failed hosts exceeds it (more than, not equal). The percentage applies
//! to each batch, not to the play. Hosts of the batches after it are not attempted.

use crate::text::count;

/// The stop rule of one play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Rollout {
    /// The share (0-100) of a batch's hosts that may fail; none = only a wholly failed batch
    /// stops the play.
    pub(super) max_fail_percentage: Option<u8>,
}

impl Rollout {
    /// Whether `failed` failed hosts in a batch of `size` stop the play.
    pub(super) fn stops(self, failed: usize, size: usize) -> bool {
        match self.max_fail_percentage {
            Some(pct) => failed * 100 > usize::from(pct) * size,
            None => size > 0 && failed == size,
        }
    }

    /// Why the hosts after batch `number` (1-based) were not attempted.
    pub(super) fn reason(self, number: usize, failed: usize, size: usize) -> String {
        format!(
            "an earlier batch failed ({})",
            self.summary(number, failed, size)
        )
    }

    /// Batch `number` (1-based) and its failures, against the limit when there is one.
    pub(super) fn summary(self, number: usize, failed: usize, size: usize) -> String {
        let limit = self
            .max_fail_percentage
            .map(|pct| format!(", more than max_fail_percentage {pct}%"))
            .unwrap_or_default();
        format!(
            "batch {number}: {failed} of {} failed{limit}",
            count(size, "host")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Rollout;

    #[test]
    fn without_a_percentage_only_a_wholly_failed_batch_stops() {
        let r = Rollout {
            max_fail_percentage: None,
        };
        assert!(!r.stops(0, 2));
        assert!(!r.stops(1, 2));
        assert!(r.stops(2, 2));
        assert!(r.stops(1, 1), "serial: 1 with a broken host stops after it");
        assert!(!r.stops(0, 0));
    }

    #[test]
    fn a_percentage_stops_only_when_exceeded_in_the_batch() {
        let r = |pct| Rollout {
            max_fail_percentage: Some(pct),
        };
        assert!(!r(50).stops(1, 2), "equal is not more");
        assert!(r(49).stops(1, 2));
        assert!(r(0).stops(1, 4), "0 = any failure stops");
        assert!(!r(0).stops(0, 4));
        assert!(!r(100).stops(4, 4), "100 never stops");
        assert!(r(25).stops(2, 4) && !r(25).stops(1, 4));
    }
}
