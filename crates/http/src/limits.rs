//! Request limits checked by the pipeline (docs/robustness.md): JSON body
//! depth and bulk size. Body size, head size and the
//! client timeout are enforced in `app.rs`.

use eve_core::{ApiError, ApiResult};
use serde_json::Value;

/// Refuses a JSON body nested deeper than `max` arrays and objects (`400`).
pub(crate) fn check_json_depth(value: &Value, max: usize) -> ApiResult<()> {
    // Iterative, so that the check itself never recurses.
    let mut stack = vec![(value, 1usize)];
    while let Some((v, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        if depth > max {
            return Err(ApiError::BadRequest(format!(
                "the request body is nested deeper than {max} levels (MAX_JSON_DEPTH)"
            )));
        }
        stack.extend(children.map(|c| (c, depth + 1)));
    }
    Ok(())
}

/// Refuses a bulk POST of more than `max` documents (`400`).
pub(crate) fn check_bulk_items(count: usize, max: usize) -> ApiResult<()> {
    if count > max {
        return Err(ApiError::BadRequest(format!(
            "a bulk insert may hold at most {max} documents (MAX_BULK_ITEMS)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn depth_counts_arrays_and_objects() {
        assert!(check_json_depth(&json!(1), 1).is_ok());
        assert!(check_json_depth(&json!({"a": 1}), 1).is_ok());
        assert!(check_json_depth(&json!({"a": [1]}), 1).is_err());
        assert!(check_json_depth(&json!({"a": [1]}), 2).is_ok());
        assert!(check_json_depth(&json!([[], {"a": {"b": {}}}]), 3).is_err());
        assert!(check_json_depth(&json!([[], {"a": {"b": {}}}]), 4).is_ok());
    }
}
