//! Validation through HTTP: statuses, `_issues`, store-backed rules (issue #3).
