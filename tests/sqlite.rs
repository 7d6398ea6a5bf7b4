//! `charter export sqlite`: the `grants` view answers `can` exactly as the query index does,
//! for every member × permission × level × location of generated policies (a property test)
//! and a sample of the bundled policies' queries; the tables hold the snapshot.

use std::path::Path;

use charter::model::{Kind, Permission};
use charter::query::Index;
use charter::question::{Asked, Channel, Request, Want};
use charter::synth::Rng;
use proptest::prelude::*;
use rusqlite::{Connection, params};

mod common;
use common::Policy;

fn database(ix: &Index) -> Connection {
    let mut db = Connection::open_in_memory().unwrap();
    charter::sqlite::fill(ix, &mut db).unwrap();
    db
}

/// The levels a query may ask of `p`: (want, the `grants` level).
fn levels(p: Permission) -> &'static [(Want, &'static str)] {
    match p.kind() {
        Kind::Level | Kind::AdminOnlyEdit => &[(Want::View, "view"), (Want::Edit, "edit")],
        Kind::Switch | Kind::SwitchOrItems(_) | Kind::LoginAs => &[(Want::View, "use")],
        Kind::Items(_) => &[(Want::View, "view")],
        _ => &[],
    }
}

const CAN: &str = "SELECT EXISTS (SELECT 1 FROM grants g
    WHERE g.space = ?1 AND g.member = ?2 AND g.permission = ?3 AND g.level = ?4
      AND (?5 IS NULL OR g.location IS NULL OR EXISTS (
        SELECT 1 FROM locations a JOIN locations b ON b.space = a.space
        WHERE a.space = g.space AND a.id = g.location AND b.id = ?5
          AND a.enter <= b.enter AND b.enter < a.exit)))";

