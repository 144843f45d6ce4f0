//! ansible.utils' `ipaddr`, `ipv4`, `ipv6` and `ipwrap` filters (also by their `ansible.utils.`
//! and older `ansible.netcommon.` names): a value is read as netaddr's `IPNetwork` reads it
//! (an address, `address/prefix`, `address/netmask`, an integer, `integer/prefix`), then
//! answered by the query (`ipaddr_query`); a list keeps the elements whose answer is truthy.

// minijinja hands filters their arguments by value: that is its signature.
#![allow(clippy::needless_pass_by_value)]

use std::net::{Ipv4Addr, Ipv6Addr};

use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, Error};

use super::filters::invalid;
use super::ipaddr_query::answer;

/// The collections the filters are known under besides their short names.
const PREFIXES: [&str; 3] = ["", "ansible.utils.", "ansible.netcommon."];

/// Registers the filters under each name.
pub(crate) fn register(env: &mut Environment<'static>) {
    for prefix in PREFIXES {
        env.add_filter(
            format!("{prefix}ipaddr"),
            |value: Value, query: Option<Value>| {
                ipaddr(&value, &query_text(query.as_ref()), None, "ipaddr")
            },
        );
        env.add_filter(
            format!("{prefix}ipv4"),
            |value: Value, query: Option<Value>| {
                ipaddr(&value, &query_text(query.as_ref()), Some(4), "ipv4")
            },
        );
        env.add_filter(
            format!("{prefix}ipv6"),
            |value: Value, query: Option<Value>| {
                ipaddr(&value, &query_text(query.as_ref()), Some(6), "ipv6")
            },
        );
        env.add_filter(
            format!("{prefix}ipwrap"),
            |value: Value, query: Option<Value>| {
                Ok::<_, Error>(ipwrap(&value, &query_text(query.as_ref())))
            },
        );
    }
}

/// The query as ansible.utils reads it: a string (an integer index becomes its digits).
fn query_text(query: Option<&Value>) -> String {
    match query {
        None => String::new(),
        Some(q) if q.is_none() => String::new(),
        Some(q) => q.as_str().map_or_else(|| q.to_string(), str::to_owned),
    }
}

/// An address with its prefix, as netaddr's `IPNetwork` (the address is kept, not masked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Net {
    pub(super) ip: u128,
    pub(super) prefix: u32,
    pub(super) v6: bool,
}

/// Whether the value was written as an address or as a network (with a `/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Address,
    Network,
}

impl Net {
    /// Bits in an address of this family.
    pub(super) fn width(self) -> u32 {
        if self.v6 {
            128
        } else {
            32
        }
    }

    /// The host bits of the prefix.
    pub(super) fn hostmask(self) -> u128 {
        let bits = self.width() - self.prefix;
        1u128.checked_shl(bits).map_or(u128::MAX, |n| n - 1)
    }

    /// The prefix as a mask.
    pub(super) fn netmask(self) -> u128 {
        self.max() ^ self.hostmask()
    }

    /// The largest address of the family.
    pub(super) fn max(self) -> u128 {
        if self.v6 {
            u128::MAX
        } else {
            u128::from(u32::MAX)
        }
    }

    /// The first address of the network.
    pub(super) fn network(self) -> u128 {
        self.ip & self.netmask()
    }

    /// The last address, which netaddr calls the broadcast only when there are more than two.
    pub(super) fn broadcast(self) -> Option<u128> {
        (self.width() - self.prefix > 1).then(|| self.network() | self.hostmask())
    }

    /// How many addresses the network holds (None past `u128`: a whole IPv6 space).
    pub(super) fn size(self) -> Option<u128> {
        1u128.checked_shl(self.width() - self.prefix)
    }

    /// An address of the family written as netaddr writes it.
    pub(super) fn show(self, ip: u128) -> String {
        if self.v6 {
            Ipv6Addr::from(ip).to_string()
        } else {
            Ipv4Addr::from(u32::try_from(ip).unwrap_or(u32::MAX)).to_string()
        }
    }

    /// netaddr's `str(IPNetwork)`: the address as given, then the prefix.
    pub(super) fn cidr(self) -> String {
        format!("{}/{}", self.show(self.ip), self.prefix)
    }
}

