//! Links the addon the way Node expects a native module to be linked.

fn main() {
    napi_build::setup();
}
