//! The round trip with CommCare HQ (`export hq`, `import hq`, `drift`): every bundled space
//! and generated policies survive export then import with the same snapshot; every header the
//! export writes is one HQ documents; malformed HQ files get errors naming sheet, row and
//! column; `drift` reports what production grants beyond the policy.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use charter::hq::export::{self, Export};
use charter::hq::import::{self, Files, Place, Problems, Request, Severity};
use charter::hq::workbook::{self, Sheet};
use charter::hq::{headers, policy};
use charter::snapshot::{Snapshot, SpaceEntry};
use charter::source::SourceSet;
use charter::synth::Rng;
use proptest::prelude::*;

mod common;
use common::Policy;

fn build(sources: &SourceSet) -> Result<Snapshot, String> {
    let compiled = charter::compile(sources);
    if compiled.has_errors() {
        let text: Vec<String> = sources.files().map(|(_, f)| f.text.to_string()).collect();
        return Err(format!("{:?}\n{}", compiled.diagnostics, text.join("\n")));
    }
    Ok(charter::build(sources, &compiled))
}

fn load(dir: &str) -> Snapshot {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("policies")
        .join(dir);
    let (sources, _) = SourceSet::load(&path).unwrap();
    build(&sources).unwrap()
}

/// A space's export, with every workbook written to .xlsx bytes and read back.
fn through_files(space: &SpaceEntry) -> (Export, Files) {
    let e = export::export(space);
    let book = |sheets: &[Sheet], name: &str| {
        let bytes = workbook::write(sheets).unwrap();
        Some((name.to_owned(), workbook::read_bytes(bytes).unwrap()))
    };
    let files = Files {
        roles: Some((export::ROLES_FILE.to_owned(), e.roles.clone())),
        mobile_workers: book(&e.mobile_workers, export::MOBILE_WORKERS_FILE),
        web_users: book(&e.web_users, export::WEB_USERS_FILE),
        locations: book(&e.locations, export::LOCATIONS_FILE),
    };
    (e, files)
}

fn request(space: &str) -> Request<'static> {
    Request {
        space: space.to_owned(),
        ..Request::default()
    }
}

/// Every space of `snapshot` exported and imported again, compiled with the snapshot's
/// enterprises: the snapshot HQ's files give back.
fn round_trip(snapshot: &Snapshot) -> Result<Snapshot, String> {
    let mut imported = Vec::new();
    for space in &snapshot.spaces {
        let (_, files) = through_files(space);
        let got = import::import(&request(&space.id), &files, Problems::default());
        let errors: Vec<String> = got
            .problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .map(ToString::to_string)
            .collect();
        if !errors.is_empty() {
            return Err(format!("{}: {errors:?}", space.id));
        }
        imported.push(got.space);
    }
    let enterprises: Vec<_> = snapshot.enterprises.iter().collect();
    let spaces: Vec<&SpaceEntry> = imported.iter().collect();
    let mut sources = SourceSet::default();
    sources.add(
        "imported.charter",
        policy::write_file(&enterprises, &spaces),
    );
    build(&sources)
}

/// The snapshot with what HQ's files cannot keep set aside: the digests, member names'
/// letter case, the order of siblings in the location tree (so the preorder labels) and of
/// members and roles.
fn normalized(mut s: Snapshot) -> Snapshot {
    s.source_digest.clear();
    s.content_digest.clear();
    for e in &mut s.enterprises {
        for a in &mut e.admins {
            *a = a.to_lowercase();
        }
    }
    for space in &mut s.spaces {
        for l in &mut space.locations {
            l.enter = 0;
            l.exit = 0;
        }
        space.locations.sort_by(|a, b| a.id.cmp(&b.id));
        for m in &mut space.members {
            m.name = m.name.to_lowercase();
            for n in &mut m.login_as {
                *n = n.to_lowercase();
            }
        }
        space.members.sort_by(|a, b| a.name.cmp(&b.name));
        space.roles.sort_by(|a, b| a.id.cmp(&b.id));
    }
    s
}

/// Whether two snapshots are equal; if not, the first lines of their JSON that differ.
fn same(a: &Snapshot, b: &Snapshot) -> Result<(), String> {
    if a == b {
        return Ok(());
    }
    let (ja, jb) = (
        serde_json::to_string_pretty(a).unwrap(),
        serde_json::to_string_pretty(b).unwrap(),
    );
    let (la, lb): (Vec<&str>, Vec<&str>) = (ja.lines().collect(), jb.lines().collect());
    let at = la
        .iter()
        .zip(&lb)
        .position(|(x, y)| x != y)
        .unwrap_or(la.len().min(lb.len()));
    let from = at.saturating_sub(12);
    Err(format!(
        "snapshots differ at line {at}:\n--- exported\n{}\n--- imported\n{}",
        la[from..(at + 3).min(la.len())].join("\n"),
        lb[from..(at + 3).min(lb.len())].join("\n")
    ))
}

