//! Small helpers that more than one module needs, one file each: no Rhai types, no effects.
//! Bindings and clients call them; they call nothing of labsh's.

pub mod cidr;
pub mod digest;
pub mod path;
pub mod size;
pub mod suggest;
pub mod yaml;
