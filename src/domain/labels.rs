//! Labels as a compact sorted list. Incidents keep theirs in memory for their whole open
//! life, and a `BTreeMap` node costs about half a kilobyte even for three labels.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.position(name)
            .ok()
            .map(|index| self.0[index].1.as_str())
    }

    /// Adds a label unless one of that name exists: the first value seen stays.
    pub fn insert_if_absent(&mut self, name: &str, value: &str) {
        if let Err(index) = self.position(name) {
            self.0.insert(index, (name.to_string(), value.to_string()));
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.0.iter().cloned().collect()
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.0
            .binary_search_by(|(other, _)| other.as_str().cmp(name))
    }
}

impl From<&BTreeMap<String, String>> for Labels {
    fn from(map: &BTreeMap<String, String>) -> Self {
        let mut list: Vec<(String, String)> = map
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        list.shrink_to_fit();
        Labels(list)
    }
}

impl Serialize for Labels {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(name, value)| (name, value)))
    }
}

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, String>::deserialize(deserializer)?;
        Ok(Labels::from(&map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_sorted_keeps_first_values_and_reads_like_a_map() {
        let mut map = BTreeMap::new();
        map.insert("team".to_string(), "storage".to_string());
        map.insert("host".to_string(), "db-1".to_string());
        let mut labels = Labels::from(&map);
        labels.insert_if_absent("region", "eu");
        labels.insert_if_absent("host", "db-2");
        let names: Vec<_> = labels.iter().map(|(name, _)| name).collect();
        assert_eq!(names, vec!["host", "region", "team"]);
        assert_eq!(labels.get("host"), Some("db-1"));
        let json = serde_json::to_string(&labels).unwrap();
        assert_eq!(json, r#"{"host":"db-1","region":"eu","team":"storage"}"#);
        assert_eq!(serde_json::from_str::<Labels>(&json).unwrap(), labels);
    }
}
