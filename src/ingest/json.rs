//! Strict JSON reading for every ingest body: refuses what serde_json's own `Value` would let
//! through (duplicate keys, silently keeping the last) and bounds nesting depth, with errors that
//! give a line, a column and a path. Pure; depends on serde and serde_json only.

use super::fields::{describe, index, join, quote, refuse, BAD_REQUEST};
use super::IngestError;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// Deepest nesting of arrays and objects accepted (the root object is level 1). Real alert
/// payloads use under ten; the limit keeps hostile input from exhausting the stack.
pub const MAX_DEPTH: usize = 64;

/// Parses a whole body as exactly one JSON document.
pub fn parse_strict(body: &[u8]) -> Result<Value, IngestError> {
    // A UTF-8 byte order mark is allowed by RFC 8259 to be ignored, and some Windows tooling
    // sends one; accepting it costs nothing.
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(refuse(
            BAD_REQUEST,
            "empty_body",
            "",
            String::from("the body is empty: expected a JSON object"),
        ));
    }
    let text = std::str::from_utf8(body).map_err(|error| {
        let (line, column) = position(&body[..error.valid_up_to()]);
        refuse(
            BAD_REQUEST,
            "invalid_utf8",
            "",
            format!("the body is not valid UTF-8: invalid byte at line {line}, column {column}"),
        )
    })?;

    let mut context = Context::default();
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let result = ValueSeed {
        context: &mut context,
        depth: 0,
    }
    .deserialize(&mut deserializer)
    .and_then(|value| deserializer.end().map(|()| value));
    result.map_err(|error| translate(error, context))
}

/// Parses a body that must be a JSON object (every source format's root).
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, IngestError> {
    match parse_strict(body)? {
        Value::Object(object) => Ok(object),
        other => Err(refuse(
            BAD_REQUEST,
            "not_an_object",
            "",
            format!(
                "the body must be a JSON object {{…}}, got {}",
                describe(&other)
            ),
        )),
    }
}

/// Line and column (1-based, column in bytes like serde_json's) just after `prefix`.
fn position(prefix: &[u8]) -> (usize, usize) {
    let line = prefix.iter().filter(|byte| **byte == b'\n').count() + 1;
    let column = match prefix.iter().rposition(|byte| *byte == b'\n') {
        Some(newline) => prefix.len() - newline,
        None => prefix.len() + 1,
    };
    (line, column)
}

/// Why our own visitor stopped (serde's error type can only carry a string).
enum Failure {
    Duplicate {
        key: String,
    },
    TooDeep,
    /// A float serde_json would never produce (NaN, infinity); kept so nothing can panic.
    NotANumber,
}

#[derive(Default)]
struct Context {
    /// Where the reader is, for error paths: pushed on entering a key or element.
    path: Vec<Segment>,
    failure: Option<Failure>,
}

enum Segment {
    Key(String),
    Index(usize),
}

impl Context {
    fn path(&self) -> String {
        self.path
            .iter()
            .fold(String::new(), |path, segment| match segment {
                Segment::Key(key) => join(&path, key),
                Segment::Index(position) => index(&path, *position),
            })
    }

    fn fail<E: de::Error>(&mut self, failure: Failure) -> E {
        self.failure = Some(failure);
        E::custom("refused")
    }
}

fn translate(error: serde_json::Error, context: Context) -> IngestError {
    let (line, column) = (error.line(), error.column());
    let at = format!("line {line}, column {column}");
    let path = context.path();
    let field = path.as_str();
    match context.failure {
        Some(Failure::Duplicate { key }) => refuse(
            BAD_REQUEST,
            "duplicate_key",
            &join(field, &key),
            format!(
                "duplicate key {} at {at}: each key may appear once in an object",
                quote(&key)
            ),
        ),
        Some(Failure::TooDeep) => refuse(
            BAD_REQUEST,
            "too_deep",
            field,
            format!("nesting deeper than {MAX_DEPTH} levels at {at}"),
        ),
        Some(Failure::NotANumber) => refuse(
            BAD_REQUEST,
            "invalid_json",
            field,
            format!("number at {at} is not a finite JSON number"),
        ),
        None => {
            let explanation = explain(&error, line, column);
            let message = if field.is_empty() {
                format!("invalid JSON at {at}: {explanation}")
            } else {
                format!("invalid JSON at {at} (in {field}): {explanation}")
            };
            IngestError {
                status: BAD_REQUEST,
                code: "invalid_json",
                message,
                field: (!field.is_empty()).then(|| field.to_string()),
            }
        }
    }
}

