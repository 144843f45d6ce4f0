//! A play's rolling batches (`serial:`), cut as Ansible cuts them: `serial: 2`, `serial: "30%"`
//! or a list of those (`[1, 5, "20%"]`: a first batch of 1, then 5, then 20% of the play's hosts
//! for every batch after). A percentage is of the play's whole host list, rounded down, and at
//! least 1; a number of 0 or less takes every host left.

use crate::error::{Error, Result};
use crate::yaml::Node;

/// The batch sizes in order, the last one repeated until the hosts run out; 0 = every host left.
pub(crate) fn batch_sizes(serial: Option<&Node>, hosts: usize) -> Result<Vec<usize>> {
    let Some(node) = serial else {
        return Ok(vec![0]);
    };
    let items: Vec<&Node> = match node.as_seq() {
        Some([]) => return Ok(vec![0]),
        Some(items) => items.iter().collect(),
        None => vec![node],
    };
    items.into_iter().map(|item| size(item, hosts)).collect()
}

/// One `serial` value.
fn size(node: &Node, hosts: usize) -> Result<usize> {
    let text = node.scalar_text().unwrap_or_default().trim();
    let bad = || {
        Error::invalid(
            format!("`serial` must be a number, a percentage or a list of those, not `{text}`"),
            &node.span,
        )
    };
    if let Some(pct) = text.strip_suffix('%') {
        let pct: usize = pct.trim().parse().map_err(|_| bad())?;
        return Ok((hosts * pct / 100).max(1));
    }
    let count: i64 = text.parse().map_err(|_| bad())?;
    Ok(usize::try_from(count).unwrap_or(0))
}

/// `items` cut into batches of `sizes` (the last size repeats; 0 takes the rest).
pub(crate) fn batches<'a, T>(items: &'a [T], sizes: &[usize]) -> Vec<&'a [T]> {
    let mut out = Vec::new();
    let mut rest = items;
    let mut next = sizes.iter().copied();
    let mut size = 0;
    while !rest.is_empty() {
        size = next.next().unwrap_or(size);
        let take = if size == 0 {
            rest.len()
        } else {
            size.min(rest.len())
        };
        let (batch, after) = rest.split_at(take);
        out.push(batch);
        rest = after;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(yaml: &str, hosts: usize) -> Vec<usize> {
        let doc =
            crate::yaml::parse_text(std::path::Path::new("t.yml"), yaml.to_owned()).expect("yaml");
        batch_sizes(Some(&doc), hosts).expect("serial")
    }

    fn cut(sizes: &[usize], n: usize) -> Vec<usize> {
        let hosts: Vec<usize> = (0..n).collect();
        batches(&hosts, sizes).iter().map(|b| b.len()).collect()
    }

    #[test]
    fn a_list_gives_the_first_batches_and_its_last_size_repeats() {
        assert_eq!(cut(&sizes("[1, 2]", 7), 7), [1, 2, 2, 2]);
        assert_eq!(cut(&sizes("[1, \"50%\"]", 10), 10), [1, 5, 4]);
        assert_eq!(cut(&sizes("3", 7), 7), [3, 3, 1]);
        assert_eq!(cut(&[0], 5), [5], "no serial: one batch");
        assert_eq!(cut(&sizes("[]", 5), 5), [5]);
        assert_eq!(cut(&sizes("[1, 0]", 5), 5), [1, 4], "0 takes the rest");
        assert!(cut(&[2], 0).is_empty());
    }

    #[test]
    fn a_percentage_rounds_down_to_at_least_one_as_ansible_does() {
        assert_eq!(sizes("\"30%\"", 4), [1], "int(0.3 * 4) = 1");
        assert_eq!(sizes("\"30%\"", 10), [3]);
        assert_eq!(sizes("\"10%\"", 4), [1], "0 becomes 1");
        assert_eq!(sizes("-1", 4), [0], "a number below 1 takes every host");
    }

    #[test]
    fn anything_else_is_a_located_error() {
        let doc = crate::yaml::parse_text(std::path::Path::new("t.yml"), "[1, lots]".to_owned())
            .expect("yaml");
        let err = batch_sizes(Some(&doc), 4).expect_err("refused");
        assert!(err.to_string().contains("not `lots`"), "{err}");
    }
}
