//! The one diagnostic type of the compiler.
//!
//! Every problem is a [`Diagnostic`]: a stable [`Code`], a message in the language's words, a
//! primary label on the exact span, optional secondary labels, and a help line saying how to fix
//! it. Stages push diagnostics and keep going; rendering (miette, JSON) lives only in
//! `diagnostic/render.rs`.

pub mod render;

use crate::source::{DecodeProblem, Span, Undecodable};

/// Whether a diagnostic fails the build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

macro_rules! codes {
    ($($variant:ident = $code:literal, $summary:literal;)*) => {
        /// Stable diagnostic codes. `E00xx` syntax, `E01xx` names and values, `E02xx` rules,
        /// `W02xx` lints. A code is never renumbered or reused.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $($variant,)* }

        impl Code {
            /// Every code, in numeric order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as shown to users, e.g. `E0101`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// A one-line summary, used as the rule title in docs and tool output.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }
        }
    };
}

codes! {
    SyntaxError = "E0001", "syntax error";
    UnknownStatement = "E0002", "unknown statement";
    NestingTooDeep = "E0003", "nesting too deep";
    InvalidUtf8 = "E0004", "file is not valid UTF-8";
    FileTooLarge = "E0005", "file too large";
    InvalidEscape = "E0006", "invalid escape in a string";
    TooLong = "E0007", "identifier or string too long";
    Duplicate = "E0101", "duplicate id";
    UnknownName = "E0102", "reference to an undeclared name";
    UnknownPermission = "E0103", "unknown permission";
    InvalidValue = "E0104", "invalid value";
    RepeatedStatement = "E0105", "statement given more than once";
    MissingRole = "E0106", "web user without a role";
    InvisibleCharacter = "E0107", "invisible or control character in a member name";
    NotAnEmail = "E0108", "web user name is not an email address";
    OutOfReach = "E0109", "space out of reach of a cross-space declaration";
    LocationTypeCycle = "E0201", "location types form a cycle";
    LocationTypeMismatch = "E0202", "location type does not fit its parent location";
    RootLocationType = "E0203", "root location with a non-root type";
    UpstreamChain = "E0204", "linked spaces are more than one level deep";
    UpstreamCycle = "E0205", "linked spaces form a cycle";
    UpstreamServer = "E0206", "upstream space on another server";
    RolesAndPermissionsEdit = "E0207", "only admin may edit roles and permissions";
    AdminRedefined = "E0208", "the admin role cannot be redefined";
    PlanTooLow = "E0209", "feature needs a higher plan";
    UnreachableMember = "E0210", "location-restricted member without a location";
    UpstreamRoleRedefined = "E0211", "downstream space redefines an upstream role";
    UpstreamReportMissing = "E0212", "upstream role lists a report the downstream space lacks";
    UpstreamEnterprise = "E0213", "upstream space in another enterprise";
    HiddenPermission = "W0201", "permission hidden by full organization access";
    ApiBypassesLocations = "W0202", "API access bypasses the location restriction";
    SubPermissionNoEffect = "W0203", "sub-permission without its parent permission";
    SubPermissionRedundant = "W0204", "sub-permission already granted by mobile_workers = edit";
    DownloadWithoutReports = "W0205", "download_and_email_reports without reports";
    ApiNeedsPlan = "W0206", "permission the space's plan does not include";
    LandingPageUnreachable = "W0207", "landing page the role cannot reach";
    UnusedRole = "W0208", "unused role";
    EscalationPath = "W0209", "privilege escalation path";
    EnterpriseAdminNoConsole = "W0210", "enterprise admin cannot reach the console";
    LiveFromTestUpstream = "W0211", "live space linked to a test or training upstream";
    UndeclaredMember = "W0212", "assertion names a member no space declares";
    FeatureOff = "W0213", "permission needs a feature flag the space does not turn on";
    RemoteUpstreamSameServer = "W0214", "remote link to a space on the same server";
}

