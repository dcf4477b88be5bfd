//! `rapport serve` and `rapport install outlook`: the Outlook add-in's local bridge.
//! (Being built: see issue 6.)

use std::process::ExitCode;

use crate::commands::Ctx;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {}

#[derive(clap::Args, Debug)]
pub struct InstallArgs {
    /// Remove the certificate, token and manifest instead
    #[arg(long)]
    pub uninstall: bool,
}

pub fn serve(_ctx: &Ctx, _args: ServeArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the Outlook bridge is not built yet")
}

pub fn install(_ctx: &Ctx, _args: InstallArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`rapport install outlook` is not built yet")
}