/// `ipaddr(value, query, version)`: a list maps each element and keeps the truthy answers; a
/// value that is no address is `False`.
fn ipaddr(value: &Value, query: &str, version: Option<u8>, alias: &str) -> Result<Value, Error> {
    match value.kind() {
        ValueKind::Seq | ValueKind::Iterable => {
            let mut kept = Vec::new();
            for item in value.try_iter()? {
                let answer = ipaddr(&item, query, version, alias)?;
                if answer.is_true() {
                    kept.push(answer);
                }
            }
            Ok(Value::from(kept))
        }
        ValueKind::Bool => Ok(Value::from(false)),
        _ if !value.is_true() => Ok(Value::from(false)),
        ValueKind::String | ValueKind::Number => one(value, query, version, alias),
        _ => Err(invalid(format!(
            "Unrecognized type <{}> for {alias} filter <value>",
            value.kind()
        ))),
    }
}

/// One value's answer (see `ipaddr`).
pub(super) fn one(
    value: &Value,
    query: &str,
    version: Option<u8>,
    alias: &str,
) -> Result<Value, Error> {
    let text = value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned);
    let Some((net, kind, given)) = parse(&text, version) else {
        return Ok(Value::from(false));
    };
    let given = given.map_or_else(|| value.clone(), Value::from);
    answer(net, kind, &given, query, version, alias)
}

/// Reads a value as netaddr does; the third part is the text the value stands for when netaddr
/// rewrites it (an integer becomes `address/prefix`).
pub(super) fn parse(text: &str, version: Option<u8>) -> Option<(Net, Kind, Option<String>)> {
    if text.is_empty() {
        return None;
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let n: u128 = text.parse().ok()?;
        let v6 = version == Some(6) || n > u128::from(u32::MAX);
        let net = Net {
            ip: n,
            prefix: if v6 { 128 } else { 32 },
            v6,
        };
        return Some((net, Kind::Address, Some(net.cidr())));
    }
    let (address, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let kind = if prefix.is_some() {
        Kind::Network
    } else {
        Kind::Address
    };
    if let Some(net) = parse_address(address, prefix) {
        return Some((net, kind, None));
    }
    // netaddr's last try: `integer/prefix`.
    let (n, p): (u128, u32) = (address.parse().ok()?, prefix?.parse().ok()?);
    let v6 = n > u128::from(u32::MAX) || p > 32;
    let net = Net {
        ip: n,
        prefix: p,
        v6,
    };
    (p <= net.width()).then(|| (net, Kind::Network, Some(net.cidr())))
}

/// An address with an optional prefix length or (IPv4) netmask.
fn parse_address(address: &str, prefix: Option<&str>) -> Option<Net> {
    let (ip, v6) = if let Ok(v4) = address.parse::<Ipv4Addr>() {
        (u128::from(u32::from(v4)), false)
    } else {
        (u128::from(address.parse::<Ipv6Addr>().ok()?), true)
    };
    let width = if v6 { 128 } else { 32 };
    let prefix = match prefix {
        None => width,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok()?,
        Some(p) if !v6 => mask_length(p.parse::<Ipv4Addr>().ok()?)?,
        Some(_) => return None,
    };
    (prefix <= width).then_some(Net { ip, prefix, v6 })
}

/// The prefix length a netmask (`255.255.255.0`) or hostmask (`0.0.0.255`) stands for.
fn mask_length(mask: Ipv4Addr) -> Option<u32> {
    let m = u32::from(mask);
    if m.leading_ones() + m.trailing_zeros() == 32 {
        Some(m.leading_ones())
    } else if m.leading_zeros() + m.trailing_ones() == 32 {
        Some(m.leading_zeros())
    } else {
        None
    }
}

/// `ipwrap(query)`: IPv6 addresses (of those the query keeps) in brackets, everything else as
/// it was.
fn ipwrap(value: &Value, query: &str) -> Value {
    let wrap = |item: &Value| -> Value {
        let kept = one(item, query, None, "ipwrap").is_ok_and(|v| v.is_true());
        match (kept, item.kind()) {
            (true, ValueKind::String | ValueKind::Number) => {
                one(item, "wrap", None, "ipwrap").unwrap_or_else(|_| item.clone())
            }
            _ => item.clone(),
        }
    };
    match value.kind() {
        ValueKind::Seq | ValueKind::Iterable => value.try_iter().map_or_else(
            |_| value.clone(),
            |items| Value::from(items.map(|i| wrap(&i)).collect::<Vec<_>>()),
        ),
        _ => {
            let answer = one(value, query, None, "ipwrap").unwrap_or_default();
            if answer.is_true() && answer.as_str().is_some() {
                one(&answer, "wrap", None, "ipwrap").unwrap_or_else(|_| value.clone())
            } else {
                value.clone()
            }
        }
    }
}
