//! What the targets that talk to a database share: a value made once and renewed now and then
//! (an in-memory database that captures would otherwise fill), and the RPC context.

use rapport_core::SourceKind;
use rapport_core::rpc::RpcContext;

/// Inputs served by one database before it is replaced by a fresh one.
const USES: u32 = 5_000;

/// A value rebuilt every [`USES`] inputs.
pub struct Renewed<T> {
    uses: u32,
    value: Option<T>,
}

impl<T> Renewed<T> {
    pub const fn new() -> Self {
        Renewed {
            uses: 0,
            value: None,
        }
    }

    /// The value, made (again) by `make` when there is none or it has served its inputs.
    pub fn get(&mut self, make: impl FnOnce() -> Option<T>) -> Option<&mut T> {
        if self.value.is_none() || self.uses >= USES {
            self.value = make();
            self.uses = 0;
        }
        self.uses += 1;
        self.value.as_mut()
    }
}

/// Requests as the Thunderbird extension makes them, at a fixed "now".
pub fn context() -> RpcContext {
    RpcContext {
        client: SourceKind::Thunderbird,
        now: Some(1_790_000_000),
    }
}
