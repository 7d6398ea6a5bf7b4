//! `charter report matrix`: the HTML page, parsed as a browser would (scraper), holds for
//! every space every role's effective values and every member's `what` answer, each checked
//! against the query index; every grant a member's cell shows is one `can` allows, and what
//! `can` allows beyond the cell (Login-As) is noted on the cell. The other formats carry the
//! same cells.

use std::path::Path;

use charter::model::{Kind, Permission, Value};
use charter::query::Index;
use charter::question::{Asked, Channel, Request, Want};
use charter::report::matrix;
use scraper::{ElementRef, Html, Selector};

fn index(dir: &str) -> Index {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("policies")
        .join(dir);
    Index::from_path(&path, None).unwrap()
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

fn text(e: ElementRef<'_>) -> String {
    e.text()
        .collect::<String>()
        .trim()
        .trim_end_matches('*')
        .to_owned()
}

fn value_text(v: &Value) -> String {
    match v {
        Value::Items(charter::model::Items::Some(ids)) => ids.join(", "),
        other => other.to_source(),
    }
}

/// The levels a query may ask of `p`, and whether `v` grants each.
fn levels(p: Permission) -> &'static [(Want, &'static str)] {
    match p.kind() {
        Kind::Level | Kind::AdminOnlyEdit => &[(Want::View, "view"), (Want::Edit, "edit")],
        Kind::Switch | Kind::SwitchOrItems(_) | Kind::LoginAs | Kind::Items(_) => {
            &[(Want::View, "view")]
        }
        _ => &[],
    }
}

fn grants(v: &Value, want: Want) -> bool {
    match want {
        Want::View => v.level() >= charter::model::Level::View,
        Want::Edit => v.level() >= charter::model::Level::Edit,
    }
}

#[test]
fn every_html_cell_is_a_query_answer() {
    for dir in ["acme", "national-health", "two-enterprises", "hq-catalogue"] {
        let ix = index(dir);
        let page = Html::parse_document(&matrix::matrix(&ix, None).to_html());
        let sections: Vec<ElementRef<'_>> = page.select(&sel("section")).collect();
        assert_eq!(sections.len(), ix.snapshot.spaces.len(), "{dir}");
        for (s, section) in sections.iter().enumerate() {
            let entry = &ix.snapshot.spaces[s];
            assert_eq!(
                section.value().attr("id"),
                Some(format!("space-{}", entry.id).as_str())
            );
            let tables: Vec<ElementRef<'_>> = section.select(&sel("table")).collect();
            assert_eq!(tables.len(), 2);
            // The permission columns, by key.
            let keys: Vec<String> = tables[0].select(&sel("thead th.perm")).map(text).collect();
            let perms: Vec<Permission> = keys
                .iter()
                .map(|k| Permission::from_key(k).unwrap())
                .collect();
            assert!(perms.len() >= 35, "{keys:?}");
            // Roles × permissions: the effective values, with the reason as the title.
            let rows: Vec<ElementRef<'_>> = tables[0].select(&sel("tbody tr")).collect();
            assert_eq!(rows.len(), entry.roles.len());
            for (r, row) in rows.iter().enumerate() {
                let role = &entry.roles[r];
                let cells: Vec<ElementRef<'_>> = row.select(&sel("td")).collect();
                assert_eq!(text(row.select(&sel("th")).next().unwrap()), role.id);
                let values = &cells[3..];
                assert_eq!(values.len(), perms.len());
                for (&p, cell) in perms.iter().zip(values) {
                    assert_eq!(
                        text(*cell),
                        value_text(&role.value(p)),
                        "{dir} {} {}",
                        role.id,
                        p.key()
                    );
                    let has_reason = role.reason(p).is_some();
                    assert_eq!(
                        cell.value().attr("title").is_some(),
                        has_reason,
                        "{dir} {} {}",
                        role.id,
                        p.key()
                    );
                }
            }
            // Members × permissions: `what`, checked against `can`.
            let rows: Vec<ElementRef<'_>> = tables[1].select(&sel("tbody tr")).collect();
            assert_eq!(rows.len(), entry.members.len());
            for (m, row) in rows.iter().enumerate() {
                let member = &entry.members[m];
                let name = text(row.select(&sel("th")).next().unwrap());
                assert_eq!(name, member.name);
                let what = ix.what(&member.name, s as u32).unwrap();
                let cells: Vec<ElementRef<'_>> = row.select(&sel("td")).collect();
                assert_eq!(text(cells[1]), what.role);
                let restricted = row.value().attr("data-restricted") == Some("true");
                assert_eq!(
                    restricted,
                    matches!(member.scope, charter::snapshot::ScopeEntry::Locations(_))
                );
                for (&p, cell) in perms.iter().zip(&cells[3..]) {
                    let value = &what.permissions.iter().find(|(q, _)| *q == p).unwrap().1;
                    assert_eq!(
                        text(*cell),
                        value_text(value),
                        "{dir} {} {}",
                        member.name,
                        p.key()
                    );
                    let title = cell.value().attr("title").unwrap_or("");
                    for &(want, level) in levels(p) {
                        let q = Request {
                            space: s as u32,
                            want,
                            asked: Asked::Key(p),
                            at: None,
                            channel: Channel::Any,
                        };
                        let allowed = ix.decide(&member.name, &q).allowed();
                        if grants(value, want) {
                            assert!(
                                allowed,
                                "{dir}: {} shows `{}` but cannot {level} {}",
                                member.name,
                                value_text(value),
                                p.key()
                            );
                        } else if allowed {
                            assert!(
                                title.contains("Login-As"),
                                "{dir}: {} can {level} {} beyond its cell, unnoted: {title:?}",
                                member.name,
                                p.key()
                            );
                        }
                    }
                }
            }
        }
    }
}

