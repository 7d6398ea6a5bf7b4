//! Synthetic policies for benchmarks and property tests: a seeded generator of valid,
//! realistic-looking policies (4-level location trees, a mix of full-access and
//! location-restricted roles, members spread over the tree).
//!
//! Deterministic for a given [`Params`]: the same seed gives the same files.

use std::fmt::Write;

/// Sizes of a generated policy; counts are per space.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    pub spaces: usize,
    pub locations: usize,
    pub roles: usize,
    pub members: usize,
    pub seed: u64,
}

/// A small xorshift64* generator: reproducible without a dependency.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Fan-out of a 4-level tree (country > region > district > facility) of about `n` locations.
fn fan_out(n: usize) -> (usize, usize, usize) {
    let regions = ((n as f64).cbrt() / 2.0).round().max(1.0) as usize;
    let districts = regions.max(1);
    let facilities =
        (n.saturating_sub(1 + regions + regions * districts) / (regions * districts)).max(1);
    (regions, districts, facilities)
}

const REPORTS: [&str; 6] = [
    "visits",
    "anc",
    "immunization",
    "stock",
    "referrals",
    "nutrition",
];

/// Generates a policy: `(file name, text)` pairs, one file per space plus the enterprise.
pub fn generate(p: &Params) -> Vec<(String, String)> {
    let mut rng = Rng::new(p.seed);
    let mut files = Vec::with_capacity(p.spaces + 1);
    let admins: Vec<String> = (0..p.spaces.clamp(1, 3))
        .map(|i| format!("admin{i}@synth.org"))
        .collect();
    let mut enterprise = String::from("enterprise synth \"Synthetic Programme\" {\n  admins [");
    enterprise.push_str(
        &admins
            .iter()
            .map(|a| format!("\"{a}\""))
            .collect::<Vec<_>>()
            .join(", "),
    );
    enterprise.push_str("]\n}\n");
    files.push(("enterprise.charter".to_owned(), enterprise));
    for s in 0..p.spaces {
        files.push((
            format!("space-{s:03}.charter"),
            space(p, s, &admins, &mut rng),
        ));
    }
    files
}

fn space(p: &Params, s: usize, admins: &[String], rng: &mut Rng) -> String {
    let mut out = String::with_capacity(p.locations * 60 + p.members * 70 + p.roles * 300);
    let id = format!("sp{s:03}");
    let _ = writeln!(out, "space {id} \"Synthetic Space {s}\" {{");
    out.push_str("  enterprise synth\n  plan enterprise\n  server global\n  environment live\n");
    out.push_str("  security { two_factor = required }\n");
    out.push_str("  location_types {\n    country\n    region in country\n    district in region\n    facility in district\n  }\n");
    for r in REPORTS {
        let _ = writeln!(out, "  report {r}");
    }
    out.push_str("  group cohort-a\n  group cohort-b\n");

    // Locations, recording the ids members may be assigned (districts and facilities).
    let (regions, districts, facilities) = fan_out(p.locations);
    let mut assignable: Vec<String> = Vec::new();
    let _ = writeln!(out, "  locations {{\n    country c{s} \"Country {s}\" {{");
    for r in 0..regions {
        let _ = writeln!(out, "      region r{r} \"Region {r}\" {{");
        for d in 0..districts {
            let did = format!("r{r}-d{d}");
            let _ = writeln!(out, "        district {did} \"District {r}.{d}\" {{");
            for f in 0..facilities {
                let fid = format!("{did}-f{f}");
                let _ = writeln!(out, "          facility {fid} \"Facility {r}.{d}.{f}\"");
                assignable.push(fid);
            }
            out.push_str("        }\n");
            assignable.push(did);
        }
        out.push_str("      }\n");
    }
    out.push_str("    }\n  }\n");

    // Roles: about 40% location-restricted; never settings that are errors.
    let mut restricted = Vec::with_capacity(p.roles);
    for k in 0..p.roles {
        let foa_off = rng.chance(40);
        restricted.push(foa_off);
        let _ = writeln!(out, "  role role-{k} \"Role {k}\" {{");
        if foa_off {
            out.push_str("    full_organization_access = off\n");
            // Sometimes a hidden permission anyway (W0201): it must have no effect.
            if rng.chance(50) {
                let key = rng.pick(&["web_users", "groups", "applications"]);
                let _ = writeln!(out, "    {key} = {}", rng.pick(&["view", "edit"]));
            }
        } else {
            for key in ["web_users", "groups", "applications"] {
                let _ = writeln!(out, "    {key} = {}", rng.pick(&["none", "view", "edit"]));
            }
            let _ = writeln!(
                out,
                "    roles_and_permissions = {}",
                rng.pick(&["none", "view"])
            );
            let _ = writeln!(out, "    access_apis = {}", rng.pick(&["on", "off"]));
        }
        for key in ["data", "mobile_workers", "locations"] {
            let _ = writeln!(out, "    {key} = {}", rng.pick(&["none", "view", "edit"]));
        }
        for key in [
            "web_apps",
            "messaging",
            "mobile_app_access",
            "manage_shared_exports",
        ] {
            let _ = writeln!(out, "    {key} = {}", rng.pick(&["on", "off"]));
        }
        match rng.below(3) {
            0 => out.push_str("    reports = all\n    download_and_email_reports = on\n"),
            1 => {
                let a = rng.below(REPORTS.len());
                let b = (a + 1 + rng.below(REPORTS.len() - 1)) % REPORTS.len();
                let _ = writeln!(out, "    reports = [{}, {}]", REPORTS[a], REPORTS[b]);
            }
            _ => out.push_str("    reports = none\n"),
        }
        out.push_str("  }\n");
    }

    // Members: the first is admin (and the enterprise admins are admins of every space).
    for a in admins {
        let _ = writeln!(out, "  web_user \"{a}\" {{ role admin }}");
    }
    for m in 0..p.members {
        let role = rng.below(p.roles.max(1));
        let role_name = if p.roles == 0 {
            "read-only".to_owned()
        } else {
            format!("role-{role}")
        };
        let locations = if p.roles > 0 && restricted[role] || rng.chance(10) {
            let n = 1 + rng.below(2);
            let ids: Vec<&str> = (0..n)
                .map(|_| assignable[rng.below(assignable.len())].as_str())
                .collect();
            format!("  locations [{}]", ids.join(", "))
        } else {
            String::new()
        };
        if m % 5 == 4 {
            let group = if rng.chance(50) {
                "cohort-a"
            } else {
                "cohort-b"
            };
            let _ = writeln!(
                out,
                "  mobile_worker mw-{s}-{m} {{ role {role_name}{locations}  groups [{group}] }}"
            );
        } else {
            let _ = writeln!(
                out,
                "  web_user \"user{m}@sp{s}.synth.org\" {{ role {role_name}{locations} }}"
            );
        }
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fan_out_is_about_the_asked_size() {
        let (r, d, f) = fan_out(10_000);
        let n = 1 + r + r * d + r * d * f;
        assert!((9_000..=11_000).contains(&n), "{n}");
    }

    #[test]
    fn same_seed_same_files() {
        let p = Params {
            spaces: 2,
            locations: 50,
            roles: 5,
            members: 20,
            seed: 3,
        };
        assert_eq!(generate(&p), generate(&p));
        assert_ne!(generate(&p), generate(&Params { seed: 4, ..p }));
    }
}
