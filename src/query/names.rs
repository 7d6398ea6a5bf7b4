//! Names to ids for the query index, with short names held in the table itself: a lookup
//! compares bytes in the bucket it lands on instead of following a pointer to a heap string,
//! one cache miss fewer on every `can` line (a member and a location looked up among
//! hundreds of thousands). The names come from an untrusted snapshot, so the hasher is seeded
//! at random per process: names crafted to collide cannot make building the table quadratic.
//! Nothing iterates the table, so the seed changes no output.

use std::hash::{Hash, Hasher};

use foldhash::fast::RandomState;
use hashbrown::{Equivalent, HashMap};

/// The longest name kept in the table; longer ones go to a map of strings.
const INLINE: usize = 31;

/// A name of at most [`INLINE`] bytes, in place.
#[derive(Clone, PartialEq, Eq)]
struct Short {
    len: u8,
    bytes: [u8; INLINE],
}

impl Short {
    fn new(name: &str) -> Option<Short> {
        let len = name.len();
        if len > INLINE {
            return None;
        }
        let mut bytes = [0; INLINE];
        bytes[..len].copy_from_slice(name.as_bytes());
        Some(Short {
            len: len as u8,
            bytes,
        })
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

// Hashed as its bytes, like the [`Probe`] it is looked up with.
impl Hash for Short {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.as_bytes());
    }
}

/// A name being looked up.
struct Probe<'a>(&'a [u8]);

impl Hash for Probe<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.0);
    }
}

impl Equivalent<Short> for Probe<'_> {
    fn equivalent(&self, key: &Short) -> bool {
        key.as_bytes() == self.0
    }
}

/// Names to ids (exact bytes; callers fold case where names compare ignoring it).
#[derive(Clone, Default)]
pub struct NameMap {
    short: HashMap<Short, u32, RandomState>,
    long: HashMap<String, u32, RandomState>,
}

impl NameMap {
    /// The id of `name`.
    pub fn get(&self, name: &str) -> Option<&u32> {
        if name.len() <= INLINE {
            self.short.get(&Probe(name.as_bytes()))
        } else {
            self.long.get(name)
        }
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Adds `name`; a name added again keeps its last id, as in a `HashMap`.
    pub fn insert(&mut self, name: String, id: u32) {
        match Short::new(&name) {
            Some(short) => {
                self.short.insert(short, id);
            }
            None => {
                self.long.insert(name, id);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.short.len() + self.long.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl FromIterator<(String, u32)> for NameMap {
    fn from_iter<I: IntoIterator<Item = (String, u32)>>(iter: I) -> NameMap {
        let mut map = NameMap::default();
        for (name, id) in iter {
            map.insert(name, id);
        }
        map
    }
}

impl std::fmt::Debug for NameMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NameMap({} names)", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A name map finds exactly the names put in it, short or long, as a `HashMap` does.
        #[test]
        fn a_name_map_is_a_map(names in proptest::collection::vec("[a-zé@.-]{0,40}", 0..40), probes in proptest::collection::vec("[a-zé@.-]{0,40}", 0..20)) {
            let mut reference = std::collections::HashMap::new();
            let mut map = NameMap::default();
            for (i, n) in names.iter().enumerate() {
                reference.insert(n.clone(), i as u32);
                map.insert(n.clone(), i as u32);
            }
            prop_assert_eq!(map.len(), reference.len());
            for n in names.iter().chain(&probes) {
                prop_assert_eq!(map.get(n), reference.get(n));
            }
        }
    }
}
