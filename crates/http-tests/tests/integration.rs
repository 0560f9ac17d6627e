//! HTTP integration tests, in-process through the router (`oneshot`), one
//! module per feature. Expected payloads were checked against the oracle
//! (Python Eve 2.3.1) for the same settings and requests.

mod integration {
    mod aggregation;
    mod aggregation_stages;
    mod auth;
    mod backends;
    mod budgets;
    pub mod common;
    mod conditional;
    mod embedding;
    mod endpoints;
    mod eve_reads;
    mod geo;
    mod headers;
    mod hooks;
    mod hostile_bodies;
    mod media;
    mod mongo_shapes;
    mod oplog;
    mod pipeline;
    mod rate_limit;
    mod reads;
    mod resources;
    mod robustness;
    mod schemaless;
    mod searches;
    mod soft_delete;
    mod storage;
    mod text_search;
    mod user_restricted;
    mod validation;
    mod versioning;
    mod where_expr;
    mod writes;
}
