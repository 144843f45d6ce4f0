//! `authorized_key: { user, key, key_options, path, exclusive, state }`: public keys in an
//! account's `~/.ssh/authorized_keys`. Each line is parsed into options, type, base64 blob and
//! comment; a key is identified by its type and blob, so changed options or comments update
//! its line in place instead of adding a duplicate. `exclusive: true` removes every other key.
//! The file is written whole and atomically (`_put`), created 0600 in a 0700 `.ssh` owned by
//! the account. One task manages one file (a claim): list several keys in one `key`.

use super::args::{account_name, checked_path, state};
use super::file::text_diff;
use super::{BuildContext, Claim, ClaimKind, Problem, Resource, Situation};
use crate::error::{Error, Result};
use crate::facts::{CommandOutput, FactSet, Facts, Handle};
use crate::fields::arg::{Arg, Groups};
use crate::fields::Fields;
use crate::plan::{Action, Change, Field};
use crate::script::{p, w, Script};
use crate::yaml::Node;

/// One `authorized_keys` line, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    pub(crate) options: Option<String>,
    pub(crate) kind: String,
    pub(crate) blob: String,
    pub(crate) comment: Option<String>,
}

impl Key {
    /// Parses `[options] type blob [comment]`; `None` for comments, blank lines and garbage.
    pub(crate) fn parse(line: &str) -> Option<Key> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let (first, rest) = split_word(line);
        let (options, kind, rest) = if is_key_type(first) {
            (None, first, rest)
        } else {
            let (kind, rest) = split_word(rest);
            (Some(first.to_owned()), kind, rest)
        };
        if !is_key_type(kind) {
            return None;
        }
        let (blob, rest) = split_word(rest);
        let base64 = |c: char| c.is_ascii_alphanumeric() || "+/=".contains(c);
        if blob.is_empty() || !blob.chars().all(base64) {
            return None;
        }
        Some(Key {
            options,
            kind: kind.to_owned(),
            blob: blob.to_owned(),
            comment: Some(rest.trim())
                .filter(|c| !c.is_empty())
                .map(str::to_owned),
        })
    }

    /// The line as written to the file.
    pub(crate) fn line(&self) -> String {
        let mut out = String::new();
        if let Some(o) = &self.options {
            out.push_str(o);
            out.push(' ');
        }
        out.push_str(&self.kind);
        out.push(' ');
        out.push_str(&self.blob);
        if let Some(c) = &self.comment {
            out.push(' ');
            out.push_str(c);
        }
        out
    }

    /// Short form for plans: type, the blob's end, comment.
    fn short(&self) -> String {
        let tail = &self.blob[self.blob.len().saturating_sub(12)..];
        let mut out = format!("{} …{tail}", self.kind);
        if let Some(c) = &self.comment {
            out.push(' ');
            out.push_str(c);
        }
        if let Some(o) = &self.options {
            out = format!("{o} {out}");
        }
        out
    }

    fn same_key(&self, other: &Key) -> bool {
        self.kind == other.kind && self.blob == other.blob
    }
}

fn is_key_type(word: &str) -> bool {
    matches!(word, "ssh-rsa" | "ssh-dss" | "ssh-ed25519" | "ssh-ed448")
        || word.starts_with("ecdsa-sha2-")
        || word.starts_with("sk-")
}

/// The first word and the rest; double quotes (in options such as `command="a b"`) keep spaces.
fn split_word(text: &str) -> (&str, &str) {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ' ' | '\t' if !quoted => return (&text[..i], text[i..].trim_start()),
            _ => {}
        }
    }
    (text, "")
}

/// Managed keys of one account.
#[derive(Debug, Clone)]
pub(crate) struct AuthorizedKey {
    pub(crate) user: String,
    /// An explicit file instead of `~user/.ssh/authorized_keys`.
    pub(crate) path: Option<String>,
    pub(crate) keys: Vec<Key>,
    pub(crate) exclusive: bool,
    pub(crate) absent: bool,
}