#[test]
fn every_bundled_space_survives_export_then_import() {
    for dir in ["acme", "national-health", "two-enterprises", "hq-catalogue"] {
        let before = load(dir);
        let after = round_trip(&before).unwrap_or_else(|e| panic!("{dir}: {e}"));
        same(&normalized(before), &normalized(after)).unwrap_or_else(|e| panic!("{dir}: {e}"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// Export then import gives the same snapshot, for generated policies: restricted roles,
    /// Login-As, reports, upstream links, enterprises, locations, groups of every shape the
    /// generator makes.
    #[test]
    fn generated_policies_survive_export_then_import(seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let policy = Policy::generate(&mut rng);
        let mut sources = SourceSet::default();
        sources.add("policy.charter", policy.render());
        let before = build(&sources).map_err(TestCaseError::fail)?;
        let after = round_trip(&before).map_err(TestCaseError::fail)?;
        same(&normalized(before), &normalized(after)).map_err(TestCaseError::fail)?;
    }
}

/// Every sheet name and header the export writes is one `HQ-FORMATS.md` documents for that
/// workbook, so a typo cannot ship.
#[test]
fn every_exported_header_is_documented() {
    let documented = |header: &str, list: &[&str]| {
        let base = headers::Header::parse(header).base();
        list.contains(&header) || list.contains(&base)
    };
    for dir in ["acme", "national-health", "two-enterprises", "hq-catalogue"] {
        for space in &load(dir).spaces {
            let e = export::export(space);
            let names = |s: &[Sheet]| s.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
            assert_eq!(names(&e.mobile_workers), ["users", "groups"]);
            assert_eq!(names(&e.web_users), ["users"]);
            assert_eq!(names(&e.locations)[0], "types");
            let header =
                |s: &Sheet| -> Vec<String> { s.rows[0].1.iter().map(|(_, h)| h.clone()).collect() };
            for h in header(&e.mobile_workers[0]) {
                assert!(
                    documented(&h, headers::MOBILE_DOWNLOAD) && headers::mobile_accepts(&h),
                    "{h}"
                );
            }
            for h in header(&e.mobile_workers[1]) {
                assert!(documented(&h, headers::GROUP_COLUMNS), "{h}");
            }
            for h in header(&e.web_users[0]) {
                assert!(documented(&h, headers::WEB_DOWNLOAD), "{h}");
            }
            assert_eq!(header(&e.locations[0]), headers::TYPE_COLUMNS);
            for sheet in &e.locations[1..] {
                assert!(space.location_types.iter().any(|t| t.id == sheet.name));
                assert_eq!(header(sheet), headers::LOCATION_COLUMNS);
            }
            // The role objects: every HqPermissions field, and the doc_type.
            let json: serde_json::Value = serde_json::from_str(&e.roles).unwrap();
            for role in json["user_roles"].as_array().unwrap() {
                let p = role["permissions"].as_object().unwrap();
                assert_eq!(p["doc_type"], "HqPermissions");
                for f in charter::model::hq::FIELDS {
                    assert!(p.contains_key(*f), "{f}");
                }
                for key in [
                    "name",
                    "default_landing_page",
                    "is_non_admin_editable",
                    "is_archived",
                    "upstream_id",
                    "is_commcare_user_default",
                    "assignable_by",
                    "_id",
                ] {
                    assert!(role.get(key).is_some(), "{key}");
                }
            }
        }
    }
    // The documented lists themselves, against HQ-FORMATS.md's text.
    let formats = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/HQ-FORMATS.md"),
    );
    if let Ok(text) = formats {
        for h in headers::MOBILE_DOWNLOAD
            .iter()
            .chain(headers::MOBILE_UPLOAD)
            .chain(headers::WEB_DOWNLOAD)
            .chain(headers::TYPE_COLUMNS)
            .chain(headers::LOCATION_COLUMNS)
            .chain(headers::GROUP_COLUMNS)
        {
            assert!(
                text.contains(&format!("`{h}"))
                    || text.contains(&format!(" {h},"))
                    || text.contains(&format!(" {h}")),
                "{h} is not in HQ-FORMATS.md"
            );
        }
    }
}

// ---- malformed HQ files ----

fn s(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

fn locations_book(rows: &[&[&str]]) -> Vec<Sheet> {
    let types = Sheet::from_rows(
        "types",
        &s(headers::TYPE_COLUMNS),
        &[
            s(&["district", "District", ""]),
            s(&["facility", "Facility", "district"]),
        ],
    );
    let districts = Sheet::from_rows(
        "district",
        &s(headers::LOCATION_COLUMNS),
        &[s(&["", "lko", "Lucknow", ""])],
    );
    let facilities = Sheet::from_rows(
        "facility",
        &s(headers::LOCATION_COLUMNS),
        &rows.iter().map(|r| s(r)).collect::<Vec<_>>(),
    );
    vec![types, districts, facilities]
}

fn import_with(files: Files) -> Vec<import::Problem> {
    import::import(&request("demo"), &files, Problems::default()).problems
}

fn errors(problems: &[import::Problem]) -> Vec<&import::Problem> {
    problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .collect()
}

/// The one error, at a cell: (sheet, 1-based row, column letter).
fn cell_of(p: &import::Problem) -> (String, u32, String) {
    match &p.place {
        Place::Cell {
            sheet, row, column, ..
        } => (sheet.clone(), row + 1, workbook::column_name(*column)),
        other => panic!("not a cell: {other:?}"),
    }
}

#[test]
fn a_missing_username_column_is_an_error_at_the_header_row() {
    let users = Sheet::from_rows("users", &s(&["name", "role"]), &[s(&["Asha", ""])]);
    let problems = import_with(Files {
        mobile_workers: Some(("users.xlsx".into(), vec![users])),
        ..Files::default()
    });
    let e = errors(&problems);
    assert_eq!(e.len(), 1, "{problems:?}");
    assert_eq!(cell_of(e[0]), ("users".into(), 1, "A".into()));
    assert!(e[0].message.contains("no `username` column"), "{}", e[0]);
    assert!(
        e[0].to_string()
            .starts_with("error: users.xlsx, sheet `users`, row 1"),
        "{}",
        e[0]
    );
}

#[test]
fn an_unknown_header_is_an_error_at_its_column() {
    let users = Sheet::from_rows(
        "users",
        &s(&["username", "role", "favourite_colour"]),
        &[s(&["asha", "", "blue"])],
    );
    let problems = import_with(Files {
        mobile_workers: Some(("users.xlsx".into(), vec![users])),
        ..Files::default()
    });
    let e = errors(&problems);
    assert_eq!(e.len(), 1, "{problems:?}");
    assert_eq!(cell_of(e[0]), ("users".into(), 1, "C".into()));
    assert!(e[0].message.contains("`favourite_colour`"), "{}", e[0]);
}

#[test]
fn a_role_name_that_matches_nothing_is_an_error_at_its_cell() {
    let users = Sheet::from_rows(
        "users",
        &s(&["username", "role"]),
        &[s(&["asha", ""]), s(&["ravi", "Supervisr"])],
    );
    let problems = import_with(Files {
        mobile_workers: Some(("users.xlsx".into(), vec![users])),
        ..Files::default()
    });
    let e = errors(&problems);
    assert_eq!(e.len(), 1, "{problems:?}");
    assert_eq!(cell_of(e[0]), ("users".into(), 3, "B".into()));
    assert!(
        e[0].message.contains("`Supervisr` is the name of no role"),
        "{}",
        e[0]
    );
}

#[test]
fn a_parent_site_code_that_does_not_exist_is_an_error_at_its_cell() {
    let problems = import_with(Files {
        locations: Some((
            "locations.xlsx".into(),
            locations_book(&[
                &["", "lko-01", "CHC 1", "lko"],
                &["", "pat-01", "PHC", "pat"],
            ]),
        )),
        ..Files::default()
    });
    let e = errors(&problems);
    assert_eq!(e.len(), 1, "{problems:?}");
    assert_eq!(cell_of(e[0]), ("facility".into(), 3, "D".into()));
    assert!(e[0].message.contains("parent site code `pat`"), "{}", e[0]);
}

#[test]
fn a_site_code_repeated_in_another_case_is_an_error() {
    let problems = import_with(Files {
        locations: Some((
            "locations.xlsx".into(),
            locations_book(&[
                &["", "lko-01", "CHC 1", "lko"],
                &["", "LKO-01", "CHC 1 again", "lko"],
            ]),
        )),
        ..Files::default()
    });
    let e = errors(&problems);
    assert_eq!(e.len(), 1, "{problems:?}");
    assert_eq!(cell_of(e[0]), ("facility".into(), 3, "B".into()));
    assert!(
        e[0].message
            .contains("repeats the one of sheet `facility`, row 2"),
        "{}",
        e[0]
    );
}

#[test]
fn a_cycle_of_parent_site_codes_is_an_error_not_a_hang() {
    let problems = import_with(Files {
        locations: Some((
            "locations.xlsx".into(),
            locations_book(&[&["", "a", "", "b"], &["", "b", "", "a"]]),
        )),
        ..Files::default()
    });
    assert_eq!(errors(&problems).len(), 2, "{problems:?}");
    assert!(errors(&problems)[0].message.contains("own ancestor"));
}

#[test]
fn role_files_that_are_not_role_files_are_errors() {
    for (text, says) in [
        ("{", "not valid JSON"),
        ("{\"roles\": []}", "user_roles"),
        ("[{\"permissions\": {}}]", "needs a `name`"),
        ("42", "list of role objects"),
    ] {
        let problems = import_with(Files {
            roles: Some(("roles.json".into(), text.into())),
            ..Files::default()
        });
        let e = errors(&problems);
        assert_eq!(e.len(), 1, "{text}: {problems:?}");
        assert!(e[0].message.contains(says), "{text}: {}", e[0]);
    }
}

/// Unmapped things are warnings naming where they are: an unknown permission field, an
/// archived role, a deleted location, a column with no access meaning.
#[test]
fn what_is_not_imported_is_said() {
    let roles = r#"{"user_roles": [
        {"name": "Old", "is_archived": true, "permissions": {}},
        {"name": "Field Lead", "_id": "abc", "permissions": {"edit_data": true, "edit_teleport": true}}
    ]}"#;
    let users = Sheet::from_rows(
        "users",
        &s(&["username", "role", "phone-number 1", "is_active"]),
        &[
            s(&["asha", "Field Lead", "+254", "True"]),
            s(&["gone", "", "", "False"]),
        ],
    );
    let got = import::import(
        &request("demo"),
        &Files {
            roles: Some(("roles.json".into(), roles.into())),
            mobile_workers: Some(("users.xlsx".into(), vec![users])),
            locations: Some((
                "locations.xlsx".into(),
                locations_book(&[&["", "x1", "", "lko", "", "", "", "Y"]]),
            )),
            ..Files::default()
        },
        Problems::default(),
    );
    let text: Vec<String> = got.problems.iter().map(ToString::to_string).collect();
    let has = |needle: &str| text.iter().any(|t| t.contains(needle));
    assert!(errors(&got.problems).is_empty(), "{text:?}");
    assert!(
        has("user_roles[0].is_archived: role `Old` is archived"),
        "{text:?}"
    );
    assert!(
        has("roles.json: user_roles[1].permissions.edit_teleport"),
        "{text:?}"
    );
    assert!(
        has("sheet `facility`, row 2, column H (`Delete(Y/N)`)"),
        "{text:?}"
    );
    assert!(has("not imported: phone-number 1"), "{text:?}");
    assert!(
        has("row 3, column D (`is_active`): `gone` is inactive"),
        "{text:?}"
    );
    let role = &got.space.roles[0];
    assert_eq!(role.id, "field-lead");
    assert_eq!(got.space.members.len(), 1);
    assert_eq!(got.space.members[0].role, "field-lead");
}

/// HQ's own role objects (no charter object): names become slugs, the presets are
/// recognised, `assignable_by` couch ids become role ids, feature flags in use are turned on.
#[test]
fn hq_role_objects_without_charter_metadata_import() {
    let roles = r#"{"user_roles": [
        {"name": "Read Only", "_id": "c1", "permissions": {"view_reports": true, "download_reports": true, "access_all_locations": true, "report_an_issue": true}},
        {"name": "Regional Manager!", "_id": "c2", "is_non_admin_editable": false, "assignable_by": [],
         "default_landing_page": "webapps",
         "permissions": {"edit_data": true, "access_web_apps": true, "access_all_locations": true, "limited_login_as": true, "view_report_list": ["corehq.reports.Visits"]}},
        {"name": "Data Clerk", "_id": "c3", "assignable_by": ["c2", "zzz"], "permissions": {"view_data": true}}
    ]}"#;
    let got = import::import(
        &request("demo"),
        &Files {
            roles: Some(("roles.json".into(), roles.into())),
            ..Files::default()
        },
        Problems::default(),
    );
    let ids: Vec<(&str, &str)> = got
        .space
        .roles
        .iter()
        .map(|r| (r.id.as_str(), r.origin.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("read-only", "builtin"),
            ("regional-manager", "custom"),
            ("data-clerk", "custom")
        ]
    );
    assert_eq!(got.space.features, ["restricted_login_as"]);
    assert_eq!(got.space.reports[0].id, "corehq-reports-visits");
    let text = policy::write_space(&got.space);
    assert!(
        text.contains("assignable_by = [regional-manager]"),
        "{text}"
    );
    assert!(text.contains("landing_page = web_apps"), "{text}");
    assert!(text.contains("data = view"), "{text}");
    let warnings: Vec<String> = got.problems.iter().map(ToString::to_string).collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("`zzz` is the id of no role")),
        "{warnings:?}"
    );
    let mut sources = SourceSet::default();
    sources.add("demo.charter", policy::canonical(text));
    build(&sources).unwrap();
}