/// The page is self-contained: no external script, style, image or link.
#[test]
fn the_page_needs_no_network() {
    let html = matrix::matrix(&index("national-health"), None).to_html();
    let page = Html::parse_document(&html);
    for (s, attr) in [
        ("script[src]", "src"),
        ("link", "href"),
        ("img", "src"),
        ("iframe", "src"),
    ] {
        assert!(page.select(&sel(s)).next().is_none(), "{s} {attr}");
    }
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(html.contains("Content-Security-Policy"));
}

/// Names are escaped: a name cannot open a tag in the page.
#[test]
fn names_cannot_inject_markup() {
    let mut sources = charter::source::SourceSet::default();
    sources.add(
        "x.charter",
        "space s \"<script>alert(1)</script>\" {\n plan enterprise\n role r \"<b onclick=x>\" { data = edit }\n web_user \"a<img>@x.org\" { role r }\n}\n",
    );
    let compiled = charter::compile(&sources);
    let ix = Index::new(charter::build(&sources, &compiled));
    let html = matrix::matrix(&ix, None).to_html();
    let page = Html::parse_document(&html);
    assert_eq!(
        page.select(&sel("script")).count(),
        1,
        "only the page's own script"
    );
    assert!(page.select(&sel("b, img")).next().is_none());
    assert!(html.contains("&lt;script&gt;"));
}

/// JSON, CSV and Markdown carry the same values as the HTML.
#[test]
fn every_format_has_the_same_cells() {
    let ix = index("acme");
    let m = matrix::matrix(&ix, Some(*ix.space_ids.get("acme-prod").unwrap()));
    let json = m.to_json();
    let space = &json["spaces"][0];
    assert_eq!(space["space"], "acme-prod");
    let priya = space["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["member"] == "priya@acme.org")
        .unwrap();
    assert_eq!(priya["restricted"], true);
    assert_eq!(priya["scope"], serde_json::json!(["lko"]));
    assert_eq!(priya["cells"]["data"]["value"], "view");
    assert_eq!(
        priya["cells"]["reports"]["value"],
        serde_json::json!(["visits", "pregnancy"])
    );
    assert!(
        priya["cells"]["data"]["notes"][0]
            .as_str()
            .unwrap()
            .contains("Lucknow")
    );
    let csv = m.to_csv();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = csv
        .lines()
        .find(|l| l.contains("priya@acme.org"))
        .unwrap()
        .split(',')
        .collect();
    let col = |k: &str| header.iter().position(|h| *h == k).unwrap();
    assert_eq!(row[col("data")], "view");
    assert_eq!(row[col("restricted")], "yes");
    assert_eq!(row[col("scope")], "Lucknow");
    let md = m.to_markdown();
    assert!(
        md.contains("| priya@acme.org | district-manager | Lucknow |"),
        "{md}"
    );
}

/// A member whose own role grants no data but who logs in as a worker who edits data: the cell
/// shows the role's `none` and names Login-As, and `can` allows the edit (the case the bundled
/// policies do not reach).
#[test]
fn what_login_as_adds_is_noted_on_the_cell() {
    let mut sources = charter::source::SourceSet::default();
    sources.add(
        "x.charter",
        "space s {\n  plan enterprise\n  role supervisor { web_apps = on\n login_as = all }\n  role clerk { data = edit\n web_apps = on }\n  web_user \"sup@x.org\" { role supervisor }\n  mobile_worker w1 { role clerk }\n}\n",
    );
    let compiled = charter::compile(&sources);
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
    let ix = Index::new(charter::build(&sources, &compiled));
    let q = Request {
        space: 0,
        want: Want::Edit,
        asked: Asked::Key(Permission::Data),
        at: None,
        channel: Channel::Any,
    };
    assert!(ix.decide("sup@x.org", &q).allowed());
    let page = Html::parse_document(&matrix::matrix(&ix, None).to_html());
    let members = page.select(&sel("table.members")).next().unwrap();
    let keys: Vec<String> = members.select(&sel("thead th.perm")).map(text).collect();
    let col = keys.iter().position(|k| k == "data").unwrap();
    let row = members
        .select(&sel("tbody tr"))
        .find(|r| text(r.select(&sel("th")).next().unwrap()) == "sup@x.org")
        .unwrap();
    let cell = row.select(&sel("td")).nth(3 + col).unwrap();
    assert_eq!(text(cell), "none");
    let title = cell.value().attr("title").unwrap_or("");
    assert!(title.contains("edit through Login-As"), "{title:?}");
}
