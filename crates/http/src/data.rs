//! The data API for application code (hooks, custom routes, embedding):
//! read and write a resource — internal ones included — with the same
//! guarantees as HTTP requests: the datasource filter applies to reads and
//! deletes, writes are validated against the schema (store-backed rules
//! included) and stamped with the automatic fields.

use std::sync::Arc;

use bson::Document;
use eve_core::plan::base_filter;
use eve_core::{ApiError, Resource};
use eve_query::Filter;
use eve_schema::Mode;
use eve_store::FindQuery;

use crate::context::AppState;

/// Why a data-API call failed.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The document does not validate; the value is Eve's `_issues`.
    #[error("document does not validate: {0}")]
    Invalid(serde_json::Value),
    /// The query or the store failed.
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// Access to one resource's documents from Rust code.
#[derive(Clone)]
pub struct ResourceData {
    pub(crate) state: Arc<AppState>,
    pub(crate) resource: Arc<Resource>,
}

impl std::fmt::Debug for ResourceData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceData")
            .field("resource", &self.resource.name)
            .finish()
    }
}

impl ResourceData {
    /// The resource's checked settings.
    pub fn resource(&self) -> &Resource {
        &self.resource
    }

    fn scoped(&self, query: &Document) -> Result<Filter, DataError> {
        let filter = Filter::parse(query).map_err(ApiError::from)?;
        Ok(filter.and(base_filter(&self.state.domain, &self.resource, &[])?))
    }

    /// Documents matching a MongoDB query (and the datasource filter), in
    /// natural order.
    pub async fn find(&self, query: &Document) -> Result<Vec<Document>, DataError> {
        let filter = self.scoped(query)?;
        Ok(self
            .state
            .store
            .find(&self.resource.datasource.source, &FindQuery::new(filter))
            .await
            .map_err(ApiError::from)?)
    }

    /// The first document matching a query (and the datasource filter).
    pub async fn find_one(&self, query: &Document) -> Result<Option<Document>, DataError> {
        let filter = self.scoped(query)?;
        Ok(self
            .state
            .store
            .find_one(&self.resource.datasource.source, &filter)
            .await
            .map_err(ApiError::from)?)
    }

    /// Validates and inserts a document as a POST would; returns it as
    /// stored (with `_id`, dates and ETag).
    pub async fn insert(&self, doc: Document) -> Result<Document, DataError> {
        let domain = &self.state.domain;
        let res = &self.resource;
        let doc = res
            .schema
            .serialize_payload(doc, &domain.settings.date_format);
        let outcome = crate::write::validate(&self.state, res, doc, Mode::Insert, None).await?;
        if !outcome.issues.is_empty() {
            return Err(DataError::Invalid(
                outcome
                    .issues
                    .to_json(domain.settings.validation_error_as_list),
            ));
        }
        let mut doc = outcome.document;
        let now =
            bson::DateTime::from_millis(bson::DateTime::now().timestamp_millis() / 1000 * 1000);
        crate::write::stamp_new(domain, res, &mut doc, now);
        match self
            .state
            .store
            .insert(&res.datasource.source, vec![doc.clone()])
            .await
        {
            Ok(_) => Ok(doc),
            Err(eve_store::StoreError::DuplicateKey { message, .. }) => {
                Err(ApiError::DuplicateKey {
                    op: eve_core::WriteKind::Insert,
                    message,
                }
                .into())
            }
            Err(e) => Err(ApiError::from(e).into()),
        }
    }

    /// Deletes the documents matching a query (and the datasource filter);
    /// returns how many.
    pub async fn delete(&self, query: &Document) -> Result<u64, DataError> {
        let filter = self.scoped(query)?;
        Ok(self
            .state
            .store
            .delete_many(&self.resource.datasource.source, &filter)
            .await
            .map_err(ApiError::from)?)
    }
}
