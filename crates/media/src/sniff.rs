//! Content types from bytes: what the media endpoint serves, whatever the
//! uploader declared.

/// The content type of a file whose content starts with `head` (its first
/// few KiB): a known magic number (`infer`), else `text/plain;
/// charset=utf-8` for UTF-8 text without control characters, else
/// `application/octet-stream`.
pub fn sniff(head: &[u8]) -> String {
    if let Some(kind) = infer::get(head) {
        let mime = kind.mime_type();
        // Types a browser would run (markup, scripts) are served as text.
        if !(mime.contains("html") || mime.contains("xml") || mime.contains("script")) {
            return mime.to_string();
        }
    }
    // The head may end inside a character: accept an incomplete tail.
    let text = match std::str::from_utf8(head) {
        Ok(s) => Some(s),
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok(),
        Err(_) => None,
    };
    match text {
        Some(s) if s.chars().all(|c| !c.is_control() || c.is_whitespace()) => {
            "text/plain; charset=utf-8".into()
        }
        _ => "application/octet-stream".into(),
    }
}

/// Whether a sniffed content type is an image (served inline; everything
/// else is served as an attachment).
pub fn is_image(content_type: &str) -> bool {
    content_type.starts_with("image/") && !content_type.starts_with("image/svg")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_is_named_from_its_magic_number() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(sniff(png), "image/png");
        assert!(is_image("image/png"));
    }

    #[test]
    fn text_and_binary_fall_back() {
        assert_eq!(sniff(b"hello world!"), "text/plain; charset=utf-8");
        assert_eq!(sniff("h\u{e9}".as_bytes()), "text/plain; charset=utf-8");
        assert_eq!(sniff(b"\x00\x01\x02"), "application/octet-stream");
        // A declared HTML page is served as text, never as HTML.
        assert_eq!(
            sniff(b"<html><script>x</script>"),
            "text/plain; charset=utf-8"
        );
        assert!(!is_image("text/plain"));
    }
}
