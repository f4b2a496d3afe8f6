//! Link previews: a text sent with `linkPreview: true` shows the title, description and picture of
//! the page behind its first URL, as WhatsApp's apps do. The page and its picture are fetched
//! through the same guard as files to send, with small size and time caps; when anything fails,
//! the text goes out without a preview.

use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;
use reqwest::Url;

use super::prepare;
use super::source::{Fetcher, SourceError};
use crate::engine::LinkPreview;

/// How much of a page is read for its preview (the tags it needs are in its head).
const PAGE_BYTES: u64 = 512 * 1024;
/// Largest preview picture fetched.
const PICTURE_BYTES: u64 = 5 * 1000 * 1000;
/// Longest wait for the page, and again for its picture.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest title kept, in characters.
const TITLE_CHARS: usize = 200;
/// Longest description kept, in characters.
const DESCRIPTION_CHARS: usize = 300;

static LINK: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)\bhttps?://[^\s<>]+").expect("link pattern"));
static META: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?is)<meta\b[^>]*>").expect("meta pattern"));
static ATTRIBUTE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?is)([a-z_:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))"#).expect("attribute pattern")
});
static TITLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?is)<title\b[^>]*>(.*?)</title>").expect("title pattern"));

/// The first `http(s)://` link of `text`, without the punctuation that usually follows one (a
/// closing parenthesis stays when the link opened it, as in Wikipedia's links).
pub fn first_link(text: &str) -> Option<&str> {
    let mut link = LINK.find(text)?.as_str();
    loop {
        let trimmed = link.trim_end_matches(['.', ',', ';', ':', '!', '?', ']', '}', '\'', '"']);
        let unbalanced = trimmed.ends_with(')') && trimmed.matches('(').count() < trimmed.matches(')').count();
        link = if unbalanced {
            &trimmed[..trimmed.len() - 1]
        } else {
            trimmed
        };
        if !unbalanced {
            return Some(link);
        }
    }
}

/// Where `link` points, for logs: its host, never its path or query (which may carry tokens).
fn host_of(link: &str) -> String {
    Url::parse(link)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "an unparsable link".to_owned())
}

/// The preview of the first link in `text`, or `None` (logged) when there is no link or its page
/// gives nothing to show.
pub async fn preview(fetcher: &Fetcher, text: &str) -> Option<LinkPreview> {
    let link = first_link(text)?;
    match fetch(fetcher, link).await {
        Ok(found) => found,
        Err(error) => {
            tracing::info!(host = host_of(link), error = %error, "no link preview: the page could not be fetched");
            None
        }
    }
}

async fn fetch(fetcher: &Fetcher, link: &str) -> Result<Option<LinkPreview>, SourceError> {
    let url = Url::parse(link).map_err(|_| SourceError::Scheme(""))?;
    let page = fetcher.fetch_head(url, PAGE_BYTES, FETCH_TIMEOUT).await?;
    if page
        .content_type
        .as_deref()
        .is_some_and(|t| !t.to_ascii_lowercase().contains("html"))
    {
        return Ok(None);
    }
    let page_bytes = page.body.contents()?;
    let html = String::from_utf8_lossy(&page_bytes);
    let tags = Tags::read(&html);
    let Some(title) = tags.title() else {
        return Ok(None);
    };
    let thumbnail = match tags.picture().and_then(|p| page.url.join(&p).ok()) {
        Some(picture) => thumbnail(fetcher, picture).await,
        None => None,
    };
    Ok(Some(LinkPreview {
        matched_text: link.to_owned(),
        title,
        description: tags.description(),
        thumbnail,
    }))
}

/// A small JPEG of the picture at `url`, or `None` (logged) when it cannot be had or read.
async fn thumbnail(fetcher: &Fetcher, url: Url) -> Option<Vec<u8>> {
    let shown = host_of(url.as_str());
    let fetched = match fetcher.fetch_within(url, PICTURE_BYTES, FETCH_TIMEOUT).await {
        Ok(fetched) => fetched,
        Err(error) => {
            tracing::info!(host = shown, error = %error, "link preview without its picture");
            return None;
        }
    };
    let made = tokio::task::spawn_blocking(move || {
        let picture = fetched.body.contents().map_err(|e| e.to_string())?;
        prepare::thumbnail(&picture).map_err(|e| e.to_string())
    })
    .await;
    match made {
        Ok(Ok(jpeg)) => Some(jpeg),
        Ok(Err(error)) => {
            tracing::info!(host = shown, error = %error, "link preview without its picture");
            None
        }
        Err(error) => {
            tracing::warn!(error = %error, "making a link preview's thumbnail failed");
            None
        }
    }
}

