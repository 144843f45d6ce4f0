//! The queries of ansible.utils' `ipaddr` (`address`, `network`, `prefix`, `private`, an index,
//! a network to look the value up in, ...), each answering as its Python original does:
//! a string, a number, the value itself (a test that passed), `None` or `False`.

use minijinja::{Error, Value};

use super::filters::invalid;
use super::ipaddr::{parse, Kind, Net};

/// IPv4 networks netaddr's `is_global` takes as not globally reachable (IANA's registry).
const V4_LOCAL: &[(u128, u32)] = &[
    (0x0000_0000, 8),
    (0x0a00_0000, 8),
    (0x6440_0000, 10),
    (0x7f00_0000, 8),
    (0xa9fe_0000, 16),
    (0xac10_0000, 12),
    (0xc000_0000, 24),
    (0xc000_00aa, 31),
    (0xc000_0200, 24),
    (0xc0a8_0000, 16),
    (0xc612_0000, 15),
    (0xc633_6400, 24),
    (0xcb00_7100, 24),
    (0xf000_0000, 4),
    (0xffff_ffff, 32),
];

/// The exceptions inside them that are reachable.
const V4_GLOBAL: &[(u128, u32)] = &[(0xc000_0009, 32), (0xc000_000a, 32)];

/// IPv6 networks netaddr's `is_global` takes as not globally reachable.
const V6_LOCAL: &[(u128, u32)] = &[
    (1, 128),
    (0, 128),
    (0xffff_0000_0000, 96),
    (0x0064_ff9b_0001 << 80, 48),
    (0x0100 << 112, 64),
    (0x2001 << 112, 23),
    (0x2001_0db8 << 96, 32),
    (0x2002 << 112, 16),
    (0xfc00 << 112, 7),
    (0xfe80 << 112, 10),
];

/// The exceptions inside them that are reachable.
const V6_GLOBAL: &[(u128, u32)] = &[
    ((0x2001_0001 << 96) | 1, 128),
    ((0x2001_0001 << 96) | 2, 128),
    (0x2001_0003 << 96, 32),
    (0x2001_0004_0112 << 80, 48),
    (0x2001_0020 << 96, 28),
    (0x2001_0030 << 96, 28),
];

/// Whether `ip` of the family is in the network `(start, prefix)`.
fn within(v6: bool, ip: u128, (start, prefix): (u128, u32)) -> bool {
    let net = Net {
        ip: start,
        prefix,
        v6,
    };
    ip & net.netmask() == start
}

/// netaddr's `is_global`: not special-purpose, or special-purpose but reachable.
fn is_global(net: Net) -> bool {
    let (local, global) = if net.v6 {
        (V6_LOCAL, V6_GLOBAL)
    } else {
        (V4_LOCAL, V4_GLOBAL)
    };
    let hit = |list: &[(u128, u32)]| list.iter().any(|n| within(net.v6, net.ip, *n));
    !hit(local) || hit(global)
}

/// netaddr's `is_multicast` of the address.
fn is_multicast(net: Net) -> bool {
    if net.v6 {
        within(true, net.ip, (0xff00 << 112, 8))
    } else {
        within(false, net.ip, (0xe000_0000, 4))
    }
}

/// netaddr's `is_loopback` of the address.
fn is_loopback(net: Net) -> bool {
    if net.v6 {
        net.ip == 1
    } else {
        within(false, net.ip, (0x7f00_0000, 8))
    }
}

/// Whether `n` is zero or a power of two, counting `max + 1` (the sum that overflows) as one.
fn power_of_two(n: Option<u128>) -> bool {
    n.is_none_or(|n| n & n.wrapping_sub(1) == 0)
}

/// The answer to `query` for one parsed value; `given` is the value as the filter received it.
pub(super) fn answer(
    net: Net,
    kind: Kind,
    given: &Value,
    query: &str,
    version: Option<u8>,
    alias: &str,
) -> Result<Value, Error> {
    let named = named(net, kind, given, query);
    let digits = query.bytes().all(|b| b.is_ascii_digit());
    if named.is_none() && !query.is_empty() && !digits {
        if let Some((within, _, _)) = parse(query, None) {
            if version.is_some_and(|v| (v == 6) != net.v6) {
                return Ok(Value::from(false));
            }
            return Ok(contains(within, net).map_or(Value::from(false), |()| given.clone()));
        }
    }
    if version.is_some_and(|v| (v == 6) != net.v6) {
        return Ok(Value::from(false));
    }
    match named {
        Some(answer) => answer,
        None => index(net, kind, query, alias),
    }
}

/// Whether the whole of `inner` is inside `outer` (netaddr's `in IPSet`).
fn contains(outer: Net, inner: Net) -> Option<()> {
    let same = outer.v6 == inner.v6 && inner.prefix >= outer.prefix;
    (same && inner.network() & outer.netmask() == outer.network()).then_some(())
}

