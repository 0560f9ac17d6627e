//! The embedded store (placeholder; the store helper writes it).
