//! Bad input, limits and races (issue #6).
