//! `generate [--check]`: server spec → `openapi/openapi.json` (3.1) → `openapi/openapi-3.0.json`
//! → `sdk-rust/src/generated.rs` (progenitor) and `sdk-rust/src/generated_paging.rs`; and from the
//! 3.1 document, titan-client's `generated_events.rs`, the Python SDK's `types.py` and `_resources.py` and the Node SDK's `types.d.ts`,
//! `resources.js` and `resources.d.ts`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use progenitor_impl::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle};
use quote::{format_ident, quote};
use serde_json::Value;

use crate::sdk::{self, Api};
use crate::{convert, lint};

/// The command that regenerates everything, named in every generated header.
pub const COMMAND: &str = "cargo run -p titan-openapi -- generate";

/// One file the pipeline owns, with the content it should have.
#[derive(Debug)]
pub struct Output {
    /// Path relative to the workspace root.
    pub path: &'static str,
    /// The expected content.
    pub content: String,
}

/// Computes every generated file from the server's current OpenAPI document.
pub fn outputs() -> anyhow::Result<Vec<Output>> {
    let spec31 = serde_json::to_value(titan_server::api::openapi()).context("serialize the server's spec")?;
    let spec30 = progenitor_view(&spec31)?;
    let input = client_input(&spec30);
    let violations = lint::lint(&input);
    if !violations.is_empty() {
        let list: Vec<String> = violations.iter().map(|v| format!("  - {v}")).collect();
        bail!("the spec breaks progenitor's rules:\n{}", list.join("\n"));
    }
    let parsed: openapiv3::OpenAPI = serde_json::from_value(input).context("openapiv3 cannot read the 3.0 spec")?;
    let api = Api::from_spec(&spec31).context("read the API for the language SDKs")?;
    Ok(vec![
        Output {
            path: "openapi/openapi.json",
            content: pretty(&spec31)?,
        },
        Output {
            path: "openapi/openapi-3.0.json",
            content: pretty(&spec30)?,
        },
        Output {
            path: "sdk-rust/src/generated.rs",
            content: client(&parsed)?,
        },
        Output {
            path: "sdk-rust/src/generated_paging.rs",
            content: paging(&spec30)?,
        },
        Output {
            path: "sdk-rust/src/generated_events.rs",
            content: events(&spec31)?,
        },
        Output {
            path: "bindings/python/python/titan/types.py",
            content: sdk::python::types(&api, COMMAND)?,
        },
        Output {
            path: "bindings/python/python/titan/_resources.py",
            content: sdk::python::resources(&api, COMMAND)?,
        },
        Output {
            path: "bindings/node/lib/types.d.ts",
            content: sdk::node::types(&api, COMMAND)?,
        },
        Output {
            path: "bindings/node/lib/resources.js",
            content: sdk::node::resources_js(&api, COMMAND)?,
        },
        Output {
            path: "bindings/node/lib/resources.d.ts",
            content: sdk::node::resources_dts(&api, COMMAND)?,
        },
    ])
}

/// Writes every output, or with `check` compares them and fails on any difference.
pub fn run(root: &Path, check: bool) -> anyhow::Result<()> {
    let outputs = outputs()?;
    let mut stale = Vec::new();
    for output in &outputs {
        let path = root.join(output.path);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == output.content {
            continue;
        }
        if check {
            stale.push(output.path);
        } else {
            write(&path, &output.content)?;
            eprintln!("wrote {}", output.path);
        }
    }
    if !stale.is_empty() {
        bail!(
            "generated files are out of date: {}\nrun `{COMMAND}` and commit the result",
            stale.join(", ")
        );
    }
    if check {
        eprintln!("{} generated files are up to date", outputs.len());
    }
    Ok(())
}

/// The 3.0 document progenitor reads (and `openapi/openapi-3.0.json` holds): the 3.1 document
/// down-converted, without the async answers.
pub fn progenitor_view(spec31: &Value) -> anyhow::Result<Value> {
    let mut spec30 = convert::down_convert(spec31).context("down-convert 3.1 to 3.0")?;
    without_async_answers(&mut spec30);
    Ok(spec30)
}

/// Value limits (lengths, ranges, patterns, item counts) stay in both documents but not in what
/// the Rust client is generated from: typify would turn each limited string into a newtype and
/// each `minimum: 1` into a `NonZero` integer, so every call would need conversions for checks
/// the server makes anyway (and answers with a 400 naming the field). Binary answers (the QR
/// code's PNG) and the event stream's frames are left out too: the client asks for JSON, and
/// reads the stream itself; a comma-separated query list is passed as its text; a file of any
/// type (`*/*`, a media download) is `application/octet-stream`, which progenitor reads as bytes.
const CLIENT_OMITS: &[&str] = &[
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "uniqueItems",
    "maxProperties",
    "propertyNames",
];

