//! Secret taint: any value whose rendering read a secret is itself secret, whatever filters or
//! concatenations it went through (`{{ token | upper }}`, `"x-" ~ token`, `b64encode`, `hash`).
//! Reads of secret variables are counted per thread (a host compiles on one thread); each piece
//! a template writes (`{{ ... }}`) after such a read is registered with `secret.rs`, and so is
//! every string of a single-expression value. Only the derived pieces are registered, not the
//! template's literal text, so plans stay readable while every output path masks the pieces.
//! When a derived piece is too short to mask inside other text (under `secret::MIN_LEN`
//! characters, a bool, a small number), the whole rendered value is secret instead: registered
//! as a secret when long enough, else as a word masked wherever it stands alone, and the
//! context is marked so the task's plan masks every value it shows (`Context::concealed`).

use std::cell::Cell;

use minijinja::value::{Value as JValue, ValueKind};

thread_local! {
    /// Secret reads on this thread so far.
    static READS: Cell<u64> = const { Cell::new(0) };
    /// `READS` when the last template piece was written on this thread.
    static WRITTEN_AT: Cell<u64> = const { Cell::new(0) };
    /// Whether the render in progress wrote a derived piece too short to mask inside text.
    static SHORT: Cell<bool> = const { Cell::new(false) };
}

/// Secret reads on this thread so far: a variable whose render read one is secret.
pub(super) fn reads() -> u64 {
    READS.with(Cell::get)
}

/// Records that a value holding a secret was read (a vault variable, a generated password).
pub(super) fn secret_read() {
    READS.with(|r| r.set(r.get() + 1));
}

/// One render in progress: whether it read a secret (nested renders included).
pub(super) struct Render {
    reads_before: u64,
    /// The enclosing render's `SHORT`, restored by `finish`.
    short_before: bool,
}

/// What a finished render did with secrets.
pub(super) struct Taint {
    /// It read a secret.
    pub(super) read: bool,
    /// It wrote a derived piece too short to mask inside text (see the module doc).
    pub(super) short: bool,
}

impl Render {
    /// Starts watching; the next written piece counts reads from here.
    pub(super) fn start() -> Self {
        let reads_before = READS.with(Cell::get);
        WRITTEN_AT.with(|w| w.set(reads_before));
        Self {
            reads_before,
            short_before: SHORT.with(|s| s.replace(false)),
        }
    }

    /// What the render did since `start`.
    pub(super) fn finish(self) -> Taint {
        Taint {
            read: READS.with(Cell::get) > self.reads_before,
            short: SHORT.with(|s| s.replace(self.short_before)),
        }
    }
}

/// Called for each `{{ ... }}` piece a template writes: registered as a secret when a secret was
/// read since the previous piece; one too short for that (a bool, `{{ token[:2] }}`) marks the
/// render, whose whole value is then secret (`register_whole`).
pub(super) fn piece_written(value: &JValue, text: &str) {
    let now = READS.with(Cell::get);
    let tainted = WRITTEN_AT.with(|w| w.replace(now)) < now;
    if !tainted {
        return;
    }
    if value.kind() == ValueKind::Bool || text.chars().count() < crate::secret::MIN_LEN {
        SHORT.with(|s| s.set(true));
    } else {
        crate::secret::register(text);
    }
}

/// Registers every string, number and bool inside a value derived from a secret (see
/// `secret::register_derived`); whether one of them was too short to mask inside text.
pub(super) fn register_whole(value: &JValue) -> bool {
    let mut short = false;
    walk(value, 0, &mut |leaf| {
        let text = super::pyrepr::py_str(leaf);
        if leaf.kind() == ValueKind::Bool || text.chars().count() < crate::secret::MIN_LEN {
            crate::secret::register_word(&text);
            short = true;
        } else {
            crate::secret::register(&text);
        }
        false
    });
    short
}

/// Whether a ready-made value (a loop item, a fact set by `set_fact`) holds a registered secret.
/// Another host's variables (`hostvars`) are not entered: they are read through their own
/// context, which counts their secrets.
pub(super) fn holds_secret(value: &JValue) -> bool {
    crate::secret::any()
        && walk(value, 0, &mut |leaf| {
            crate::secret::holds(&super::pyrepr::py_str(leaf))
        })
}

