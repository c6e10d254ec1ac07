//! What every handler shares.

use crate::ApiConfig;
use crate::fetch::ItemFetcher;
use crate::index::IndexHandle;
use crate::paging::TokenCodec;
use crate::search::Limits;
use std::sync::Arc;

/// The application state: the index handle, the item fetcher and settings.
#[derive(Clone)]
pub struct AppState {
    /// The current index version.
    pub index: Arc<IndexHandle>,
    /// Fetches whole items.
    pub fetcher: Arc<ItemFetcher>,
    /// Signs and checks paging tokens.
    pub tokens: TokenCodec,
    /// Settings.
    pub config: Arc<ApiConfig>,
}

impl AppState {
    /// The page-size limits.
    pub fn limits(&self) -> Limits {
        Limits {
            default: self.config.default_limit,
            max: self.config.max_limit,
        }
    }
}