// ---- the command line ----

fn charter(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_charter"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn policies(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("policies")
        .join(dir)
}

#[test]
fn export_import_and_drift_on_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let hq = tmp.path().join("hq");
    let acme = policies("acme");
    let out = charter(&[
        "export",
        "hq",
        acme.to_str().unwrap(),
        "--space",
        "acme-prod",
        "-o",
        hq.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in [
        "roles.json",
        "mobile-workers.xlsx",
        "web-users.xlsx",
        "locations.xlsx",
    ] {
        assert!(hq.join(f).is_file(), "{f}");
    }
    // Import beside the spaces it names (its enterprise, its upstream).
    let dir = tmp.path().join("policy");
    std::fs::create_dir(&dir).unwrap();
    for f in ["enterprise.charter", "global.charter"] {
        std::fs::copy(acme.join(f), dir.join(f)).unwrap();
    }
    let file = |n: &str| hq.join(n).to_str().unwrap().to_owned();
    let import_args = [
        "import",
        "hq",
        "--roles",
        &file("roles.json"),
        "--mobile-workers",
        &file("mobile-workers.xlsx"),
        "--web-users",
        &file("web-users.xlsx"),
        "--locations",
        &file("locations.xlsx"),
        "--space",
        "acme-prod",
        "-o",
        dir.to_str().unwrap(),
    ];
    let out = charter(&import_args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(dir.join("acme-prod.charter")).unwrap();
    assert!(
        written.contains("role district-manager \"District Manager\""),
        "{written}"
    );
    // Canonical: `fmt --check` has nothing to change.
    let out = charter(&["fmt", "--check", dir.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A second import refuses to overwrite without --force.
    let out = charter(&import_args);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));

    // No drift between the policy and its own export.
    let out = charter(&[
        "drift",
        acme.to_str().unwrap(),
        "--hq",
        hq.to_str().unwrap(),
        "--space",
        "acme-prod",
        "--fail-on",
        "escalation",
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["escalations"], 0, "{json}");
    assert_eq!(json["reductions"], 0, "{json}");

    // Production gives district managers edit access to data: escalation drift, exit 1.
    let roles = std::fs::read_to_string(hq.join("roles.json")).unwrap();
    let mut parsed: serde_json::Value = serde_json::from_str(&roles).unwrap();
    for role in parsed["user_roles"].as_array_mut().unwrap() {
        if role["name"] == "District Manager" {
            role["permissions"]["edit_data"] = true.into();
        }
    }
    std::fs::write(hq.join("roles.json"), parsed.to_string()).unwrap();
    let out = charter(&[
        "drift",
        acme.to_str().unwrap(),
        "--hq",
        hq.to_str().unwrap(),
        "--space",
        "acme-prod",
        "--fail-on",
        "escalation",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("priya@acme.org"), "{stdout}");
    assert!(stdout.contains("data"), "{stdout}");
    // Without the flag the drift is shown and the exit is 0.
    let out = charter(&[
        "drift",
        acme.to_str().unwrap(),
        "--hq",
        hq.to_str().unwrap(),
        "--space",
        "acme-prod",
    ]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn malformed_files_exit_2_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let book = tmp.path().join("users.xlsx");
    let sheet = Sheet::from_rows("users", &s(&["name", "role"]), &[s(&["Asha", ""])]);
    std::fs::write(&book, workbook::write(&[sheet]).unwrap()).unwrap();
    let garbage = tmp.path().join("garbage.xlsx");
    std::fs::write(&garbage, b"PK\x03\x04 no").unwrap();
    let out_dir = tmp.path().join("out");
    for (file, says) in [
        (
            &book,
            "sheet `users`, row 1, column A: the header row has no `username` column",
        ),
        (&garbage, "not an .xlsx workbook"),
    ] {
        let out = charter(&[
            "import",
            "hq",
            "--mobile-workers",
            file.to_str().unwrap(),
            "--space",
            "demo",
            "-o",
            out_dir.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert!(!out_dir.join("demo.charter").exists());
    }
    // A directory given as a workbook, a missing file: exit 2 naming it.
    let out = charter(&[
        "import",
        "hq",
        "--locations",
        tmp.path().to_str().unwrap(),
        "--space",
        "demo",
        "-o",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a regular file"));
    let out = charter(&[
        "export",
        "hq",
        policies("acme").to_str().unwrap(),
        "--space",
        "nope",
        "-o",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no space `nope`"));
}

/// A larger generated policy (the benchmark generator's shapes: named roles, groups, deep
/// location trees, many members) survives the round trip too.
#[test]
fn a_synthetic_policy_survives_export_then_import() {
    let files = charter::synth::generate(&charter::synth::Params {
        spaces: 3,
        locations: 400,
        roles: 12,
        members: 400,
        seed: 7,
    });
    let mut sources = SourceSet::default();
    for (name, text) in files {
        sources.add(name, text);
    }
    let before = build(&sources).unwrap();
    let after = round_trip(&before).unwrap();
    same(&normalized(before), &normalized(after)).unwrap();
}

// ---- hostile inputs ----

/// Cell texts chosen to break things: quotes, backslashes, line breaks, comment and brace
/// characters, invisible and bidi characters, case twins, codes that are not ids.
const NASTY: &[&str] = &[
    "",
    "a",
    "A",
    "lko",
    "LKO",
    "lko-01",
    "12",
    "x\"y",
    "back\\slash",
    "line\nbreak",
    "# not a comment",
    "} space evil {",
    "role admin",
    "\u{202e}gro",
    "zero\u{200b}width",
    "Admin",
    "Read Only",
    "Field Lead",
    "yes",
    "no",
    "Invited",
    "a@b.org",
    "A@B.org",
    "district",
    "facility",
    "types",
    "users",
    "groups",
    "username",
    "role",
    "location_code 1",
    "group 1",
    "web_user",
    "data: login_as_user",
    "site_code",
    "parent_site_code",
    "name",
    "code",
    "parent_code",
];

fn nasty(rng: &mut Rng) -> String {
    NASTY[rng.below(NASTY.len())].to_owned()
}

/// A sheet with `header` (one column replaced by a nasty word one time in five) and rows of
/// cells drawn from `pools`, one pool per column.
fn sheet_of(rng: &mut Rng, name: &str, header: &[&str], pools: &[&[&str]]) -> Sheet {
    let mut header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    if rng.chance(10) {
        let i = rng.below(header.len());
        header[i] = nasty(rng);
    }
    let rows: Vec<Vec<String>> = (0..rng.below(8))
        .map(|_| {
            pools
                .iter()
                .map(|pool| {
                    if rng.chance(8) {
                        nasty(rng)
                    } else {
                        pool[rng.below(pool.len())].to_owned()
                    }
                })
                .collect()
        })
        .collect();
    Sheet::from_rows(name, &header, &rows)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Whatever the files hold, import does not panic, and when it reports no error the
    /// policy it writes parses (a name cannot break out of its string or inject a statement)
    /// and holds every member imported: it checks, or `check` says why not.
    #[test]
    fn import_never_panics_and_writes_parsable_policy(seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let roles: [String; 2] = [nasty(&mut rng), nasty(&mut rng)];
        let role_pool: Vec<&str> = vec![roles[0].as_str(), roles[1].as_str(), "", "Admin"];
        let codes: &[&str] = &["lko", "lko-01", "LKO-01", ""];
        let mut users = sheet_of(&mut rng, "users",
            &["username", "role", "location_code 1", "group 1", "data: login_as_user", "is_active"],
            &[&["w"], &role_pool, codes, &["Field Team", ""], &["a@b.org", "", "a@b.org default"], &["True", "False", ""]]);
        let mut groups = sheet_of(&mut rng, "groups", &["id", "name"], &[&[""], &["x\"y", "field team"]]);
        groups.rows.push((100, vec![(1, "Field Team".into())]));
        let mut web = sheet_of(&mut rng, "users",
            &["username", "role", "location_code 1", "status"],
            &[&["u"], &role_pool[..2], codes, &["Active User", "Invited"]]);
        // Distinct usernames, some of them nasty.
        for (sheet, domain) in [(&mut users, ""), (&mut web, "@x.org")] {
            for (n, (_, cells)) in sheet.rows.iter_mut().skip(1).enumerate() {
                if let Some((0, name)) = cells.first_mut() {
                    *name = if rng.chance(25) { format!("{}{n}{domain}", nasty(&mut rng)) } else { format!("p{n}{domain}") };
                }
            }
        }
        let facility_names: Vec<String> = (0..3).map(|_| nasty(&mut rng)).collect();
        let locations = locations_book(&[
            &["", "lko-01", &facility_names[0], "lko"],
            &["", "lko-02", &facility_names[1], "lko"],
            &["", &facility_names[2], "", "lko"],
        ]);
        let files = Files {
            roles: Some(("roles.json".into(), serde_json::json!([
                {"name": roles[0], "_id": "c1", "permissions": {"edit_data": true}},
                {"name": roles[1], "permissions": {"access_all_locations": false, "view_reports": true}},
            ]).to_string())),
            mobile_workers: Some(("m.xlsx".into(), vec![users, groups])),
            web_users: Some(("w.xlsx".into(), vec![web])),
            locations: Some(("l.xlsx".into(), locations)),
        };
        let got = import::import(&request("demo"), &files, Problems::default());
        if errors(&got.problems).is_empty() {
            let text = policy::canonical(policy::write_space(&got.space));
            let mut sources = SourceSet::default();
            let id = sources.add("demo.charter", text.clone());
            let (_, syntax) = charter::syntax::parse(id, &text);
            prop_assert!(syntax.is_empty(), "{:?}\n{}", syntax, text);
            let compiled = charter::compile(&sources);
            let members: usize = compiled.ir.spaces.iter().map(|s| s.members.len()).sum();
            prop_assert_eq!(members, got.space.members.len(), "{}", text);
        }
    }
}

/// A sheet with one cell at A1 and one at XFD1048576 is two cells, read at once.
#[test]
fn a_sparse_sheet_costs_its_cells_not_its_area() {
    let sheet = Sheet {
        name: "users".into(),
        rows: vec![
            (0, vec![(0, "username".into())]),
            (1_048_575, vec![(16_383, "far".into())]),
        ],
    };
    let bytes = workbook::write(std::slice::from_ref(&sheet)).unwrap();
    assert_eq!(workbook::read_bytes(bytes).unwrap(), vec![sheet]);
}

// ---- regressions of the review (docs/hq.md, "Reading is bounded", drift) ----

/// A string in charter's own object cannot write statements into the policy: every word
/// the language takes as an id or keyword is checked, and dropped with a warning otherwise.
#[test]
fn the_charter_object_cannot_inject_statements() {
    let payload = "advanced\n  web_user \"eve@evil.org\" { role admin }\n  #";
    let roles = serde_json::json!({
        "user_roles": [{"name": "Clerk", "_id": "c1", "permissions": {"edit_data": true}}],
        "charter": {"format": 1, "space": {
            "id": "x", "plan": payload, "server": payload, "upstream": payload, "enterprise": payload,
            "environment": payload, "two_factor": payload, "features": [payload],
            "location_types": [], "locations": [], "groups": [{"id": payload}],
            "reports": [{"id": payload}], "registries": [{"id": "r", "case_types": [payload]}],
            "grants": [{"registry": payload, "to": [payload]}], "roles": [], "members": []
        }, "roles": {"c1": payload}}
    });
    let got = import::import(
        &request("demo"),
        &Files {
            roles: Some(("roles.json".into(), roles.to_string())),
            ..Files::default()
        },
        Problems::default(),
    );
    let text = policy::canonical(policy::write_space(&got.space));
    assert!(!text.contains("eve@evil.org"), "{text}");
    let mut sources = SourceSet::default();
    sources.add("demo.charter", text.clone());
    let snapshot = build(&sources).unwrap();
    assert_eq!(snapshot.spaces[0].members.len(), 0, "{text}");
    assert_eq!(snapshot.spaces[0].plan, "enterprise");
    let warnings: Vec<String> = got.problems.iter().map(ToString::to_string).collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("plan") && w.contains("left out")),
        "{warnings:?}"
    );
}

#[test]
fn repeated_headers_and_colliding_codes_are_errors() {
    let web = Sheet::from_rows(
        "users",
        &s(&["username", "role", "role"]),
        &[s(&["a@x.org", "Read Only", "Admin"])],
    );
    let e = import_with(Files {
        web_users: Some(("w.xlsx".into(), vec![web])),
        ..Files::default()
    });
    assert!(
        errors(&e)
            .iter()
            .any(|p| p.message.contains("column `role` is also column B")),
        "{e:?}"
    );
    let e = import_with(Files {
        locations: Some((
            "l.xlsx".into(),
            locations_book(&[&["", "a.b", "", "lko"], &["", "a-b", "", "lko"]]),
        )),
        ..Files::default()
    });
    assert!(
        errors(&e)
            .iter()
            .any(|p| p.message.contains("both become the id `a-b`")),
        "{e:?}"
    );
}

/// Two role objects that differ only in case, and a second mobile-worker default, are roles
/// of their own: no member is given another role's permissions.
#[test]
fn role_identity_is_kept_apart() {
    let roles = r#"[
        {"name": "Read Only", "_id": "a", "permissions": {"view_reports": true, "download_reports": true, "access_all_locations": true, "report_an_issue": true}},
        {"name": "read only", "_id": "b", "permissions": {"edit_web_users": true, "access_all_locations": true}},
        {"name": "Mobile Worker Default", "_id": "c", "is_commcare_user_default": true, "permissions": {"access_mobile_endpoints": true, "access_web_apps": true, "access_all_locations": true, "report_an_issue": true}},
        {"name": "Shadow Default", "_id": "d", "is_commcare_user_default": true, "permissions": {"edit_data": true, "access_all_locations": true}}
    ]"#;
    let web = Sheet::from_rows(
        "users",
        &s(&["username", "role"]),
        &[s(&["a@x.org", "Read Only"]), s(&["b@x.org", "read only"])],
    );
    let got = import::import(
        &request("demo"),
        &Files {
            roles: Some(("r.json".into(), roles.into())),
            web_users: Some(("w.xlsx".into(), vec![web])),
            ..Files::default()
        },
        Problems::default(),
    );
    let ids: Vec<&str> = got.space.roles.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "read-only",
            "read-only-2",
            "mobile-worker-default",
            "shadow-default"
        ]
    );
    let role_of = |n: &str| {
        got.space
            .members
            .iter()
            .find(|m| m.name == n)
            .unwrap()
            .role
            .clone()
    };
    assert_eq!(role_of("a@x.org"), "read-only");
    assert_eq!(role_of("b@x.org"), "read-only-2");
    assert!(
        !got.problems
            .iter()
            .any(|p| p.message.contains("only ignoring case")),
        "{:?}",
        got.problems
    );
}

/// Workbooks crafted against the reader: references past Excel's grid (calamine's arithmetic
/// would overflow) and one long shared string behind many cells.
#[test]
fn crafted_workbooks_are_refused_not_read() {
    use std::io::Write;
    let book = |sheet_xml: &str, shared: Option<&str>| -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opt = zip::write::SimpleFileOptions::default();
        let mut put = |name: &str, body: &str| {
            zip.start_file(name, opt).unwrap();
            zip.write_all(body.as_bytes()).unwrap();
        };
        put(
            "[Content_Types].xml",
            r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#,
        );
        put(
            "_rels/.rels",
            r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        );
        put(
            "xl/workbook.xml",
            r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="users" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        );
        put(
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#,
        );
        if let Some(text) = shared {
            put(
                "xl/sharedStrings.xml",
                &format!(
                    r#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>{text}</t></si></sst>"#
                ),
            );
        }
        put(
            "xl/worksheets/sheet1.xml",
            &format!(
                r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{sheet_xml}</sheetData></worksheet>"#
            ),
        );
        zip.finish().unwrap().into_inner()
    };
    let inline = |r: &str| format!(r#"<c r="{r}" t="inlineStr"><is><t>x</t></is></c>"#);
    // A sane one reads.
    let ok = book(&format!(r#"<row r="1">{}</row>"#, inline("A1")), None);
    assert_eq!(workbook::read_bytes(ok).unwrap()[0].rows.len(), 1);
    for bad in [
        format!(r#"<row r="4294967295">{}</row>"#, inline("A4294967295")),
        format!(r#"<row r="2">{}</row>"#, inline("AAAAAAAAAAAAAAAAAAAA2")),
        format!(r#"<row r="99999999999">{}</row>"#, inline("A1")),
    ] {
        let e = workbook::read_bytes(book(&bad, None))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not one of Excel's"), "{e}");
    }
    let long = "y".repeat(200_000);
    let cells: String = (1..=50)
        .map(|c| format!(r#"<c r="A{c}" t="s"><v>0</v></c>"#))
        .collect();
    let e = workbook::read_bytes(book(&format!(r#"<row r="1">{cells}</row>"#), Some(&long)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("32767"), "{e}");
}

/// `drift` sees what HQ enforces: a synced role whose copy grants more than the upstream's,
/// and it refuses a directory missing one of the four files.
#[test]
fn drift_sees_a_diverged_synced_role_and_needs_every_file() {
    let tmp = tempfile::tempdir().unwrap();
    let hq = tmp.path().join("hq");
    let nh = policies("national-health");
    let out = charter(&[
        "export",
        "hq",
        nh.to_str().unwrap(),
        "--space",
        "nhp-ke",
        "-o",
        hq.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Strip charter's object (HQ's own shape) and give the synced Data Clerk role web users.
    let roles = std::fs::read_to_string(hq.join("roles.json")).unwrap();
    let mut parsed: serde_json::Value = serde_json::from_str(&roles).unwrap();
    parsed.as_object_mut().unwrap().remove("charter");
    let mut found = false;
    for role in parsed["user_roles"].as_array_mut().unwrap() {
        if role["name"] == "Data Clerk" {
            assert!(role["upstream_id"].is_string());
            role["permissions"]["edit_data"] = true.into();
            role["permissions"]["edit_web_users"] = true.into();
            role["permissions"]["view_web_users"] = true.into();
            found = true;
        }
    }
    assert!(found);
    std::fs::write(hq.join("roles.json"), parsed.to_string()).unwrap();
    let drift = |dir: &Path| {
        charter(&[
            "drift",
            nh.to_str().unwrap(),
            "--hq",
            dir.to_str().unwrap(),
            "--space",
            "nhp-ke",
            "--fail-on",
            "escalation",
            "--format",
            "json",
        ])
    };
    let out = drift(&hq);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stderr}{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.contains("differs from the upstream's `data-clerk`"),
        "{stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["escalations"].as_u64().unwrap() > 0);
    std::fs::remove_file(hq.join("web-users.xlsx")).unwrap();
    let out = drift(&hq);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lacks web-users.xlsx"));
}
