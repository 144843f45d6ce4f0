//! Claims: what a resource takes on its host or node. Two targets on one node (or two tasks on
//! one host) taking the same thing is a compile error naming both, unless the claim's sharing
//! policy allows it.

/// What kind of thing is claimed; the explicit `claims:` task keyword uses the same names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum ClaimKind {
    /// A filesystem path (`~/` paths belong to the connecting account).
    Path,
    Port,
    ServerName,
    /// A supervisord program name.
    Program,
    /// A Unix account.
    User,
    /// Any other name given under `claims:`.
    Other(String),
}

impl ClaimKind {
    /// The kind for a `claims:` key.
    pub(crate) fn named(name: &str) -> Self {
        match name {
            "path" => Self::Path,
            "port" => Self::Port,
            "server_name" => Self::ServerName,
            "program" => Self::Program,
            "user" => Self::User,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The name used in messages and under `claims:`.
    pub(crate) fn name(&self) -> &str {
        match self {
            Self::Path => "path",
            Self::Port => "port",
            Self::ServerName => "server_name",
            Self::Program => "program",
            Self::User => "user",
            Self::Other(name) => name,
        }
    }
}

/// When two claims of the same value may coexist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sharing {
    /// Never: the second claim is an error.
    Exclusive,
    /// Several resources of this policy edit the same thing, in graph order (`line`).
    Ordered,
    /// Allowed when both claims carry the same attributes (a directory several squads share,
    /// with the same mode and owner).
    SameAttributes(String),
}

/// One claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claim {
    pub(crate) kind: ClaimKind,
    pub(crate) value: String,
    pub(crate) sharing: Sharing,
}

impl Claim {
    /// An exclusive path claim: the usual case.
    pub(crate) fn path(path: &str) -> Self {
        Self {
            kind: ClaimKind::Path,
            value: path.to_owned(),
            sharing: Sharing::Exclusive,
        }
    }

    /// Two tasks of one host may both claim this value: ordered edits (several `line`s in one
    /// file), and the same directory wanted the same way (two roles each declaring it, which
    /// Ansible runs twice); the graph chains them in file order, the second then finds nothing
    /// to do.
    pub(crate) fn shares_on_host(&self, other: &Claim) -> bool {
        (self.sharing == Sharing::Ordered && other.sharing == Sharing::Ordered)
            || self.shares_on_node(other)
    }

    /// Two targets of one node may both claim this value: only with the same attributes (their
    /// applies are not serialized with each other, so ordered edits would race).
    pub(crate) fn shares_on_node(&self, other: &Claim) -> bool {
        matches!((&self.sharing, &other.sharing),
            (Sharing::SameAttributes(a), Sharing::SameAttributes(b)) if a == b)
    }
}
