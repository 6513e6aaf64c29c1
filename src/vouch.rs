//! What follows every signed checkpoint: the parties outside the archive that vouch for it —
//! TSAs with time-stamp tokens (`tsa`) and witnesses with cosignatures (`witness`). Each is
//! asked after the commit, warns when it does not answer, and never fails the command.

use exhibit_store::Archive;

use crate::{Failure, tsa, witness};

/// After a command signed a checkpoint: tokens, then cosignatures, for the latest one.
pub fn after_signing(archive: &mut Archive) -> Result<(), Failure> {
    tsa::stamp_latest(archive)?;
    witness::cosign_after_signing(archive)
}

/// Before a capture: ask again, quietly, those that missed the latest checkpoint; and send
/// the change notifications whose retry is due (webhooks that were down).
pub fn before_capture(archive: &mut Archive) -> Result<(), Failure> {
    tsa::retry_quietly(archive)?;
    witness::retry_quietly(archive)?;
    crate::notify::deliver_quietly(archive);
    Ok(())
}
