//! `Table`: the state's maps of plans, nodes and indicators, shared between copies of the state.
//!
//! The writer decides against its own state while readers read the durable one, so the ledger holds two states.
//! Backed by a persistent B-tree of shared entries, a copy costs nothing and the two copies share every entry
//! either has not changed since: after each commit the readers' state becomes a copy of the writer's, and only
//! the entries a later event changes are copied again (`get_mut` copies an entry on its first change). The
//! ledger's memory is then one state, not two, and a scratch copy for a multi-command request is free.

use std::borrow::Borrow;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An ordered map whose copies share their entries (see the module's doc). It iterates in key order, as
/// `BTreeMap` does, and serializes as the same map.
pub struct Table<K, V>(imbl::OrdMap<K, Arc<V>>);

impl<K: Ord + Clone, V: Clone> Table<K, V> {
    pub fn new() -> Self {
        Self(imbl::OrdMap::new())
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0.get(key).map(Arc::as_ref)
    }

    /// The entry to change, copied first if another copy of the table shares it.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0.get_mut(key).map(Arc::make_mut)
    }

    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.0.insert(key, Arc::new(value)).map(Arc::unwrap_or_clone)
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0.contains_key(key)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> + '_ {
        self.0.iter().map(|(k, v)| (k, v.as_ref()))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + '_ {
        self.0.keys()
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + '_ {
        self.0.values().map(Arc::as_ref)
    }
}

impl<K: Ord + Clone, V: Clone> Table<K, V> {
    /// The entries `keep` takes, shared with this table (no entry is copied).
    pub fn filtered(&self, keep: impl Fn(&V) -> bool) -> Self {
        Self(self.0.iter().filter(|(_, v)| keep(v)).map(|(k, v)| (k.clone(), Arc::clone(v))).collect())
    }
}

impl<K: Ord + Clone, Q: Ord + ?Sized, V: Clone> std::ops::Index<&Q> for Table<K, V>
where
    K: Borrow<Q>,
{
    type Output = V;

    /// The entry at `key`; panics when there is none, as `BTreeMap`'s index does.
    fn index(&self, key: &Q) -> &V {
        &self.0[key]
    }
}

impl<K: Ord + Clone, V: Clone> Default for Table<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Clone, V> Clone for Table<K, V> {
    /// Constant time: the copy shares the tree and every entry.
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<K: Ord + Clone, V: Clone + PartialEq> PartialEq for Table<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

impl<K: Ord + Clone, V: Clone + Eq> Eq for Table<K, V> {}

impl<K: Ord + Clone + fmt::Debug, V: Clone + fmt::Debug> fmt::Debug for Table<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Ord + Clone, V: Clone> FromIterator<(K, V)> for Table<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self(iter.into_iter().map(|(k, v)| (k, Arc::new(v))).collect())
    }
}

impl<K: Ord + Clone + Serialize, V: Clone + Serialize> Serialize for Table<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de, K: Ord + Clone + Deserialize<'de>, V: Clone + Deserialize<'de>> Deserialize<'de> for Table<K, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<K, V>(PhantomData<(K, V)>);
        impl<'de, K: Ord + Clone + Deserialize<'de>, V: Clone + Deserialize<'de>> Visitor<'de> for Entries<K, V> {
            type Value = Table<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut t = Table::new();
                while let Some((k, v)) = map.next_entry()? {
                    t.insert(k, v);
                }
                Ok(t)
            }
        }
        deserializer.deserialize_map(Entries(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_shares_entries_until_one_side_changes_them() {
        let mut a: Table<String, Vec<u8>> =
            [("x".to_string(), vec![1]), ("y".to_string(), vec![2])].into_iter().collect();
        let b = a.clone();
        if let Some(v) = a.get_mut("x") {
            v.push(9);
        }
        assert_eq!(a.get("x"), Some(&vec![1, 9]));
        assert_eq!(b.get("x"), Some(&vec![1]), "the other copy keeps its entry");
        assert!(std::ptr::eq(a.get("y").unwrap(), b.get("y").unwrap()), "an unchanged entry is shared");
        assert_ne!(a, b);
    }

    #[test]
    fn it_serializes_as_the_btreemap_it_replaces() {
        let pairs = [("b".to_string(), 2u64), ("a".to_string(), 1), ("c".to_string(), 3)];
        let t: Table<String, u64> = pairs.iter().cloned().collect();
        let m: std::collections::BTreeMap<String, u64> = pairs.iter().cloned().collect();
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, serde_json::to_string(&m).unwrap());
        let back: Table<String, u64> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
    }
}
