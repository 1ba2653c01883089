//! The index's fields and its text analyzer. Changing either changes what is on disk: bump
//! [`SCHEMA_VERSION`] so that an index written by an older klaxon is rebuilt, not misread.

use tantivy::schema::{
    DateOptions, DateTimePrecision, Field, IndexRecordOption, NumericOptions, Schema,
    TextFieldIndexing, TextOptions, FAST, INDEXED, STORED, STRING,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer,
};

/// The index layout's version, kept in every commit's payload.
pub const SCHEMA_VERSION: u32 = 1;

/// The name the analyzer is registered under; the schema's text fields refer to it.
pub const ANALYZER: &str = "klaxon";

/// Words: split on anything but letters and digits (`db-1` is `db` `1`, which a query for
/// `db-1` finds as a phrase), lowercased, accents folded, English stems (`restarted` finds
/// `restart`). Tokens longer than 40 bytes are hashes and base64, not words.
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// The terms the analyzer makes of `text`, in order.
pub fn analyze(text: &str) -> Vec<String> {
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut terms = Vec::new();
    while stream.advance() {
        terms.push(stream.token().text.clone());
    }
    terms
}

/// Every field, by role. Incident and message documents share one index (one ranking, one
/// query); `kind` tells them apart.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// `i:<id>` or `m:<id>:<seq>`: what a replacement deletes.
    pub key: Field,
    /// `incident` or `message`.
    pub kind: Field,
    /// The incident's id, on both kinds: filters and the incident-level filter set use it.
    pub incident: Field,
    /// When: an incident's opening, a message's writing.
    pub at: Field,
    // Ranked text.
    pub title: Field,
    /// Service, integration, labels, alert titles and details.
    pub body: Field,
    /// The resolving notes of a resolved incident.
    pub resolution: Field,
    /// A message's text.
    pub text: Field,
    // Exact terms, lowercased.
    pub service: Field,
    pub severity: Field,
    pub status: Field,
    pub integration: Field,
    /// `name=value`, of the incident and of each of its alerts.
    pub label: Field,
    /// Lowercased, for the `author:` filter.
    pub author: Field,
    // Stored only.
    /// A message's author as written.
    pub author_name: Field,
    pub seq: Field,
    /// An incident document's JSON record: what hits show and what an update merges into.
    pub record: Field,
    // The watermark: what version of the incident this document reflects.
    pub timeline_len: Field,
    /// `updated_at` in microseconds since the epoch.
    pub updated: Field,
}

pub fn build() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let ranked = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let date = DateOptions::from(INDEXED)
        .set_fast()
        .set_stored()
        .set_precision(DateTimePrecision::Seconds);
    let fields = Fields {
        key: builder.add_text_field("key", STRING),
        kind: builder.add_text_field("kind", STRING | STORED),
        incident: builder.add_u64_field("incident", INDEXED | FAST | STORED),
        at: builder.add_date_field("at", date),
        title: builder.add_text_field("title", ranked.clone()),
        body: builder.add_text_field("body", ranked.clone()),
        resolution: builder.add_text_field("resolution", ranked.clone()),
        text: builder.add_text_field("text", ranked | STORED),
        service: builder.add_text_field("service", STRING),
        severity: builder.add_text_field("severity", STRING),
        status: builder.add_text_field("status", STRING),
        integration: builder.add_text_field("integration", STRING),
        label: builder.add_text_field("label", STRING),
        author: builder.add_text_field("author", STRING),
        author_name: builder.add_text_field("author_name", STORED),
        seq: builder.add_u64_field("seq", STORED),
        record: builder.add_text_field("record", STORED),
        timeline_len: builder.add_u64_field("timeline_len", NumericOptions::default().set_fast()),
        updated: builder.add_i64_field("updated", NumericOptions::default().set_fast()),
    };
    (builder.build(), fields)
}
