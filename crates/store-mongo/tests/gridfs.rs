//! The GridFS media storage against the server `EVE_TEST_MONGO_URI` names
//! (skips with a message without it, fails under `CI=true`): files Python
//! Eve (pymongo's `gridfs`) wrote are read as they are, by range, and
//! files eve-rs writes are GridFS files pymongo reads.

use bson::oid::ObjectId;
use bson::{doc, Document};
use eve_media::{ByteStream, Bytes, MediaStorage, NewFile};
use eve_store_mongo::{GridFsStorage, MongoStore};
use futures_util::StreamExt;

async fn database() -> Option<MongoStore> {
    let Ok(uri) = std::env::var("EVE_TEST_MONGO_URI") else {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true: EVE_TEST_MONGO_URI must name the test server"
        );
        eprintln!("skipped: EVE_TEST_MONGO_URI is not set (scripts/mongo-test-server.sh start)");
        return None;
    };
    let name = format!("gridfs_{}", ObjectId::new().to_hex());
    Some(MongoStore::open_uri(&uri, &name).await.expect("open"))
}

async fn content(s: &GridFsStorage, id: &ObjectId, range: std::ops::Range<u64>) -> Vec<u8> {
    let mut stream = s.read(id, range).await.expect("read").expect("found");
    let mut out = Vec::new();
    while let Some(c) = stream.next().await {
        out.extend_from_slice(&c.expect("chunk"));
    }
    out
}

#[tokio::test]
async fn a_file_pymongo_wrote_is_read_by_range() {
    let Some(store) = database().await else {
        return;
    };
    let client = mongodb::Client::with_uri_str(std::env::var("EVE_TEST_MONGO_URI").expect("uri"))
        .await
        .expect("client");
    let db = client.database(store.database_name());
    let id = ObjectId::new();
    // What pymongo's GridIn writes for put(content, filename=, content_type=).
    db.collection::<Document>("fs.files")
        .insert_one(doc! {"_id": id, "filename": "a.txt", "contentType": "text/plain", "chunkSize": 4, "length": 10i64, "uploadDate": bson::DateTime::from_millis(1_500_000_000_000)})
        .await
        .expect("files");
    for (n, data) in [(0, &b"0123"[..]), (1, b"4567"), (2, b"89")] {
        let bin = bson::Binary {
            subtype: bson::spec::BinarySubtype::Generic,
            bytes: data.to_vec(),
        };
        db.collection::<Document>("fs.chunks")
            .insert_one(doc! {"files_id": id, "n": n, "data": bin})
            .await
            .expect("chunk");
    }
    let s = store.media_storage();
    let info = s.info(&id).await.expect("info").expect("found");
    assert_eq!(
        (
            info.length,
            info.filename.as_deref(),
            info.content_type.as_deref()
        ),
        (10, Some("a.txt"), Some("text/plain"))
    );
    assert_eq!(info.chunk_size, Some(4));
    assert_eq!(content(&s, &id, 2..9).await, b"2345678");
    assert_eq!(content(&s, &id, 0..10).await, b"0123456789");
    assert_eq!(content(&s, &id, 8..10).await, b"89");
    s.delete(&id).await.expect("delete");
    assert!(s.info(&id).await.expect("info").is_none());
    let left = db
        .collection::<Document>("fs.chunks")
        .count_documents(doc! {"files_id": id})
        .await
        .expect("count");
    assert_eq!(left, 0);
    let _ = store.drop_database().await;
}

#[tokio::test]
async fn a_stored_file_is_gridfs_chunks_and_a_files_document() {
    let Some(store) = database().await else {
        return;
    };
    let s = store.media_storage();
    let data: Vec<u8> = (0..600 * 1024).map(|i| (i % 251) as u8).collect();
    let pieces: Vec<Result<Bytes, eve_media::MediaError>> = data
        .chunks(70_000)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let stream: ByteStream<'static> = Box::pin(futures_util::stream::iter(pieces));
    let file = NewFile {
        filename: Some("b.bin".into()),
        content_type: Some("application/x-b".into()),
        resource: Some("r".into()),
    };
    let info = s.put(file, stream).await.expect("put");
    assert_eq!(info.length, data.len() as u64);
    assert_eq!(content(&s, &info.id, 0..info.length).await, data);
    assert_eq!(
        content(&s, &info.id, 261_000..261_200).await,
        &data[261_000..261_200]
    );
    let again = s.info(&info.id).await.expect("info").expect("found");
    assert_eq!(again.digest, info.digest);
    assert_eq!(again.resource.as_deref(), Some("r"));
    let _ = store.drop_database().await;
}
