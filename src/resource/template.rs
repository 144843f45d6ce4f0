//! `template: { src, dest, mode, owner, group, validate, check, serialize }`: a file whose bytes
//! are rendered from a Jinja template on the control machine (with `trim_blocks` and the
//! trailing newline kept, byte-identical to Ansible's `template`). After rendering it is a `file`.

use super::args::path;
use super::file::{find, not_found, File};
use super::BuildContext;
use crate::error::{Error, Result};
use crate::fields::arg::Groups;
use crate::fields::Fields;
use crate::source::SourceFile;
use crate::yaml::Node;

/// The arguments of `template` (declared next to `file`'s, whose writing it shares).
pub(super) const ARGS: Groups = super::file::TEMPLATE_ARGS;

/// Builds a `template`: finds and renders `src`, then builds the file.
pub(super) fn build(args: &Node, cx: &BuildContext<'_>) -> Result<File> {
    let f = Fields::declared(args, "`template`", ARGS)?;
    let src_node = f.require("src")?;
    let src = f.required_string("src")?;
    let found = find(&src, &cx.template_dirs)
        .ok_or_else(|| not_found(&src, src_node, &cx.template_dirs))?;
    let text = std::fs::read_to_string(&found)
        .map_err(|e| Error::io(&found, &e).with_span(&src_node.span))?;
    let rendered = cx
        .templar
        .render_file(&SourceFile::new(found, text), cx.vars)?;
    File::new(path(&f, "dest")?, rendered.into_bytes(), &f, cx)
}
