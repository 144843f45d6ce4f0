//! The private temp folder a host script keeps its own files in (step output, query output).
//! Its name is random (`mktemp -d`, mode 0700), so nothing lives under a predictable name in a
//! shared `/tmp`. A script that ends, is interrupted or loses its link (`SIGPIPE` only stops
//! dispatching: see `script/apply.rs`) removes it on exit; one killed outright cannot, so every
//! script first sweeps the folders of its account's scripts that no longer run (the `pid` file
//! names a process that is gone), and an interrupted run leaves no temp files behind the next.
//! The sweep runs while other scripts of the account run (probes, queries, and the applies of
//! the account's other targets, which each hold only their own lock): a folder is removed only
//! when its `pid` file names a process that is gone (or a zombie), never when that file is
//! missing or empty (a script between its `mktemp -d` and writing its pid), and a script's pid
//! is its own shell's, alive until it removed its folder itself.

/// `_tmp_open`: creates `$_rt` with this shell's pid inside, sets the `EXIT` trap that removes
/// it, points `_o`/`_e` at the output files in it, and sweeps dead scripts' folders. Status 1
/// when the folder cannot be created (a full disk).
pub(crate) const TEMP_FUNCTIONS: &str = r#"_tmp_open() {
  _rt=$(umask 077 && mktemp -d "${TMPDIR:-/tmp}/recon-run.XXXXXXXX") || return 1
  trap 'rm -rf -- "$_rt"' EXIT
  echo "$$" > "$_rt/pid" || return 1
  _o=$_rt/out; _e=$_rt/err
  : > "$_o" && : > "$_e" || return 1
  for _x in "${TMPDIR:-/tmp}"/recon-run.*; do
    [ "$_x" != "$_rt" ] && [ -d "$_x" ] && ! [ -L "$_x" ] && [ -O "$_x" ] || continue
    _xp=$(cat -- "$_x/pid" 2>/dev/null) || continue
    case $_xp in ''|*[!0-9]*) continue;; esac
    if kill -0 "$_xp" 2>/dev/null; then
      # A zombie (killed, not yet reaped by its parent) no longer runs either.
      _xs=$(sed -n 's/.*) \(.\).*/\1/p' "/proc/$_xp/stat" 2>/dev/null)
      [ "$_xs" = Z ] || continue
    fi
    rm -rf -- "$_x"
  done
  return 0
}
"#;

#[cfg(test)]
mod tests {
    use super::TEMP_FUNCTIONS;
    use crate::script::Script;

    /// Runs `body` after the helpers with `TMPDIR` set to `tmp`; returns its stdout.
    fn run(tmp: &std::path::Path, body: &'static str) -> String {
        let mut s = Script::of(TEMP_FUNCTIONS);
        s.code(body);
        crate::script::stdout_of(&s, "TMPDIR", tmp)
    }

    fn entries(dir: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_folder_is_private_and_gone_after_the_script_ends() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let seen = run(
            tmp.path(),
            "_tmp_open || exit 1\necho hi > \"$_o\"\nstat -c %a -- \"$_rt\"\ncat -- \"$_o\"\n",
        );
        assert_eq!(seen, "700\nhi\n");
        assert!(entries(tmp.path()).is_empty(), "{:?}", entries(tmp.path()));
    }

    #[test]
    fn a_killed_scripts_folder_is_swept_and_a_running_ones_is_kept() {
        let tmp = tempfile::tempdir().expect("tempdir");
        // A script killed outright: its folder names a pid that no longer runs.
        let mut dead = std::process::Command::new("true").spawn().expect("spawn");
        let dead_pid = dead.id();
        dead.wait().expect("wait");
        let killed = tmp.path().join("recon-run.killed01");
        std::fs::create_dir(&killed).expect("mkdir");
        std::fs::write(killed.join("pid"), format!("{dead_pid}\n")).expect("pid");
        std::fs::write(killed.join("out"), "old output").expect("out");
        // One still running (this test process), and something that is not recon's.
        let running = tmp.path().join("recon-run.running1");
        std::fs::create_dir(&running).expect("mkdir");
        std::fs::write(running.join("pid"), format!("{}\n", std::process::id())).expect("pid");
        std::fs::write(tmp.path().join("other-file"), "x").expect("other");
        // Scripts of other targets of the account starting at this very moment: one has made its
        // folder but not yet written its pid, one is writing it.
        let starting = tmp.path().join("recon-run.starting");
        std::fs::create_dir(&starting).expect("mkdir");
        let writing = tmp.path().join("recon-run.writing1");
        std::fs::create_dir(&writing).expect("mkdir");
        std::fs::write(writing.join("pid"), "").expect("pid");
        run(tmp.path(), "_tmp_open || exit 1\n");
        assert_eq!(
            entries(tmp.path()),
            vec![
                "other-file".to_owned(),
                "recon-run.running1".to_owned(),
                "recon-run.starting".to_owned(),
                "recon-run.writing1".to_owned()
            ]
        );
    }
}
