//! `eve-http-tests`: the in-process HTTP integration suite of eve-rs
//! (`tests/integration.rs`, a module per topic), run on the data layer
//! `EVE_TEST_BACKEND` names (default: the embedded store), and the
//! compiled examples of the hooks guide (`docs/hooks.md`).
//!
//! It is its own crate so that `eve-http` reaches no backend even through
//! its dev-dependencies (`cargo tree -p eve-http` shows no `rusqlite`);
//! the suite opens its layer through `eve-backends`, as the binary does.

#[cfg(doctest)]
#[doc = include_str!("../../../docs/hooks.md")]
pub struct HooksGuide;
