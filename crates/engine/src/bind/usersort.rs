//! The bind side of interactive sort: the sort button of a textbox with a `UserSort` (its
//! id and the current direction), and the user's sorts put ahead of a group's own
//! `SortExpressions`. Must not: decide which group a button sorts ([`crate::usersort`]).

use std::borrow::Cow;
use std::collections::HashMap;

use rdl::model::{self, SortDirection};

use super::Shared;
use crate::instance as inst;
use crate::usersort::{SortTarget, UserSortChoice, sort_targets};

/// The user's sorts by group name (in choice order), empty when none was chosen.
pub(super) fn chosen_sorts(
    report: &model::Report,
    choices: &[UserSortChoice],
) -> HashMap<String, Vec<model::SortExpression>> {
    let mut out: HashMap<String, Vec<model::SortExpression>> = HashMap::new();
    if choices.is_empty() {
        return out;
    }
    let targets = sort_targets(report);
    for c in choices {
        if let Some(SortTarget { group, expression }) = targets.get(&c.id) {
            out.entry(group.clone())
                .or_default()
                .push(model::SortExpression {
                    value: expression.clone(),
                    direction: if c.ascending {
                        SortDirection::Ascending
                    } else {
                        SortDirection::Descending
                    },
                });
        }
    }
    out
}

impl Shared {
    /// The sort button of the textbox `name` if it has a `UserSort`.
    pub(super) fn sort_button(&self, tb: &model::Textbox, name: &str) -> Option<inst::SortButton> {
        tb.user_sort.as_ref()?;
        Some(inst::SortButton {
            id: name.to_owned(),
            ascending: self
                .opts
                .user_sorts
                .iter()
                .find(|c| c.id == name)
                .map(|c| c.ascending),
        })
    }

    /// The sort expressions of the group `g`: the user's first, then the group's own.
    pub(super) fn group_sorts<'a>(
        &self,
        g: &model::Group,
        own: &'a [model::SortExpression],
    ) -> Cow<'a, [model::SortExpression]> {
        match self.user_sorts.get(&g.name) {
            None => Cow::Borrowed(own),
            Some(u) => Cow::Owned(u.iter().chain(own).cloned().collect()),
        }
    }
}
