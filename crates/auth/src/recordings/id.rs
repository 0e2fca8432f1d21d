/// A recording's id: its session's, a UUID in its hyphenated lower-case
/// form. Anything else (a path, another spelling of the same UUID) is not
/// an id, so it can never name an object outside the recordings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordingId(String);

impl RecordingId {
    /// `text` as an id, if it is one.
    pub fn parse(text: &str) -> Option<RecordingId> {
        let uuid = uuid::Uuid::try_parse(text).ok()?;
        let canonical = uuid.hyphenated().to_string();
        (canonical == text).then_some(RecordingId(canonical))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RecordingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_canonical_uuid_is_an_id() {
        let id = "0190f0c4-7d2a-7000-8000-000000000001";
        assert_eq!(RecordingId::parse(id).unwrap().as_str(), id);
        for not in
            ["", "../etc/passwd", "0190F0C4-7D2A-7000-8000-000000000001", "0190f0c47d2a70008000000000000001", "{0190f0c4-7d2a-7000-8000-000000000001}", "a/b"]
        {
            assert_eq!(RecordingId::parse(not), None, "{not}");
        }
    }
}
