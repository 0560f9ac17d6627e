//! Serves the custom-rules example.
//!
//! ```sh
//! cargo run -p example-custom-rules -- [SETTINGS] [PORT]
//! ```

use std::path::PathBuf;

#[tokio::main]
async fn main() -> Result<(), example_custom_rules::StartError> {
    let mut args = std::env::args().skip(1);
    let settings = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(example_custom_rules::default_settings);
    let port: u16 = args.next().map(|p| p.parse()).transpose()?.unwrap_or(5000);
    let app = example_custom_rules::app(&settings, "data-custom-rules".as_ref()).await?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://{}", listener.local_addr()?);
    app.serve(listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
