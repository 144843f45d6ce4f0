//! The INI reader against Ansible's documented and coded behaviour.

use std::collections::BTreeMap;
use std::path::Path;

use super::read;
use crate::error::Error;
use crate::inventory::builder::Builder;
use crate::inventory::Inventory;
use crate::source::SourceFile;
use crate::template::Var;
use crate::transport::ConnectionDefaults;
use crate::yaml::{Node, Resolved};

fn load(text: &str) -> Result<Inventory, Error> {
    let mut builder = Builder::default();
    read(&SourceFile::new("hosts.ini", text), &mut builder)?;
    Ok(builder.finish(
        Path::new("/nonexistent"),
        ConnectionDefaults::default(),
        &BTreeMap::new(),
    ))
}

fn node<'a>(inv: &'a Inventory, host: &str, key: &str) -> &'a Node {
    let host = inv.host(host).expect("host");
    match host.vars.get(key) {
        Some(Var::Raw(node)) => node,
        other => panic!("{key}: {other:?}"),
    }
}

fn value(inv: &Inventory, host: &str, key: &str) -> String {
    let n = node(inv, host, key);
    match n.resolve() {
        Some(Resolved::Int(i)) => format!("int {i}"),
        Some(Resolved::Float(f)) => format!("float {f}"),
        Some(Resolved::Bool(b)) => format!("bool {b}"),
        Some(Resolved::Null) => "null".to_owned(),
        Some(Resolved::Str(s)) => format!("str {s}"),
        None => match (n.as_seq(), n.as_map()) {
            (Some(items), _) => format!("list of {}", items.len()),
            (_, Some(entries)) => format!("dict of {}", entries.len()),
            _ => unreachable!(),
        },
    }
}

fn members(inv: &Inventory, group: &str) -> String {
    inv.group_members(group).join(" ")
}

const SAMPLE: &str = "\
# a comment
; another comment
solo1
solo2:2201   # host:port shorthand

[web:children]   # named before it is defined
apache
nginx

[apache]
tomcat[1:3] app_port=9001
tomcat2 mysecret=\"'03#pa33w0rd'\" note='two words'

[nginx]
ng-[a:b]

[web:vars]
http_port=8080
myvar=23
greeting = hello # kept: not a Python literal
quoted = \"x y\"  ; not an inline comment in Ansible either

[nginx:vars]
has_java = True

[all:vars]
has_java = False
";

#[test]
fn sections_children_vars_ranges_and_ungrouped_load_as_ansible_does() {
    let inv = load(SAMPLE).expect("inventory");
    assert_eq!(members(&inv, "ungrouped"), "solo1 solo2");
    assert_eq!(members(&inv, "apache"), "tomcat1 tomcat2 tomcat3");
    assert_eq!(members(&inv, "nginx"), "ng-a ng-b");
    assert_eq!(members(&inv, "web"), "tomcat1 tomcat2 tomcat3 ng-a ng-b");
    assert_eq!(
        members(&inv, "all"),
        "solo1 solo2 tomcat1 tomcat2 tomcat3 ng-a ng-b"
    );
    assert_eq!(value(&inv, "solo2", "ansible_port"), "int 2201");
    assert_eq!(value(&inv, "tomcat1", "app_port"), "int 9001");
    assert_eq!(value(&inv, "tomcat2", "mysecret"), "str 03#pa33w0rd");
    assert_eq!(value(&inv, "tomcat2", "note"), "str two words");
    assert_eq!(value(&inv, "tomcat1", "http_port"), "int 8080");
    assert_eq!(value(&inv, "tomcat1", "myvar"), "int 23");
    assert_eq!(
        value(&inv, "tomcat1", "greeting"),
        "str hello # kept: not a Python literal"
    );
    // Child group vars beat parent group vars, which beat `all`.
    assert_eq!(value(&inv, "ng-a", "has_java"), "bool true");
    assert_eq!(value(&inv, "tomcat1", "has_java"), "bool false");
    assert_eq!(inv.groups["web"].depth, 1);
    assert_eq!(inv.groups["apache"].depth, 2);
}

