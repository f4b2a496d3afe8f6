//! The `{"error", "docs"}` body of every failed call, shared by HTTP answers and the
//! `command.result` of a failed async command.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of every non-2xx response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"error": "missing scope: sessions:read", "docs": "https://docs.usetitan.app/api-reference/authentication#scopes"}))]
pub struct ErrorBody {
    /// What went wrong, in one sentence a developer can act on.
    pub error: String,
    /// Link to the documentation page that explains the error.
    pub docs: String,
}