/// The `<meta>` tags and `<title>` of a page.
struct Tags {
    meta: Vec<(String, String)>,
    title: Option<String>,
}

impl Tags {
    fn read(html: &str) -> Self {
        let meta = META
            .find_iter(html)
            .filter_map(|tag| {
                let mut key = None;
                let mut content = None;
                for attribute in ATTRIBUTE.captures_iter(tag.as_str()) {
                    let value = attribute
                        .get(2)
                        .or(attribute.get(3))
                        .or(attribute.get(4))
                        .map(|v| v.as_str());
                    match attribute[1].to_ascii_lowercase().as_str() {
                        "property" | "name" => key = value.map(str::to_ascii_lowercase),
                        "content" => content = value.map(decode_entities),
                        _ => {}
                    }
                }
                Some((key?, content?))
            })
            .collect();
        let title = TITLE.captures(html).map(|c| decode_entities(&c[1]));
        Self { meta, title }
    }

    /// The first non-blank `content` of the first of `keys` the page has.
    fn first(&self, keys: &[&str]) -> Option<String> {
        keys.iter().find_map(|key| {
            self.meta
                .iter()
                .find(|(k, v)| k == key && !v.trim().is_empty())
                .map(|(_, v)| v.trim().to_owned())
        })
    }

    fn title(&self) -> Option<String> {
        let title = self.first(&["og:title", "twitter:title"]).or_else(|| {
            self.title
                .clone()
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty())
        })?;
        Some(shortened(&title, TITLE_CHARS))
    }

    fn description(&self) -> Option<String> {
        self.first(&["og:description", "twitter:description", "description"])
            .map(|d| shortened(&d, DESCRIPTION_CHARS))
    }

    fn picture(&self) -> Option<String> {
        self.first(&["og:image", "og:image:url", "twitter:image"])
    }
}

/// `text` with whitespace runs made single spaces, cut to `chars` characters (with `…`).
fn shortened(text: &str, chars: usize) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.char_indices().nth(chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

/// `text` with HTML's common character references replaced.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let decoded = rest.find(';').filter(|end| *end <= 10).and_then(|end| {
            let name = &rest[1..end];
            let character = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                    .and_then(char::from_u32),
            }?;
            Some((character, end + 1))
        });
        match decoded {
            Some((character, length)) => {
                out.push(character);
                rest = &rest[length..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_link_is_found_without_trailing_punctuation() {
        assert_eq!(
            first_link("see https://example.com/a?b=1."),
            Some("https://example.com/a?b=1")
        );
        assert_eq!(
            first_link("(http://x.org/page) and https://y.org"),
            Some("http://x.org/page")
        );
        assert_eq!(first_link("no link here, ftp://x.org"), None);
        assert_eq!(
            first_link("see https://en.wikipedia.org/wiki/Rust_(language))."),
            Some("https://en.wikipedia.org/wiki/Rust_(language)")
        );
    }

    #[test]
    fn open_graph_tags_win_over_the_title_and_entities_are_decoded() {
        let html = r#"<html><head><title>Plain &amp; simple</title>
            <meta content="Rust &amp; WhatsApp" property="og:title">
            <META NAME='description' CONTENT='A  page
              about &lt;things&gt; &#233;&#x2014;'>
            <meta property="og:image" content="/cover.jpg" /></head>"#;
        let tags = Tags::read(html);
        assert_eq!(tags.title().as_deref(), Some("Rust & WhatsApp"));
        assert_eq!(tags.description().as_deref(), Some("A page about <things> é—"));
        assert_eq!(tags.picture().as_deref(), Some("/cover.jpg"));
        let plain = Tags::read("<title>\n  Only a title </title><meta name=description content=''>");
        assert_eq!(plain.title().as_deref(), Some("Only a title"));
        assert_eq!(plain.description(), None);
        assert_eq!(Tags::read("<p>no head</p>").title(), None);
    }

    #[test]
    fn long_titles_are_shortened_on_a_character_boundary() {
        let long = "é".repeat(TITLE_CHARS + 5);
        let title = Tags::read(&format!("<title>{long}</title>"))
            .title()
            .unwrap_or_default();
        assert_eq!(title.chars().count(), TITLE_CHARS + 1);
        assert!(title.ends_with('…'));
        assert_eq!(decode_entities("a & b &bogus; &#xZZ;"), "a & b &bogus; &#xZZ;");
    }
}
