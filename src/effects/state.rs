//! What a run keeps between the calls of its bindings: their connections, tokens and caches, and
//! what a plan has planned (where Ironic's transitions leave each node, a sandbox file still to
//! be written). Each binding keeps a value of its own type, made on first use; the seam knows
//! none of them. The run's [`super::Effects`] owns both stores, so they are dropped with its
//! Session; what is planned is also dropped whenever the session's mode changes (the REPL's
//! `:plan on|off`), so nothing a plan planned is seen by the changes made after it.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Values of any type, one of each, made on first use.
#[derive(Default)]
pub struct Kept {
    items: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl Kept {
    /// The `T` kept here, made with `T::default()` the first time it is asked for.
    pub fn get<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        let item = items
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Arc::new(T::default()));
        match Arc::clone(item).downcast::<T>() {
            Ok(t) => t,
            // Unreachable: an item is kept under its own type's id. A fresh one is still right.
            Err(_) => {
                let t = Arc::new(T::default());
                *item = t.clone();
                t
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[derive(Default)]
    struct Count(AtomicU32);

    #[derive(Default)]
    struct Other(Mutex<Vec<String>>);

    #[test]
    fn one_value_of_each_type_made_on_first_use_and_kept() {
        let k = Kept::default();
        k.get::<Count>().0.fetch_add(2, Ordering::SeqCst);
        k.get::<Count>().0.fetch_add(1, Ordering::SeqCst);
        assert_eq!(k.get::<Count>().0.load(Ordering::SeqCst), 3);
        assert!(k.get::<Other>().0.lock().unwrap().is_empty());
        assert!(Arc::ptr_eq(&k.get::<Other>(), &k.get::<Other>()));
        // Another store holds its own.
        assert_eq!(Kept::default().get::<Count>().0.load(Ordering::SeqCst), 0);
    }
}