/// An integer query: that address of the network, with its prefix.
fn index(net: Net, kind: Kind, query: &str, alias: &str) -> Result<Value, Error> {
    if query.parse::<f64>().is_err() {
        return Err(invalid(format!("{alias}: unknown filter type: {query}")));
    }
    if net.size() == Some(1) {
        return Ok(Value::from(match kind {
            Kind::Address => net.show(net.ip),
            Kind::Network => net.cidr(),
        }));
    }
    let Ok(i) = query.parse::<i128>() else {
        return Ok(Value::from(false));
    };
    let last = net.network() | net.hostmask();
    let at = if i >= 0 {
        net.network()
            .checked_add(u128::try_from(i).unwrap_or(u128::MAX))
    } else {
        (last + 1).checked_sub(i.unsigned_abs())
    };
    Ok(match at.filter(|a| *a >= net.network() && *a <= last) {
        Some(a) => Value::from(format!("{}/{}", net.show(a), net.prefix)),
        None => Value::from(false),
    })
}

/// The named queries; `None` when `query` names none.
fn named(net: Net, kind: Kind, given: &Value, query: &str) -> Option<Result<Value, Error>> {
    let text = |s: String| Some(Ok(Value::from(s)));
    let none = || Some(Ok(Value::from(())));
    let size = net.size().unwrap_or(u128::MAX);
    let is_network_address = net.ip == net.network();
    match query {
        "" => text(match kind {
            Kind::Address => net.show(net.ip),
            Kind::Network => net.cidr(),
        }),
        "address" | "ip" => {
            if size == 1 || !is_network_address || net.broadcast().is_none() || net.v6 {
                text(net.show(net.ip))
            } else {
                none()
            }
        }
        "host" => {
            if size == 1 || !is_network_address || net.broadcast().is_none() {
                text(net.cidr())
            } else {
                none()
            }
        }
        "net" if size > 1 && is_network_address => text(net.cidr()),
        "net" => none(),
        "cidr" => text(net.cidr()),
        "network" | "network_id" => text(net.show(net.network())),
        "network/prefix" | "subnet" => text(format!("{}/{}", net.show(net.network()), net.prefix)),
        "netmask" => text(net.show(net.netmask())),
        "hostmask" | "wildcard" => text(net.show(net.hostmask())),
        "network_netmask" => text(format!(
            "{} {}",
            net.show(net.network()),
            net.show(net.netmask())
        )),
        "network_wildcard" => text(format!(
            "{} {}",
            net.show(net.network()),
            net.show(net.hostmask())
        )),
        "prefix" => Some(Ok(Value::from(net.prefix))),
        "broadcast" => match net.broadcast() {
            Some(b) if size > 2 => text(net.show(b)),
            _ => none(),
        },
        "size" => Some(Ok(net
            .size()
            .map_or_else(|| Value::from(f64::powi(2.0, 128)), Value::from))),
        "size_usable" => Some(Ok(Value::from(match size {
            1 => 0,
            2 => 2,
            n => n - 2,
        }))),
        "type" => text(if size == 1 || !is_network_address {
            "address".to_owned()
        } else {
            "network".to_owned()
        }),
        "version" => Some(Ok(Value::from(if net.v6 { 6 } else { 4 }))),
        "bool" => Some(Ok(Value::from(true))),
        _ => usable(net, kind, query)
            .or_else(|| tests(net, given, query))
            .or_else(|| forms(net, kind, given, query)),
    }
}

/// The queries about a network's usable addresses (an error for an address).
fn usable(net: Net, kind: Kind, query: &str) -> Option<Result<Value, Error>> {
    if !matches!(
        query,
        "first_usable" | "last_usable" | "next_usable" | "previous_usable" | "range_usable"
    ) {
        return None;
    }
    if kind == Kind::Address {
        return Some(Err(invalid("Not a network address")));
    }
    let size = net.size().unwrap_or(u128::MAX);
    if size <= 1 {
        return Some(Ok(Value::from(())));
    }
    let (first, last) = if size == 2 {
        (net.network(), net.network() + 1)
    } else {
        (net.network() + 1, (net.network() | net.hostmask()) - 1)
    };
    let show = |a: u128| Value::from(net.show(a));
    let within = |a: Option<u128>| match a {
        Some(a) if a >= first && a <= last => show(a),
        _ => Value::from(()),
    };
    Some(Ok(match query {
        "first_usable" => show(first),
        "last_usable" => show(last),
        "next_usable" => within(net.ip.checked_add(1)),
        "previous_usable" => within(net.ip.checked_sub(1)),
        _ => Value::from(format!("{}-{}", net.show(first), net.show(last))),
    }))
}