/// serde_json's description without its position suffix, with a hint for the common mistakes.
fn explain(error: &serde_json::Error, line: usize, column: usize) -> String {
    let full = error.to_string();
    let suffix = format!(" at line {line} column {column}");
    let bare = full.strip_suffix(&suffix).unwrap_or(&full);
    if error.is_eof() {
        return format!("{bare} (the document ends early: truncated?)");
    }
    if bare.contains("trailing characters") {
        return String::from("unexpected data after the end of the JSON document");
    }
    if bare.contains("surrogate") || bare.contains("hex escape") {
        return format!(
            "{bare} (a \\u escape must encode a whole character; a lone UTF-16 surrogate is not one)"
        );
    }
    if bare.contains("expected value") || bare.contains("invalid number") {
        return format!(
            "{bare} (JSON has no NaN, Infinity, leading zeros, leading + or unquoted words)"
        );
    }
    bare.to_string()
}

/// Builds a `Value` while checking duplicate keys and depth.
struct ValueSeed<'a> {
    context: &'a mut Context,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Value, E> {
        match Number::from_f64(value) {
            Some(number) => Ok(Value::Number(number)),
            None => Err(self.context.fail(Failure::NotANumber)),
        }
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_string()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Value, A::Error> {
        let depth = self.depth + 1;
        if depth > MAX_DEPTH {
            return Err(self.context.fail(Failure::TooDeep));
        }
        let mut items = Vec::new();
        loop {
            self.context.path.push(Segment::Index(items.len()));
            let item = sequence.next_element_seed(ValueSeed {
                context: &mut *self.context,
                depth,
            })?;
            self.context.path.pop();
            match item {
                Some(item) => items.push(item),
                None => break,
            }
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let depth = self.depth + 1;
        if depth > MAX_DEPTH {
            return Err(self.context.fail(Failure::TooDeep));
        }
        let mut object = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(self.context.fail(Failure::Duplicate { key }));
            }
            self.context.path.push(Segment::Key(key.clone()));
            let value = access.next_value_seed(ValueSeed {
                context: &mut *self.context,
                depth,
            })?;
            self.context.path.pop();
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refusal(body: &[u8]) -> IngestError {
        let error = parse_strict(body).unwrap_err();
        assert_eq!(error.status, 400, "{error:?}");
        error
    }

    #[test]
    fn valid_documents_parse_to_the_same_value_as_serde_json() {
        let text = r#"{"a": [1, -2, 3.5, 1e3, true, false, null, "é\u00e9\ud83d\ude00"], "b": {"c": {}}, "d": []}"#;
        let expected: Value = serde_json::from_str(text).unwrap();
        assert_eq!(parse_strict(text.as_bytes()).unwrap(), expected);
        assert_eq!(parse_strict(b"  [1]  ").unwrap(), json!([1]));
        assert_eq!(parse_strict(b"\xEF\xBB\xBF{}").unwrap(), json!({}));
    }

    #[test]
    fn empty_bodies_are_refused() {
        for body in [&b""[..], b"   \n\t "] {
            let error = refusal(body);
            assert_eq!(error.code, "empty_body");
            assert_eq!(error.field, None);
        }
    }

    #[test]
    fn invalid_utf8_is_refused_with_its_position() {
        let error = refusal(b"{\"a\":\n \"x\xff\"}");
        assert_eq!(error.code, "invalid_utf8");
        assert!(
            error.message.contains("line 2, column 4"),
            "{}",
            error.message
        );
    }

    #[test]
    fn lone_surrogates_are_refused() {
        for body in [
            &br#""\ud800""#[..],
            br#"{"a":"\udc00x"}"#,
            br#"["\ud800\u0041"]"#,
        ] {
            let error = refusal(body);
            assert_eq!(error.code, "invalid_json");
            assert!(error.message.contains("surrogate"), "{}", error.message);
        }
    }

    #[test]
    fn truncated_documents_are_refused() {
        let error = refusal(br#"{"a": [1, 2"#);
        assert_eq!(error.code, "invalid_json");
        assert!(error.message.contains("truncated?"), "{}", error.message);
        assert!(
            error.message.contains("line 1, column 11"),
            "{}",
            error.message
        );
    }

    #[test]
    fn trailing_data_is_refused() {
        let error = refusal(br#"{"a":1}{"b":2}"#);
        assert_eq!(error.code, "invalid_json");
        assert_eq!(
            error.message,
            "invalid JSON at line 1, column 8: unexpected data after the end of the JSON document"
        );
    }

    #[test]
    fn duplicate_keys_are_refused_with_their_path() {
        let error = refusal(br#"{"a":1,"a":2}"#);
        assert_eq!(error.code, "duplicate_key");
        assert_eq!(error.field.as_deref(), Some("a"));
        assert!(
            error
                .message
                .starts_with("a: duplicate key \"a\" at line 1"),
            "{}",
            error.message
        );

        let body =
            br#"{"alerts": [{"labels": {"severity": "page", "team": "db", "severity": "info"}}]}"#;
        let error = refusal(body);
        assert_eq!(error.code, "duplicate_key");
        assert_eq!(error.field.as_deref(), Some("alerts[0].labels.severity"));
        assert!(
            error
                .message
                .starts_with("alerts[0].labels.severity: duplicate key \"severity\""),
            "{}",
            error.message
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(parse_strict(nested(MAX_DEPTH).as_bytes()).is_ok());
        let error = refusal(nested(MAX_DEPTH + 1).as_bytes());
        assert_eq!(error.code, "too_deep");
        let objects = format!(
            "{}{}",
            "{\"a\":".repeat(65),
            "1".to_string() + &"}".repeat(65)
        );
        assert_eq!(refusal(objects.as_bytes()).code, "too_deep");
        // Far beyond serde_json's own recursion limit: still our clean refusal, no overflow.
        assert_eq!(refusal(nested(100_000).as_bytes()).code, "too_deep");
    }

    #[test]
    fn non_json_numbers_are_refused() {
        for body in [
            "NaN",
            "Infinity",
            "-Infinity",
            "01",
            "+1",
            "1.",
            ".5",
            "1e400",
        ] {
            let error = refusal(format!("{{\"value\": {body}}}").as_bytes());
            assert_eq!(error.code, "invalid_json", "{body}");
            assert_eq!(error.field.as_deref(), Some("value"), "{body}");
        }
        // Read as 0 followed by garbage: refused after the value, at the object's level.
        assert_eq!(refusal(b"{\"value\": 0x10}").code, "invalid_json");
        let error = refusal(b"01");
        assert!(
            error.message.contains("invalid number"),
            "{}",
            error.message
        );
    }

    #[test]
    fn roots_other_than_objects_are_refused_when_an_object_is_required() {
        let error = parse_object(b"[1]").unwrap_err();
        assert_eq!(error.code, "not_an_object");
        assert_eq!(error.status, 400);
        assert_eq!(
            error.message,
            "the body must be a JSON object {…}, got an array"
        );
        assert_eq!(parse_object(b"\"x\"").unwrap_err().code, "not_an_object");
        assert_eq!(parse_object(b"{\"a\":1}").unwrap()["a"], json!(1));
    }

    #[test]
    fn other_syntax_errors_are_invalid_json() {
        for body in [
            "{a:1}",
            "{'a':1}",
            "[1,]",
            "{\"a\":1,}",
            "\"tab\there\"",
            "tru",
        ] {
            assert_eq!(refusal(body.as_bytes()).code, "invalid_json", "{body}");
        }
    }
}
