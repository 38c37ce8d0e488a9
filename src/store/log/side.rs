//! The trees beside the log, which are not part of the hashed record: the projection cache (filled by readers,
//! dropped at will) and the API tokens (access control, changed by compare-and-swap).

use super::keys::{CachePos, cache_key, cache_prefix, day_of, seq_of};
use super::{Log, LogError, TokenEntry};

impl Log {
    /// The cached state of `plan` at the greatest position on `pos`'s axis that is not after `pos`.
    pub fn cache_floor(&self, plan: &str, pos: CachePos) -> Result<Option<(CachePos, Vec<u8>)>, LogError> {
        let prefix = cache_prefix(plan, pos);
        let upto = cache_key(plan, pos);
        match self.t()?.cache.range(prefix.as_slice()..=upto.as_slice()).next_back() {
            None => Ok(None),
            Some(r) => {
                let (k, v) = r?;
                let rest = &k[prefix.len()..];
                let at = match pos {
                    CachePos::Seq(_) => CachePos::Seq(seq_of(rest)?),
                    CachePos::InForce(..) if rest.len() == 12 => {
                        CachePos::InForce(day_of(&rest[..4])?, seq_of(&rest[4..])?)
                    }
                    CachePos::InForce(..) => {
                        return Err(LogError::corrupt(None, "a cache key has the wrong length"));
                    }
                };
                Ok(Some((at, v.to_vec())))
            }
        }
    }

    /// Stores a cached state. Not made durable on its own: the cache may lose recent entries in a crash, and is
    /// refilled from the log when it does.
    pub fn cache_put(&self, plan: &str, pos: CachePos, bytes: &[u8]) -> Result<(), LogError> {
        self.readers_may_write(bytes.len() as u64)?;
        self.t()?.cache.insert(cache_key(plan, pos), bytes)?;
        Ok(())
    }

    /// Number of cached states of `plan` on `axis`'s axis.
    pub fn cache_count(&self, plan: &str, axis: CachePos) -> Result<u64, LogError> {
        let mut n = 0;
        for r in self.t()?.cache.scan_prefix(cache_prefix(plan, axis)) {
            r?;
            n += 1;
        }
        Ok(n)
    }

    /// Positions of the cached states of `plan` on `axis`'s axis, in order.
    pub fn cache_positions(&self, plan: &str, axis: CachePos) -> Result<Vec<CachePos>, LogError> {
        let prefix = cache_prefix(plan, axis);
        self.t()?
            .cache
            .scan_prefix(&prefix)
            .map(|r| {
                let (k, _) = r?;
                let rest = &k[prefix.len()..];
                match axis {
                    CachePos::Seq(_) => Ok(CachePos::Seq(seq_of(rest)?)),
                    CachePos::InForce(..) if rest.len() == 12 => {
                        Ok(CachePos::InForce(day_of(&rest[..4])?, seq_of(&rest[4..])?))
                    }
                    CachePos::InForce(..) => Err(LogError::corrupt(None, "a cache key has the wrong length")),
                }
            })
            .collect()
    }

    /// Whether every cached state of `plan` on `axis`'s axis passes `intact`, read in one scan.
    pub fn cache_all(&self, plan: &str, axis: CachePos, intact: impl Fn(&[u8]) -> bool) -> Result<bool, LogError> {
        for r in self.t()?.cache.scan_prefix(cache_prefix(plan, axis)) {
            if !intact(&r?.1) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The cached state of `plan` at exactly `pos`.
    pub fn cache_at(&self, plan: &str, pos: CachePos) -> Result<Option<Vec<u8>>, LogError> {
        Ok(self.t()?.cache.get(cache_key(plan, pos))?.map(|v| v.to_vec()))
    }

    /// Drops every cached state of `plan` on `axis`'s axis.
    pub fn cache_clear_axis(&self, plan: &str, axis: CachePos) -> Result<(), LogError> {
        let mut batch = sled::Batch::default();
        for r in self.t()?.cache.scan_prefix(cache_prefix(plan, axis)) {
            batch.remove(r?.0);
        }
        self.t()?.cache.apply_batch(batch)?;
        Ok(())
    }

    pub fn cache_remove(&self, plan: &str, pos: CachePos) -> Result<(), LogError> {
        self.readers_may_write(0)?;
        self.t()?.cache.remove(cache_key(plan, pos))?;
        Ok(())
    }

    /// Drops every cache entry.
    pub fn cache_clear(&self) -> Result<(), LogError> {
        self.t()?.cache.clear()?;
        self.sync()
    }

    /// Number of cache entries and their total size in bytes.
    pub fn cache_stats(&self) -> Result<(u64, u64), LogError> {
        let mut n = 0u64;
        let mut bytes = 0u64;
        for r in self.t()?.cache.iter() {
            let (k, v) = r?;
            n += 1;
            bytes += (k.len() + v.len()) as u64;
        }
        Ok((n, bytes))
    }

    /// The token record stored under a secret's hash.
    pub fn token(&self, hash: &[u8; 32]) -> Result<Option<Vec<u8>>, LogError> {
        Ok(self.t()?.tokens.get(hash)?.map(|v| v.to_vec()))
    }

    /// Every token record, by hash.
    pub fn tokens(&self) -> Result<Vec<TokenEntry>, LogError> {
        let mut out = Vec::new();
        for r in self.t()?.tokens.iter() {
            let (k, v) = r?;
            let hash: [u8; 32] =
                k.as_ref().try_into().map_err(|_| LogError::corrupt(None, "a token key is not a 32-byte hash"))?;
            out.push((hash, v.to_vec()));
        }
        Ok(out)
    }

    /// Stores a token record under its hash and makes it durable. `expected` is the record the caller read (`None`:
    /// no record yet); another one refuses the write with `Ok(false)`, so two concurrent changes cannot both win.
    pub fn token_put(&self, hash: &[u8; 32], expected: Option<&[u8]>, record: &[u8]) -> Result<bool, LogError> {
        if self.t()?.tokens.compare_and_swap(hash, expected, Some(record))?.is_err() {
            return Ok(false);
        }
        self.sync()?;
        Ok(true)
    }
}

impl Log {
    /// Stores tokens and idempotency records carried over from a damaged store by `repair`, and makes them durable.
    pub fn put_carried(&self, tokens: &[TokenEntry], idempotency: &[(Vec<u8>, Vec<u8>)]) -> Result<(), LogError> {
        for (hash, record) in tokens {
            self.t()?.tokens.insert(hash, record.as_slice())?;
        }
        for (k, v) in idempotency {
            self.t()?.idem.insert(k.as_slice(), v.as_slice())?;
        }
        self.sync()
    }
}
