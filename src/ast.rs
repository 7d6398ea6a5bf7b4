//! Owned, spanned syntax tree of one file.
//!
//! Invariant: the AST knows nothing about ids, interning or other files; every name is the text
//! the user wrote, with its span. Values are kept as written (`data = eddit` is a valid AST);
//! `resolve` decides what they mean.

use crate::source::{SourceId, Span};

/// A slug as written, e.g. `acme-prod`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A string literal with escapes processed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Str {
    pub value: String,
    pub span: Span,
}

/// A parsed file.
#[derive(Clone, Debug, Default)]
pub struct File {
    pub source: Option<SourceId>,
    pub items: Vec<Item>,
}

#[derive(Clone, Debug)]
pub enum Item {
    Enterprise(EnterpriseDecl),
    Space(SpaceDecl),
    Test(TestDecl),
}

#[derive(Clone, Debug)]
pub struct EnterpriseDecl {
    pub id: Ident,
    pub name: Option<Str>,
    /// Each `admins [...]` statement (more than one is reported).
    pub admins: Vec<(Span, Vec<Str>)>,
    /// Each `permissions { ... }` block (more than one is reported).
    pub permissions: Vec<EnterprisePermissionsDecl>,
    pub span: Span,
}

/// `permissions { source SPACE spaces [SPACES] }`: Enterprise Permissions.
#[derive(Clone, Debug)]
pub struct EnterprisePermissionsDecl {
    pub keyword: Span,
    pub source: Ident,
    pub spaces: Vec<Ident>,
}

#[derive(Clone, Debug)]
pub struct SpaceDecl {
    pub id: Ident,
    pub name: Option<Str>,
    pub stmts: Vec<SpaceStmt>,
    pub span: Span,
}

/// A statement inside `space { ... }`; `keyword` spans are kept for "given twice" reports.
#[derive(Clone, Debug)]
pub enum SpaceStmt {
    Enterprise {
        keyword: Span,
        id: Ident,
    },
    Plan {
        keyword: Span,
        value: Ident,
    },
    Server {
        keyword: Span,
        value: Ident,
    },
    Upstream {
        keyword: Span,
        id: Ident,
        /// The `remote` of `upstream ID remote`: the upstream lives on another server.
        remote: Option<Span>,
    },
    Environment {
        keyword: Span,
        value: Ident,
    },
    Security {
        keyword: Span,
        settings: Vec<Setting>,
    },
    LocationTypes {
        keyword: Span,
        types: Vec<LocationTypeDecl>,
    },
    Locations {
        keyword: Span,
        roots: Vec<LocationDecl>,
    },
    Group {
        id: Ident,
        name: Option<Str>,
    },
    Report {
        id: Ident,
        name: Option<Str>,
    },
    /// `features [integrations, tableau]`.
    Features {
        keyword: Span,
        flags: Vec<Ident>,
    },
    Application {
        id: Ident,
        name: Option<Str>,
    },
    Profile {
        id: Ident,
        name: Option<Str>,
    },
    Registry(RegistryDecl),
    /// `grant REGISTRY to [SPACES]`.
    Grant {
        keyword: Span,
        registry: Ident,
        to: Vec<Ident>,
    },
    Role(RoleDecl),
    Member(MemberDecl),
}

/// `registry ID "Name" { case_types [...] }`.
#[derive(Clone, Debug)]
pub struct RegistryDecl {
    pub id: Ident,
    pub name: Option<Str>,
    /// Each `case_types [...]` statement (the grammar allows one).
    pub case_types: Vec<Ident>,
}

/// `state in country`.
#[derive(Clone, Debug)]
pub struct LocationTypeDecl {
    pub id: Ident,
    pub parent: Option<Ident>,
}

/// `district lko "Lucknow" { ... }`.
#[derive(Clone, Debug)]
pub struct LocationDecl {
    pub ty: Ident,
    pub id: Ident,
    pub name: Option<Str>,
    pub children: Vec<LocationDecl>,
}

#[derive(Clone, Debug)]
pub struct RoleDecl {
    pub keyword: Span,
    pub id: Ident,
    pub name: Option<Str>,
    pub settings: Vec<Setting>,
    pub span: Span,
}

/// `key = value` inside a role or `security` block.
#[derive(Clone, Debug)]
pub struct Setting {
    pub key: Ident,
    pub value: Value,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Value {
    Word(Ident),
    List { items: Vec<Ident>, span: Span },
}

impl Value {
    pub fn span(&self) -> Span {
        match self {
            Value::Word(w) => w.span,
            Value::List { span, .. } => *span,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MemberKind {
    WebUser,
    MobileWorker,
}

impl MemberKind {
    pub fn keyword(self) -> &'static str {
        match self {
            MemberKind::WebUser => "web_user",
            MemberKind::MobileWorker => "mobile_worker",
        }
    }
}

/// `web_user "a@b.org" { role x  locations [a]  groups [g] }`.
#[derive(Clone, Debug)]
pub struct MemberDecl {
    pub kind: MemberKind,
    pub keyword: Span,
    pub name: Str,
    pub role: Vec<Ident>,
    pub locations: Vec<(Span, Vec<Ident>)>,
    pub groups: Vec<(Span, Vec<Ident>)>,
    /// Each `login_as [...]` statement: the web users who may log in as this mobile worker.
    pub login_as: Vec<(Span, Vec<Str>)>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct TestDecl {
    pub name: Str,
    pub assertions: Vec<Assertion>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Assertion {
    pub query: Query,
    /// For `who` assertions: the expected members.
    pub expected: Option<Vec<Str>>,
    pub span: Span,
}

/// What a permission question names: a permission key, or one report (`view report visits`).
#[derive(Clone, Debug)]
pub enum PermissionRef {
    Key(Ident),
    Report { keyword: Span, id: Ident },
}

/// The question part shared by `can`, `who` and `why`.
#[derive(Clone, Debug)]
pub struct Question {
    pub level: Ident,
    pub permission: PermissionRef,
    pub at: Option<Ident>,
    /// `via web` or `via api`: one channel only (default: either).
    pub via: Option<Ident>,
    pub space: Ident,
}

/// One query, as written in an `assert` or given to `charter query`.
#[derive(Clone, Debug)]
pub enum Query {
    Can {
        member: Str,
        negated: bool,
        question: Question,
    },
    Who {
        question: Question,
    },
    What {
        member: Str,
        space: Ident,
    },
    Why {
        member: Str,
        negated: bool,
        question: Question,
    },
}
