//! A snapshot is untrusted input: validated on load, size- and nesting-limited, optionally
//! signed (`keygen`, `build --sign`, `--verify-key`, `verify`). Also `query --batch` and SARIF
//! file names.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use charter::snapshot::format::{self, Format, PLACEHOLDER};
use serde_json::{Value, json};

fn charter_in(dir: &Path, args: &[&str]) -> Output {
    charter_with_input(dir, args, None)
}

/// Runs charter, killing it after 60 s (a hang is a failure, not a stuck suite).
fn charter_with_input(dir: &Path, args: &[&str], input: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_charter"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run charter");
    if let Some(input) = input {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("charter {args:?} did not finish in 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The acme policy as a parsed JSON snapshot.
fn acme() -> Value {
    let tmp = tempfile::tempdir().unwrap();
    let out_path = tmp.path().join("s.json");
    let out = charter_in(
        &root(),
        &["build", "policies/acme", "-o", out_path.to_str().unwrap()],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    serde_json::from_str(&std::fs::read_to_string(&out_path).unwrap()).unwrap()
}

/// The snapshot's JSON text with its content digest recomputed (docs/snapshot.md): what
/// someone who edits a snapshot on purpose would do.
fn reseal(v: &Value) -> String {
    let mut v = v.clone();
    v["content_digest"] = json!(PLACEHOLDER);
    let text = format!("{}\n", serde_json::to_string_pretty(&v).unwrap());
    let digest = format::sha256(text.as_bytes());
    text.replacen(PLACEHOLDER, &digest, 1)
}

fn space<'a>(v: &'a mut Value, id: &str) -> &'a mut Value {
    v["spaces"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|s| s["id"] == id)
        .unwrap()
}

fn member<'a>(v: &'a mut Value, s: &str, name: &str) -> &'a mut Value {
    space(v, s)["members"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|m| m["name"] == name)
        .unwrap()
}

/// Writes an edited snapshot and asks a query of it.
fn query_edited(v: &Value, query: &str) -> Output {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("s.json"), reseal(v)).unwrap();
    charter_in(tmp.path(), &["query", "s.json", query])
}

const WHY: &str = r#"why "priya@acme.org" cannot view data at pat-01 in acme-prod"#;

#[test]
fn a_resealed_snapshot_is_still_accepted_unchanged() {
    let out = query_edited(&acme(), WHY);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).starts_with("denied: "), "{}", stdout(&out));
}

#[test]
fn a_member_holding_an_unknown_role_is_refused_not_read_as_admin() {
    let mut v = acme();
    member(&mut v, "acme-prod", "priya@acme.org")["role"] = json!("nope");
    let out = query_edited(&v, WHY);
    assert_eq!(code(&out), 2);
    assert_eq!(
        stderr(&out).trim(),
        "error: snapshot `s.json` is invalid: member `priya@acme.org` of space `acme-prod` holds role `nope`, which the space does not have; rebuild it from the policy"
    );
}

#[test]
fn no_roles_is_refused_not_a_panic() {
    let mut v = acme();
    space(&mut v, "acme-prod")["roles"] = json!([]);
    let out = query_edited(&v, WHY);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is invalid: member"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("internal error"));
}

#[test]
fn location_cycles_and_duplicates_are_refused_not_looped_on() {
    type Edit = fn(&mut Value);
    let cases: &[(&str, Edit)] = &[
        ("its own parent", |s| {
            let id = s["locations"][1]["id"].clone();
            s["locations"][1]["parent"] = id;
        }),
        ("a parent cycle", |s| {
            let (a, b) = (
                s["locations"][1]["id"].clone(),
                s["locations"][2]["id"].clone(),
            );
            s["locations"][1]["parent"] = b;
            s["locations"][2]["parent"] = a;
        }),
        ("a duplicate id", |s| {
            let id = s["locations"][1]["id"].clone();
            s["locations"][2]["id"] = id;
        }),
    ];
    for (what, edit) in cases {
        let mut v = acme();
        edit(space(&mut v, "acme-prod"));
        let out = query_edited(&v, WHY);
        assert_eq!(code(&out), 2, "{what}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("is invalid: "),
            "{what}: {}",
            stderr(&out)
        );
        assert_eq!(stderr(&out).lines().count(), 1, "{what}");
    }
}