impl Code {
    pub fn severity(self) -> Severity {
        if self.as_str().starts_with('W') {
            Severity::Warning
        } else {
            Severity::Error
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A labelled span; the first label of a diagnostic is its primary one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// One problem found in a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    /// The primary label first, then secondary ones.
    pub labels: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic whose severity follows from its code.
    pub fn new(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            labels: Vec::new(),
            help: None,
        }
    }

    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// A label where there is a span to put it (a value the policy may not have written).
    pub fn with_label_at(self, span: Option<Span>, message: impl Into<String>) -> Diagnostic {
        match span {
            Some(span) => self.with_label(span, message),
            None => self,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// The primary span, used for sorting and for the line/column of tool output.
    pub fn primary_span(&self) -> Option<Span> {
        self.labels.first().map(|l| l.span)
    }
}

/// `E0004`/`E0005` for a file the loader could not decode (`source` reports the problem; the
/// words are made here, so that `source` does not depend on diagnostics).
impl From<Undecodable> for Diagnostic {
    fn from(Undecodable { file, problem }: Undecodable) -> Diagnostic {
        match problem {
            DecodeProblem::TooLarge { len, limit } => Diagnostic::new(
                Code::FileTooLarge,
                match len {
                    Some(len) => format!(
                        "file is too large to compile ({len} bytes; the limit is {limit} bytes)"
                    ),
                    None => format!(
                        "file is too large to compile (more than the limit of {limit} bytes)"
                    ),
                },
            )
            .with_label(Span::new(file, 0, 0), "this file")
            .with_help(
                "split the policy into several files: all files of a directory share one namespace",
            ),
            DecodeProblem::NotUtf8 { offset } => Diagnostic::new(
                Code::InvalidUtf8,
                format!("file is not valid UTF-8 (first invalid byte at offset {offset})"),
            )
            .with_label(
                Span::new(file, offset, offset + '\u{FFFD}'.len_utf8()),
                "invalid byte here",
            )
            .with_help("save the file as UTF-8"),
        }
    }
}

/// Sorts diagnostics by file, then position, then code, and drops exact duplicates.
pub fn sort(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by(|a, b| {
        let key = |d: &Diagnostic| d.primary_span().map(|s| (s.source, s.start, s.end));
        key(a)
            .cmp(&key(b))
            .then(a.code.cmp(&b.code))
            .then(a.message.cmp(&b.message))
    });
    diagnostics.dedup();
}

/// Counts of errors and warnings.
pub fn counts(diagnostics: &[Diagnostic]) -> (usize, usize) {
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    (errors, diagnostics.len() - errors)
}

/// Names and spellings, in the words a suggestion needs.
pub mod suggest {
    use std::cell::Cell;

    /// Candidates a run may look at for suggestions, in all: n unknown names among n declared
    /// ones would otherwise cost n² comparisons (issue 10: 20,000 typos took minutes). Past it,
    /// diagnostics still come, without a suggestion.
    pub const BUDGET: usize = 1_000_000;

    thread_local! {
        static LEFT: Cell<usize> = const { Cell::new(BUDGET) };
    }

    /// Starts a new run's budget (each compile, each batch of queries).
    pub fn reset_budget() {
        LEFT.with(|l| l.set(BUDGET));
    }

    /// Starts one file's budget, for its parse and its own declarations (`crate::parse_file`):
    /// proportional to the file, so that a policy's suggestions stay linear in its size however
    /// it is split into files, and capped at a run's. Files are parsed on several threads; a
    /// budget of their own keeps their diagnostics the same whichever thread parses them.
    pub fn start_file(bytes: usize) {
        LEFT.with(|l| l.set(BUDGET.min(64usize.saturating_mul(bytes).saturating_add(4096))));
    }

    /// Whether the run's budget is spent.
    pub fn exhausted() -> bool {
        LEFT.with(|l| l.get() == 0)
    }

    /// Takes `n` candidates from the budget; false (taking nothing) when fewer are left.
    pub fn spend(n: usize) -> bool {
        LEFT.with(|l| {
            let left = l.get();
            if left >= n {
                l.set(left - n);
                true
            } else {
                l.set(0);
                false
            }
        })
    }

    /// The candidate closest to `name` by edit distance, if close enough to be a likely typo.
    pub fn nearest<'a>(
        name: &str,
        candidates: impl IntoIterator<Item = &'a str>,
    ) -> Option<&'a str> {
        if exhausted() {
            return None;
        }
        let limit = (name.chars().count() / 3).clamp(1, 3);
        let len = name.chars().count();
        let mut visited = 0usize;
        let mut best: Option<(usize, &str)> = None;
        let mut abbreviation: Option<&str> = None;
        for c in candidates {
            visited += 1;
            if visited % 1024 == 0 && !spend(1024) {
                return None;
            }
            if c == name {
                continue;
            }
            let prefix = c.starts_with(name) && name.len() >= 3;
            // Cheap bound first: a length difference is a lower bound of the distance.
            let clen = c.chars().count();
            let d = if clen.abs_diff(len) > limit && !prefix {
                usize::MAX
            } else if name.is_ascii() && c.is_ascii() && !prefix {
                within(name.as_bytes(), c.as_bytes(), limit).unwrap_or(usize::MAX)
            } else {
                distance(name, c)
            };
            if (d <= limit || prefix) && best.is_none_or(|(bd, bc)| (d, c) < (bd, bc)) {
                best = Some((d, c));
            }
            if best.is_none() && abbreviation.is_none_or(|a| c < a) && abbreviates(name, c) {
                abbreviation = Some(c);
            }
        }
        if !spend(visited % 1024) {
            return None;
        }
        best.map(|(_, c)| c).or(abbreviation)
    }

    /// Whether each `_`/`-` separated word of `short` starts the matching word of `long`
    /// (`full_org_access` abbreviates `full_organization_access`).
    fn abbreviates(short: &str, long: &str) -> bool {
        let words = |s: &str| s.split(['_', '-']).map(str::to_owned).collect::<Vec<_>>();
        let (a, b) = (words(short), words(long));
        a.len() == b.len()
            && a.len() > 1
            && a.iter()
                .zip(&b)
                .all(|(x, y)| !x.is_empty() && y.starts_with(x.as_str()))
    }

    /// Edges of a cycle labelled in a diagnostic: a cycle of thousands would make the rendered
    /// report (and its rendering time) grow with the square of its length.
    pub const CYCLE_LABELS: usize = 8;

    /// `a -> b -> c -> a`, or for a long cycle its first names, `...`, and how many in all.
    pub fn cycle_text(names: &[&str]) -> String {
        let Some(first) = names.first() else {
            return String::new();
        };
        if names.len() <= CYCLE_LABELS {
            return format!("{} -> {first}", names.join(" -> "));
        }
        format!(
            "{} -> ... -> {} -> {first} ({} in all)",
            names[..CYCLE_LABELS - 1].join(" -> "),
            names[names.len() - 1],
            names.len()
        )
    }

    /// " did you mean `x`?" or nothing.
    pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
        nearest(name, candidates)
            .map(|c| format!("did you mean `{c}`?"))
            .unwrap_or_default()
    }