/// The arguments of `authorized_key`.
pub(super) const ARGS: Groups = &[&[
    Arg::str("user")
        .required()
        .doc("the account whose keys these are")
        .ansible(&["user"]),
    Arg::str("key")
        .required()
        .doc("one or more public key lines")
        .ansible(&["key"]),
    Arg::str("key_options")
        .doc("options put before each key (`from=\"10.0.0.0/8\"`)")
        .ansible(&["key_options"]),
    Arg::path("path")
        .default("~user/.ssh/authorized_keys")
        .doc("the file")
        .ansible(&["path"]),
    Arg::bool("exclusive")
        .default("false")
        .doc("remove every other key")
        .ansible(&["exclusive"]),
    Arg::one_of("state", &["present", "absent"])
        .doc("`absent` removes these keys")
        .default("present")
        .ansible(&["state"]),
]];

/// Builds an `authorized_key` from its arguments.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<AuthorizedKey> {
    let f = Fields::declared(args, "`authorized_key`", ARGS)?;
    let key_node = f.require("key")?;
    let options = f.string("key_options")?.filter(|o| !o.trim().is_empty());
    if let (Some(o), Some(node)) = (&options, f.get("key_options")) {
        if o.contains(['\n', '\r']) || !split_word(o.trim()).1.is_empty() {
            return Err(Error::invalid(
                "`key_options` must be one comma-separated list without unquoted spaces",
                &node.span,
            ));
        }
    }
    let mut keys = Vec::new();
    for line in f.required_string("key")?.lines() {
        if line.trim().is_empty() {
            continue;
        }
        let mut key = Key::parse(line).ok_or_else(|| {
            Error::invalid(
                format!("`{line}` is not a public key line (`[options] type base64 [comment]`)"),
                &key_node.span,
            )
            .with_label("not a key")
        })?;
        if options.is_some() {
            key.options.clone_from(&options);
        }
        keys.push(key);
    }
    if keys.is_empty() {
        return Err(Error::invalid("`key` holds no key", &key_node.span));
    }
    let path = match f.get("path") {
        Some(node) => Some(checked_path(&f.required_string("path")?, node)?),
        None => None,
    };
    Ok(AuthorizedKey {
        user: account_name(&f, "user")?,
        path,
        keys,
        exclusive: f.flag("exclusive")?,
        absent: state(&f, &["present", "absent"])? == "absent",
    })
}

/// What the probe found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Probed {
    /// The account's home (empty: no such account yet).
    pub(crate) home: String,
    pub(crate) dir_mode: Option<String>,
    pub(crate) file_mode: Option<String>,
    pub(crate) lines: Vec<String>,
    /// A link another account controls on the way (the probe read nothing through it).
    pub(crate) unsafe_link: Option<String>,
}

/// Parses the probe's `home`, `dir`, `file` and `| line` lines.
pub(crate) fn parse(out: &str) -> Probed {
    let mut probed = Probed::default();
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("| ") {
            probed.lines.push(rest.to_owned());
        } else if let Some(rest) = line.strip_prefix("unsafe ") {
            probed.unsafe_link = Some(rest.to_owned());
        } else if let Some(rest) = line.strip_prefix("home ") {
            rest.clone_into(&mut probed.home);
        } else if let Some(rest) = line.strip_prefix("dir ") {
            probed.dir_mode = Some(rest.to_owned());
        } else if let Some(rest) = line.strip_prefix("file ") {
            probed.file_mode = Some(rest.to_owned());
        }
    }
    probed
}

/// The file's new lines.
#[derive(Debug)]
pub(crate) struct Decision {
    content: String,
}