#[test]
fn a_value_out_of_range_is_refused_not_read_as_view() {
    let mut v = acme();
    let role = space(&mut v, "acme-prod")["roles"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["id"] == "district-manager")
        .unwrap();
    role["permissions"]["data"] = json!("superuser");
    let out = query_edited(&v, WHY);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains(
            "role `district-manager` of space `acme-prod`: `data` is `superuser`, which is not `none`, `view` or `edit`"
        ),
        "{}",
        stderr(&out)
    );
}

/// Every kind of broken reference or inconsistency, each refused with a message naming it.
#[test]
fn every_reference_and_range_is_checked() {
    type Edit = fn(&mut Value);
    let cases: &[(&str, Edit)] = &[
        ("`source_digest` is not", |v| {
            v["source_digest"] = json!("md5:x")
        }),
        ("which the snapshot does not have", |v| {
            v["enterprises"][0]["spaces"][0] = json!("nowhere")
        }),
        ("space `acme-prod` appears twice", |v| {
            let s = space(v, "acme-prod").clone();
            v["spaces"].as_array_mut().unwrap().push(s);
        }),
        ("but the role has no `mobile_workers = edit`", |v| {
            // `field-implementer`'s sub-permissions are implied by `mobile_workers = edit`:
            // lowering it while keeping the reasons would make `why` explain a false grant.
            let roles = space(v, "acme-prod")["roles"].as_array_mut().unwrap();
            let fi = roles
                .iter_mut()
                .find(|r| r["id"] == "field-implementer")
                .unwrap();
            fi["permissions"]["mobile_workers"] = json!("none");
        }),
        ("records a declared value equal to the effective one", |v| {
            let roles = space(v, "acme-prod")["roles"].as_array_mut().unwrap();
            let fi = roles
                .iter_mut()
                .find(|r| r["id"] == "field-implementer")
                .unwrap();
            fi["reasons"]["change_group_membership"]["declared"] = json!("on");
        }),
        ("has upstream `ghost`", |v| {
            space(v, "acme-prod")["upstream"] = json!("ghost")
        }),
        ("has a remote upstream link but no upstream", |v| {
            space(v, "acme-global")["upstream_remote"] = json!(true)
        }),
        ("leads back to it", |v| {
            space(v, "acme-global")["upstream"] = json!("acme-prod");
            space(v, "acme-prod")["downstream"] = json!(["acme-global"]);
        }),
        ("lists downstream", |v| {
            space(v, "acme-prod")["downstream"] = json!(["acme-global"])
        }),
        ("declares enterprise `ghost`", |v| {
            space(v, "acme-prod")["enterprise"] = json!("ghost")
        }),
        ("plan `platinum`", |v| {
            space(v, "acme-prod")["plan"] = json!("platinum")
        }),
        ("has type `planet`", |v| {
            space(v, "acme-prod")["locations"][0]["type"] = json!("planet")
        }),
        ("has `enter` 7", |v| {
            space(v, "acme-prod")["locations"][1]["enter"] = json!(7)
        }),
        ("has `exit` 900", |v| {
            space(v, "acme-prod")["locations"][0]["exit"] = json!(900)
        }),
        ("is inside `ghost`", |v| {
            space(v, "acme-prod")["locations"][1]["parent"] = json!("ghost")
        }),
        ("is assigned location `ghost`", |v| {
            member(v, "acme-prod", "priya@acme.org")["scope"] = json!(["ghost"])
        }),
        ("is in group `ghost`", |v| {
            member(v, "acme-prod", "priya@acme.org")["groups"] = json!(["ghost"])
        }),
        ("names `ghost@acme.org` in `login_as`", |v| {
            member(v, "acme-prod", "asha-01")["login_as"] = json!(["ghost@acme.org"])
        }),
        ("names `asha-01` in `login_as`", |v| {
            // A worker is not a web user: nobody logs in as it through another worker.
            member(v, "acme-prod", "asha-01")["login_as"] = json!(["asha-01"])
        }),
        ("only mobile workers are logged in as", |v| {
            member(v, "acme-prod", "priya@acme.org")["login_as"] = json!(["default"])
        }),
        ("has scope `everywhere`", |v| {
            member(v, "acme-prod", "priya@acme.org")["scope"] = json!("everywhere")
        }),
        ("a scope that does not match role", |v| {
            member(v, "acme-prod", "priya@acme.org")["scope"] = json!("all")
        }),
        ("with another upstream than the role's", |v| {
            member(v, "acme-prod", "priya@acme.org")["role_from_upstream"] = json!("acme-global")
        }),
        ("member `PRIYA@acme.org` appears twice", |v| {
            let mut m = member(v, "acme-prod", "priya@acme.org").clone();
            m["name"] = json!("PRIYA@acme.org");
            space(v, "acme-prod")["members"]
                .as_array_mut()
                .unwrap()
                .push(m);
        }),
        ("lists report `ghost`", |v| {
            space(v, "acme-prod")["roles"][0]["permissions"]["reports"] = json!(["ghost"])
        }),
        ("has no value for permission `data`", |v| {
            space(v, "acme-prod")["roles"][0]["permissions"]
                .as_object_mut()
                .unwrap()
                .remove("data");
        }),
        ("has permission `teleport`", |v| {
            space(v, "acme-prod")["roles"][0]["permissions"]["teleport"] = json!("on")
        }),
        ("admin is never restricted", |v| {
            let roles = space(v, "acme-prod")["roles"].as_array_mut().unwrap();
            let admin = roles.iter_mut().find(|r| r["id"] == "admin").unwrap();
            admin["permissions"]["full_organization_access"] = json!("off");
        }),
        ("which hides it", |v| {
            let roles = space(v, "acme-prod")["roles"].as_array_mut().unwrap();
            let r = roles
                .iter_mut()
                .find(|r| r["id"] == "district-manager")
                .unwrap();
            r["permissions"]["web_users"] = json!("edit");
        }),
        (
            "the index entry of space `acme-global` does not match",
            |v| v["index"]["spaces"][0]["server"] = json!("mars"),
        ),
        ("the index lists 1 spaces", |v| {
            v["index"]["spaces"].as_array_mut().unwrap().pop();
        }),
        ("is received from `ghost`", |v| {
            space(v, "acme-prod")["roles"][0]["from_upstream"] = json!("ghost")
        }),
        ("does not give exactly one cause", |v| {
            let roles = space(v, "acme-prod")["roles"].as_array_mut().unwrap();
            let r = roles.iter_mut().find(|r| r["reasons"].is_object()).unwrap();
            let key = r["reasons"]
                .as_object()
                .unwrap()
                .keys()
                .next()
                .unwrap()
                .clone();
            r["reasons"][&key] = json!({"declared": "on"});
        }),
    ];
    for (expected, edit) in cases {
        let mut v = acme();
        edit(&mut v);
        let out = query_edited(&v, WHY);
        assert_eq!(code(&out), 2, "{expected}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{expected}: {}",
            stderr(&out)
        );
        assert_eq!(stderr(&out).lines().count(), 1, "{expected}");
    }
}

