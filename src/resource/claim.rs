//! Claims: what a resource takes on its host or node. Two targets on one node (or two tasks on
//! one host) taking the same thing is a compile error naming both, unless the claim's sharing
//! policy allows it or (on one host) both tasks want it the same way.

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

/// When two targets of one node may claim the same value (and whether tasks of one host edit it
/// in turn).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sharing {
    /// Never on a node; on a host only when both tasks want it the same way (`wants`).
    Exclusive,
    /// Several resources of this policy edit the same thing of one host, in graph order (`line`).
    Ordered,
    /// Allowed on a node when both claims want exactly the same attributes (a directory several
    /// squads share, with the same mode and owner).
    SameAttributes,
}

/// One attribute a claim wants: its name (for messages) and value.
pub(crate) type Want = (&'static str, String);

/// One claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claim {
    pub(crate) kind: ClaimKind,
    pub(crate) value: String,
    pub(crate) sharing: Sharing,
    /// What the resource wants of the claimed thing, one entry per attribute it sets (a group's
    /// gid, a service running or not). Two tasks of one host whose wants never differ on an
    /// attribute are one wish said twice; `None`: the claim cannot be said twice (a file's
    /// content is not compared).
    pub(crate) wants: Option<Vec<Want>>,
}

/// How two tasks of one host claiming the same value get along.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OnHost {
    /// Ordered edits of one thing (several `line`s in one file): they apply in file order.
    Ordered,
    /// Both want it the same way (no attribute set differently): the second finds it done.
    Agree,
    /// They contradict each other: applying both would flip it on every run. Carries the first
    /// attribute they set differently (name, first value, second value), when that is why.
    Conflict(Option<(&'static str, String, String)>),
}

impl Claim {
    /// An exclusive claim that cannot be said twice: the usual case.
    pub(crate) fn new(kind: ClaimKind, value: impl Into<String>) -> Self {
        Self {
            kind,
            value: value.into(),
            sharing: Sharing::Exclusive,
            wants: None,
        }
    }

    /// An exclusive path claim.
    pub(crate) fn path(path: &str) -> Self {
        Self::new(ClaimKind::Path, path)
    }

    /// The same claim with another sharing policy.
    pub(crate) fn shared(self, sharing: Sharing) -> Self {
        Self { sharing, ..self }
    }

    /// The same claim wanting these attributes; unset ones (`None`) are left out, so a task that
    /// does not care about an attribute agrees with any value of it.
    pub(crate) fn wanting<const N: usize>(
        self,
        wants: [(&'static str, Option<String>); N],
    ) -> Self {
        Self {
            wants: Some(
                wants
                    .into_iter()
                    .filter_map(|(name, value)| Some((name, value?)))
                    .collect(),
            ),
            ..self
        }
    }

    /// Two tasks of one host both claim this value (`other` is the later one).
    pub(crate) fn on_host(&self, other: &Claim) -> OnHost {
        if self.sharing == Sharing::Ordered && other.sharing == Sharing::Ordered {
            return OnHost::Ordered;
        }
        let (Some(first), Some(second)) = (&self.wants, &other.wants) else {
            return OnHost::Conflict(None);
        };
        let differing = first.iter().find_map(|(name, a)| {
            second
                .iter()
                .find(|(n, b)| n == name && a != b)
                .map(|(_, b)| (*name, a.clone(), b.clone()))
        });
        match differing {
            Some(attribute) => OnHost::Conflict(Some(attribute)),
            None => OnHost::Agree,
        }
    }

    /// Two targets of one node may both claim this value: only with exactly the same attributes
    /// (their applies are not serialized with each other, so ordered edits would race).
    pub(crate) fn shares_on_node(&self, other: &Claim) -> bool {
        self.sharing == Sharing::SameAttributes
            && other.sharing == Sharing::SameAttributes
            && self.wants == other.wants
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(gid: Option<&str>) -> Claim {
        Claim::new(ClaimKind::Other("group".into()), "deploy").wanting([
            ("state", Some("present".into())),
            ("gid", gid.map(Into::into)),
        ])
    }

    #[test]
    fn two_wishes_for_one_thing_agree_unless_an_attribute_differs() {
        assert_eq!(
            group(Some("1500")).on_host(&group(Some("1500"))),
            OnHost::Agree
        );
        assert_eq!(group(None).on_host(&group(Some("1500"))), OnHost::Agree);
        assert_eq!(
            group(Some("1500")).on_host(&group(Some("1600"))),
            OnHost::Conflict(Some(("gid", "1500".into(), "1600".into())))
        );
    }

    #[test]
    fn claims_without_wants_never_agree_and_ordered_edits_chain() {
        let file = Claim::path("/etc/x");
        assert_eq!(file.on_host(&file.clone()), OnHost::Conflict(None));
        assert_eq!(file.on_host(&group(None)), OnHost::Conflict(None));
        let line = Claim::path("/etc/x").shared(Sharing::Ordered);
        assert_eq!(line.on_host(&line.clone()), OnHost::Ordered);
        assert_eq!(line.on_host(&file), OnHost::Conflict(None));
    }

    /// The bug this rule fixes: two `group: deploy` tasks with different gids (or a service
    /// started by one task and stopped by another) flipped on every apply.
    #[test]
    fn resources_say_what_they_want() {
        use crate::resource::{group::Group, service, Resource};
        fn on_host<R: Resource>(a: &R, b: &R) -> OnHost {
            a.claims()[0].on_host(&b.claims()[0])
        }
        let group = |gid| Group {
            name: "deploy".into(),
            gid,
            system: false,
            absent: false,
        };
        assert_eq!(
            on_host(&group(Some(1500)), &group(Some(1600))),
            OnHost::Conflict(Some(("gid", "1500".into(), "1600".into())))
        );
        assert_eq!(on_host(&group(Some(1500)), &group(None)), OnHost::Agree);
        let nginx = |want| service::Service {
            name: "nginx".into(),
            want: Some(want),
            enabled: None,
            masked: None,
            daemon_reload: false,
            user_scope: false,
            become_user: None,
        };
        assert_eq!(
            on_host(
                &nginx(service::Want::Started),
                &nginx(service::Want::Restarted)
            ),
            OnHost::Agree
        );
        assert!(matches!(
            on_host(
                &nginx(service::Want::Started),
                &nginx(service::Want::Stopped)
            ),
            OnHost::Conflict(Some(("running", _, _)))
        ));
    }

    #[test]
    fn a_node_shares_only_identical_attributes() {
        let dir = |mode: Option<&str>| {
            Claim::path("/srv/shared")
                .shared(Sharing::SameAttributes)
                .wanting([("mode", mode.map(Into::into))])
        };
        assert!(dir(Some("0755")).shares_on_node(&dir(Some("0755"))));
        assert!(!dir(None).shares_on_node(&dir(Some("0755"))));
        assert!(!group(Some("1")).shares_on_node(&group(Some("1"))));
    }
}