impl AuthorizedKey {
    /// The new lines from the current ones, with a plan field per key that changes.
    pub(crate) fn edit(&self, current: &[String], mut change: Change) -> (Vec<String>, Change) {
        let mut out: Vec<String> = Vec::new();
        let mut placed = vec![false; self.keys.len()];
        for line in current {
            let Some(found) = Key::parse(line) else {
                out.push(line.clone());
                continue;
            };
            match self.keys.iter().position(|k| k.same_key(&found)) {
                Some(i) if self.absent => {
                    change = change.field(KEY, Some(found.short()), None);
                    placed[i] = true;
                }
                Some(i) if placed[i] => {
                    change = change.field(KEY, Some(found.short()), None);
                }
                Some(i) => {
                    placed[i] = true;
                    let wanted = &self.keys[i];
                    if *line != wanted.line() {
                        change = change.field(KEY, Some(found.short()), Some(wanted.short()));
                    }
                    out.push(wanted.line());
                }
                None if self.exclusive && !self.absent => {
                    change = change.field(KEY, Some(found.short()), None);
                }
                None => out.push(line.clone()),
            }
        }
        if !self.absent {
            for (key, done) in self.keys.iter().zip(placed) {
                if !done {
                    change = change.field(KEY, None, Some(key.short()));
                    out.push(key.line());
                }
            }
        }
        (out, change)
    }

    /// `_f` (the file), `_d` (its folder), `_u`/`_g` (owner), resolved on the host.
    fn locate(&self, s: &mut Script) {
        s.fill("_u={}\n", [w(&self.user)]);
        match &self.path {
            Some(path) => {
                s.fill("_f={}\n", [p(path)]);
                s.code("_d=$(dirname -- \"$_f\")\n");
            }
            None => {
                s.code("_h=$(getent passwd -- \"$_u\" | cut -d: -f6)\n_d=\"$_h/.ssh\"\n_f=\"$_d/authorized_keys\"\n");
            }
        }
    }
}

/// The file's facts and the door's (`door/`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asked {
    file: Handle<CommandOutput>,
    door: Handle<CommandOutput>,
}

impl AuthorizedKey {
    /// Why writing `after` over `before` shuts the session's way in: its key opens the door
    /// in `before` (present, with options that let recon in) and in no line of `after`.
    fn shuts(
        &self,
        door: &crate::door::Door,
        before: &[String],
        after: &[String],
    ) -> Option<String> {
        if self.user != door.account {
            return None;
        }
        let opens =
            |line: &String| Key::parse(line).filter(|k| door.is_session_key(&k.kind, &k.blob));
        let open_before = before
            .iter()
            .filter_map(opens)
            .any(|k| door.options_shut(k.options.as_deref()).is_none());
        if !open_before {
            return None;
        }
        let after_keys: Vec<Key> = after.iter().filter_map(opens).collect();
        if after_keys
            .iter()
            .any(|k| door.options_shut(k.options.as_deref()).is_none())
        {
            return None;
        }
        let options = after_keys
            .iter()
            .find_map(|k| door.options_shut(k.options.as_deref()));
        Some(match options {
            Some(why) => format!("on the key this session logged in with, {why}"),
            None => format!(
                "it removes the key this session logged in with from {}",
                self.id()
            ),
        })
    }
}

/// One `authorized_keys` line (type, key, comment, options).
const KEY: Field = Field::new("key");

impl Resource for AuthorizedKey {
    type Asked = Asked;
    type Decision = Decision;
    const FIELDS: &'static [Field] = &[KEY];

    fn id(&self) -> String {
        match &self.path {
            Some(path) => path.clone(),
            None => format!("~{}/.ssh/authorized_keys", self.user),
        }
    }

    fn claims(&self) -> Vec<Claim> {
        // Each task writes the whole file from what it read: two of one account's file would
        // undo each other (several keys go in one task's `key`).
        vec![Claim::new(
            ClaimKind::Other("authorized_keys".to_owned()),
            self.id(),
        )]
    }

    fn ask(&self, facts: &mut FactSet) -> Self::Asked {
        // Read through the walk every probe command has (`facts::PROBE_FUNCTIONS`).
        let mut s = Script::new();
        self.locate(&mut s);
        if self.path.is_none() {
            s.code("printf 'home %s\\n' \"$_h\"\n[ -n \"$_h\" ] || exit 0\n");
        } else {
            s.code("printf 'home %s\\n' \"$_d\"\n");
        }
        // Read through the link-safe walk: an account's `~/.ssh` (or `authorized_keys`) linked
        // to a root-only place is refused, never printed.
        s.code("_walk \"$_d\"\ncase $? in
  2) printf 'unsafe %s\\n' \"$_wbad\"; exit 0;;
  0) stat -c 'dir %a %U' -- .
    _o=$(stat -c %u -- .)
    if [ -L \"./${_f##*/}\" ] && [ \"$_o\" != 0 ] && [ \"$_o\" != \"$(id -u)\" ]; then printf 'unsafe %s\\n' \"${PWD%/}/${_f##*/}\"; exit 0; fi
    stat -c 'file %a %U' -- \"./${_f##*/}\" 2>/dev/null
    sed 's/^/| /' -- \"./${_f##*/}\" 2>/dev/null;;
esac
true");
        Asked {
            file: facts.output(s),
            door: crate::door::ask(facts),
        }
    }

