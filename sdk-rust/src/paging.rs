//! Auto-paging: `client.list_keys().stream()` yields every item, fetching pages as needed.

use futures::{Stream, TryStreamExt, stream};
use progenitor_client::ResponseValue;

use crate::Error;
use crate::types::ErrorBody;

/// What fetching one page returns.
pub type PageResult<P> = Result<ResponseValue<P>, progenitor_client::Error<ErrorBody>>;

/// A request builder of a cursor-paged list operation (implemented for every such operation in
/// generated code).
pub trait Paginated<'a>: Clone + Send + Sized + 'a {
    /// One list item.
    type Item: Send + 'a;
    /// One page as the API returns it.
    type Page: Send + 'a;

    /// The same request, starting after `cursor`.
    fn with_cursor(self, cursor: String) -> Self;

    /// Sends the request for one page.
    fn fetch(self) -> impl Future<Output = PageResult<Self::Page>> + Send + 'a;

    /// The page's items and the cursor of the next page.
    fn split(page: Self::Page) -> (Vec<Self::Item>, Option<String>);

    /// Every item of every page, in order; a page is fetched only when the previous one is used up.
    fn stream(self) -> impl Stream<Item = Result<Self::Item, Error>> + Send + 'a {
        stream::try_unfold(Some(self), |next| async move {
            let Some(request) = next else {
                return Ok::<_, Error>(None);
            };
            let following = request.clone();
            let page = request.fetch().await.map_err(Error::from)?.into_inner();
            let (items, cursor) = Self::split(page);
            let next = cursor.map(|cursor| following.with_cursor(cursor));
            Ok(Some((stream::iter(items.into_iter().map(Ok)), next)))
        })
        .try_flatten()
    }
}
