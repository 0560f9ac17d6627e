//! The data API for application code (hooks, custom routes, embedding):
//! read and write a resource — internal ones included — through the same
//! executor as HTTP requests: the datasource filter applies to reads and
//! deletes; inserts are prepared (dotted keys, `AUTO_CREATE_LISTS`),
//! validated (store-backed rules included), stamped and shown to the
//! insert hooks; deletes run the `on_delete_resource` hooks.

use std::sync::Arc;

use bson::{Bson, Document};
use eve_core::plan::scope_filter;
use eve_core::{ApiError, Resource};
use eve_query::Filter;
use eve_store::FindQuery;

use crate::write::{Inserted, Refusal};
use crate::{Access, Executor};

/// Why a data-API call failed.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The document does not validate; the value is Eve's `_issues`.
    #[error("document does not validate: {0}")]
    Invalid(serde_json::Value),
    /// The query, a hook or the store failed.
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl From<DataError> for ApiError {
    /// Lets hooks use `?` on data-API calls: a document that does not
    /// validate is a bug of the code that wrote it (an internal error,
    /// logged and answered `500`).
    fn from(err: DataError) -> ApiError {
        match err {
            DataError::Api(e) => e,
            invalid @ DataError::Invalid(_) => ApiError::Internal(invalid.to_string()),
        }
    }
}

/// Access to one resource's documents from Rust code.
#[derive(Clone)]
pub struct ResourceData {
    exec: Executor,
    resource: Arc<Resource>,
    access: Access,
}

impl std::fmt::Debug for ResourceData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceData")
            .field("resource", &self.resource.name)
            .field("access", &self.access)
            .finish()
    }
}

impl ResourceData {
    pub(crate) fn new(exec: Executor, resource: Arc<Resource>) -> ResourceData {
        ResourceData {
            exec,
            resource,
            access: Access::anonymous(),
        }
    }

    /// The same resource, acting with `access` (the hooks it runs see it).
    pub fn with_access(mut self, access: Access) -> ResourceData {
        self.access = access;
        self
    }

    /// The resource's checked settings.
    pub fn resource(&self) -> &Resource {
        &self.resource
    }

    fn scoped(&self, query: &Document) -> Result<Filter, DataError> {
        let filter = Filter::parse(query).map_err(ApiError::from)?;
        // The same merge point as HTTP requests: the datasource filter and
        // the owner filter of this data API's access.
        let scope = scope_filter(self.exec.domain(), &self.resource, &[], &self.access);
        Ok(filter.and(scope))
    }

    /// Documents matching a MongoDB query (and the datasource filter), in
    /// natural order, as stored (no fetch hooks run).
    pub async fn find(&self, query: &Document) -> Result<Vec<Document>, DataError> {
        let filter = self.scoped(query)?;
        Ok(self
            .exec
            .store()
            .find(&self.resource.datasource.source, &FindQuery::new(filter))
            .await
            .map_err(ApiError::from)?)
    }

    /// The first document matching a query (and the datasource filter).
    pub async fn find_one(&self, query: &Document) -> Result<Option<Document>, DataError> {
        let filter = self.scoped(query)?;
        Ok(self
            .exec
            .store()
            .find_one(&self.resource.datasource.source, &filter)
            .await
            .map_err(ApiError::from)?)
    }

    /// Inserts a document as a POST would (dotted keys, `AUTO_CREATE_LISTS`,
    /// validation, meta fields, insert hooks); returns it as stored (with
    /// `_id`, dates and ETag).
    pub async fn insert(&self, doc: Document) -> Result<Document, DataError> {
        let inserted = self
            .exec
            .insert(
                &self.access,
                &self.resource,
                vec![Bson::Document(doc)],
                &[],
                |docs| docs.first().cloned().unwrap_or_default(),
            )
            .await?;
        match inserted {
            Inserted::Stored(doc) => Ok(doc),
            Inserted::Refused(refusals) => {
                let as_list = self.exec.domain().settings.validation_error_as_list;
                let issues = match refusals.into_iter().flatten().next() {
                    Some(Refusal::Invalid(issues)) => issues.to_json(as_list),
                    _ => serde_json::json!({"validation exception": "not a document"}),
                };
                Err(DataError::Invalid(issues))
            }
        }
    }

    /// Deletes the documents matching a query (and the datasource filter),
    /// between the `on_delete_resource` and `on_deleted_resource` hooks;
    /// returns how many.
    pub async fn delete(&self, query: &Document) -> Result<u64, DataError> {
        let filter = self.scoped(query)?;
        Ok(self
            .exec
            .delete_all(&self.access, &self.resource, &filter)
            .await?)
    }
}
