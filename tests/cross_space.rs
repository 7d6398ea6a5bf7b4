//! Enterprise Permissions and registry grants (SPEC §2b): the only sanctioned ways across
//! spaces, counted by queries and `diff`, listed by `report enterprise --report cross-space`.

use std::path::Path;
use std::process::{Command, Output};

fn charter(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_charter"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const SPACES: &str = r#"
space hq {
  enterprise acme
  plan enterprise
  features [data_registry]
  location_types { district }
  locations { district lko "Lucknow" }
  registry patients "Patients" { case_types [patient] }
  grant patients to [field]
  role manager { web_users = edit  data = view }
  role district-clerk { full_organization_access = off  data = edit }
  web_user "maya@acme.org" { role manager }
  web_user "dev@acme.org" { role district-clerk  locations [lko] }
  mobile_worker hq-worker
}

space field {
  enterprise acme
  plan enterprise
  features [data_registry]
  location_types { district }
  locations { district pune "Pune" }
  role reader { data = view  view_registry_data = [patients] }
  web_user "MAYA@acme.org" { role reader }
  web_user "ria@acme.org" { role reader }
}
"#;

fn write(dir: &Path, with_permissions: bool) {
    let permissions = if with_permissions {
        "  permissions { source hq spaces [field] }\n"
    } else {
        ""
    };
    let text = format!(
        "enterprise acme \"ACME\" {{\n  admins [\"maya@acme.org\"]\n{permissions}}}\n{SPACES}"
    );
    std::fs::write(dir.join("p.charter"), text).unwrap();
}

#[test]
fn enterprise_users_hold_their_source_role_in_the_listed_spaces() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), true);
    let check = charter(dir.path(), &["check", "p.charter"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    // The source role, not the one the target declares (HQ's get_domain_membership).
    let who = charter(
        dir.path(),
        &["query", "p.charter", "who can edit web_users in field"],
    );
    assert_eq!(
        stdout(&who),
        "who can edit `web_users` in `field`:\n  maya@acme.org\n"
    );
    let what = charter(
        dir.path(),
        &[
            "query",
            "p.charter",
            r#"what can "maya@acme.org" do in field"#,
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&what.stdout).unwrap();
    let answer = &v;
    assert_eq!(answer["role"], "hq/manager", "{v}");
    assert_eq!(answer["from_enterprise"], "hq", "{v}");
    let why = charter(
        dir.path(),
        &[
            "query",
            "p.charter",
            r#"why "maya@acme.org" can edit web_users in field"#,
        ],
    );
    assert!(
        stdout(&why).contains("through Enterprise Permissions from `hq`"),
        "{}",
        stdout(&why)
    );
    // Mobile workers are not enterprise users; the target's own members stay.
    let who = charter(
        dir.path(),
        &["query", "p.charter", "who can view data in field"],
    );
    assert_eq!(
        stdout(&who),
        "who can view `data` in `field`:\n  maya@acme.org\n  ria@acme.org\n"
    );
    // A location-restricted source role reaches nothing: its locations are the source's.
    let dev = charter(
        dir.path(),
        &[
            "query",
            "p.charter",
            r#""dev@acme.org" can view data in field"#,
        ],
    );
    assert!(
        stdout(&dev).contains("`dev@acme.org` is not a member of `field`"),
        "{}",
        stdout(&dev)
    );
    let report = charter(
        dir.path(),
        &[
            "report",
            "enterprise",
            "--enterprise",
            "acme",
            "--report",
            "cross-space",
            "p.charter",
        ],
    );
    assert_eq!(
        stdout(&report),
        "kind,from_space,to_space,what\r\n\
         enterprise_permissions,hq,field,web users with their source role\r\n\
         registry_grant,hq,field,registry `patients`: patient\r\n"
    );
}

#[test]
fn diff_counts_access_gained_through_enterprise_permissions() {
    let old = tempfile::tempdir().unwrap();
    let new = tempfile::tempdir().unwrap();
    write(old.path(), false);
    write(new.path(), true);
    let (o, n) = (old.path().join("p.charter"), new.path().join("p.charter"));
    let diff = charter(
        old.path(),
        &[
            "diff",
            o.to_str().unwrap(),
            n.to_str().unwrap(),
            "--fail-on",
            "escalation",
        ],
    );
    let text = stdout(&diff);
    assert_eq!(diff.status.code(), Some(1), "{text}");
    assert!(text.contains("maya@acme.org"), "{text}");
    assert!(text.contains("web_users"), "{text}");
}

#[test]
fn diff_reports_a_new_registry_grant_as_widening() {
    let old = tempfile::tempdir().unwrap();
    let new = tempfile::tempdir().unwrap();
    write(old.path(), true);
    write(new.path(), true);
    let o = old.path().join("p.charter");
    let text = std::fs::read_to_string(&o).unwrap();
    std::fs::write(&o, text.replace("  grant patients to [field]\n", "")).unwrap();
    let reader = std::fs::read_to_string(&o).unwrap();
    // Without the grant the district may not name the registry: keep its reader valid.
    std::fs::write(
        &o,
        reader.replace(
            "view_registry_data = [patients]",
            "view_registry_data = none",
        ),
    )
    .unwrap();
    let n = new.path().join("p.charter");
    let diff = charter(
        old.path(),
        &[
            "diff",
            o.to_str().unwrap(),
            n.to_str().unwrap(),
            "--fail-on",
            "escalation",
        ],
    );
    let text = stdout(&diff);
    assert_eq!(diff.status.code(), Some(1), "{text}");
    assert!(
        text.contains("registry `patients` is now shared with `field`"),
        "{text}"
    );
}
