//! The vocabulary of user intents: what keys, `:` commands and the help screen all speak.
//! Names are intents (`Acknowledge`, `SelectNext`), never key names. Pure.

/// Something a person wants done. Keys map to these through the keymap; `:NAME` runs one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    SelectNext,
    SelectPrevious,
    PageDown,
    PageUp,
    SelectFirst,
    SelectLast,
    OpenDetail,
    Back,
    NextTab,
    PreviousTab,
    CycleSort,
    Filter,
    CommandLine,
    Help,
    Acknowledge,
    Annotate,
    Resolve,
    Snooze,
    Reassign,
    Escalate,
    NewLine,
    Postmortem,
    ShowOnCall,
    ShowSilences,
    AddSilence,
    ExpireSilence,
    Refresh,
    Redraw,
    Suspend,
    Quit,
}

impl Action {
    pub const ALL: [Action; 30] = [
        Action::SelectNext,
        Action::SelectPrevious,
        Action::PageDown,
        Action::PageUp,
        Action::SelectFirst,
        Action::SelectLast,
        Action::OpenDetail,
        Action::Back,
        Action::NextTab,
        Action::PreviousTab,
        Action::CycleSort,
        Action::Filter,
        Action::CommandLine,
        Action::Help,
        Action::Acknowledge,
        Action::Annotate,
        Action::Resolve,
        Action::Snooze,
        Action::Reassign,
        Action::Escalate,
        Action::NewLine,
        Action::Postmortem,
        Action::ShowOnCall,
        Action::ShowSilences,
        Action::AddSilence,
        Action::ExpireSilence,
        Action::Refresh,
        Action::Redraw,
        Action::Suspend,
        Action::Quit,
    ];

    /// The name used in keymap files and as a `:` command.
    pub fn name(self) -> &'static str {
        match self {
            Action::SelectNext => "select_next",
            Action::SelectPrevious => "select_previous",
            Action::PageDown => "page_down",
            Action::PageUp => "page_up",
            Action::SelectFirst => "select_first",
            Action::SelectLast => "select_last",
            Action::OpenDetail => "open_detail",
            Action::Back => "back",
            Action::NextTab => "next_tab",
            Action::PreviousTab => "previous_tab",
            Action::CycleSort => "cycle_sort",
            Action::Filter => "filter",
            Action::CommandLine => "command_line",
            Action::Help => "help",
            Action::Acknowledge => "acknowledge",
            Action::Annotate => "annotate",
            Action::Resolve => "resolve",
            Action::Snooze => "snooze",
            Action::Reassign => "reassign",
            Action::Escalate => "escalate",
            Action::NewLine => "new_line",
            Action::Postmortem => "postmortem",
            Action::ShowOnCall => "oncall",
            Action::ShowSilences => "silences",
            Action::AddSilence => "silence",
            Action::ExpireSilence => "expire_silence",
            Action::Refresh => "refresh",
            Action::Redraw => "redraw",
            Action::Suspend => "suspend",
            Action::Quit => "quit",
        }
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|action| action.name() == name)
    }

    /// One line for the help screen.
    pub fn description(self) -> &'static str {
        match self {
            Action::SelectNext => "select the next incident or silence (detail: scroll down)",
            Action::SelectPrevious => "select the previous one (detail: scroll up)",
            Action::PageDown => "one page down",
            Action::PageUp => "one page up",
            Action::SelectFirst => "go to the top",
            Action::SelectLast => "go to the bottom",
            Action::OpenDetail => "open the selected incident",
            Action::Back => "back to the queue; in the queue, clear the filter",
            Action::NextTab => "next tab: open, triggered, acknowledged, resolved, all",
            Action::PreviousTab => "previous tab",
            Action::CycleSort => "sort by severity, newest, oldest, id, status",
            Action::Filter => "filter live: words, sev:crit, svc:NAME, status:ack, !negation",
            Action::CommandLine => "type a command (:ack 42, :note 42 text, :sort age, :q)",
            Action::Help => "this help",
            Action::Acknowledge => "acknowledge: you are on it",
            Action::Annotate => {
                "write in the incident's channel (enter sends, esc cancels; /help: bot commands)"
            }
            Action::Resolve => "resolve the incident",
            Action::Snooze => "snooze for a while (30m, 2h)",
            Action::Reassign => "assign to someone",
            Action::Escalate => "page the next level of the escalation policy now",
            Action::NewLine => "in a message: start a new line (enter sends)",
            Action::Postmortem => {
                "write a postmortem draft to incident-ID-postmortem.md (:postmortem FILE)"
            }
            Action::ShowOnCall => "who is on call now and next, per schedule",
            Action::ShowSilences => "silences: what is held from paging, and until when",
            Action::AddSilence => "add a silence: MATCHERS DURATION [COMMENT]",
            Action::ExpireSilence => "end the selected silence now",
            Action::Refresh => "fetch the on-call, silences or incident shown again",
            Action::Redraw => "redraw the whole screen",
            Action::Suspend => "suspend to the shell (fg resumes)",
            Action::Quit => "quit",
        }
    }

    /// A word or two for the hint line.
    pub fn hint(self) -> &'static str {
        match self {
            Action::SelectNext | Action::SelectPrevious => "move",
            Action::OpenDetail => "open",
            Action::Back => "back",
            Action::Acknowledge => "ack",
            Action::Annotate => "message",
            Action::Resolve => "resolve",
            Action::Snooze => "snooze",
            Action::Filter => "filter",
            Action::NextTab => "tabs",
            Action::CommandLine => "command",
            Action::Help => "help",
            Action::Quit => "quit",
            Action::ShowOnCall => "on-call",
            Action::AddSilence => "new silence",
            Action::ExpireSilence => "expire",
            other => other.name(),
        }
    }

    /// Whether it changes what the engine holds (incidents, silences): these are the
    /// dangerous ones, which `--read-only` removes whatever a keymap file says.
    pub fn is_dangerous(self) -> bool {
        matches!(
            self,
            Action::Acknowledge
                | Action::Annotate
                | Action::Resolve
                | Action::Snooze
                | Action::Reassign
                | Action::Escalate
                | Action::AddSilence
                | Action::ExpireSilence
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut names = std::collections::HashSet::new();
        for action in Action::ALL {
            assert_eq!(Action::from_name(action.name()), Some(action));
            assert!(names.insert(action.name()));
        }
        assert_eq!(Action::from_name("ack"), None);
    }
}
