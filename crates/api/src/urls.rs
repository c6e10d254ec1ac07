//! The public base URL of a request, and API URLs built from it.
//!
//! The base comes from `Forwarded`, then `X-Forwarded-Proto` /
//! `X-Forwarded-Host` / `X-Forwarded-Prefix`, then `Host`, plus the configured
//! root path (an API Gateway stage, say). Path segments (ids) are
//! percent-encoded.

use axum::http::HeaderMap;
use url::Url;

/// The API's public root URL for one request; always ends with `/`.
#[derive(Clone, Debug)]
pub struct BaseUrl(Url);

impl BaseUrl {
    /// Reads the base from the request headers and the configured root path.
    pub fn from_headers(headers: &HeaderMap, root_path: &str) -> BaseUrl {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(',').next().unwrap_or_default().trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let forwarded = header("forwarded").map(|f| parse_forwarded(&f)).unwrap_or_default();
        let proto = forwarded
            .0
            .or_else(|| header("x-forwarded-proto"))
            .unwrap_or_else(|| "http".into());
        let host = forwarded
            .1
            .or_else(|| header("x-forwarded-host"))
            .or_else(|| header("host"))
            .unwrap_or_else(|| "localhost".into());
        let prefix = header("x-forwarded-prefix").unwrap_or_default();
        let proto = if proto.eq_ignore_ascii_case("https") {
            "https"
        } else {
            "http"
        };
        let mut url = Url::parse(&format!("{proto}://{host}/"))
            .ok()
            .filter(|u| u.host_str().is_some() && u.path() == "/" && u.query().is_none())
            .unwrap_or_else(|| Url::parse("http://localhost/").expect("a valid URL"));
        {
            let mut segments = url.path_segments_mut().expect("an http URL has a path");
            segments.pop_if_empty();
            for part in prefix.split('/').chain(root_path.split('/')).filter(|p| !p.is_empty()) {
                segments.push(part);
            }
            segments.push("");
        }
        BaseUrl(url)
    }

    /// The root URL (`…/`).
    pub fn root(&self) -> String {
        self.0.to_string()
    }

    /// The URL of a path below the root, each segment percent-encoded.
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.0.clone();
        {
            let mut path = url.path_segments_mut().expect("an http URL has a path");
            path.pop_if_empty();
            for segment in segments {
                path.push(segment);
            }
        }
        url
    }

    /// [`Self::url`] as a string.
    pub fn href(&self, segments: &[&str]) -> String {
        self.url(segments).to_string()
    }

    /// A URL with a query string.
    pub fn href_with_query(&self, segments: &[&str], query: &[(String, String)]) -> String {
        let mut url = self.url(segments);
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        url.to_string()
    }
}

/// `proto` and `host` from the first element of a `Forwarded` header.
fn parse_forwarded(value: &str) -> (Option<String>, Option<String>) {
    let mut proto = None;
    let mut host = None;
    for pair in value.split(';') {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"').to_string();
        match key.trim().to_ascii_lowercase().as_str() {
            "proto" => proto = Some(value),
            "host" => host = Some(value),
            _ => {}
        }
    }
    (proto, host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(headers: &[(&str, &str)], root_path: &str) -> String {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        BaseUrl::from_headers(&map, root_path).root()
    }

    #[test]
    fn the_base_comes_from_forwarding_headers_then_host() {
        assert_eq!(
            base(&[("host", "api.example.com:8080")], ""),
            "http://api.example.com:8080/"
        );
        assert_eq!(
            base(
                &[
                    ("host", "internal"),
                    ("x-forwarded-proto", "https"),
                    ("x-forwarded-host", "stac.example.com")
                ],
                ""
            ),
            "https://stac.example.com/"
        );
        assert_eq!(
            base(
                &[
                    ("host", "internal"),
                    (
                        "forwarded",
                        "for=1.2.3.4;proto=https;host=\"fw.example.com\", for=5.6.7.8"
                    )
                ],
                ""
            ),
            "https://fw.example.com/"
        );
        assert_eq!(
            base(&[("host", "h"), ("x-forwarded-prefix", "/api/v1")], "prod"),
            "http://h/api/v1/prod/"
        );
        assert_eq!(base(&[], "/stage/"), "http://localhost/stage/");
        assert_eq!(base(&[("host", "bad host/with?query")], ""), "http://localhost/");
    }

    #[test]
    fn ids_are_percent_encoded_in_paths() {
        let base = BaseUrl::from_headers(&HeaderMap::new(), "");
        assert_eq!(
            base.href(&["collections", "a b", "items", "x%/y?#ü"]),
            "http://localhost/collections/a%20b/items/x%25%2Fy%3F%23%C3%BC"
        );
        assert_eq!(
            base.href_with_query(
                &["search"],
                &[("bbox".into(), "1,2,3,4".into()), ("token".into(), "a+b".into())]
            ),
            "http://localhost/search?bbox=1%2C2%2C3%2C4&token=a%2Bb"
        );
    }
}
