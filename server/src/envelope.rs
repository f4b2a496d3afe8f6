//! Response envelopes: `{"data": ...}`, and cursor pages `{"data": [...], "cursor": "..."}` for `?cursor=&limit=`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;

/// Page size when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest page a client may ask for.
pub const MAX_LIMIT: usize = 200;

/// The query parameters of every list endpoint.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `cursor` of the previous page; omit for the first page.
    pub cursor: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    pub limit: Option<u32>,
}

/// A validated page request: where to start and how many items.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// The sort key of the last item already seen.
    pub after: Option<String>,
    /// Items wanted on this page.
    pub limit: usize,
}

impl TryFrom<PageQuery> for PageRequest {
    type Error = ApiError;

    fn try_from(query: PageQuery) -> Result<Self, ApiError> {
        let limit = match query.limit {
            None => DEFAULT_LIMIT,
            Some(n) if (1..=MAX_LIMIT as u32).contains(&n) => n as usize,
            Some(n) => {
                return Err(ApiError::BadRequest(format!(
                    "limit must be between 1 and {MAX_LIMIT}, got {n}"
                )));
            }
        };
        let after = query
            .cursor
            .map(|cursor| {
                URL_SAFE_NO_PAD
                    .decode(&cursor)
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .ok_or_else(|| {
                        ApiError::BadRequest("invalid cursor: pass the `cursor` of a previous page unchanged".into())
                    })
            })
            .transpose()?;
        Ok(Self { after, limit })
    }
}

/// One page of a list, as services build it; each item type gets a named schema for it through
/// [`envelopes!`](crate::envelopes).
#[derive(Debug)]
pub struct Page<T> {
    /// The items on this page.
    pub data: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` items in order: the extra item only signals that
    /// another page exists. `sort_key` gives the key the next page starts after.
    pub fn from_overfetch(mut items: Vec<T>, limit: usize, sort_key: impl Fn(&T) -> String) -> Self {
        let more = items.len() > limit;
        items.truncate(limit);
        let cursor = more
            .then(|| items.last().map(|last| URL_SAFE_NO_PAD.encode(sort_key(last))))
            .flatten();
        Self { data: items, cursor }
    }

    /// The same page with each item converted.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            data: self.data.into_iter().map(f).collect(),
            cursor: self.cursor,
        }
    }
}

/// Declares the named envelope schemas of an item type: `$data` is `{"data": item}` and, when
/// given, `$page` is `{"data": [item], "cursor"?}`. Named types (not generics, which utoipa inlines)
/// keep one `$ref` per item type in the spec and one type per envelope in the SDKs.
#[macro_export]
macro_rules! envelopes {
    ($item:ty => $data:ident $(, $page:ident)?) => {
        #[doc = concat!("`{\"data\": ...}` holding one `", stringify!($item), "`.")]
        #[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub struct $data {
            /// The result.
            pub data: $item,
        }

        impl From<$item> for $data {
            fn from(data: $item) -> Self {
                Self { data }
            }
        }

        $(
            #[doc = concat!("One page of `", stringify!($item), "`; `cursor` is present only when more items exist.")]
            #[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
            pub struct $page {
                /// The items on this page.
                pub data: Vec<$item>,
                /// Pass as `?cursor=` to fetch the next page; absent on the last page.
                #[serde(skip_serializing_if = "Option::is_none")]
                pub cursor: Option<String>,
            }

            impl From<$crate::envelope::Page<$item>> for $page {
                fn from(page: $crate::envelope::Page<$item>) -> Self {
                    Self { data: page.data, cursor: page.cursor }
                }
            }
        )?
    };
}
