//! TEMPORARY stand-in; replaced by the SDS chapter.
use std::borrow::Borrow;
use std::ops::{Deref, DerefMut};
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Sds(Vec<u8>);
impl Sds {
    pub fn new(b: &[u8]) -> Sds {
        Sds(b.to_vec())
    }
    pub fn empty() -> Sds {
        Sds(Vec::new())
    }
    pub fn from_i64(v: i64) -> Sds {
        Sds(v.to_string().into_bytes())
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
    pub fn push_bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b)
    }
    pub fn grow_zeroed(&mut self, n: usize) {
        if n > self.0.len() {
            self.0.resize(n, 0)
        }
    }
    pub fn alloc(&self) -> usize {
        self.0.capacity()
    }
    pub fn alloc_size(&self) -> usize {
        self.0.capacity() + 3
    }
    pub fn remove_free_space(&mut self) {
        self.0.shrink_to_fit()
    }
}
impl Deref for Sds {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}
impl DerefMut for Sds {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}
impl Borrow<[u8]> for Sds {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}
impl AsRef<[u8]> for Sds {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}
impl From<&[u8]> for Sds {
    fn from(b: &[u8]) -> Sds {
        Sds(b.to_vec())
    }
}
impl From<&str> for Sds {
    fn from(b: &str) -> Sds {
        Sds(b.as_bytes().to_vec())
    }
}
impl From<Vec<u8>> for Sds {
    fn from(b: Vec<u8>) -> Sds {
        Sds(b)
    }
}