    fn decide(
        &self,
        asked: &Self::Asked,
        facts: &Facts,
        situation: Situation,
    ) -> Result<Option<(Change, Decision)>, Problem> {
        let probed = parse(&facts.get(asked.file).stdout);
        if let Some(link) = &probed.unsafe_link {
            return Err(super::refused_link(&self.id(), link));
        }
        if probed.home.is_empty() && self.absent {
            return Ok(None);
        }
        let action = if probed.file_mode.is_none() {
            Action::Create
        } else {
            Action::Update
        };
        let (lines, mut change) = self.edit(&probed.lines, Change::new(action));
        let user = &self.user;
        let path_managed = self.path.is_none();
        let wrong_mode = |got: &Option<String>, mode: &str| {
            got.as_ref().is_some_and(|g| *g != format!("{mode} {user}"))
        };
        if path_managed && wrong_mode(&probed.dir_mode, "700") {
            change = change.field(
                Field::MODE,
                probed.dir_mode.clone().map(|m| format!(".ssh {m}")),
                Some(format!(".ssh 700 {user}")),
            );
        }
        if wrong_mode(&probed.file_mode, "600") {
            change = change.field(
                Field::MODE,
                probed.file_mode.clone(),
                Some(format!("600 {user}")),
            );
        }
        if change.fields.is_empty() {
            return Ok(None);
        }
        if probed.home.is_empty() {
            change = change.reason("the account does not exist yet (an earlier step creates it)");
        }
        if let Some(door) = crate::door::read(facts, asked.door) {
            let shut = self.shuts(&door, &probed.lines, &lines);
            change = crate::door::guard(change, shut, situation.allow_lockout)?;
        }
        let before = join(&probed.lines);
        let content = join(&lines);
        change.diff = text_diff(before.as_bytes(), content.as_bytes());
        Ok(Some((change, Decision { content })))
    }

    fn script(&self, decision: &Decision, out: &mut Script) {
        self.locate(out);
        out.code("[ -n \"$_d\" ] && [ \"$_d\" != /.ssh ] || { printf 'no account %s\\n' \"$_u\" >&2; exit 1; }\n_g=$(id -gn -- \"$_u\") || exit 1\n");
        if self.path.is_none() {
            out.code(
                "_mkdir 0700 \"$_d\" || exit 1\n_attrs \"$_d\" 0700 \"$_u\" \"$_g\" || exit 1\n",
            );
        }
        out.code("_put \"$_f\" 0600 \"$_u\" \"$_g\"")
            .base64_heredoc(decision.content.as_bytes())
            .code("[ $? -eq 0 ] || exit 1\n");
    }
}

