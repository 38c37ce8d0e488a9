//! Identifier newtypes: plans, nodes, indicators, sequence numbers and event hashes.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest id accepted; ids appear in URLs and file names.
pub const MAX_ID_LEN: usize = 128;

/// Why a string is not a valid id (ASCII letters, digits, `.`, `_`, `-`; starting with a letter or digit).
pub fn id_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        return Some("must not be empty");
    }
    if s.len() > MAX_ID_LEN {
        return Some("must be at most 128 characters");
    }
    if !s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
        return Some("may contain only ASCII letters, digits, '.', '_' and '-'");
    }
    if !s.as_bytes()[0].is_ascii_alphanumeric() {
        return Some("must start with a letter or digit");
    }
    None
}

macro_rules! string_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Validates the id's form; existence is checked by `decide`.
            pub fn new(s: impl Into<String>) -> Result<Self, &'static str> {
                let s = s.into();
                match id_problem(&s) {
                    Some(p) => Err(p),
                    None => Ok(Self(s)),
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_id!(
    /// A plan's stable id (an ASCII slug such as `shinagawa-jisshi-4`).
    PlanId
);
string_id!(
    /// A node's stable id, unique in the whole ledger and never reused, even after the node is retired.
    NodeId
);
string_id!(
    /// An indicator's stable id, unique in the whole ledger and never reused.
    IndicatorId
);

/// The global position of an event in the log, contiguous from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Seq(pub u64);

impl Seq {
    pub fn next(self) -> Self {
        Self(self.0 + 1)
    }

    pub fn to_be_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A 32-byte blake3 hash of an event's stored bytes, shown as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventHash(pub [u8; 32]);

impl EventHash {
    /// The `prev` of event 0.
    pub const ZERO: Self = Self([0u8; 32]);

    pub fn of(bytes: &[u8]) -> Self {
        Self(*blake3::hash(bytes).as_bytes())
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 64 || s.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Self(out))
    }
}

impl fmt::Debug for EventHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventHash({})", self.to_hex())
    }
}

impl fmt::Display for EventHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for EventHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for EventHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::from_hex(&s).ok_or_else(|| serde::de::Error::custom("hash must be 64 lowercase hex digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        assert!(NodeId::new("shinagawa-jisshi-4.6-1-1").is_ok());
        assert!(NodeId::new("").is_err());
        assert!(NodeId::new("品川").is_err());
        assert!(NodeId::new("-x").is_err());
        assert!(NodeId::new("a b").is_err());
        assert!(NodeId::new("a".repeat(129)).is_err());
    }

    #[test]
    fn hashes_round_trip_hex() {
        let h = EventHash::of(b"abc");
        assert_eq!(h.to_hex(), "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85");
        assert_eq!(EventHash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(EventHash::from_hex(&h.to_hex().to_uppercase()), None);
        assert_eq!(EventHash::from_hex("00"), None);
    }
}
