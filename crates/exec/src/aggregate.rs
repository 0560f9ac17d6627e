//! Aggregation endpoint reads (features.md §41): `before_aggregation` on
//! the request's pipeline, the paging `$facet` appended, the pipeline run
//! by the data layer within the `AGGREGATION_*` limits, then
//! `after_aggregation` on the page.

use std::sync::Arc;

use bson::Document;
use eve_core::aggregation::{paging_facet, unpack_facet};
use eve_core::plan::AggregatePlan;
use eve_core::{ApiError, ApiResult, Resource};
use eve_store::{AggregateLimits, Pipeline, StoreError};

use crate::{Access, Event, Executor};

impl Executor {
    /// Runs an aggregation plan: the page of results (as the pipeline
    /// produces them, no meta fields added) and how many results the
    /// whole pipeline has. A pipeline the engine refuses (an unknown
    /// stage or operator, a limit reached) is
    /// [`ApiError::AggregationRefused`].
    pub async fn aggregate(
        &self,
        access: &Access,
        res: &Arc<Resource>,
        plan: &AggregatePlan,
    ) -> ApiResult<(Vec<Document>, u64)> {
        let mut stages = plan.pipeline.clone();
        if let Some(cx) = self.context(Event::BeforeAggregation, access, Some(res), None) {
            self.hooks()
                .run_page(Event::BeforeAggregation, &cx, &mut stages)
                .await?;
            // A hook may have added stages: the limits hold for them too.
            eve_core::aggregation::check_limits(&self.domain().settings.limits, &stages)?;
        }
        // After the hook, so no hook or client variable can lift it: each
        // read kept to the caller's documents and readable fields.
        let mut stages = eve_core::aggregation::guard::guard_request_pipeline(
            self.domain(),
            access,
            res,
            stages,
        )?;
        stages.push(paging_facet(plan.page, plan.max_results));
        let pipeline = Pipeline::parse(&stages)
            .map_err(|e| ApiError::AggregationRefused(e.to_string()))?
            .with_options(plan.options.clone());
        let limits = &self.domain().settings.limits;
        let limits = AggregateLimits::new(
            usize::try_from(limits.aggregation_memory_limit).unwrap_or(usize::MAX),
        )
        .with_max_lookup(limits.aggregation_max_lookup);
        let out = match self
            .store()
            .aggregate(&plan.collection, &pipeline, limits)
            .await
        {
            Ok(out) => out,
            Err(StoreError::InvalidQuery(m)) => return Err(ApiError::AggregationRefused(m)),
            Err(e) => return Err(e.into()),
        };
        let (mut docs, total) = unpack_facet(out);
        if let Some(cx) = self.context(Event::AfterAggregation, access, Some(res), None) {
            self.hooks()
                .run_page(Event::AfterAggregation, &cx, &mut docs)
                .await?;
        }
        Ok((docs, total))
    }
}
