//! Answers read from the database, kept in memory where this server is the only writer of the
//! rows they came from, so a hot read (once per message sent) costs no round trip to a reading
//! connection's thread.
//!
//! Whoever writes those rows does it through [`Kept::write`], which forgets the key once the
//! write has ended, even when its caller stopped waiting for it (a write handed to the database
//! can commit after that). A read that began before a write never keeps its answer: each write
//! moves the generation on, and an answer is kept only under the generation its read began in.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::task::JoinError;

/// The most keys kept, found or not: past it, all are forgotten.
const KEPT: usize = 10_000;

/// Read answers by key (`V` is usually an `Option`, so that "no such row" is kept too).
#[derive(Debug)]
pub struct Kept<V> {
    known: Mutex<Known<V>>,
}

#[derive(Debug)]
struct Known<V> {
    generation: u64,
    answers: HashMap<String, V>,
}

impl<V> Default for Kept<V> {
    fn default() -> Self {
        Self {
            known: Mutex::new(Known {
                generation: 0,
                answers: HashMap::new(),
            }),
        }
    }
}

impl<V: Clone> Kept<V> {
    fn known(&self) -> MutexGuard<'_, Known<V>> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The kept answer for `key`, with the generation a read starting now keeps its answer under.
    fn get(&self, key: &str) -> (u64, Option<V>) {
        let known = self.known();
        (known.generation, known.answers.get(key).cloned())
    }

    /// Keeps `answer` for `key`, unless a write came since `generation`.
    fn keep(&self, generation: u64, key: &str, answer: V) {
        let mut known = self.known();
        if known.generation != generation {
            return;
        }
        if known.answers.len() >= KEPT {
            known.answers.clear();
        }
        known.answers.insert(key.to_owned(), answer);
    }

    /// Forgets `key` (every key with `None`).
    fn forget(&self, key: Option<&str>) {
        let mut known = self.known();
        known.generation += 1;
        match key {
            Some(key) => {
                known.answers.remove(key);
            }
            None => known.answers.clear(),
        }
    }

    /// The answer for `key`: the kept one, else `read`'s (then kept, unless a write came meanwhile).
    pub async fn get_or_read<E>(&self, key: &str, read: impl Future<Output = Result<V, E>>) -> Result<V, E> {
        let (generation, kept) = self.get(key);
        if let Some(answer) = kept {
            return Ok(answer);
        }
        let answer = read.await?;
        self.keep(generation, key, answer.clone());
        Ok(answer)
    }
}

impl<V: Clone + Send + 'static> Kept<V> {
    /// Runs `write`, a change to the rows behind `key` (every key's with `None`), to its end in a
    /// task of its own, so that it ends even if the caller stops waiting, then forgets what was
    /// kept of them, whether it succeeded or failed (it may have committed all the same). Its
    /// outcome, or why the task did not finish (the runtime is shutting down).
    pub async fn write<T: Send + 'static>(
        self: &Arc<Self>,
        key: Option<&str>,
        write: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, JoinError> {
        let kept = Arc::clone(self);
        let key = key.map(str::to_owned);
        tokio::spawn(async move {
            let done = write.await;
            kept.forget(key.as_deref());
            done
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A read that began before a write never keeps what it found: the write may have changed it.
    #[test]
    fn an_answer_read_before_a_write_is_not_kept() {
        let kept = Kept::<Option<u8>>::default();
        let (generation, answer) = kept.get("a");
        assert!(answer.is_none());
        kept.forget(Some("a"));
        kept.keep(generation, "a", Some(1));
        assert!(kept.get("a").1.is_none());

        let (generation, _) = kept.get("a");
        kept.keep(generation, "a", Some(2));
        assert_eq!(kept.get("a").1, Some(Some(2)));
        kept.keep(generation, "b", None);
        assert_eq!(kept.get("b").1, Some(None), "a known absence is kept too");

        kept.forget(Some("a"));
        assert_eq!((kept.get("a").1, kept.get("b").1), (None, Some(None)));
        kept.forget(None);
        assert!(kept.get("b").1.is_none());
    }

    /// A write forgets its key once it ends, even when its caller stopped waiting before that.
    #[tokio::test]
    async fn a_write_whose_caller_gave_up_still_forgets_its_key() {
        let kept = Arc::new(Kept::<Option<u8>>::default());
        let (generation, _) = kept.get("a");
        kept.keep(generation, "a", Some(1));
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let (landed, lands) = tokio::sync::oneshot::channel::<()>();
        let caller = kept.write(Some("a"), async move {
            let _ = released.await;
            let _ = landed.send(());
        });
        // The caller gives up while the write waits; the write goes on, and forgets `a` after it.
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(20), caller)
                .await
                .is_err()
        );
        assert_eq!(kept.get("a").1, Some(Some(1)), "kept until the write ends");
        let _ = release.send(());
        lands.await.expect("the write ran to its end");
        for _ in 0..100 {
            if kept.get("a").1.is_none() {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the write's key is still kept after the write ended");
    }
}
