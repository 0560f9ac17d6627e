//! Native aggregation: MongoDB runs the pipeline as written, with the
//! resource's options (`allowDiskUse`, `maxTimeMS`, `batchSize`,
//! `comment`); the server's own limits apply (100 MB per blocking stage
//! without `allowDiskUse`, 16 MB per document). A pipeline the server
//! refuses is the client's error ([`StoreError::InvalidQuery`]).

use std::time::Duration;

use bson::{Bson, Document};
use futures_util::TryStreamExt;
use mongodb::error::ErrorKind;
use mongodb::options::AggregateOptions;

use eve_store::{Pipeline, StoreError, StoreResult};

use crate::{error, MongoStore};

/// The driver's options from `datasource.aggregation.options`; keys the
/// driver has no option for (`useCursor`, ...) are ignored, as PyMongo
/// ignores `useCursor`.
fn options(given: &Document) -> AggregateOptions {
    let int = |v: &Bson| match v {
        Bson::Int32(i) => u64::try_from(*i).ok(),
        Bson::Int64(i) => u64::try_from(*i).ok(),
        Bson::Double(d) if *d >= 0.0 && d.fract() == 0.0 && *d < 9.0e15 => {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let n = *d as u64;
            Some(n)
        }
        _ => None,
    };
    let mut out = AggregateOptions::default();
    for (k, v) in given {
        match k.as_str() {
            "allowDiskUse" => out.allow_disk_use = v.as_bool(),
            "maxTimeMS" => out.max_time = int(v).map(Duration::from_millis),
            "batchSize" => out.batch_size = int(v).and_then(|n| u32::try_from(n).ok()),
            "comment" => out.comment = Some(v.clone()),
            _ => {}
        }
    }
    out
}

impl MongoStore {
    /// Runs `pipeline` on `collection` in the server.
    pub(crate) async fn run_aggregate(
        &self,
        collection: &str,
        pipeline: &Pipeline,
    ) -> StoreResult<Vec<Document>> {
        let coll = self.coll(collection);
        let result = async {
            let cursor = coll
                .aggregate(pipeline.documents().to_vec())
                .with_options(options(pipeline.options()))
                .await?;
            cursor.try_collect::<Vec<_>>().await
        }
        .await;
        result.map_err(|e| {
            // Any command error of a read is about the pipeline (an
            // unknown stage or operator, a bad argument, a memory limit).
            if matches!(e.kind.as_ref(), ErrorKind::Command(_)) && !error::is_unavailable(&e) {
                if let ErrorKind::Command(c) = e.kind.as_ref() {
                    return StoreError::InvalidQuery(c.message.clone());
                }
            }
            error::map(e, 0)
        })
    }
}