#[test]
fn inline_host_values_are_python_literals_after_shell_splitting() {
    let inv = load(
        "h1 a=1 b=True c=\"1\" d=\"'1'\" e=\"[1,'x']\" e2=[1,'x'] f=\"{'k': 2}\" g=None h=1.5 i=yes j=010 k=a\\ b l=x#comment\n",
    )
    .expect("inventory");
    assert_eq!(value(&inv, "h1", "a"), "int 1");
    assert_eq!(value(&inv, "h1", "b"), "bool true");
    // shlex removes the quotes first, so "1" is still the number 1, as in Ansible.
    assert_eq!(value(&inv, "h1", "c"), "int 1");
    assert_eq!(value(&inv, "h1", "d"), "str 1");
    assert_eq!(value(&inv, "h1", "e"), "list of 2");
    // Unquoted, shlex eats the inner quotes: `[1,x]` is no literal, so it stays text.
    assert_eq!(value(&inv, "h1", "e2"), "str [1,x]");
    assert_eq!(value(&inv, "h1", "f"), "dict of 1");
    assert_eq!(value(&inv, "h1", "g"), "null");
    assert_eq!(value(&inv, "h1", "h"), "float 1.5");
    assert_eq!(value(&inv, "h1", "i"), "str yes");
    assert_eq!(value(&inv, "h1", "j"), "str 010");
    assert_eq!(value(&inv, "h1", "k"), "str a b");
    assert_eq!(value(&inv, "h1", "l"), "str x");
}

#[test]
fn inline_variables_beat_the_port_shorthand_and_ranges_take_steps() {
    let inv = load("[db]\ndb[00:10:5]:2200 ansible_port=2300\nfe80::1\n").expect("inventory");
    assert_eq!(members(&inv, "db"), "db00 db05 db10 fe80::1");
    assert_eq!(value(&inv, "db05", "ansible_port"), "int 2300");
    assert!(inv.host("fe80::1").expect("ipv6").vars.is_empty());
}

#[test]
fn values_point_at_their_source() {
    let inv = load("[g]\nh1 port=9001\n[g:vars]\nx = 'y'\n").expect("inventory");
    assert_eq!(node(&inv, "h1", "port").span.line_col(), (2, 9));
    assert_eq!(node(&inv, "h1", "x").span.line_col(), (4, 5));
}

#[test]
fn errors_are_located() {
    let cases: &[(&str, (usize, usize), &str)] = &[
        (
            "[web]\nh1 novalue\n",
            (2, 4),
            "expected a `key=value` host variable, got `novalue`",
        ),
        ("\n[web:bogus]\n", (2, 1), "unknown type `bogus`"),
        ("[web ]\n", (1, 1), "invalid section `[web ]`"),
        (
            "[g:vars]\nx=1\n",
            (1, 1),
            "[g:vars] is for a group that is never defined",
        ),
        (
            "[p:children]\nmissing\n",
            (2, 1),
            "[p:children] names group `missing`",
        ),
        ("[p:children]\ntwo words\n", (2, 1), "expected a group name"),
        (
            "[g:vars]\n[g]\nh\n[g:vars]\nnoequals\n",
            (5, 1),
            "expected `key=value`",
        ),
        ("web[01:3]\n", (1, 1), "same width"),
        ("h1 a='open\n", (1, 1), "no closing quotation"),
        ("host:\n", (1, 1), "ending in `:`"),
        ("[g]\n'' x=1\n", (2, 1), "empty host name"),
    ];
    for (text, at, message) in cases {
        let err = load(text).expect_err(text);
        assert!(err.to_string().contains(message), "{text:?}: {err}");
        assert_eq!(
            err.span().map(crate::source::Span::line_col),
            Some(*at),
            "{text:?}: {err}"
        );
    }
}

#[test]
fn a_vars_section_before_its_group_and_a_later_definition_are_fine() {
    let inv = load("[g:vars]\nx=1\n[top:children]\ng\n[g]\nh1\n").expect("inventory");
    assert_eq!(members(&inv, "top"), "h1");
    assert_eq!(value(&inv, "h1", "x"), "int 1");
}
