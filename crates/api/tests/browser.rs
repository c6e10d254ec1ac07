//! `/browser/` through the real router: STAC Browser's files served from a
//! directory, its run-time configuration pointing at this API, and nothing
//! there when no directory is configured. (STAC Browser itself, built by
//! scripts/build-browser.sh, is tested in headless Chromium.)

use axum::http::StatusCode;
use stac_indexed_api::ApiConfig;
use stac_indexed_test_support::*;

#[tokio::test]
async fn the_browser_is_served_from_its_directory_and_browses_this_api() {
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("index.html"), "<html>STAC Browser</html>").unwrap();
    std::fs::create_dir(files.path().join("js")).unwrap();
    std::fs::write(files.path().join("js/app.js"), "console.log(1)").unwrap();
    let config = ApiConfig {
        browser_dir: Some(files.path().to_path_buf()),
        ..ApiConfig::default()
    };
    let api = Api::new(&sample_data(), sample_config(), config).await;

    let page = api.get("/browser/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.text(), "<html>STAC Browser</html>");
    assert_eq!(api.get("/browser/js/app.js").await.text(), "console.log(1)");
    let redirect = api.get("/browser").await;
    assert_eq!(redirect.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(redirect.header("location"), Some("http://localhost/browser/"));

    let config = api
        .get_with(
            "/browser/config.js",
            &[("x-forwarded-host", "stac.example"), ("x-forwarded-proto", "https")],
        )
        .await;
    assert!(config.content_type().starts_with("application/javascript"));
    let text = config.text();
    let json = text
        .strip_prefix("window.STAC_BROWSER_CONFIG = ")
        .and_then(|t| t.trim_end().strip_suffix(';'))
        .unwrap_or_else(|| panic!("{text}"));
    let json: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(json["catalogUrl"], "https://stac.example/");
    assert_eq!(json["catalogTitle"], "stac-indexed sample catalog");
    assert_eq!(json["allowExternalAccess"], false);

    let landing = api.get("/").await.json();
    let browser = link(&landing, "alternate").unwrap();
    assert_eq!(browser["href"], "http://localhost/browser/");
    assert_eq!(browser["type"], "text/html");
}

#[tokio::test]
async fn without_a_browser_directory_there_is_no_browser() {
    let api = Api::sample().await;
    api.get("/browser/")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NotFound");
    api.get("/browser/config.js")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NotFound");
    let landing = api.get("/").await.json();
    assert!(link(&landing, "alternate").is_none());
}
