//! `charter report enterprise`: every report of the two-enterprise example as insta snapshots,
//! and the command's behaviour.

use std::path::Path;
use std::process::{Command, Output};

use charter::report::{EnterpriseReport, enterprise};
use charter::snapshot::Snapshot;
use charter::source::SourceSet;

const REPORTS: [(EnterpriseReport, &str); 5] = [
    (EnterpriseReport::ProjectSpaces, "project-spaces"),
    (EnterpriseReport::WebUsers, "web-users"),
    (EnterpriseReport::MobileWorkers, "mobile-workers"),
    (EnterpriseReport::TwoFactor, "two-factor"),
    (EnterpriseReport::ApiAccess, "api-access"),
];

fn snapshot(path: &str) -> Snapshot {
    let (sources, _) = SourceSet::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
    let compiled = charter::compile(&sources);
    assert!(!compiled.has_errors());
    charter::emit::emit(&compiled.ir, &sources)
}

fn charter(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_charter"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

#[test]
fn enterprise_reports_of_the_example() {
    let snap = snapshot("policies/two-enterprises");
    for (ent, server) in [
        ("healthbridge", None),
        ("healthbridge", Some("india")),
        ("nutriplus", None),
    ] {
        for (report, name) in REPORTS {
            let csv = enterprise(&snap, ent, server, report).unwrap().to_csv();
            let label = format!("{ent}-{}-{name}", server.unwrap_or("all"));
            insta::assert_snapshot!(label, csv);
        }
    }
}

#[test]
fn restricted_api_access_is_flagged() {
    let snap = snapshot("tests/fixtures/restricted-api.charter");
    let t = enterprise(&snap, "acme", None, EnterpriseReport::ApiAccess).unwrap();
    let bot = t
        .rows
        .iter()
        .find(|r| r[0] == "bot@acme.org")
        .expect("bot listed");
    assert_eq!(bot[3], "yes");
    assert!(bot[4].contains("beyond the member's locations"));
    let ana = t
        .rows
        .iter()
        .find(|r| r[0] == "ana@acme.org")
        .expect("admin listed");
    assert_eq!(ana[3], "no");
}

#[test]
fn the_command_writes_csv_or_json_atomically_and_refuses_unknown_names() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("spaces.csv");
    let o = charter(&[
        "report",
        "enterprise",
        "policies/two-enterprises",
        "--enterprise",
        "healthbridge",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let csv = std::fs::read_to_string(&out).unwrap();
    assert!(
        csv.starts_with("space,name,plan,server,environment,upstream,downstream_spaces,web_users,")
    );
    assert!(csv.ends_with("\r\n"));

    // A snapshot gives the same rows as the policy it was built from.
    let snap = tmp.path().join("s.yaml");
    assert_eq!(
        charter(&[
            "build",
            "policies/two-enterprises",
            "-o",
            snap.to_str().unwrap()
        ])
        .status
        .code(),
        Some(0)
    );
    let from_snapshot = charter(&[
        "report",
        "enterprise",
        snap.to_str().unwrap(),
        "--enterprise",
        "healthbridge",
    ]);
    assert_eq!(String::from_utf8_lossy(&from_snapshot.stdout), csv);

    let json = charter(&[
        "report",
        "enterprise",
        "policies/two-enterprises",
        "--enterprise",
        "nutriplus",
        "--report",
        "web-users",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v[0]["email"], "lead@nutriplus.org");

    let unknown = charter(&[
        "report",
        "enterprise",
        "policies/two-enterprises",
        "--enterprise",
        "helthbridge",
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("did you mean `healthbridge`?"));
    let server = charter(&[
        "report",
        "enterprise",
        "policies/two-enterprises",
        "--enterprise",
        "nutriplus",
        "--server",
        "eu",
    ]);
    // `eu` is a real server where nutriplus has no space: an empty report, not an error.
    assert_eq!(server.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&server.stdout).lines().count(),
        1,
        "the header only"
    );
    let typo = charter(&[
        "report",
        "enterprise",
        "policies/two-enterprises",
        "--enterprise",
        "nutriplus",
        "--server",
        "euu",
    ]);
    assert_eq!(typo.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&typo.stderr).contains("did you mean `eu`?"));
}

/// `--format json` types each cell by its column: counts are numbers, yes/no booleans, lists
/// arrays; the CSV of the same report holds the same values as text.
#[test]
fn json_reports_have_typed_values() {
    let run = |report: &str, format: &str| {
        charter(&[
            "report",
            "enterprise",
            "policies/hq-catalogue",
            "--enterprise",
            "maternal",
            "--report",
            report,
            "--format",
            format,
        ])
    };
    let spaces: serde_json::Value =
        serde_json::from_slice(&run("project-spaces", "json").stdout).unwrap();
    let hub = spaces
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["space"] == "mha-hub")
        .expect("hub row");
    assert!(hub["web_users"].is_u64() && hub["locations"] == 3, "{hub}");
    assert_eq!(hub["plan"], "enterprise");
    let csv = String::from_utf8(run("project-spaces", "csv").stdout).unwrap();
    let hub_csv = csv.lines().find(|l| l.starts_with("mha-hub,")).unwrap();
    assert!(
        hub_csv.contains(&format!(",{},", hub["web_users"])),
        "{hub_csv}"
    );

    let workers: serde_json::Value =
        serde_json::from_slice(&run("mobile-workers", "json").stdout).unwrap();
    let asha = workers
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["username"] == "asha-lko-01")
        .expect("worker row");
    assert_eq!(asha["locations"], serde_json::json!(["lko"]));
    assert_eq!(asha["groups"], serde_json::json!([]));

    let web: serde_json::Value = serde_json::from_slice(&run("web-users", "json").stdout).unwrap();
    let sunil = web
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["email"] == "sunil@mha.org" && r["space"] == "mha-hub")
        .expect("web user row");
    assert_eq!(sunil["full_organization_access"], false);
}

/// `--report roles`: one row per role of each space, the number of members holding it, and
/// every catalogue key's effective value.
#[test]
fn the_roles_report_lists_every_role_with_its_values() {
    let out = charter(&[
        "report",
        "enterprise",
        "policies/hq-catalogue",
        "--enterprise",
        "maternal",
        "--report",
        "roles",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v.as_array().unwrap();
    let snap = snapshot("policies/hq-catalogue");
    let expected: usize = snap
        .spaces
        .iter()
        .filter(|s| s.enterprise.as_deref() == Some("maternal"))
        .map(|s| s.roles.len())
        .sum();
    assert_eq!(rows.len(), expected);
    let asha = rows
        .iter()
        .find(|r| r["space"] == "mha-hub" && r["role"] == "asha-worker")
        .expect("asha-worker row");
    assert_eq!(asha["members"], 2);
    assert_eq!(asha["data"], "edit");
    assert_eq!(asha["full_organization_access"], "off");
    for p in charter::model::Permission::ALL {
        assert!(asha.get(p.key()).is_some(), "no `{}` column", p.key());
    }
    let lead = rows
        .iter()
        .find(|r| r["space"] == "mha-district" && r["role"] == "mha-hub/programme-lead")
        .expect("a role by Enterprise Permissions");
    assert_eq!(lead["source"], "mha-hub");
}
