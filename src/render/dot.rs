//! `recon graph`: one host's resource graph as Graphviz DOT.

use std::fmt::Write as _;

use crate::compile::{EdgeKind, HostGraph};

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Tasks as nodes in execution order, path/after edges solid, notify edges dashed.
pub(crate) fn dot(graph: &HostGraph) -> String {
    let mut out = format!(
        "digraph \"{}\" {{\n  rankdir=LR;\n  node [shape=box, fontname=monospace];\n",
        escape(&format!("{} / {}", graph.host, graph.play))
    );
    for (i, task) in graph.tasks.iter().enumerate() {
        let resource = &task.resource;
        let label = format!("{i}. {} {}\n{}", resource.kind(), resource.id(), task.name);
        let _ = writeln!(out, "  t{i} [label=\"{}\"];", escape(&label));
    }
    for (h, handler) in graph.handlers.iter().enumerate() {
        let _ = writeln!(
            out,
            "  h{h} [label=\"{}\", style=rounded];",
            escape(&format!("handler: {}", handler.name))
        );
    }
    for (a, b, kind) in &graph.edges {
        let label = match kind {
            EdgeKind::Path => "path",
            EdgeKind::After => "after",
            EdgeKind::Notify => "notify",
        };
        let _ = writeln!(out, "  t{a} -> t{b} [label=\"{label}\"];");
    }
    for (i, task) in graph.tasks.iter().enumerate() {
        for h in &task.notify {
            let _ = writeln!(out, "  t{i} -> h{h} [style=dashed, label=\"notify\"];");
        }
    }
    out.push_str("}\n");
    out
}