fn join(lines: &[String]) -> String {
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOB: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIGx5";

    #[test]
    fn lines_are_parsed_with_quoted_options() {
        let k = Key::parse(&format!(
            "command=\"echo a b\",from=\"10.0.0.1\" ssh-ed25519 {BLOB} ci deploy"
        ))
        .expect("key");
        assert_eq!(
            k.options.as_deref(),
            Some("command=\"echo a b\",from=\"10.0.0.1\"")
        );
        assert_eq!((k.kind.as_str(), k.blob.as_str()), ("ssh-ed25519", BLOB));
        assert_eq!(k.comment.as_deref(), Some("ci deploy"));
        assert_eq!(Key::parse("# comment"), None);
        assert_eq!(Key::parse("hello world"), None);
    }

    /// The probe's answer for `deploy`'s file holding `lines`.
    fn file_of(lines: &[String]) -> crate::facts::FactValue {
        let mut text = "home /home/deploy\ndir 700 deploy\nfile 600 deploy\n".to_owned();
        for line in lines {
            text.push_str("| ");
            text.push_str(line);
            text.push('\n');
        }
        crate::door::testing::answer(&text)
    }

    #[test]
    fn removing_or_forcing_a_command_on_the_session_key_is_refused_unless_allowed() {
        use crate::door::testing::{answer, DEPLOY, KEY};
        use crate::resource::testing::decide_over_ssh;
        let other = "ssh-rsa AAAAB3NzaOTHER other".to_owned();
        let current = vec![format!("{KEY} me"), other.clone()];
        let ak = |key: &str, exclusive: bool, absent: bool| AuthorizedKey {
            user: "deploy".into(),
            path: None,
            keys: vec![Key::parse(key).expect("key")],
            exclusive,
            absent,
        };
        let cases = [
            ak(&other, true, false),
            ak(KEY, false, true),
            ak(&format!("command=\"/bin/true\" {KEY} me"), false, false),
            ak(&format!("from=\"192.168.0.0/16\" {KEY} me"), false, false),
        ];
        for case in &cases {
            let answers = || vec![file_of(&current), answer(DEPLOY)];
            let refused = decide_over_ssh(case, answers(), KEY, false).expect_err("refused");
            assert!(refused.0.contains("allow_lockout: true"), "{refused}");
            let (change, _) = decide_over_ssh(case, answers(), KEY, true)
                .expect("allowed")
                .expect("a change");
            assert!(change.reason.is_some_and(|r| r.contains("allow_lockout")));
        }
        // Harmless: another key, options recon does not mind, another account's file, a
        // session that came in with another key.
        let fine = [
            ak(&other, false, true),
            ak(&format!("restrict,no-pty {KEY} me"), false, false),
            ak(&format!("from=\"10.0.0.0/8\" {KEY} me"), true, false),
        ];
        for case in &fine {
            let answers = vec![file_of(&current), answer(DEPLOY)];
            assert!(
                decide_over_ssh(case, answers, KEY, false).is_ok(),
                "{case:?}"
            );
        }
        let mut elsewhere = ak(&other, true, false);
        elsewhere.user = "app".into();
        let answers = vec![file_of(&current), answer(DEPLOY)];
        assert!(decide_over_ssh(&elsewhere, answers, KEY, false).is_ok());
        let answers = vec![file_of(&current), answer(DEPLOY)];
        assert!(
            decide_over_ssh(&ak(KEY, false, true), answers, "ssh-rsa AAAAB3Nzaxx", false).is_ok()
        );
    }

    #[test]
    fn changed_options_update_in_place_and_exclusive_drops_others() {
        let wanted = Key::parse(&format!("command=\"x\" ssh-ed25519 {BLOB} ci")).expect("key");
        let mut ak = AuthorizedKey {
            user: "cartogram".into(),
            path: None,
            keys: vec![wanted.clone()],
            exclusive: false,
            absent: false,
        };
        let current = vec![
            "# keep me".to_owned(),
            format!("ssh-ed25519 {BLOB} old"),
            "ssh-rsa AAAAB3Nz other".to_owned(),
        ];
        let (lines, change) = ak.edit(&current, Change::new(Action::Update));
        assert_eq!(
            lines,
            ["# keep me".to_owned(), wanted.line(), current[2].clone()]
        );
        assert_eq!(change.fields.len(), 1, "an update, not a duplicate");
        ak.exclusive = true;
        let (lines, change) = ak.edit(&current, Change::new(Action::Update));
        assert_eq!(lines, ["# keep me".to_owned(), wanted.line()]);
        assert_eq!(change.fields.len(), 2);
        ak.absent = true;
        let (lines, _) = ak.edit(&current, Change::new(Action::Update));
        assert_eq!(lines, ["# keep me".to_owned(), current[2].clone()]);
        let (lines, change) = ak.edit(&lines, Change::new(Action::Update));
        assert_eq!((lines.len(), change.fields.len()), (2, 0), "idempotent");
    }
}