/// One `can` query: space, member, permission, want, the `grants` level, location.
type Query = (u32, usize, Permission, Want, &'static str, Option<u32>);

/// Asks `queries` both ways; returns the first disagreement.
fn compare(ix: &Index, db: &Connection, queries: &[Query]) -> Result<usize, String> {
    let mut stmt = db.prepare(CAN).unwrap();
    for &(s, m, p, want, level, at) in queries {
        let entry = &ix.snapshot.spaces[s as usize];
        let member = &entry.members[m].name;
        let loc = at.map(|l| entry.locations[l as usize].id.clone());
        let q = Request {
            space: s,
            want,
            asked: Asked::Key(p),
            at,
            channel: Channel::Any,
        };
        let index_says = ix.decide(member, &q).allowed();
        let sql_says: bool = stmt
            .query_row(params![entry.id, member, p.key(), level, loc], |r| r.get(0))
            .unwrap();
        if index_says != sql_says {
            return Err(format!(
                "`\"{member}\" can {level} {} {} in {}`: query {index_says}, SQL {sql_says}",
                p.key(),
                loc.map(|l| format!("at {l}")).unwrap_or_default(),
                entry.id
            ));
        }
    }
    Ok(queries.len())
}

/// Every query of a policy: member × permission × level × (no location, each location).
fn every_query(ix: &Index) -> Vec<Query> {
    let mut out = Vec::new();
    for (s, entry) in ix.snapshot.spaces.iter().enumerate() {
        for m in 0..entry.members.len() {
            for &p in Permission::ALL.iter().filter(|p| !p.is_setting()) {
                for &(want, level) in levels(p) {
                    for at in
                        std::iter::once(None).chain((0..entry.locations.len() as u32).map(Some))
                    {
                        out.push((s as u32, m, p, want, level, at));
                    }
                }
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_grants_view_answers_as_query_does(seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let policy = Policy::generate(&mut rng);
        let ix = common::compile(&policy.render()).map_err(TestCaseError::fail)?;
        let db = database(&ix);
        let queries = every_query(&ix);
        compare(&ix, &db, &queries).map_err(TestCaseError::fail)?;
    }
}

#[test]
fn the_bundled_policies_answer_alike_in_sql() {
    for dir in ["acme", "national-health", "two-enterprises", "hq-catalogue"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("policies")
            .join(dir);
        let ix = Index::from_path(&path, None).unwrap();
        let db = database(&ix);
        let mut queries = every_query(&ix);
        // A fixed sample of the large ones: about 30,000 evenly spread queries.
        if queries.len() > 30_000 {
            let step = queries.len() / 30_000 + 1;
            // Scattered (a fixed multiplicative hash of the position), so that no stride of the
            // enumeration (locations, levels) is skipped whole.
            queries = queries
                .into_iter()
                .enumerate()
                .filter(|(i, _)| {
                    (*i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40 < (1 << 24) / step as u64
                })
                .map(|(_, q)| q)
                .collect();
        }
        let n = compare(&ix, &db, &queries).unwrap_or_else(|e| panic!("{dir}: {e}"));
        assert!(n > 100, "{dir}: {n}");
    }
}

#[test]
fn the_tables_hold_the_snapshot() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/acme");
    let ix = Index::from_path(&path, None).unwrap();
    let db = database(&ix);
    let count = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        count("SELECT count(*) FROM spaces") as usize,
        ix.snapshot.spaces.len()
    );
    let members: usize = ix.snapshot.spaces.iter().map(|s| s.members.len()).sum();
    assert_eq!(count("SELECT count(*) FROM members") as usize, members);
    let roles: usize = ix.snapshot.spaces.iter().map(|s| s.roles.len()).sum();
    assert_eq!(
        count("SELECT count(*) FROM role_permissions") as usize,
        roles * Permission::ALL.len()
    );
    // priya: restricted to Lucknow; the district manager's data is view, declared so.
    let (restricted, role): (bool, String) = db
        .query_row(
            "SELECT restricted, role FROM members WHERE name = 'priya@acme.org'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(restricted);
    assert_eq!(role, "district-manager");
    let hidden: String = db
        .query_row("SELECT reason_kind FROM role_permissions WHERE space = 'acme-prod' AND role = 'field-implementer' AND permission = 'change_group_membership'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(hidden, "implied_by");
    // The DFS intervals: lko-01 is below lko.
    let below: bool = db
        .query_row("SELECT a.enter <= b.enter AND b.enter < a.exit FROM locations a, locations b WHERE a.id = 'lko' AND b.id = 'lko-01'", [], |r| r.get(0))
        .unwrap();
    assert!(below);
}

#[test]
fn the_command_writes_a_database_atomically() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("acme.db");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_charter"))
        .args(["export", "sqlite", "policies/acme", "-o"])
        .arg(&db)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = Connection::open(&db).unwrap();
    let n: i64 = c
        .query_row("SELECT count(*) FROM grants", [], |r| r.get(0))
        .unwrap();
    assert!(n > 0);
    // A directory that does not exist: exit 2, nothing written.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_charter"))
        .args(["export", "sqlite", "policies/acme", "-o"])
        .arg(tmp.path().join("missing/acme.db"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

/// Every query of docs/sqlite.md runs on the bundled national-health policy, and all but the
/// first (restricted members with API access: none there) return rows.
#[test]
fn the_documented_questions_run() {
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/sqlite.md"))
            .unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/national-health");
    let db = database(&Index::from_path(&path, None).unwrap());
    let queries: Vec<&str> = docs
        .split("```sql\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap())
        .collect();
    assert_eq!(queries.len(), 10);
    for (n, q) in queries.iter().enumerate() {
        let mut stmt = db
            .prepare(q)
            .unwrap_or_else(|e| panic!("question {}: {e}\n{q}", n + 1));
        let rows = stmt.query_map([], |_| Ok(())).unwrap().count();
        assert!(
            rows > 0 || n == 0,
            "question {} returns nothing:\n{q}",
            n + 1
        );
    }
}
