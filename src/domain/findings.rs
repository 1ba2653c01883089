//! Findings: timeline notes that responders mark with `#cause`, `#impact`, `#action` or
//! `#lesson` so that postmortems and analytics can gather them. Pure text rules over the
//! incident types; no I/O.

use super::incident::{Actor, TimelineEntry, TimelineKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::Range;
use std::str::FromStr;

/// What a finding is about. Ordered as a postmortem reads: why, what it did, what to do,
/// what we learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingTag {
    Cause,
    Impact,
    Action,
    Lesson,
}

impl FindingTag {
    pub const ALL: [FindingTag; 4] = [
        FindingTag::Cause,
        FindingTag::Impact,
        FindingTag::Action,
        FindingTag::Lesson,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FindingTag::Cause => "cause",
            FindingTag::Impact => "impact",
            FindingTag::Action => "action",
            FindingTag::Lesson => "lesson",
        }
    }

    /// The tag as people write it in a note: `#cause`.
    pub fn hashtag(self) -> &'static str {
        match self {
            FindingTag::Cause => "#cause",
            FindingTag::Impact => "#impact",
            FindingTag::Action => "#action",
            FindingTag::Lesson => "#lesson",
        }
    }
}

impl fmt::Display for FindingTag {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for FindingTag {
    type Err = String;

    /// Strict, like `Severity`: the four lowercase names, for API and CLI parameters.
    /// Notes are read leniently by [`finding_tags`] instead.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        FindingTag::ALL
            .into_iter()
            .find(|tag| tag.as_str() == value)
            .ok_or_else(|| {
                format!(
                    "unknown finding tag {value:?}: expected one of cause, impact, action, lesson"
                )
            })
    }
}

/// The finding tags in a note, each once, in [`FindingTag`] order. Case does not matter;
/// a tag is `#` and the whole word, so `#causes`, `#cause-ish` and `foo#cause` are not tags.
pub fn finding_tags(text: &str) -> Vec<FindingTag> {
    let mut tags: Vec<FindingTag> = tag_spans(text).into_iter().map(|(_, tag)| tag).collect();
    tags.sort();
    tags.dedup();
    tags
}

/// The note without its finding tags, for quoting: `#cause: the pool was too small` reads
/// `the pool was too small`. Other text, line breaks included, is kept as written.
pub fn without_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut cursor = 0;
    for (span, _) in tag_spans(text) {
        out.push_str(&text[cursor..span.start]);
        let mut end = span.end;
        // `#cause: …` is the common way to write a tag as a label; the colon goes with it.
        if text[end..].starts_with(':') {
            end += 1;
        }
        let after_blanks = end + blank_prefix_len(&text[end..]);
        let next = text[after_blanks..].chars().next();
        let at_line_start = out.trim_end_matches(is_blank).is_empty()
            || out.trim_end_matches(is_blank).ends_with('\n');
        cursor = match next {
            // At the end of a line or before punctuation the blanks before the tag go too,
            // so `pool #cause.` becomes `pool.` rather than `pool .`.
            None | Some('\n' | '\r') => {
                trim_blank_end(&mut out);
                after_blanks
            }
            Some(character) if is_closing_punctuation(character) => {
                trim_blank_end(&mut out);
                after_blanks
            }
            Some(_) if at_line_start => after_blanks,
            // Between two words: keep the one blank already written.
            Some(_) if out.ends_with(is_blank) => after_blanks,
            Some(_) => end,
        };
    }
    out.push_str(&text[cursor..]);
    out.trim().to_string()
}

/// One tagged note, as a postmortem quotes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The timeline entry's sequence number, to find the note again.
    pub seq: u32,
    pub at: DateTime<Utc>,
    pub author: Actor,
    pub tags: Vec<FindingTag>,
    /// The note without its tags, otherwise as written (not escaped for any format).
    pub text: String,
}

/// Tagged notes by tag; a note with several tags is under each of them. Each list is in
/// timeline order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Findings {
    pub cause: Vec<Finding>,
    pub impact: Vec<Finding>,
    pub action: Vec<Finding>,
    pub lesson: Vec<Finding>,
}

