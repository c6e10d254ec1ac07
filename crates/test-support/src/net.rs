//! Local servers: a static file server, free ports.

use std::net::SocketAddr;
use std::path::Path;

/// A static file server over `root` on 127.0.0.1 (a real HTTP server, tower-http's ServeDir).
pub async fn serve_directory(root: &Path) -> SocketAddr {
    let app = axum::Router::new().fallback_service(tower_http::services::ServeDir::new(root));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// [`serve_directory`], answering each request after `delay` (a distant
/// origin: a crawl over it takes a while).
pub async fn serve_directory_slowly(root: &Path, delay: std::time::Duration) -> SocketAddr {
    let files = tower_http::services::ServeDir::new(root);
    let app = axum::Router::new()
        .fallback_service(files)
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| async move {
                tokio::time::sleep(delay).await;
                next.run(request).await
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// A free TCP port on 127.0.0.1 (free when this returns).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