/// What the compiler writes always validates: bundled policies and generated ones.
#[test]
fn every_built_snapshot_validates() {
    use charter::source::SourceSet;
    let mut policies: Vec<Vec<(String, String)>> = Vec::new();
    for seed in 0..12 {
        policies.push(charter::synth::generate(&charter::synth::Params {
            spaces: 1 + (seed as usize % 3),
            locations: 5 + 7 * seed as usize,
            roles: 2 + seed as usize % 5,
            members: 3 + 5 * seed as usize,
            seed,
        }));
    }
    for dir in [
        "policies/acme",
        "policies/national-health",
        "policies/two-enterprises",
    ] {
        let (sources, _) = SourceSet::load(&root().join(dir)).unwrap();
        let compiled = charter::compile(&sources);
        let snapshot = charter::emit::emit(&compiled.ir, &sources);
        let text = format::render(&snapshot, Format::Yaml);
        let loaded = format::parse_as(&text, Format::Yaml).unwrap();
        charter::snapshot::validate::validate(&loaded).unwrap_or_else(|e| panic!("{dir}: {e}"));
    }
    for files in policies {
        let mut sources = SourceSet::default();
        for (name, text) in files {
            sources.add(name, text);
        }
        let compiled = charter::compile(&sources);
        assert!(!compiled.has_errors());
        let snapshot = charter::emit::emit(&compiled.ir, &sources);
        charter::snapshot::validate::validate(&snapshot).unwrap();
    }
}