/// The 3.0 document as progenitor reads it: see [`CLIENT_OMITS`].
fn client_input(spec30: &Value) -> Value {
    let mut spec = spec30.clone();
    if let Some(schemas) = spec.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        schemas.values_mut().for_each(unlimited);
    }
    for (_, operation) in operations(&mut spec) {
        for parameter in operation
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if parameter.get("explode") == Some(&Value::Bool(false)) {
                // A comma-separated list (`?events=a,b`): progenitor's query encoding has no
                // such style, so the client passes the joined text.
                parameter["schema"] = serde_json::json!({"type": "string"});
            }
            parameter.get_mut("schema").into_iter().for_each(unlimited);
        }
        let bodies = operation
            .pointer_mut("/requestBody/content")
            .and_then(Value::as_object_mut);
        bodies.into_iter().flat_map(|c| c.values_mut()).for_each(|media| {
            media.get_mut("schema").into_iter().for_each(unlimited);
        });
        let responses = operation.get_mut("responses").and_then(Value::as_object_mut);
        for response in responses.into_iter().flat_map(|r| r.values_mut()) {
            let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) else {
                continue;
            };
            content.remove("image/png");
            if let Some(file) = content.remove("*/*") {
                // A file of any type: progenitor reads it as a byte stream.
                content.insert("application/octet-stream".into(), file);
            }
            if let Some(stream) = content.get_mut("text/event-stream") {
                *stream = serde_json::json!({"schema": {"type": "string"}});
            }
            content.values_mut().for_each(|media| {
                media.get_mut("schema").into_iter().for_each(unlimited);
            });
        }
    }
    spec
}

/// Removes [`CLIENT_OMITS`] from a schema and every schema inside it; a `true`-only boolean
/// becomes a plain boolean.
fn unlimited(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    for keyword in CLIENT_OMITS {
        object.remove(*keyword);
    }
    if object.get("type") == Some(&Value::from("boolean")) {
        object.remove("enum");
    }
    for key in ["items", "additionalProperties", "not"] {
        object.get_mut(key).into_iter().for_each(unlimited);
    }
    if let Some(properties) = object.get_mut("properties").and_then(Value::as_object_mut) {
        properties.values_mut().for_each(unlimited);
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        object
            .get_mut(key)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .for_each(unlimited);
    }
}

/// Every operation of the document (and path-level keys such as `parameters`), with its method.
fn operations(spec: &mut Value) -> impl Iterator<Item = (&String, &mut Value)> {
    spec.get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.iter_mut())
}

/// Leaves out the `202` answer of `Prefer: respond-async` and the `Prefer` header itself: the
/// 202 is a second success body, which progenitor cannot represent (one success type per
/// operation), so titan-client calls these operations synchronously. The 3.1 document keeps both.
fn without_async_answers(spec: &mut Value) {
    let operations = operations(spec)
        .filter(|(method, _)| matches!(method.as_str(), "get" | "post" | "put" | "patch" | "delete"))
        .map(|(_, operation)| operation);
    for operation in operations {
        let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) else {
            continue;
        };
        if responses.remove("202").is_none() {
            continue;
        }
        if let Some(parameters) = operation.get_mut("parameters").and_then(Value::as_array_mut) {
            parameters.retain(|p| !(p["in"] == "header" && p["name"] == "Prefer"));
        }
    }
}

fn write(path: &PathBuf, content: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, content).with_context(|| format!("write {}", path.display()))
}

fn pretty(value: &Value) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

fn header() -> String {
    format!("// @generated by `{COMMAND}` from openapi/openapi-3.0.json. Do not edit by hand.\n\n")
}

fn format(tokens: proc_macro2::TokenStream) -> anyhow::Result<String> {
    let file: syn::File = syn::parse2(tokens).context("generated code does not parse")?;
    Ok(header() + &prettyplease::unparse(&file))
}

/// The progenitor client: Builder interface, one `Client`, hooks implemented by titan-client.
fn client(spec: &openapiv3::OpenAPI) -> anyhow::Result<String> {
    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        .with_inner_type(quote!(crate::ClientState))
        .with_hooks(HooksMode::Expected);
    let mut generator = Generator::new(&settings);
    let tokens = generator
        .generate_tokens(spec)
        .map_err(|e| anyhow::anyhow!("progenitor: {e}"))?;
    format(tokens)
}