impl Findings {
    /// Gathers the tagged notes of a timeline, in sequence order whatever the slice's order.
    pub fn from_timeline(timeline: &[TimelineEntry]) -> Findings {
        let mut entries: Vec<&TimelineEntry> = timeline.iter().collect();
        entries.sort_by_key(|entry| entry.seq);
        let mut findings = Findings::default();
        for entry in entries {
            let TimelineKind::Note { text } = &entry.kind else {
                continue;
            };
            let tags = finding_tags(text);
            if tags.is_empty() {
                continue;
            }
            let finding = Finding {
                seq: entry.seq,
                at: entry.at,
                author: entry.actor.clone(),
                tags: tags.clone(),
                text: without_tags(text),
            };
            for tag in tags {
                findings.list_mut(tag).push(finding.clone());
            }
        }
        findings
    }

    pub fn tagged(&self, tag: FindingTag) -> &[Finding] {
        match tag {
            FindingTag::Cause => &self.cause,
            FindingTag::Impact => &self.impact,
            FindingTag::Action => &self.action,
            FindingTag::Lesson => &self.lesson,
        }
    }

    pub fn is_empty(&self) -> bool {
        FindingTag::ALL
            .into_iter()
            .all(|tag| self.tagged(tag).is_empty())
    }

    fn list_mut(&mut self, tag: FindingTag) -> &mut Vec<Finding> {
        match tag {
            FindingTag::Cause => &mut self.cause,
            FindingTag::Impact => &mut self.impact,
            FindingTag::Action => &mut self.action,
            FindingTag::Lesson => &mut self.lesson,
        }
    }
}

/// Where each tag stands in the text (the `#` and its word), in text order.
fn tag_spans(text: &str) -> Vec<(Range<usize>, FindingTag)> {
    let mut spans = Vec::new();
    let mut previous: Option<char> = None;
    for (index, character) in text.char_indices() {
        if character == '#' && previous.is_none_or(can_precede_tag) {
            let word_start = index + 1;
            let word_len = text[word_start..]
                .find(|c: char| !is_tag_word_char(c))
                .unwrap_or(text.len() - word_start);
            let word = &text[word_start..word_start + word_len];
            if let Some(tag) = FindingTag::ALL
                .into_iter()
                .find(|tag| word.eq_ignore_ascii_case(tag.as_str()))
            {
                spans.push((index..word_start + word_len, tag));
            }
        }
        previous = Some(character);
    }
    spans
}

/// A `#` right after a word is part of it (`issue#cause`), after `/` it is a URL fragment
/// (`https://wiki/#cause`) and after another `#` it is something else (`##cause`).
fn can_precede_tag(character: char) -> bool {
    !(is_word_char(character) || character == '/' || character == '#')
}

fn is_word_char(character: char) -> bool {
    character.is_alphanumeric() || character == '_'
}

/// A hyphen continues the word, so `#cause-ish` is one word and not the tag.
fn is_tag_word_char(character: char) -> bool {
    is_word_char(character) || character == '-'
}

fn is_blank(character: char) -> bool {
    character == ' ' || character == '\t'
}

fn blank_prefix_len(text: &str) -> usize {
    text.len() - text.trim_start_matches(is_blank).len()
}

fn trim_blank_end(text: &mut String) {
    let kept = text.trim_end_matches(is_blank).len();
    text.truncate(kept);
}