#[test]
fn the_format_is_chosen_by_extension() {
    let tmp = tempfile::tempdir().unwrap();
    let yaml = tmp.path().join("s.yaml");
    let out = charter_in(
        &root(),
        &["build", "policies/acme", "-o", yaml.to_str().unwrap()],
    );
    assert_eq!(code(&out), 0);
    std::fs::copy(&yaml, tmp.path().join("s.json")).unwrap();
    std::fs::copy(&yaml, tmp.path().join("s.txt")).unwrap();
    let out = charter_in(tmp.path(), &["query", "s.json", WHY]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).starts_with("error: `s.json` is not a charter snapshot: "),
        "{}",
        stderr(&out)
    );
    // A JSON snapshot is also YAML, so `.yaml` reads it.
    std::fs::write(tmp.path().join("j.yaml"), reseal(&acme())).unwrap();
    let out = charter_in(tmp.path(), &["query", "j.yaml", WHY]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // Not a snapshot extension: read as a policy file, which it is not.
    let out = charter_in(tmp.path(), &["query", "s.txt", WHY]);
    assert_eq!(code(&out), 2);
}

#[test]
fn deep_nesting_is_refused_before_the_parser_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let n = 200_000;
    let deep = format!("format_version: 1\nx: {}{}\n", "[".repeat(n), "]".repeat(n));
    std::fs::write(tmp.path().join("s.yaml"), &deep).unwrap();
    std::fs::write(
        tmp.path().join("s.json"),
        format!("{{\"x\": {}{}}}", "[".repeat(n), "]".repeat(n)),
    )
    .unwrap();
    for file in ["s.yaml", "s.json"] {
        let start = Instant::now();
        let out = charter_in(tmp.path(), &["query", file, WHY]);
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(code(&out), 2);
        assert_eq!(
            stderr(&out).trim(),
            format!(
                "error: `{file}` is not a charter snapshot: it is nested deeper than 64 levels"
            )
        );
    }
}

#[cfg(unix)]
#[test]
fn pipes_devices_and_directories_are_refused_unopened() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("s.json");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let out = charter_in(tmp.path(), &["query", "s.json", WHY]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("is a named pipe"), "{}", stderr(&out));
    // Through the library too (the CLI reads a non-file path as a policy).
    std::os::unix::fs::symlink("/dev/zero", tmp.path().join("z.json")).unwrap();
    let e = format::load(&tmp.path().join("z.json")).unwrap_err();
    assert!(
        e.to_string().contains("it is a device, not a regular file"),
        "{e}"
    );
    std::fs::create_dir(tmp.path().join("d.json")).unwrap();
    let e = format::load(&tmp.path().join("d.json")).unwrap_err();
    assert!(e.to_string().contains("it is a directory"), "{e}");
}

#[test]
fn the_size_limit_is_checked_before_reading() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("s.json");
    std::fs::write(&path, reseal(&acme())).unwrap();
    assert!(format::load_with_limit(&path, 1 << 20).is_ok());
    let e = format::load_with_limit(&path, 100).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "cannot read snapshot `{}`: it is larger than the limit of 100 bytes",
            path.display()
        )
    );
    // A sparse file past the default limit is refused by its size, at once.
    let big = tmp.path().join("big.json");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(format::MAX_SNAPSHOT_BYTES + 1).unwrap();
    let start = Instant::now();
    let out = charter_in(tmp.path(), &["query", "big.json", WHY]);
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("larger than the limit"),
        "{}",
        stderr(&out)
    );
}

// ---- signing: keygen, build --sign, --verify-key, verify ----