/// A `Paginated` impl for the builder of every operation whose 200 body is a page, i.e. a schema
/// with `data: [$ref Item]` and `cursor`, so each list endpoint gets `.stream()` without hand work.
fn paging(spec: &Value) -> anyhow::Result<String> {
    let schemas = &spec["components"]["schemas"];
    let mut impls = Vec::new();
    for (_, item) in spec["paths"].as_object().into_iter().flatten() {
        for (_, operation) in item.as_object().into_iter().flatten() {
            let pointer = "/responses/200/content/application~1json/schema/$ref";
            let Some(page) = operation.pointer(pointer).and_then(Value::as_str) else {
                continue;
            };
            let page = page.trim_start_matches("#/components/schemas/");
            let properties = &schemas[page]["properties"];
            let Some(item) = properties.pointer("/data/items/$ref").and_then(Value::as_str) else {
                continue;
            };
            if properties.get("cursor").is_none() {
                continue;
            }
            let id = operation["operationId"].as_str().context("operationId")?;
            let builder = format_ident!("{}", pascal(id));
            let item_type = format_ident!("{}", item.trim_start_matches("#/components/schemas/"));
            let page_type = format_ident!("{}", page);
            impls.push(quote! {
                impl<'a> crate::paging::Paginated<'a> for crate::builder::#builder<'a> {
                    type Item = crate::types::#item_type;
                    type Page = crate::types::#page_type;

                    fn with_cursor(self, cursor: String) -> Self {
                        self.cursor(cursor)
                    }

                    fn fetch(self) -> impl std::future::Future<Output = crate::paging::PageResult<Self::Page>> + Send + 'a {
                        self.send()
                    }

                    fn split(page: Self::Page) -> (Vec<Self::Item>, Option<String>) {
                        (page.data, page.cursor)
                    }
                }
            });
        }
    }
    format(quote! {
        //! `.stream()` for every cursor-paged list operation.
        #(#impls)*
    })
}

/// `Event`: one variant per entry of the 3.1 document's `webhooks`, holding that event type's
/// envelope (a progenitor type, generated from `components`), plus `Unknown` for types newer
/// than the SDK. It is read by its `event` field, as `#[serde(tag = "event")]` would, except
/// that an unknown type is kept rather than refused.
fn events(spec: &Value) -> anyhow::Result<String> {
    let webhooks = spec["webhooks"].as_object().context("the spec has no webhooks")?;
    let mut variants = Vec::new();
    let mut arms = Vec::new();
    let mut names = Vec::new();
    let mut kinds = Vec::new();
    for (event, item) in webhooks {
        let operation = &item["post"];
        let pointer = "/requestBody/content/application~1json/schema/$ref";
        let envelope = operation
            .pointer(pointer)
            .and_then(Value::as_str)
            .with_context(|| format!("webhook {event} has no envelope $ref"))?
            .trim_start_matches("#/components/schemas/");
        let variant = format_ident!("{}", envelope.trim_end_matches("Event"));
        let envelope = format_ident!("{}", envelope);
        let doc = format!("`{event}`: {}", operation["description"].as_str().unwrap_or_default());
        variants.push(quote! {
            #[doc = #doc]
            #variant(crate::types::#envelope)
        });
        arms.push(quote! { #event => Self::#variant(serde_json::from_value(value)?) });
        names.push(variant);
        kinds.push(event.as_str());
    }
    format(quote! {
        //! `Event`: every webhook and stream event, typed by its `event`.

        /// An event as webhooks and the stream deliver it, typed by its `event`. Match on the
        /// variant to reach its `payload`; `Unknown` keeps an event type newer than this SDK.
        #[derive(Debug, Clone)]
        pub enum Event {
            #(#variants,)*
            /// An event type this SDK does not know yet, untyped.
            Unknown(crate::events::RawEvent),
        }

        impl Event {
            /// Reads an envelope by its `event`; an unknown type becomes `Unknown`.
            pub fn from_value(value: serde_json::Value) -> Result<Self, serde_json::Error> {
                let kind = value.get("event").and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
                Ok(match kind.as_str() {
                    #(#arms,)*
                    _ => Self::Unknown(serde_json::from_value(value)?),
                })
            }

            /// The event type, e.g. `message.received`.
            pub fn event(&self) -> &str {
                match self {
                    #(Self::#names(_) => #kinds,)*
                    Self::Unknown(event) => &event.event,
                }
            }

            /// `evt_…`, unique: dedupe by it.
            pub fn id(&self) -> &str {
                match self {
                    #(Self::#names(event) => &event.id,)*
                    Self::Unknown(event) => &event.id,
                }
            }

            /// The session it happened on.
            pub fn session(&self) -> &str {
                match self {
                    #(Self::#names(event) => &event.session,)*
                    Self::Unknown(event) => &event.session,
                }
            }

            /// The envelope as JSON, exactly as it was read (less fields this SDK does not know).
            pub fn to_value(&self) -> serde_json::Value {
                let value = match self {
                    #(Self::#names(event) => serde_json::to_value(event),)*
                    Self::Unknown(event) => serde_json::to_value(event),
                };
                value.unwrap_or_default()
            }
        }

        impl<'de> serde::Deserialize<'de> for Event {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <serde_json::Value as serde::Deserialize>::deserialize(deserializer)?;
                Self::from_value(value).map_err(serde::de::Error::custom)
            }
        }

        impl serde::Serialize for Event {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.to_value().serialize(serializer)
            }
        }
    })
}

fn pascal(id: &str) -> String {
    let mut chars = id.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}
