//! The one diagnostic type of the compiler.
//!
//! Every problem is a [`Diagnostic`]: a stable [`Code`], a message in the language's words, a
//! primary label on the exact span, optional secondary labels, and a help line saying how to fix
//! it. Stages push diagnostics and keep going; rendering (miette, JSON) lives only in
//! `diagnostic/render.rs`.

pub mod render;

use crate::source::Span;

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
    ApiNeedsPlan = "W0206", "access_apis on a plan without API access";
    LandingPageUnreachable = "W0207", "landing page the role cannot reach";
    UnusedRole = "W0208", "unused role";
    EscalationPath = "W0209", "privilege escalation path";
    EnterpriseAdminNoConsole = "W0210", "enterprise admin cannot reach the console";
    LiveFromTestUpstream = "W0211", "live space linked to a test or training upstream";
    UndeclaredMember = "W0212", "assertion names a member no space declares";
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

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// The primary span, used for sorting and for the line/column of tool output.
    pub fn primary_span(&self) -> Option<Span> {
        self.labels.first().map(|l| l.span)
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
    /// The candidate closest to `name` by edit distance, if close enough to be a likely typo.
    pub fn nearest<'a>(
        name: &str,
        candidates: impl IntoIterator<Item = &'a str>,
    ) -> Option<&'a str> {
        let limit = (name.chars().count() / 3).clamp(1, 3);
        let candidates: Vec<&str> = candidates.into_iter().filter(|c| *c != name).collect();
        let close = candidates
            .iter()
            .map(|c| (distance(name, c), *c))
            .filter(|(d, c)| *d <= limit || c.starts_with(name) && name.len() >= 3)
            .min_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)))
            .map(|(_, c)| c);
        close.or_else(|| {
            candidates
                .into_iter()
                .filter(|c| abbreviates(name, c))
                .min()
        })
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

    /// " did you mean `x`?" or nothing.
    pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
        nearest(name, candidates)
            .map(|c| format!("did you mean `{c}`?"))
            .unwrap_or_default()
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
