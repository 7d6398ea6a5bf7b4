//! Loading policy files from the file system and from git, writing them back (`fmt`, `build
//! -o`), and output to closed pipes: end-to-end runs of the binary on hostile file trees.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use charter::source::SourceSet;

fn charter_in(dir: &Path, args: &[&str]) -> Output {
    charter_cmd(dir, args).output().expect("run charter")
}

fn charter_cmd(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_charter"));
    cmd.args(args).current_dir(dir).env("NO_COLOR", "1");
    cmd
}

/// Runs charter, killing it after `limit`: a hang is a test failure, not a stuck test run.
fn charter_bounded(dir: &Path, args: &[&str], limit: Duration) -> Output {
    let mut child = charter_cmd(dir, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run charter");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > limit {
            child.kill().ok();
            panic!("charter {args:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const SPACE_A: &str = "space a \"A\" {\n  plan standard\n}\n";
const SPACE_B: &str = "space b \"B\" {\n  plan standard\n}\n";
/// SPACE_B, not in the canonical format.
const SPACE_B_LOOSE: &str = "space   b \"B\" {\n  plan    standard\n}\n";

/// A temporary folder holding a policy folder `p` with `a.charter`.
fn policy() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("p")).unwrap();
    std::fs::write(tmp.path().join("p/a.charter"), SPACE_A).unwrap();
    tmp
}

#[cfg(unix)]
mod special_files {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn a_link_to_a_device_is_refused_by_name_without_reading_it() {
        let tmp = policy();
        symlink("/dev/zero", tmp.path().join("p/z.charter")).unwrap();
        let out = charter_bounded(tmp.path(), &["check", "p"], Duration::from_secs(20));
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert!(stderr(&out).contains("`p/z.charter`"), "{}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    }

    #[test]
    fn a_named_pipe_is_refused_without_blocking() {
        let tmp = policy();
        let fifo = tmp.path().join("p/p.charter");
        let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
        assert!(made.success());
        for command in ["check", "fmt"] {
            let out = charter_bounded(tmp.path(), &[command, "p"], Duration::from_secs(20));
            assert_eq!(code(&out), 2, "{}", stderr(&out));
            assert_eq!(
                stderr(&out).trim(),
                "error: `p/p.charter` is a named pipe, not a regular file"
            );
        }
        // Named on the command line, too.
        let out = charter_bounded(
            tmp.path(),
            &["check", "p/p.charter"],
            Duration::from_secs(20),
        );
        assert_eq!(code(&out), 2, "{}", stderr(&out));
    }

    #[test]
    fn a_socket_is_refused() {
        let tmp = policy();
        let _socket = std::os::unix::net::UnixListener::bind(tmp.path().join("p/s.charter"))
            .expect("bind a socket");
        let out = charter_bounded(tmp.path(), &["check", "p"], Duration::from_secs(20));
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert!(stderr(&out).contains("`p/s.charter` is a socket"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_link_out_of_the_policy_never_shows_what_it_points_to() {
        let tmp = policy();
        symlink("/proc/self/environ", tmp.path().join("p/e.charter")).unwrap();
        let out = charter_cmd(tmp.path(), &["check", "p", "--format", "json"])
            .env("CHARTER_TEST_SECRET", "do-not-print-me")
            .output()
            .unwrap();
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(!all.contains("do-not-print-me"), "{all}");
        assert!(stderr(&out).contains("`p/e.charter` is a symbolic link that leads outside `p`"));
    }

    #[test]
    fn links_are_followed_only_to_regular_files_inside_the_policy() {
        let tmp = policy();
        let p = tmp.path().join("p");
        std::fs::write(tmp.path().join("outside.charter"), SPACE_B).unwrap();
        std::fs::create_dir(p.join("sub")).unwrap();
        for (link, target, problem) in [
            ("o.charter", "../outside.charter", "leads outside `p`"),
            (
                "sub/o.charter",
                "../../outside.charter",
                "leads outside `p`",
            ),
            ("n.charter", "missing.charter", "is a broken symbolic link"),
            (
                "d.charter",
                "sub",
                "to something that is not a regular file",
            ),
        ] {
            symlink(target, p.join(link)).unwrap();
            let out = charter_in(tmp.path(), &["check", "p"]);
            assert_eq!(code(&out), 2, "{link}: {}", stderr(&out));
            let message = stderr(&out);
            assert!(message.contains(&format!("`p/{link}`")), "{message}");
            assert!(message.contains(problem), "{message}");
            std::fs::remove_file(p.join(link)).unwrap();
        }
        // A single file named on the command line: its folder is the root.
        symlink("../outside.charter", p.join("o.charter")).unwrap();
        let out = charter_in(&p, &["check", "o.charter"]);
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("leads outside `.`"),
            "{}",
            stderr(&out)
        );
        std::fs::remove_file(p.join("o.charter")).unwrap();

        // Inside the policy: followed, and the target is loaded once, under its own name.
        std::fs::write(p.join("sub/b.charter"), SPACE_B).unwrap();
        symlink("sub/b.charter", p.join("b.charter")).unwrap();
        let out = charter_in(tmp.path(), &["check", "p"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("ok: 2 files, 2 spaces"),
            "{}",
            stderr(&out)
        );
        let (sources, _) = SourceSet::load(&p).unwrap();
        let names: Vec<_> = sources.files().map(|(_, f)| f.relative.clone()).collect();
        assert_eq!(names, ["a.charter", "sub/b.charter"]);
        // A link to a file that is not loaded otherwise keeps the link's name.
        std::fs::remove_file(p.join("b.charter")).unwrap();
        std::fs::rename(p.join("sub"), p.join(".hidden")).unwrap();
        symlink(".hidden/b.charter", p.join("b.charter")).unwrap();
        let (sources, _) = SourceSet::load(&p).unwrap();
        let names: Vec<_> = sources.files().map(|(_, f)| f.relative.clone()).collect();
        assert_eq!(names, ["a.charter", "b.charter"]);
    }

    /// Linux file systems take any bytes but `/` and NUL in a name (macOS's do not).
    #[cfg(target_os = "linux")]
    #[test]
    fn fmt_writes_a_non_utf8_file_name_back_to_the_same_file() {
        use std::os::unix::ffi::OsStrExt;
        let tmp = tempfile::tempdir().unwrap();
        let name = std::ffi::OsStr::from_bytes(b"b\xff.charter");
        std::fs::write(tmp.path().join(name), SPACE_B_LOOSE).unwrap();
        let out = charter_in(tmp.path(), &["fmt", "."]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let names: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [name.to_owned()], "no second file left behind");
        assert_eq!(
            std::fs::read_to_string(tmp.path().join(name)).unwrap(),
            SPACE_B
        );
    }

    #[test]
    fn fmt_and_build_write_through_a_link_and_keep_it() {
        let tmp = policy();
        let p = tmp.path().join("p");
        // The target is in a hidden folder, so that it is loaded through the link only.
        std::fs::create_dir(p.join(".real")).unwrap();
        std::fs::write(p.join(".real/b.charter"), SPACE_B_LOOSE).unwrap();
        symlink(".real/b.charter", p.join("b.charter")).unwrap();
        let out = charter_in(tmp.path(), &["fmt", "p"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(stdout(&out), "formatted p/b.charter\n");
        let link = std::fs::symlink_metadata(p.join("b.charter")).unwrap();
        assert!(link.file_type().is_symlink(), "the link is still a link");
        assert_eq!(
            std::fs::read_to_string(p.join(".real/b.charter")).unwrap(),
            SPACE_B
        );

        std::fs::create_dir(tmp.path().join("out")).unwrap();
        std::fs::write(tmp.path().join("out/snap.json"), "old").unwrap();
        symlink("out/snap.json", tmp.path().join("snap.json")).unwrap();
        let out = charter_in(tmp.path(), &["build", "p", "-o", "snap.json"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let link = std::fs::symlink_metadata(tmp.path().join("snap.json")).unwrap();
        assert!(link.file_type().is_symlink(), "the link is still a link");
        let written = std::fs::read_to_string(tmp.path().join("out/snap.json")).unwrap();
        assert!(written.contains("\"format_version\""), "{written}");
        assert_eq!(
            std::fs::read_dir(tmp.path().join("out")).unwrap().count(),
            1
        );
    }
}

#[test]
fn a_file_edited_after_loading_is_seen_as_changed() {
    let tmp = policy();
    let (sources, _) = SourceSet::load(&tmp.path().join("p")).unwrap();
    let (_, file) = sources.files().next().unwrap();
    assert!(file.unchanged_on_disk().unwrap());
    std::fs::write(
        tmp.path().join("p/a.charter"),
        format!("{SPACE_A}# edited\n"),
    )
    .unwrap();
    assert!(!file.unchanged_on_disk().unwrap());
    std::fs::write(tmp.path().join("p/a.charter"), "").unwrap();
    assert!(!file.unchanged_on_disk().unwrap());
}

/// A temporary git repository, isolated from the machine's git configuration.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let repo = Repo {
            dir: tempfile::tempdir().unwrap(),
        };
        repo.git(&["init", "-q"]);
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn git(&self, args: &[&str]) {
        let status = Command::new("git")
            .args([
                "-c",
                "user.name=charter",
                "-c",
                "user.email=charter@example.org",
            ])
            .args(["-c", "commit.gpgsign=false", "-c", "core.autocrlf=false"])
            .args(args)
            .current_dir(self.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .status()
            .expect("git is installed");
        assert!(status.success(), "git {args:?}");
    }

    fn write(&self, name: &str, id: &str) {
        let path = self.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            path,
            format!("space {id} \"{id}\" {{\n  plan standard\n}}\n"),
        )
        .unwrap();
    }

    fn commit(&self) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", "policy"]);
    }

    /// `charter diff ... --format json` in `dir` (below the repository), English messages.
    fn diff(&self, dir: &str, old: &str, new: &str) -> Output {
        let args = ["diff", "--format", "json", "--", old, new];
        charter_cmd(&self.path().join(dir), &args)
            .env("LC_ALL", "C")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .unwrap()
    }
}

/// `(space, status)` of a JSON diff, sorted.
fn spaces(out: &Output) -> Vec<(String, String)> {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let mut spaces: Vec<_> = v["spaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let field = |k: &str| s[k].as_str().unwrap().to_owned();
            (field("space"), field("status"))
        })
        .collect();
    spaces.sort();
    spaces
}

fn added(ids: &[&str]) -> Vec<(String, String)> {
    let mut v: Vec<_> = ids
        .iter()
        .map(|i| (i.to_string(), "added".into()))
        .collect();
    v.sort();
    v
}

#[test]
fn a_git_revision_gives_exactly_the_files_the_working_tree_loader_reads() {
    let repo = Repo::new();
    repo.write("p/base.charter", "base");
    repo.commit();
    // Names git would quote without `-z`, one that looks like an option, a folder; and what
    // the loader skips: hidden files and folders, other extensions.
    repo.write("p/clínica.charter", "clinica");
    repo.write("p/say \"hi\".charter", "quote");
    repo.write("p/back\\slash.charter", "backslash");
    repo.write("p/tab\there.charter", "tab");
    repo.write("p/-n.charter", "dash");
    repo.write("p/sub/deep.charter", "deep");
    repo.write("p/.hidden.charter", "hidden");
    repo.write("p/.drafts/draft.charter", "draft");
    repo.write("p/notes.txt", "notes");
    repo.write("other/elsewhere.charter", "elsewhere");
    repo.commit();

    let out = repo.diff(".", "HEAD~1:p", "HEAD:p");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let expected = added(&["clinica", "quote", "backslash", "tab", "dash", "deep"]);
    assert_eq!(spaces(&out), expected);

    // The same files as the working tree: an unchanged clean tree shows no change.
    let out = repo.diff(".", "HEAD:p", "p");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(spaces(&out), []);
    let (sources, _) = SourceSet::load(&repo.path().join("p")).unwrap();
    assert_eq!(sources.len(), 7);
}

#[test]
fn a_git_path_is_read_as_git_reads_it() {
    let repo = Repo::new();
    repo.write("p/a.charter", "a");
    repo.write("p/sub/b.charter", "b");
    repo.commit();
    // From the repository root, wherever charter runs; `./` and `../` from where it runs.
    for (dir, old, new) in [
        ("p/sub", "HEAD:p/sub", "HEAD:p"),
        ("p/sub", "HEAD:./", "HEAD:../"),
        ("p/sub", "HEAD:.", "HEAD:.."),
        ("p", "HEAD:./sub", "HEAD:"),
        ("p", "HEAD:p/sub/b.charter", "HEAD:./a.charter"),
    ] {
        let out = repo.diff(dir, old, new);
        assert_eq!(code(&out), 0, "{dir}: {old} {new}: {}", stderr(&out));
        let want = match new {
            "HEAD:./a.charter" => {
                vec![("a".into(), "added".into()), ("b".into(), "removed".into())]
            }
            _ => added(&["a"]),
        };
        assert_eq!(spaces(&out), want, "{dir}: {old} {new}");
    }
    // `sub/b.charter` is not in the root tree: git's message says so.
    let out = repo.diff("p", "HEAD:sub/b.charter", ".");
    assert_eq!(code(&out), 2);
    assert_eq!(
        stderr(&out).trim(),
        "error: cannot read `HEAD:sub/b.charter` from git: path 'sub/b.charter' does not exist \
         in 'HEAD'"
    );
}

#[test]
fn a_git_failure_is_one_line_with_the_real_cause() {
    let repo = Repo::new();
    repo.write("p/a.charter", "a");
    repo.write("p/notes.txt", "notes");
    repo.commit();
    for (rev, message) in [
        ("nope:p", "error: unknown git revision `nope`"),
        ("--output=x:p", "error: `--output=x` is not a git revision"),
        (
            "HEAD:p/notes.txt",
            "error: `HEAD:p/notes.txt` is not a `.charter` file",
        ),
    ] {
        let out = repo.diff(".", rev, "p");
        assert_eq!(code(&out), 2, "{rev}");
        assert_eq!(stderr(&out).trim(), message, "{rev}");
    }
    assert!(!repo.path().join("x").exists());

    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir(outside.path().join("p")).unwrap();
    std::fs::write(outside.path().join("p/a.charter"), SPACE_A).unwrap();
    let out = charter_cmd(outside.path(), &["diff", "HEAD:p", "p"])
        .env("LC_ALL", "C")
        .env("GIT_CEILING_DIRECTORIES", outside.path().parent().unwrap())
        .output()
        .unwrap();
    assert_eq!(code(&out), 2);
    assert_eq!(
        stderr(&out).trim(),
        "error: cannot read `HEAD:p` from git: not a git repository (or any of the parent \
         directories): .git"
    );
}

#[cfg(unix)]
#[test]
fn git_links_follow_the_working_tree_rules() {
    use std::os::unix::fs::symlink;
    let repo = Repo::new();
    repo.write("p/a.charter", "a");
    repo.write("p/.shared/s.charter", "shared");
    repo.write("outside.charter", "outside");
    symlink(".shared/s.charter", repo.path().join("p/s.charter")).unwrap();
    symlink("a.charter", repo.path().join("p/alias.charter")).unwrap();
    repo.commit();
    let out = repo.diff(".", "HEAD:p", "p");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(spaces(&out), []);
    let (sources, _) = SourceSet::load(&repo.path().join("p")).unwrap();
    assert_eq!(sources.len(), 2, "the alias of a.charter is loaded once");

    symlink("../outside.charter", repo.path().join("p/o.charter")).unwrap();
    repo.commit();
    let out = repo.diff(".", "HEAD:p", "p");
    assert_eq!(code(&out), 2);
    let message = stderr(&out);
    assert_eq!(message.lines().count(), 2, "{message}");
    assert!(message.contains("`HEAD:p/o.charter` is a symbolic link that leads outside `HEAD:p`"));
    assert!(message.contains("`p/o.charter` is a symbolic link that leads outside `p`"));
    // A single file: its folder is the root.
    let out = repo.diff(".", "HEAD:p/o.charter", "HEAD:p/a.charter");
    assert_eq!(code(&out), 2);
    assert_eq!(
        stderr(&out).trim(),
        "error: `HEAD:p/o.charter` is a symbolic link that leads outside `HEAD:p`; only links \
         to files inside the policy directory are followed"
    );
}

/// Commands with output on standard output, run on the bundled policies; `batch` is a file of
/// queries.
fn printing(batch: &Path) -> Vec<Vec<String>> {
    let batch = batch.to_str().unwrap();
    let commands: [&[&str]; 8] = [
        &[
            "report",
            "enterprise",
            "policies/two-enterprises",
            "--enterprise",
            "healthbridge",
        ],
        &["test", "policies/acme"],
        &["test", "policies/acme", "--format", "json"],
        &["check", "policies/national-health", "--format", "sarif"],
        &[
            "query",
            "policies/acme",
            "who can view reports in acme-prod",
        ],
        &["query", "policies/acme", "--batch", batch],
        &["diff", "policies/acme", "policies/national-health"],
        // Test inputs are written as people write them, not canonically.
        &["fmt", "tests/diff", "--check"],
    ];
    commands
        .iter()
        .map(|c| c.iter().map(|a| a.to_string()).collect())
        .collect()
}

/// A file of many queries (more output than a pipe holds).
fn batch_file() -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    let queries = "\"ravi@acme.org\" can view reports in acme-prod\n".repeat(5000);
    std::fs::write(file.path(), queries).unwrap();
    file
}

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn a_closed_pipe_ends_every_command_quietly_with_its_own_exit_code() {
    let batch = batch_file();
    for args in printing(batch.path()) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let full = charter_in(repo_root(), &args);
        assert!(!full.stdout.is_empty(), "{args:?} prints something");
        // The reading end is closed before charter writes: every write fails with EPIPE.
        let mut child = charter_cmd(repo_root(), &args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(code(&out), code(&full), "{args:?}: {}", stderr(&out));
        assert_eq!(
            stderr(&out),
            stderr(&full),
            "{args:?}: nothing more is said"
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_on_standard_output_is_one_line_and_exit_2() {
    let batch = batch_file();
    for args in printing(batch.path()) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = charter_cmd(repo_root(), &args)
            .env("LC_ALL", "C")
            .stdout(full)
            .output()
            .unwrap();
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        let last = stderr(&out).lines().last().unwrap_or_default().to_owned();
        assert_eq!(
            last, "error: cannot write to standard output: No space left on device (os error 28)",
            "{args:?}"
        );
        assert!(!stderr(&out).contains("panicked"), "{args:?}");
    }
}