/// The queries that keep the value when the address is of a kind (`private`, `public`, ...).
fn tests(net: Net, given: &Value, query: &str) -> Option<Result<Value, Error>> {
    let passes = match query {
        "private" => !is_global(net),
        "public" => {
            !is_multicast(net)
                && is_global(net)
                && !is_loopback(net)
                && !power_of_two((net.ip ^ net.max()).checked_add(1))
                && !power_of_two(net.ip.checked_add(1))
        }
        "loopback" | "lo" => is_loopback(net),
        "multicast" => is_multicast(net),
        "unicast" => !is_multicast(net),
        "link-local" => {
            if net.v6 {
                within(true, net.ip, (0xfe80 << 112, 10))
            } else {
                within(false, net.ip, (0xa9fe_0000, 16))
            }
        }
        _ => return None,
    };
    Some(Ok(if passes {
        given.clone()
    } else {
        Value::from(())
    }))
}

/// The queries that write the value another way (`int`, `wrap`, `ipv4`, `ip/prefix`, ...).
fn forms(net: Net, kind: Kind, given: &Value, query: &str) -> Option<Result<Value, Error>> {
    let text = |s: String| Some(Ok(Value::from(s)));
    let size = net.size().unwrap_or(u128::MAX);
    let inside = net.ip != net.network();
    match query {
        "int" => match kind {
            Kind::Address => Some(Ok(Value::from(net.ip))),
            Kind::Network => text(format!("{}/{}", net.ip, net.prefix)),
        },
        "ip/prefix" if size == 2 || (size > 1 && inside) => text(net.cidr()),
        "ip_netmask" if size == 2 || (size > 1 && inside) => {
            text(format!("{} {}", net.show(net.ip), net.show(net.netmask())))
        }
        "ip/prefix" | "ip_netmask" => Some(Ok(Value::from(()))),
        "address/prefix" | "gateway" | "gw" | "host/prefix" | "hostnet" | "router" => {
            if size > 2 && (!inside || Some(net.ip) == net.broadcast()) {
                Some(Ok(Value::from(false)))
            } else {
                text(net.cidr())
            }
        }
        "wrap" if net.v6 => text(match kind {
            Kind::Address => format!("[{}]", net.show(net.ip)),
            Kind::Network => format!("[{}]/{}", net.show(net.ip), net.prefix),
        }),
        "wrap" | "ipv6" | "v6" if net.v6 => Some(Ok(given.clone())),
        "ipv4" | "v4" if !net.v6 => Some(Ok(given.clone())),
        "wrap" => Some(Ok(given.clone())),
        "ipv6" | "v6" => {
            let mapped = Net {
                ip: 0xffff_0000_0000 | net.ip,
                prefix: net.prefix + 96,
                v6: true,
            };
            text(mapped.cidr())
        }
        "ipv4" | "v4" => {
            let embedded = net.ip >> 32 == 0xffff || net.ip <= u128::from(u32::MAX);
            Some(Ok(if embedded && net.prefix >= 96 {
                let v4 = Net {
                    ip: net.ip & u128::from(u32::MAX),
                    prefix: net.prefix - 96,
                    v6: false,
                };
                Value::from(v4.cidr())
            } else {
                Value::from(false)
            }))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use minijinja::Environment;

    fn render(template: &str) -> String {
        let mut env = Environment::new();
        super::super::ipaddr::register(&mut env);
        env.render_str(template, ()).expect("renders")
    }

    /// ansible.utils' documented example list (plugins/filter/ipaddr.py, its integration test).
    const VALUES: &str = "['192.24.2.1', 'host.fqdn', '::1', '', '192.168.32.0/24', \
        'fe80::100/10', '42540766412265424405338506004571095040/64', true]";

    #[test]
    fn the_documented_examples_answer_as_documented() {
        let q = |query: &str| {
            render(&format!(
                "{{{{ {VALUES} | ansible.utils.ipaddr{query} | join(',') }}}}"
            ))
        };
        assert_eq!(
            q(""),
            "192.24.2.1,::1,192.168.32.0/24,fe80::100/10,2001:db8:32c:faad::/64"
        );
        assert_eq!(
            q("('address')"),
            "192.24.2.1,::1,fe80::100,2001:db8:32c:faad::"
        );
        assert_eq!(q("('host')"), "192.24.2.1/32,::1/128,fe80::100/10");
        assert_eq!(q("('public')"), "192.24.2.1");
        assert_eq!(
            q("('private')"),
            "::1,192.168.32.0/24,fe80::100/10,2001:db8:32c:faad::/64"
        );
        assert_eq!(q("('net')"), "192.168.32.0/24,2001:db8:32c:faad::/64");
        assert_eq!(
            q("('net') | ipaddr('size') | map('string')"),
            "256,18446744073709551616"
        );
        assert_eq!(q("('192.0.0.0/8')"), "192.24.2.1,192.168.32.0/24");
        assert_eq!(
            q("('net') | ipaddr('1')"),
            "192.168.32.1/24,2001:db8:32c:faad::1/64"
        );
        assert_eq!(
            q("('net') | ipaddr(-1)"),
            "192.168.32.255/24,2001:db8:32c:faad:ffff:ffff:ffff:ffff/64"
        );
        assert_eq!(
            render("{{ ['192.0.0.9', '233.252.0.1', '172.16.0.1'] | ipaddr('public') }}"),
            "[\"192.0.0.9\"]"
        );
        // ansible.utils' integration test of `ipv4` (tasks/ipv4.yaml, vars/main.yaml).
        let v4 = |query: &str| {
            render(&format!(
                "{{{{ {VALUES} | ansible.utils.ipv4{query} | join(',') }}}}"
            ))
        };
        assert_eq!(v4(""), "192.24.2.1,192.168.32.0/24");
        assert_eq!(
            v4("('ipv6')"),
            "::ffff:192.24.2.1/128,::ffff:192.168.32.0/120"
        );
        assert_eq!(v4("('address')"), "192.24.2.1");
    }

    #[test]
    fn single_values_answer_as_the_unit_tests_say() {
        let cases = [
            ("'1.12.1.34/24' | ipaddr('network')", "1.12.1.0"),
            (
                "'1.12.1.34/255.255.255.255' | ipaddr('network')",
                "1.12.1.34",
            ),
            ("'1.12.1.35/31' | ipaddr('network')", "1.12.1.34"),
            ("'1.1.1.1/25' | ipaddr('netmask')", "255.255.255.128"),
            ("'1.12.1.34/27' | ipaddr('broadcast')", "1.12.1.63"),
            ("'1.12.1.35/31' | ipaddr('broadcast')", "None"),
            (
                "'1.12.1.36/255.255.255.240' | ipaddr('first_usable')",
                "1.12.1.33",
            ),
            ("'1.12.1.36/28' | ipaddr('last_usable')", "1.12.1.46"),
            ("'1.12.1.37/31' | ipaddr('first_usable')", "1.12.1.36"),
            ("'1.12.1.36/31' | ipaddr('size_usable')", "2"),
            (
                "'1.12.1.36/28' | ipaddr('range_usable')",
                "1.12.1.33-1.12.1.46",
            ),
            ("'1.12.1.0/25' | ipaddr('wildcard')", "0.0.0.127"),
            ("'192.0.2.0/31' | ipaddr('address')", "192.0.2.0"),
            ("'2001::/48' | ipaddr('address')", "2001::"),
            ("'192.168.1.0/24' | ipaddr('address')", "None"),
            ("'192.0.2.230/30' | ipaddr", "192.0.2.230/30"),
            ("'192.168.1.0/24' | ipaddr(1)", "192.168.1.1/24"),
            ("'192.168.1.5/24' | ipaddr('prefix')", "24"),
            ("'192.168.1.5/24' | ipaddr('cidr')", "192.168.1.5/24"),
            ("'192.168.1.5/24' | ipaddr('subnet')", "192.168.1.0/24"),
            ("'76.120.99.190' | ipaddr('public')", "76.120.99.190"),
            ("('172.20.0.1' | ipaddr('int')) + 6", "2886991879"),
            (
                "(('172.20.0.1' | ipaddr('int')) + 6) | ipaddr",
                "172.20.0.7",
            ),
            ("'host.fqdn' | ipaddr", "False"),
            (
                "'192.24.2.1' | ansible.utils.ipv4('ipv6')",
                "::ffff:192.24.2.1/128",
            ),
            (
                "'::ffff:192.168.32.0/120' | ipv6('ipv4')",
                "192.168.32.0/24",
            ),
            ("'192.24.2.1' | ipv6", "False"),
            ("'fe80::100/10' | ansible.utils.ipwrap", "[fe80::100]/10"),
            ("'::1' | ipwrap", "[::1]"),
        ];
        for (expr, want) in cases {
            assert_eq!(render(&format!("{{{{ {expr} }}}}")), want, "{expr}");
        }
        assert_eq!(
            render(&format!("{{{{ {VALUES} | ipwrap }}}}")),
            "[\"192.24.2.1\", \"host.fqdn\", \"[::1]\", \"\", \"192.168.32.0/24\", \"[fe80::100]/10\", \"[2001:db8:32c:faad::]/64\", True]"
        );
        let mut env = Environment::new();
        super::super::ipaddr::register(&mut env);
        assert!(env
            .render_str("{{ '1.2.3.4' | ipaddr('first_usable') }}", ())
            .is_err());
        assert!(env
            .render_str("{{ '1.2.3.4' | ipaddr('bogus') }}", ())
            .is_err());
    }
}
