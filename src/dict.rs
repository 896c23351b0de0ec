//! TEMPORARY stand-in; replaced by the dict chapter.
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
pub struct Dict<K, V> {
    map: HashMap<K, V>,
}
impl<K: Borrow<[u8]> + Hash + Eq, V> Default for Dict<K, V> {
    fn default() -> Self {
        Self::new()
    }
}
impl<K: Borrow<[u8]> + Hash + Eq, V> Dict<K, V> {
    pub fn new() -> Self {
        Dict {
            map: HashMap::new(),
        }
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    pub fn is_rehashing(&self) -> bool {
        false
    }
    pub fn rehash_index(&self) -> Option<usize> {
        None
    }
    pub fn table_size(&self, t: usize) -> usize {
        if t == 0 {
            self.map.capacity()
        } else {
            0
        }
    }
    pub fn table_used(&self, t: usize) -> usize {
        if t == 0 {
            self.map.len()
        } else {
            0
        }
    }
    pub fn get(&self, k: &[u8]) -> Option<&V> {
        self.map.get(k)
    }
    pub fn get_mut(&mut self, k: &[u8]) -> Option<&mut V> {
        self.map.get_mut(k)
    }
    pub fn contains_key(&mut self, k: &[u8]) -> bool {
        self.map.contains_key(k)
    }
    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        self.map.insert(k, v)
    }
    pub fn remove(&mut self, k: &[u8]) -> Option<(K, V)> {
        self.map.remove_entry(k)
    }
    pub fn clear(&mut self) {
        self.map.clear()
    }
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.map.iter()
    }
    pub fn random_entry(&mut self) -> Option<(&K, &V)> {
        self.map.iter().next()
    }
    pub fn sample_entries(&mut self, count: usize) -> Vec<(&K, &V)> {
        self.map.iter().take(count).collect()
    }
    pub fn scan<F: FnMut(&K, &V)>(&self, _cursor: u64, mut f: F) -> u64 {
        for (k, v) in &self.map {
            f(k, v)
        }
        0
    }
    pub fn rehash(&mut self, _n: usize) -> bool {
        false
    }
    pub fn rehash_for(&mut self, _d: std::time::Duration) -> usize {
        0
    }
    pub fn needs_shrink(&self) -> bool {
        false
    }
    pub fn shrink_to_fit(&mut self) {}
    pub fn stats(&self, _full: bool) -> String {
        String::new()
    }
    pub fn mem_usage_estimate(&self) -> usize {
        0
    }
    pub fn pause_rehashing(&mut self) {}
    pub fn resume_rehashing(&mut self) {}
}
