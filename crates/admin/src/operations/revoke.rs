//! `auth revoke`: a host certificate or admin identity refused from now on.

use oriel_auth::control_plane::ControlPlane;
use oriel_auth::store::RevokedTarget;

use crate::Failure;
use crate::proto::{self, Outcome};

pub(super) async fn revoke(plane: &ControlPlane, request: proto::Revoke) -> Result<Outcome, Failure> {
    let target = match (request.serial.is_empty(), request.name.is_empty()) {
        (false, true) => RevokedTarget::Serial(request.serial),
        (true, false) => RevokedTarget::Host(request.name),
        _ => return Err(Failure::invalid("name one certificate to revoke: --serial HEX, or a host id or admin identity name")),
    };
    let revocation = plane.revoke(target, request.reason).await?;
    Ok(Outcome::message(format!(
        "Revoked {}. The admin API, the cluster API and the proxies' listeners refuse it from their next call or connection.",
        revocation.target
    )))
}
