//! The text of every script and module compiled in this process, by source name, so that errors
//! can show the offending line with a caret.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

static SOURCES: Mutex<Option<HashMap<String, Arc<str>>>> = Mutex::new(None);

pub fn register(name: &str, text: &str) {
    let mut g = SOURCES.lock().unwrap_or_else(|p| p.into_inner());
    g.get_or_insert_with(HashMap::new)
        .insert(name.to_string(), text.into());
}

pub fn get(name: &str) -> Option<Arc<str>> {
    let g = SOURCES.lock().unwrap_or_else(|p| p.into_inner());
    g.as_ref().and_then(|m| m.get(name).cloned())
}
