//! The channel's bot inside the engine: a message starting with `/` is stored as the person
//! wrote it, then carried out and answered in the channel as klaxon.

use super::{Engine, EngineError, Round};
use crate::domain::bot::{BotCommand, HELP};
use crate::domain::{Action, Actor, IncidentId, IncidentStatus, TimelineKind};
use crate::protocol::IncidentView;
use chrono::{DateTime, Utc};

impl Engine {
    /// Stores the command as a message, then answers it; `Ok` with the incident as it is
    /// after both.
    pub(super) fn bot(
        &mut self,
        round: &mut Round,
        id: IncidentId,
        message: &Action,
        parsed: Result<BotCommand, crate::domain::bot::BotError>,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<IncidentView, EngineError> {
        let asked = self
            .book
            .act(id, message, user, now)
            .map_err(|error| match error {
                crate::domain::BookError::NotFound(id) => EngineError::NotFound(id),
                crate::domain::BookError::Action(error) => error.into(),
            })?;
        if let Some(change) = asked {
            round.changes.push(change);
        }
        let (command, reply) = match parsed {
            Err(error) => ("help".to_string(), Some(error.message)),
            Ok(command) => {
                let name = command.name().to_string();
                (name, self.carry_out(round, id, command, user, now))
            }
        };
        if let Some(text) = reply {
            let entry = self.book.modify(id, |incident| {
                incident.record_entry(now, Actor::System, TimelineKind::BotReply { command, text })
            });
            if let Some(entry) = entry {
                self.push_change(round, id, vec![entry]);
            }
        }
        let incident = self.book.get(id).expect("the incident was just loaded");
        if !incident.status.is_open() {
            round.moved_on.insert(id);
        }
        Ok(IncidentView::from(incident))
    }

    /// Does what the command asks; the answer to post, if the command's own timeline entry
    /// does not already say it.
    fn carry_out(
        &mut self,
        round: &mut Round,
        id: IncidentId,
        command: BotCommand,
        user: &str,
        now: DateTime<Utc>,
    ) -> Option<String> {
        let act = |engine: &mut Engine, round: &mut Round, action: Action, done: &str| match engine
            .book
            .act(id, &action, user, now)
        {
            Ok(Some(change)) => {
                round.changes.push(change);
                None
            }
            Ok(None) => Some(format!("already {done}")),
            Err(error) => Some(error.to_string()),
        };
        match command {
            BotCommand::Help => Some(HELP.to_string()),
            BotCommand::Status => Some(self.status_text(id, now)),
            BotCommand::Acknowledge => act(self, round, Action::Acknowledge, "acknowledged"),
            BotCommand::Resolve => act(self, round, Action::Resolve, "resolved"),
            BotCommand::Assign(to) => {
                if self.paging.knows(&to) {
                    act(
                        self,
                        round,
                        Action::Reassign { to: to.clone() },
                        &format!("assigned to {to}"),
                    )
                } else {
                    Some(format!("there is no user {to:?} to assign"))
                }
            }
            BotCommand::Page(person) => {
                let incident = self.book.get(id)?.clone();
                if !incident.status.is_open() {
                    return Some(format!("incident {id} is resolved; nobody is paged for it"));
                }
                Some(
                    self.paging
                        .page_person(&incident, &person, now, &mut round.staged)
                        .unwrap_or_else(|refusal| refusal),
                )
            }
            BotCommand::Search(text) => self.ask(id, super::search::Question::Search(text)),
            BotCommand::Similar => self.ask(id, super::search::Question::Similar),
        }
    }

    /// Hands a question to search, off the engine task; the answer is posted when it comes.
    fn ask(&self, id: IncidentId, question: super::search::Question) -> Option<String> {
        let Some(search) = &self.search else {
            return Some("search is not enabled on this engine".to_string());
        };
        let incident = self.book.get(id)?;
        super::search::answer(search, incident, question, self.outcomes.clone());
        None
    }

    /// Posts an answer that was computed elsewhere (search) into the incident's channel.
    pub(super) fn post_answer(
        &mut self,
        round: &mut Round,
        id: IncidentId,
        command: String,
        text: String,
        now: DateTime<Utc>,
    ) {
        if !self.book.contains(id) {
            match self.store.incident(id) {
                Ok(Some(stored)) => self.book.insert(stored),
                _ => return,
            }
        }
        let before = self.book.get(id).cloned();
        round.remember(id, before.as_ref());
        let entry = self.book.modify(id, |incident| {
            incident.record_entry(now, Actor::System, TimelineKind::BotReply { command, text })
        });
        if let Some(entry) = entry {
            self.push_change(round, id, vec![entry]);
        }
    }

    /// `/status`: age, state, who is on it, escalation, and what has been tried.
    fn status_text(&self, id: IncidentId, now: DateTime<Utc>) -> String {
        let Some(incident) = self.book.get(id) else {
            return format!("no incident {id}");
        };
        let age = crate::domain::escalation::short_span(now - incident.created_at);
        let mut parts = vec![format!(
            "#{id} {} for {age}, {} {}",
            incident.status.as_str(),
            incident.severity.label(),
            incident.service.as_deref().unwrap_or("(no service)")
        )];
        match (&incident.acknowledged_by, incident.status) {
            (Some(by), IncidentStatus::Acknowledged | IncidentStatus::Resolved) => {
                parts.push(format!("acknowledged by {by}"))
            }
            _ => parts.push("not acknowledged".to_string()),
        }
        if let Some(assignee) = &incident.assignee {
            parts.push(format!("assigned to {assignee}"));
        }
        let escalation = &incident.escalation;
        if let Some(silence) = &escalation.silenced_by {
            parts.push(format!("silenced by silence {silence}"));
        } else if let Some(policy) = &escalation.policy {
            let next = match escalation.next_at {
                Some(at) if at > now => format!(
                    ", next level in {}",
                    crate::domain::escalation::short_span(at - now)
                ),
                _ => String::new(),
            };
            parts.push(format!("{policy} level {}{next}", escalation.level));
        }
        // What was tried: the people's own notes, newest last (the store has them all).
        let timeline = self.store.timeline(id).unwrap_or_default();
        let mut paged: Vec<String> = Vec::new();
        let mut notes: Vec<(String, String)> = Vec::new();
        for entry in &timeline {
            match &entry.kind {
                TimelineKind::Escalated { users, .. } => {
                    for user in users {
                        if !paged.contains(user) {
                            paged.push(user.clone());
                        }
                    }
                }
                TimelineKind::Note { text } if BotCommand::parse(text).is_none() => {
                    notes.push((entry.actor.to_string(), text.clone()));
                }
                _ => {}
            }
        }
        if !paged.is_empty() {
            parts.push(format!("paged {}", paged.join(", ")));
        }
        match notes.len() {
            0 => parts.push("nothing written yet".to_string()),
            count => {
                let recent: Vec<String> = notes
                    .iter()
                    .rev()
                    .take(3)
                    .rev()
                    .map(|(who, text)| format!("{who}: {}", first_line(text)))
                    .collect();
                parts.push(format!("{count} notes; latest: {}", recent.join(" · ")));
            }
        }
        parts.join("; ")
    }
}

/// A note's first line, cut to a readable length.
fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    if line.chars().count() > 80 {
        let cut: String = line.chars().take(79).collect();
        format!("{cut}…")
    } else {
        line.to_string()
    }
}