/// Calls `leaf` on each string, number or bool (as Python prints it) of `value` (plain lists
/// and maps, a few levels deep) until it answers true.
fn walk(value: &JValue, depth: usize, leaf: &mut dyn FnMut(&JValue) -> bool) -> bool {
    const DEPTH: usize = 8;
    match value.kind() {
        ValueKind::String | ValueKind::Number | ValueKind::Bool => leaf(value),
        ValueKind::Seq | ValueKind::Map if depth < DEPTH && !is_context(value) => {
            let Ok(items) = value.try_iter() else {
                return false;
            };
            let is_map = value.kind() == ValueKind::Map;
            for item in items {
                if walk(&item, depth + 1, leaf) {
                    return true;
                }
                if is_map {
                    let entry = value.get_item(&item).unwrap_or_default();
                    if walk(&entry, depth + 1, leaf) {
                        return true;
                    }
                }
            }
            false
        }
        _ => false,
    }
}

/// A lazy variable map (a host's `hostvars` entry): never walked, rendering it would render
/// every variable.
fn is_context(value: &JValue) -> bool {
    value.downcast_object_ref::<super::LazyVars>().is_some()
}

#[cfg(test)]
mod tests {

    /// Renders `expr` (a playbook scalar) with `token` holding a freshly registered secret.
    fn render(secret: &str, expr: &str) -> String {
        crate::secret::register(secret);
        let text = format!(
            "token: {}\nplain: nginx\nlist: ['{{{{ token }}}}-a', b]\nx: {}\n",
            serde_json::to_string(secret).unwrap_or_default(),
            serde_json::to_string(expr).unwrap_or_default()
        );
        let (templar, ctx, node) = super::super::tests::ctx(&text);
        templar
            .render_string(node.get("x").expect("x"), &ctx)
            .expect("render")
    }

    #[test]
    fn filtered_and_concatenated_secrets_are_masked_but_literals_stay() {
        for (secret, expr) in [
            ("Taint-upper-1a", "{{ token | upper }}"),
            ("Taint-lower-2b", "pre-{{ token | lower }}-post"),
            ("Taint-b64-3c", "{{ token | b64encode }}"),
            ("Taint-replace-4d", "{{ token | replace('a', 'Q') }}"),
            ("Taint-hash-5e", "key={{ token | hash('sha256') }};"),
            ("Taint-concat-6f", "{{ 'x-' ~ token ~ '-y' }}"),
            (
                "Taint-loop-7g",
                "{% for i in list %}{{ i | upper }},{% endfor %}",
            ),
        ] {
            let out = render(secret, expr);
            let masked = crate::secret::scrub(&out);
            assert_ne!(masked, out, "{expr}: {out}");
            assert!(
                !masked.to_lowercase().contains(&secret.to_lowercase()[..8]),
                "{expr}: {masked}"
            );
        }
        let out = render("Taint-lit-8h", "pre-{{ token | upper }}-post");
        assert_eq!(crate::secret::scrub(&out), "pre-********-post");
    }

    #[test]
    fn a_short_derived_piece_makes_the_whole_value_secret() {
        // Long enough as a whole: masked as a whole, literal text included.
        let out = render("Zq-short-1a", "pre-{{ token[:2] }}");
        assert_eq!(out, "pre-Zq");
        assert_eq!(crate::secret::scrub(&out), crate::secret::MASK);
        // Short as a whole: a word, masked where it stands alone only.
        let out = render("Wk-short-2b", "{{ token[:2] }}");
        assert_eq!(
            crate::secret::scrub(&format!("x: {out}; {out}x")),
            format!("x: {}; {out}x", crate::secret::MASK)
        );
    }

    #[test]
    fn a_render_without_secrets_registers_nothing() {
        let out = render("Taint-none-9i", "{{ plain | upper }}-unrelated-Zq9");
        assert_eq!(crate::secret::scrub(&out), out);
    }
}