/// A key pair and the acme policy built to `s.json` signed and `u.json` unsigned, in `dir`.
fn signed_setup(dir: &Path) {
    let out = charter_in(dir, &["keygen", "--out", "k"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let acme = root().join("policies/acme");
    let acme = acme.to_str().unwrap();
    for (file, sign) in [("s.json", true), ("u.json", false), ("s.yaml", true)] {
        let mut args = vec!["build", acme, "-o", file];
        if sign {
            args.extend(["--sign", "k.key"]);
        }
        let out = charter_in(dir, &args);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
}

#[test]
fn keygen_writes_a_private_key_for_its_owner_only_and_never_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    let out = charter_in(tmp.path(), &["keygen", "--out", "release"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let secret = std::fs::read_to_string(tmp.path().join("release.key")).unwrap();
    let public = std::fs::read_to_string(tmp.path().join("release.pub")).unwrap();
    assert!(secret.starts_with("charter-ed25519-secret:") && secret.len() == 23 + 64 + 1);
    assert!(public.starts_with("charter-ed25519-public:") && public.len() == 23 + 64 + 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(tmp.path().join("release.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = charter_in(tmp.path(), &["keygen", "--out", "release"]);
    assert_eq!(code(&again), 2);
    assert_eq!(
        stderr(&again).trim(),
        "error: `release.key` exists; not overwriting it"
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("release.key")).unwrap(),
        secret
    );
    // Signing with the public half is refused before anything is compiled or written.
    let acme = root().join("policies/acme");
    let out = charter_in(
        tmp.path(),
        &[
            "build",
            acme.to_str().unwrap(),
            "-o",
            "s.json",
            "--sign",
            "release.pub",
        ],
    );
    assert_eq!(code(&out), 2);
    assert_eq!(
        stderr(&out).trim(),
        "error: cannot read private key `release.pub`: this is not a private key file (it holds the other half of the pair)"
    );
    assert!(!tmp.path().join("s.json").exists());
}

#[test]
fn verify_key_accepts_its_own_signature_and_refuses_anything_else() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    signed_setup(dir);
    let q = r#""priya@acme.org" can view data at lko-01 in acme-prod"#;
    for file in ["s.json", "s.yaml"] {
        let out = charter_in(dir, &["query", file, q, "--verify-key", "k.pub"]);
        assert_eq!(code(&out), 0, "{file}: {}", stderr(&out));
    }
    // An unsigned snapshot has no signature field at all (the shape of version 1).
    let unsigned = std::fs::read_to_string(dir.join("u.json")).unwrap();
    assert!(!unsigned.contains("signature"));
    let out = charter_in(dir, &["query", "u.json", q, "--verify-key", "k.pub"]);
    assert_eq!(code(&out), 2);
    assert_eq!(
        stderr(&out).trim(),
        "error: snapshot `u.json` is not signed, and `--verify-key k.pub` requires its signature: build it with `--sign`"
    );
    // Another key.
    assert_eq!(code(&charter_in(dir, &["keygen", "--out", "other"])), 0);
    let out = charter_in(dir, &["query", "s.json", q, "--verify-key", "other.pub"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("is signed by key `") && stderr(&out).contains("not by `other.pub`"),
        "{}",
        stderr(&out)
    );
    // Edited, digest recomputed, signature kept: the signature no longer verifies.
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("s.json")).unwrap()).unwrap();
    member(&mut v, "acme-prod", "priya@acme.org")["role"] = json!("admin");
    member(&mut v, "acme-prod", "priya@acme.org")["scope"] = json!("all");
    let sig = v["signature"]["ed25519"].as_str().unwrap().to_owned();
    v["signature"]["ed25519"] = json!(format::SIGNATURE_PLACEHOLDER);
    let resealed = reseal(&v).replacen(format::SIGNATURE_PLACEHOLDER, &sig, 1);
    std::fs::write(dir.join("e.json"), resealed).unwrap();
    let plain = charter_in(dir, &["query", "e.json", q]);
    assert_eq!(
        code(&plain),
        0,
        "digest and validation pass: {}",
        stderr(&plain)
    );
    let out = charter_in(dir, &["query", "e.json", q, "--verify-key", "k.pub"]);
    assert_eq!(code(&out), 2);
    assert_eq!(
        stderr(&out).trim(),
        "error: snapshot `e.json` names the key of `k.pub`, but its signature does not verify: it was not signed by that key"
    );
    // The private key is not a public key, and a policy is not a snapshot.
    let out = charter_in(dir, &["query", "s.json", q, "--verify-key", "k.key"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("cannot read public key `k.key`"),
        "{}",
        stderr(&out)
    );
    let acme = root().join("policies/acme");
    let out = charter_in(
        dir,
        &["query", acme.to_str().unwrap(), q, "--verify-key", "k.pub"],
    );
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("is a policy, not a snapshot"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn diff_and_report_check_signatures_too() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    signed_setup(dir);
    let out = charter_in(dir, &["diff", "s.json", "s.yaml", "--verify-key", "k.pub"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = charter_in(dir, &["diff", "s.json", "u.json", "--verify-key", "k.pub"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("`u.json` is not signed"),
        "{}",
        stderr(&out)
    );
    let report = [
        "report",
        "enterprise",
        "--enterprise",
        "acme",
        "--verify-key",
        "k.pub",
    ];
    let out = charter_in(dir, &[&report[..], &["s.json"]].concat());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = charter_in(dir, &[&report[..], &["u.json"]].concat());
    assert_eq!(code(&out), 2);
}

#[test]
fn verify_checks_digest_validity_signature_and_a_byte_identical_rebuild() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    signed_setup(dir);
    let acme = root().join("policies/acme");
    let acme = acme.to_str().unwrap();
    for file in ["s.json", "s.yaml", "u.json"] {
        let out = charter_in(
            dir,
            &["verify", file, "--policy", acme, "--verify-key", "k.pub"],
        );
        if file == "u.json" {
            assert_eq!(code(&out), 1);
            assert!(stderr(&out).contains("is not signed"), "{}", stderr(&out));
            let out = charter_in(dir, &["verify", file, "--policy", acme]);
            assert_eq!(code(&out), 0, "{}", stderr(&out));
            assert!(
                stdout(&out).contains("note: not signed"),
                "{}",
                stdout(&out)
            );
            continue;
        }
        assert_eq!(code(&out), 0, "{file}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains("ok: content digest matches"), "{text}");
        assert!(text.contains("ok: signed by `k.pub`"), "{text}");
        assert!(text.contains("rebuilds it byte for byte"), "{text}");
    }
    // Another policy does not rebuild it.
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    for f in std::fs::read_dir(root().join("policies/acme")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, other.join(f.file_name().unwrap())).unwrap();
    }
    let prod = other.join("prod.charter");
    let text = std::fs::read_to_string(&prod).unwrap();
    std::fs::write(&prod, text.replacen("locations [lko]", "locations [up]", 1)).unwrap();
    let out = charter_in(dir, &["verify", "s.json", "--policy", "other"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out)
            .starts_with("error: `s.json` is not what `other` builds: they differ from line"),
        "{}",
        stderr(&out)
    );
    // An edited file fails the first check.
    let edited = std::fs::read_to_string(dir.join("u.json"))
        .unwrap()
        .replacen("\"view\"", "\"edit\"", 1);
    std::fs::write(dir.join("t.json"), edited).unwrap();
    let out = charter_in(dir, &["verify", "t.json"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("does not match its content digest"),
        "{}",
        stderr(&out)
    );
}

// ---- query --batch ----

#[test]
fn batch_answers_carry_line_numbers_skip_comments_and_go_on_after_bad_lines() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("s.json"), reseal(&acme())).unwrap();
    let mut input: Vec<u8> = Vec::new();
    input.extend_from_slice(b"# audit of acme-prod\n\n");
    input.extend_from_slice(b"\"priya@acme.org\" can view data at lko-01 in acme-prod\n");
    input.extend_from_slice(b"\"priya@acme.org\" can view data in acme-prd\n");
    input.extend_from_slice(b"\"bad\xff\" can view data in acme-prod\n");
    input.extend_from_slice(b"   \n  # indented comment\r\n");
    input.extend_from_slice(b"who can edit data in acme-prod\r\n");
    input.extend_from_slice(b"not a query");
    let out = charter_with_input(
        tmp.path(),
        &["query", "s.json", "--batch", "-"],
        Some(&input),
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5, "{}", stdout(&out));
    assert_eq!(lines[0]["line"], 3);
    assert_eq!(lines[0]["allowed"], true);
    assert_eq!(lines[1]["line"], 4);
    assert!(lines[1]["error"].as_str().unwrap().contains("acme-prd"));
    assert!(
        lines[1]["help"].as_str().unwrap().contains("acme-prod"),
        "{}",
        lines[1]
    );
    assert_eq!(lines[2]["line"], 5);
    assert!(
        lines[2]["error"]
            .as_str()
            .unwrap()
            .contains("not valid UTF-8")
    );
    assert_eq!(lines[3]["line"], 8);
    assert!(lines[3]["members"].is_array());
    assert_eq!(lines[4]["line"], 9);
    assert!(lines[4]["error"].is_string());
    // Every line answered: exit 0, even with comments and blank lines.
    std::fs::write(
        tmp.path().join("q.txt"),
        "# header\n\nwho can edit data in acme-prod\n",
    )
    .unwrap();
    let out = charter_in(
        tmp.path(),
        &["query", "s.json", "--batch", "q.txt", "--format", "json"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 1); // A single query in JSON keeps the suggestion too.
    let out = charter_in(
        tmp.path(),
        &[
            "query",
            "s.json",
            "who can edit data in acme-prd",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&out), 2);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(v["help"].as_str().unwrap().contains("acme-prod"), "{v}");
}

#[test]
fn batch_refuses_a_directory_and_human_format_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("s.json"), reseal(&acme())).unwrap();
    std::fs::create_dir(tmp.path().join("d")).unwrap();
    let out = charter_in(tmp.path(), &["query", "s.json", "--batch", "d"]);
    assert_eq!(code(&out), 2);
    assert_eq!(
        stderr(&out).trim(),
        "error: cannot read `d`: it is a directory, not a file of queries"
    );
    let out = charter_in(tmp.path(), &["query", "s.json", "--batch", "missing.txt"]);
    assert_eq!(code(&out), 2);
    assert_eq!(stderr(&out).lines().count(), 1);
    std::fs::write(tmp.path().join("q.txt"), "who can edit data in acme-prod\n").unwrap();
    let out = charter_in(
        tmp.path(),
        &["query", "s.json", "--batch", "q.txt", "--format", "human"],
    );
    assert_eq!(code(&out), 2);
    assert_eq!(
        stderr(&out).trim(),
        "error: `--batch` answers one JSON line per query line; `--format human` is for a single query"
    );
    assert!(stdout(&out).is_empty());
}

// ---- SARIF ----

#[test]
fn sarif_uris_are_percent_encoded() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("my policies");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("#1 100% é.charter"),
        "space s {\n  plan pro\n  role r { data = superuser }\n}\n",
    )
    .unwrap();
    let out = charter_in(tmp.path(), &["check", "my policies", "--format", "sarif"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let uri =
        v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .to_owned();
    assert_eq!(uri, "my%20policies/%231%20100%25%20%C3%A9.charter");
}

/// YAML aliases repeat a node once per reference, before the digest or validation can refuse
/// the file: a 1 MB string referenced 2,000 times took 2 GB. charter writes no anchors, so a
/// snapshot with one is refused by the pre-scan, in no time and memory.
#[test]
fn yaml_anchors_and_aliases_are_refused_before_the_parser_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let big = "x".repeat(1_000_000);
    let aliases = vec!["*big"; 2000].join(", ");
    std::fs::write(
        tmp.path().join("s.yaml"),
        format!("format_version: 1\nname: &big {big}\ngroups: [{aliases}]\n"),
    )
    .unwrap();
    let start = Instant::now();
    let out = charter_in(tmp.path(), &["query", "s.yaml", WHY]);
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("it uses YAML anchors or aliases"),
        "{}",
        stderr(&out)
    );
}
