//! Resolved questions: what `assert` statements (lowered by `resolve`) and `charter query`
//! (resolved against a snapshot index) ask, with every name turned into an id.
//!
//! The parsed forms are [`ast::Question`](crate::ast::Question) and
//! [`ast::Query`](crate::ast::Query); `resolve::question` turns them into a [`Request`] and a
//! [`ResolvedQuery`]; `query` decides them. Invariant: this module depends on neither side
//! (only on `model`), so stage 2 and stage 5 share these types without importing each other.

use crate::model::Permission;

/// What a request asks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asked {
    Key(Permission),
    Report(u32),
    EnterpriseReports,
}

/// The level asked: `view` (also `use`: a switch is on) or `edit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    View,
    Edit,
}

/// How the member reaches the space: the web interface, the API, or either (the default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    Any,
    Web,
    Api,
}

impl Channel {
    /// The words of a `via` clause (empty for either channel).
    pub fn words(self) -> &'static str {
        match self {
            Channel::Any => "",
            Channel::Web => " via web",
            Channel::Api => " via api",
        }
    }
}

/// A permission question with every name resolved to an id: the space, what is asked, at
/// which level, where and through which channel. Ids are the snapshot's (and the IR's, which
/// the snapshot is emitted from in the same order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    pub space: u32,
    pub want: Want,
    pub asked: Asked,
    pub at: Option<u32>,
    pub channel: Channel,
}

impl Request {
    /// Whether the answer depends on the member's locations: a location-scoped permission or
    /// a report (the Enterprise Console's aggregates are space-wide).
    pub fn is_location_scoped(&self) -> bool {
        match self.asked {
            Asked::Key(p) => p.is_location_scoped(),
            Asked::Report(_) => true,
            Asked::EnterpriseReports => false,
        }
    }
}

/// A query with its names resolved (the parsed form is [`ast::Query`](crate::ast::Query)).
#[derive(Clone, Debug)]
pub enum ResolvedQuery {
    Can {
        member: String,
        negated: bool,
        request: Request,
    },
    Who {
        request: Request,
    },
    What {
        member: String,
        space: u32,
    },
    Why {
        member: String,
        negated: bool,
        request: Request,
    },
}
