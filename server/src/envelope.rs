//! Response envelopes: `{"data": ...}`, and cursor pages `{"data": [...], "cursor": "..."}` for `?cursor=&limit=`
//! (the cursor is the sort key of the page's last item: a session name, an id or a sequence number).

use serde::Deserialize;
use utoipa::IntoParams;

use crate::model::bounded::{Cursor, PageLimit};

/// Page size when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 50;

/// The query parameters of every list endpoint.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `cursor` of the previous page; omit for the first page.
    #[param(inline)]
    pub cursor: Option<Cursor>,
    /// Items per page (default 50).
    #[param(inline)]
    pub limit: Option<PageLimit>,
}

/// A validated page request: where to start and how many items.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// The sort key of the last item already seen.
    pub after: Option<String>,
    /// Items wanted on this page.
    pub limit: usize,
}

impl From<PageQuery> for PageRequest {
    fn from(query: PageQuery) -> Self {
        Self::new(query.cursor.map(Cursor::into_inner), query.limit)
    }
}

impl PageRequest {
    /// Where a page starts and how long it is, from a list's `cursor` and `limit`. A cursor is
    /// the sort key of the last item of the previous page, so any cursor is a position: one
    /// the server did not hand out starts after that key, like any other.
    pub fn new(cursor: Option<String>, limit: Option<PageLimit>) -> Self {
        Self {
            after: cursor,
            limit: limit.map_or(DEFAULT_LIMIT, |n| n.get() as usize),
        }
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
        let cursor = more.then(|| items.last().map(sort_key)).flatten();
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