fn is_closing_punctuation(character: char) -> bool {
    matches!(
        character,
        '.' | ',' | ';' | ':' | '!' | '?' | ')' | ']' | '}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use FindingTag::{Action, Cause, Impact, Lesson};

    #[test]
    fn tags_are_whole_words_after_a_hash_in_any_case() {
        let cases: &[(&str, &[FindingTag])] = &[
            ("#cause the pool was too small", &[Cause]),
            ("the pool was too small #cause", &[Cause]),
            ("#CAUSE shouting", &[Cause]),
            ("#Impact: checkout failed", &[Impact]),
            ("(#action) add an alert", &[Action]),
            ("#lesson.", &[Lesson]),
            ("#action #cause both, in any order", &[Cause, Action]),
            ("#cause twice #Cause", &[Cause]),
            (
                "all four #lesson #action #impact #cause",
                &[Cause, Impact, Action, Lesson],
            ),
            ("line one\n#impact on line two", &[Impact]),
            ("tab\t#action", &[Action]),
            ("#causes is another word", &[]),
            ("#cause-ish is another word", &[]),
            ("#cause_ish is another word", &[]),
            ("#causé is another word", &[]),
            ("issue#cause is inside a word", &[]),
            ("https://wiki.example/#cause is a link", &[]),
            ("https://wiki.example/page#cause is a link", &[]),
            ("##cause is not a tag", &[]),
            ("# cause with a space", &[]),
            ("cause without a hash", &[]),
            ("#", &[]),
            ("", &[]),
            ("#root-cause is another word", &[]),
        ];
        for (text, expected) in cases {
            assert_eq!(&finding_tags(text), expected, "{text:?}");
        }
    }

    #[test]
    fn text_without_tags_reads_as_a_sentence() {
        let cases = [
            ("#cause the pool was too small", "the pool was too small"),
            ("#cause: the pool was too small", "the pool was too small"),
            ("the pool was too small #cause", "the pool was too small"),
            ("the pool was too small #cause.", "the pool was too small."),
            ("the #cause pool was too small", "the pool was too small"),
            ("#action #lesson add an alert", "add an alert"),
            ("add an alert #action #lesson", "add an alert"),
            ("#CAUSE shouting", "shouting"),
            ("#causes stay", "#causes stay"),
            (
                "keep the url https://wiki/#cause",
                "keep the url https://wiki/#cause",
            ),
            (
                "#cause\nfirst line\n  indented second",
                "first line\n  indented second",
            ),
            (
                "first #impact line\nsecond line #impact",
                "first line\nsecond line",
            ),
            ("#lesson", ""),
            (
                "no tags  at all, spacing  kept",
                "no tags  at all, spacing  kept",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(without_tags(text), expected, "{text:?}");
        }
    }

    #[test]
    fn tag_names_round_trip_strictly() {
        for tag in FindingTag::ALL {
            assert_eq!(tag.as_str().parse::<FindingTag>(), Ok(tag));
            assert_eq!(tag.hashtag(), format!("#{tag}"));
            assert_eq!(
                serde_json::to_string(&tag).unwrap(),
                format!("\"{}\"", tag.as_str())
            );
        }
        assert!("Cause".parse::<FindingTag>().is_err());
        assert!("#cause".parse::<FindingTag>().is_err());
        assert!("root".parse::<FindingTag>().unwrap_err().contains("root"));
    }

    #[test]
    fn findings_gather_tagged_notes_under_each_tag_in_timeline_order() {
        let at = |minute| Utc.with_ymd_and_hms(2026, 3, 1, 9, minute, 0).unwrap();
        let entry = |seq, minute, who: &str, kind| TimelineEntry {
            incident: 7,
            seq,
            at: at(minute),
            actor: Actor::User(who.to_string()),
            kind,
        };
        let note = |text: &str| TimelineKind::Note {
            text: text.to_string(),
        };
        // Given out of order on purpose: findings follow the timeline's sequence.
        let timeline = vec![
            entry(
                3,
                30,
                "bob",
                note("#action #cause: pool of 20 is too small"),
            ),
            entry(1, 10, "alice", note("looking at the database")),
            entry(2, 20, "alice", note("#impact checkout failed for 1 in 5")),
            entry(4, 40, "bob", TimelineKind::Acknowledged),
            entry(
                5,
                50,
                "carol",
                note("#cause deploy 1.4.2 doubled the queries"),
            ),
        ];
        let findings = Findings::from_timeline(&timeline);
        let texts = |tag| -> Vec<&str> {
            findings
                .tagged(tag)
                .iter()
                .map(|finding| finding.text.as_str())
                .collect()
        };
        assert_eq!(
            texts(Cause),
            vec![
                "pool of 20 is too small",
                "deploy 1.4.2 doubled the queries"
            ]
        );
        assert_eq!(texts(Impact), vec!["checkout failed for 1 in 5"]);
        assert_eq!(texts(Action), vec!["pool of 20 is too small"]);
        assert!(texts(Lesson).is_empty());
        let first = &findings.cause[0];
        assert_eq!(
            (first.seq, first.at, &first.author, &first.tags),
            (3, at(30), &Actor::User("bob".into()), &vec![Cause, Action])
        );
        assert!(!findings.is_empty());
        assert!(Findings::from_timeline(&timeline[1..2]).is_empty());
    }
}
