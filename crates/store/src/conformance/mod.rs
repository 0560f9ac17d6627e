//! The conformance suite: what every [`DataLayer`] must do, written once.
//!
//! Each case is a public `async fn(Arc<dyn DataLayer>)` that panics (through
//! `assert!`) when the layer misbehaves. A back end runs them all with
//! [`conformance_suite!`](crate::conformance_suite), which expands into one
//! `#[tokio::test]` per case:
//!
//! ```ignore
//! // crates/store-foo/tests/conformance.rs
//! use eve_store::conformance::Fixture;
//!
//! async fn fresh_store() -> Option<Fixture> {
//!     let dir = tempfile::tempdir().ok()?;
//!     let store = FooStore::open(dir.path()).ok()?;
//!     Some(Fixture::with_guard(std::sync::Arc::new(store), dir))
//! }
//!
//! eve_store::conformance_suite!(fresh_store());
//! ```
//!
//! The macro's argument is an expression evaluated once per test; it must
//! be a future (wrap a synchronous constructor in `async { … }`) whose
//! output implements [`IntoFixture`]: a [`Fixture`] (an empty store plus
//! whatever must live as long as it, such as a temporary directory), or an
//! `Option<Fixture>` where `None` skips the case with a message (for a
//! server that is not configured, e.g. MongoDB without
//! `EVE_TEST_MONGO_URI`). The calling crate must depend on `tokio` (with
//! the `macros` and `rt-multi-thread` features).
//!
//! Every case uses its own collection names on a fresh store, and filters
//! are written as MongoDB query documents parsed by `eve_query`, so the
//! suite checks a layer's translation (or evaluation) against the same
//! semantics the in-memory evaluator has.

use std::any::Any;
use std::sync::Arc;

use crate::DataLayer;

mod aggregate;
mod batches;
mod geo;
mod helpers;
mod indexes;
mod operators;
mod pages;
mod reads;
mod text;
pub use text::text_index;
mod writes;

pub use aggregate::*;
pub use batches::*;
pub use geo::*;
pub(crate) use helpers::*;
pub use indexes::*;
pub use operators::bitwise_operators_follow_mongodb;
pub use pages::*;
pub use reads::*;
pub use text::*;
pub use writes::*;

/// A store under test, and what must outlive it.
pub struct Fixture {
    store: Arc<dyn DataLayer>,
    _guard: Box<dyn Any + Send + Sync>,
}

impl Fixture {
    /// A fixture that needs nothing kept alive.
    pub fn new(store: Arc<dyn DataLayer>) -> Self {
        Fixture {
            store,
            _guard: Box::new(()),
        }
    }

    /// A fixture that keeps `guard` (a temporary directory, a server
    /// handle) until the case ends.
    pub fn with_guard(store: Arc<dyn DataLayer>, guard: impl Any + Send + Sync) -> Self {
        Fixture {
            store,
            _guard: Box::new(guard),
        }
    }

    /// The store under test.
    pub fn store(&self) -> Arc<dyn DataLayer> {
        Arc::clone(&self.store)
    }
}

/// What a fixture constructor may return: a fixture, or `None` to skip.
pub trait IntoFixture {
    /// The fixture, or `None` when the back end is not available here.
    fn into_fixture(self) -> Option<Fixture>;
}

impl IntoFixture for Fixture {
    fn into_fixture(self) -> Option<Fixture> {
        Some(self)
    }
}

impl IntoFixture for Option<Fixture> {
    fn into_fixture(self) -> Option<Fixture> {
        self
    }
}

/// Expands into one `#[tokio::test]` per conformance case; see the
/// [module documentation](crate::conformance) for the argument.
#[macro_export]
macro_rules! conformance_suite {
    ($make:expr) => {
        $crate::__conformance_cases!($make;
            insert_returns_ids_and_find_returns_insertion_order,
            insert_generates_object_ids_when_missing,
            bson_values_round_trip_exactly,
            unknown_collection_reads_as_empty,
            find_one_returns_the_first_match_in_natural_order,
            sort_orders_mixed_types_like_mongodb,
            sort_by_several_keys_and_descending,
            sort_arrays_by_smallest_ascending_and_largest_descending,
            skip_and_limit_window_the_sorted_results,
            filters_select_documents,
            dotted_paths_descend_through_arrays,
            array_fields_match_any_element_or_the_whole_array,
            numbers_compare_by_value_across_types,
            count_agrees_with_find,
            duplicate_id_fails_with_duplicate_key,
            bulk_insert_is_atomic_and_reports_the_colliding_position,
            unique_index_rejects_duplicates,
            unique_multikey_index_compares_elements,
            sparse_unique_index_allows_missing_fields,
            non_sparse_unique_index_treats_missing_as_null,
            prepare_collection_is_idempotent,
            prepare_collection_rebuilds_a_changed_index,
            prepare_collection_drops_unlisted_indexes,
            prepare_collection_fails_when_documents_violate_a_new_unique_index,
            indexed_queries_return_what_scans_return,
            replace_one_keeps_the_id_and_reports_a_match,
            replace_one_is_false_when_the_filter_no_longer_matches,
            replace_one_reports_duplicate_key_on_unique_violation,
            update_one_sets_dotted_paths,
            update_one_is_false_when_the_filter_no_longer_matches,
            update_one_maintains_unique_indexes,
            delete_many_returns_the_count,
            concurrent_conditional_replaces_have_exactly_one_winner,
            concurrent_inserts_are_all_stored,
            integrity_holds_after_mixed_writes,
            bitwise_operators_follow_mongodb,
            batch_applies_writes_in_order_and_reports_each,
            batch_updates_unset_fields_and_update_many,
            batch_duplicate_key_names_the_op_and_undoes_everything,
            batch_failed_must_match_leaves_every_collection_unchanged,
            batch_rolled_back_after_creating_a_collection_leaves_no_trace,
            find_page_returns_the_window_and_the_total,
            find_page_reads_items_and_total_from_one_snapshot,
            projection_on_arrays_of_documents_matches_mongodb,
            aggregate_runs_a_pipeline,
            aggregate_pushes_down_joins_and_facets,
            expr_filters_compare_fields,
            watch_is_unsupported_or_delivers,
            searches_are_refused_without_the_capability,
            geo_filters_select_by_shape,
            near_orders_by_distance_and_counts_the_matches,
            text_search_matches_ranks_and_counts,
            text_index_follows_every_write,
            text_search_needs_one_text_index,
        );
    };
}

/// Implementation detail of [`conformance_suite!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    ($make:expr; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let fixture = $crate::conformance::IntoFixture::into_fixture($make.await);
                let Some(fixture) = fixture else {
                    eprintln!("skipped {}: the back end is not available here", stringify!($case));
                    return;
                };
                $crate::conformance::$case(fixture.store()).await;
                drop(fixture);
            }
        )*
    };
}
