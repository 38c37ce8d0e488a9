//! Structure-aware mutation: a JSON input is read into a tree that keeps its key order (records are canonical only
//! in their field order, so serde_json's sorted `Value` would spoil every one), one node is changed, and the tree is
//! written back compact or pretty as the input was; a TOML input is changed the same way through `toml::Value`.
//! Strings that hold JSON themselves (a bundle's event line) are mutated as JSON in turn.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use crate::engine::{Engine, INTERESTING};

/// A JSON value whose objects keep their members in order, duplicate keys included.
#[derive(Debug, Clone)]
pub enum Node {
    Null,
    Bool(bool),
    Num(serde_json::Number),
    /// A number written as text: out of every native range, so it is emitted verbatim.
    Raw(String),
    Str(String),
    Arr(Vec<Node>),
    Obj(Vec<(String, Node)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Bool(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
                Ok(Node::Num(v.into()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Num(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
                Ok(serde_json::Number::from_f64(v).map_or(Node::Null, Node::Num))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Str(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
                let mut v = Vec::new();
                while let Some(n) = a.next_element()? {
                    v.push(n);
                }
                Ok(Node::Arr(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
                let mut v = Vec::new();
                while let Some((k, n)) = a.next_entry()? {
                    v.push((k, n));
                }
                Ok(Node::Obj(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Null => s.serialize_unit(),
            Node::Bool(b) => s.serialize_bool(*b),
            Node::Num(n) => n.serialize(s),
            // Only ever written to the JSON text by `emit`, which splices raw numbers in after serializing.
            Node::Raw(r) => s.serialize_str(&format!("\u{1}RAW{r}\u{1}")),
            Node::Str(t) => s.serialize_str(t),
            Node::Arr(v) => {
                let mut q = s.serialize_seq(Some(v.len()))?;
                v.iter().try_for_each(|n| q.serialize_element(n))?;
                q.end()
            }
            Node::Obj(v) => {
                let mut m = s.serialize_map(Some(v.len()))?;
                v.iter().try_for_each(|(k, n)| m.serialize_entry(k, n))?;
                m.end()
            }
        }
    }
}

fn emit(n: &Node, pretty: bool) -> Option<Vec<u8>> {
    let text = if pretty { serde_json::to_string_pretty(n) } else { serde_json::to_string(n) }.ok()?;
    // Raw numbers were written as marked strings: take the quotes and marks away.
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find("\"\\u0001RAW") {
        out.push_str(&rest[..i]);
        let after = &rest[i + "\"\\u0001RAW".len()..];
        let end = after.find("\\u0001\"")?;
        out.push_str(&after[..end]);
        rest = &after[end + "\\u0001\"".len()..];
    }
    out.push_str(rest);
    Some(out.into_bytes())
}

fn count(n: &Node) -> usize {
    1 + match n {
        Node::Arr(v) => v.iter().map(count).sum(),
        Node::Obj(v) => v.iter().map(|(_, n)| count(n)).sum(),
        _ => 0,
    }
}

fn nth(n: &mut Node, mut i: usize) -> Result<&mut Node, usize> {
    if i == 0 {
        return Ok(n);
    }
    i -= 1;
    let children: Vec<&mut Node> = match n {
        Node::Arr(v) => v.iter_mut().collect(),
        Node::Obj(v) => v.iter_mut().map(|(_, n)| n).collect(),
        _ => return Err(i),
    };
    for c in children {
        match nth(c, i) {
            Ok(found) => return Ok(found),
            Err(left) => i = left,
        }
    }
    Err(i)
}

fn scalar(e: &mut Engine, dict: &[&str]) -> Node {
    match e.below(8) {
        0 => Node::Null,
        1 => Node::Bool(e.chance(0.5)),
        2 | 3 => Node::Raw(INTERESTING[e.below(INTERESTING.len())].to_string()),
        4 => Node::Str(String::new()),
        5 => Node::Str("あ".repeat(1 + e.below(300))),
        _ => Node::Str(String::from_utf8_lossy(&e.token(dict)).into_owned()),
    }
}

/// One change to one node of the JSON in `input`; `None` when the input is not JSON.
pub fn mutate_json(e: &mut Engine, input: &[u8], dict: &[&str]) -> Option<Vec<u8>> {
    let mut root: Node = serde_json::from_slice(input).ok()?;
    let pretty = input.windows(3).any(|w| w == b"\n  ");
    let at = e.below(count(&root));
    let node = nth(&mut root, at).ok()?;
    change(e, node, dict);
    let mut out = emit(&root, pretty)?;
    if input.ends_with(b"\n") && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    Some(out)
}

fn change(e: &mut Engine, node: &mut Node, dict: &[&str]) {
    match node {
        Node::Obj(members) if !members.is_empty() && e.chance(0.7) => {
            let i = e.below(members.len());
            match e.below(5) {
                0 => {
                    members.remove(i);
                }
                1 => {
                    let m = members[i].clone();
                    members.insert(e.below(members.len() + 1), m);
                }
                2 => members[i].0 = String::from_utf8_lossy(&e.token(dict)).into_owned(),
                3 => {
                    let j = e.below(members.len());
                    members.swap(i, j);
                }
                _ => {
                    let key = String::from_utf8_lossy(&e.token(dict)).into_owned();
                    members.insert(i, (key, scalar(e, dict)));
                }
            }
        }
        Node::Arr(items) if !items.is_empty() && e.chance(0.7) => {
            let i = e.below(items.len());
            match e.below(4) {
                0 => {
                    items.remove(i);
                }
                1 => {
                    let it = items[i].clone();
                    items.insert(e.below(items.len() + 1), it);
                }
                2 => {
                    let j = e.below(items.len());
                    items.swap(i, j);
                }
                _ => items.push(scalar(e, dict)),
            }
        }
        Node::Str(s) if e.chance(0.6) => {
            if let Some(inner) = mutate_json(e, s.as_bytes(), dict) {
                *s = String::from_utf8_lossy(&inner).into_owned();
                return;
            }
            let t = String::from_utf8_lossy(&e.token(dict)).into_owned();
            let cut = (0..=s.len()).filter(|i| s.is_char_boundary(*i)).nth(e.below(s.chars().count() + 1));
            match (cut, e.below(3)) {
                (Some(c), 0) => s.insert_str(c, &t),
                (Some(c), 1) => s.truncate(c),
                _ => *s = t,
            }
        }
        Node::Num(_) | Node::Raw(_) if e.chance(0.7) => {
            *node = Node::Raw(INTERESTING[e.below(INTERESTING.len())].to_string());
        }
        _ => {
            *node = match e.below(4) {
                0 => Node::Arr(vec![node.clone()]),
                1 => Node::Obj(vec![]),
                _ => scalar(e, dict),
            };
        }
    }
}

fn toml_scalar(e: &mut Engine, dict: &[&str]) -> toml::Value {
    match e.below(6) {
        0 => toml::Value::Boolean(e.chance(0.5)),
        1 => toml::Value::Integer([0, -1, 1, i64::MAX, i64::MIN, 10_000][e.below(6)]),
        2 => toml::Value::Float([0.5, f64::NAN, f64::INFINITY, -0.0][e.below(4)]),
        3 => toml::Value::Array(vec![]),
        _ => toml::Value::String(String::from_utf8_lossy(&e.token(dict)).into_owned()),
    }
}

fn toml_count(v: &toml::Value) -> usize {
    1 + match v {
        toml::Value::Array(a) => a.iter().map(toml_count).sum(),
        toml::Value::Table(t) => t.values().map(toml_count).sum(),
        _ => 0,
    }
}

fn toml_nth(v: &mut toml::Value, mut i: usize) -> Result<&mut toml::Value, usize> {
    if i == 0 {
        return Ok(v);
    }
    i -= 1;
    let children: Vec<&mut toml::Value> = match v {
        toml::Value::Array(a) => a.iter_mut().collect(),
        toml::Value::Table(t) => t.iter_mut().map(|(_, v)| v).collect(),
        _ => return Err(i),
    };
    for c in children {
        match toml_nth(c, i) {
            Ok(found) => return Ok(found),
            Err(left) => i = left,
        }
    }
    Err(i)
}

/// One change to one value of the TOML in `input`; `None` when it is not TOML or cannot be written back.
pub fn mutate_toml(e: &mut Engine, input: &[u8], dict: &[&str]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(input).ok()?;
    let mut root = toml::Value::Table(toml::from_str::<toml::Table>(text).ok()?);
    let at = e.below(toml_count(&root));
    let v = toml_nth(&mut root, at).ok()?;
    match v {
        toml::Value::Table(t) if !t.is_empty() && e.chance(0.7) => {
            let key = t.keys().nth(e.below(t.len()))?.clone();
            match e.below(3) {
                0 => {
                    t.remove(&key);
                }
                1 => {
                    let val = t.remove(&key)?;
                    t.insert(String::from_utf8_lossy(&e.token(dict)).into_owned(), val);
                }
                _ => {
                    t.insert(String::from_utf8_lossy(&e.token(dict)).into_owned(), toml_scalar(e, dict));
                }
            }
        }
        toml::Value::Array(a) if !a.is_empty() && e.chance(0.7) => {
            let i = e.below(a.len());
            match e.below(3) {
                0 => {
                    a.remove(i);
                }
                1 => {
                    let it = a[i].clone();
                    a.insert(e.below(a.len() + 1), it);
                }
                _ => {
                    let j = e.below(a.len());
                    a.swap(i, j);
                }
            }
        }
        toml::Value::String(s) if e.chance(0.5) => {
            let t = String::from_utf8_lossy(&e.token(dict)).into_owned();
            if e.chance(0.5) { s.push_str(&t) } else { *s = t }
        }
        _ => *v = toml_scalar(e, dict),
    }
    toml::to_string(&root).ok().map(String::into_bytes)
}
