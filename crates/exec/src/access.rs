//! Who is asking: the executor, the hooks and the data API carry the
//! request's [`Access`], which is `eve-core`'s (the plan reads it too).
//! Until authentication is built every request is [`Access::anonymous`].

pub use eve_core::Access;