    /// [`distance`] of two ASCII strings if it is at most `limit`: a band of the table, given
    /// up as soon as a row exceeds the limit, on the stack for names of up to 128 bytes.
    fn within(a: &[u8], b: &[u8], limit: usize) -> Option<usize> {
        const MAX: usize = 128;
        if a.len() > MAX || b.len() > MAX {
            let d = distance(std::str::from_utf8(a).ok()?, std::str::from_utf8(b).ok()?);
            return (d <= limit).then_some(d);
        }
        let far = limit + 1;
        let mut prev2 = [far; MAX + 1];
        let mut prev = [far; MAX + 1];
        let mut cur = [far; MAX + 1];
        for (j, p) in prev.iter_mut().enumerate().take(b.len() + 1) {
            *p = j.min(far);
        }
        for i in 1..=a.len() {
            let lo = i.saturating_sub(limit).max(1);
            let hi = (i + limit).min(b.len());
            cur[0] = i.min(far);
            if lo > 1 {
                cur[lo - 1] = far;
            }
            let mut row_min = cur[0];
            for j in lo..=hi {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    v = v.min(prev2[j - 2] + 1);
                }
                cur[j] = v.min(far);
                row_min = row_min.min(cur[j]);
            }
            if hi < b.len() {
                cur[hi + 1] = far;
            }
            if row_min > limit {
                return None;
            }
            prev2 = prev;
            prev = cur;
        }
        let d = prev[b.len()];
        (d <= limit).then_some(d)
    }

    /// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
    pub fn distance(a: &str, b: &str) -> usize {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        let mut prev2 = vec![0usize; b.len() + 1];
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        let mut cur = vec![0usize; b.len() + 1];
        for i in 1..=a.len() {
            cur[0] = i;
            for j in 1..=b.len() {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    cur[j] = cur[j].min(prev2[j - 2] + 1);
                }
            }
            std::mem::swap(&mut prev2, &mut prev);
            std::mem::swap(&mut prev, &mut cur);
        }
        prev[b.len()]
    }

    /// "`a`, `b` or `c`".
    /// The values a permission kind takes, as messages name them; here rather than in
    /// `model`, which holds no prose.
    impl crate::model::Kind {
        /// "`none`, `view` or `edit`", as used in messages.
        pub fn describe_values(self) -> String {
            use crate::model::{Kind, LandingPage};
            match self {
                Kind::Level => "`none`, `view` or `edit`".to_owned(),
                Kind::AdminOnlyEdit => "`none` or `view` (`edit` is for admin only)".to_owned(),
                Kind::Switch => "`on` or `off`".to_owned(),
                Kind::Items(k) => format!("`all`, `none` or a list of {} ids `[a, b]`", k.noun()),
                Kind::SwitchOrItems(k) => {
                    format!("`on`, `off` or a list of {} ids `[a, b]`", k.noun())
                }
                Kind::LoginAs => one_of(&crate::model::LoginAs::WORDS),
                Kind::LandingPage => one_of(&LandingPage::WORDS),
                Kind::RoleList => "a list of role ids `[a, b]`".to_owned(),
            }
        }
    }

    pub fn one_of(items: &[&str]) -> String {
        let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
        match quoted.len() {
            0 => String::new(),
            1 => quoted[0].clone(),
            n => format!("{} or {}", quoted[..n - 1].join(", "), quoted[n - 1]),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_banded_distance_agrees_with_the_full_one() {
            let words = [
                "",
                "a",
                "ab",
                "ba",
                "edit",
                "eidt",
                "eddit",
                "view",
                "none",
                "data",
                "district-manager",
                "district-manger",
                "field-implementer",
                "lko-01",
                "lko-10",
            ];
            for a in words {
                for b in words {
                    for limit in 1..=3 {
                        let full = distance(a, b);
                        let banded = within(a.as_bytes(), b.as_bytes(), limit);
                        assert_eq!(banded, (full <= limit).then_some(full), "{a} {b} {limit}");
                    }
                }
            }
        }

        #[test]
        fn distance_counts_edits_and_transpositions() {
            assert_eq!(distance("edit", "edit"), 0);
            assert_eq!(distance("eidt", "edit"), 1);
            assert_eq!(distance("eddit", "edit"), 1);
            assert_eq!(distance("", "abc"), 3);
        }

        #[test]
        fn nearest_prefers_close_names() {
            let c = ["none", "view", "edit"];
            assert_eq!(nearest("eidt", c), Some("edit"));
            assert_eq!(nearest("veiw", c), Some("view"));
            assert_eq!(nearest("zzzzzz", c), None);
            let keys = ["full_organization_access", "mobile_workers"];
            assert_eq!(
                nearest("full_org_access", keys),
                Some("full_organization_access")
            );
        }
    }
}

/// A code's documentation, read from `docs/diagnostics.md` (compiled in): the meaning paragraph
/// and the fix line. The docs are the single source of the help text of SARIF rules.
pub fn code_docs(code: Code) -> (&'static str, &'static str) {
    use std::collections::HashMap;
    use std::sync::OnceLock;
    static DOCS: OnceLock<HashMap<&'static str, (&'static str, &'static str)>> = OnceLock::new();
    let docs = DOCS.get_or_init(|| {
        let text: &'static str = include_str!("../docs/diagnostics.md");
        let mut out = HashMap::new();
        for section in text.split("\n## ").skip(1) {
            let Some((heading, body)) = section.split_once('\n') else {
                continue;
            };
            let code = heading.split(':').next().unwrap_or_default().trim();
            let meaning = body
                .trim_start()
                .split("\n\n")
                .next()
                .unwrap_or_default()
                .trim();
            let fix = body
                .lines()
                .find_map(|l| l.strip_prefix("Fix: "))
                .unwrap_or_default()
                .trim();
            out.insert(code, (meaning, fix));
        }
        out
    });
    docs.get(code.as_str()).copied().unwrap_or(("", ""))
}
